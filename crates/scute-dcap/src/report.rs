//! Report bodies as typed claims ([`ReportClaims`], [`AttributeClaims`]) that serialise to JSON
//! objects with hex byte fields: the names used by the vectors' expected.json
//! (`result.report`), the `scute verify --json` contract and token claims.

use scute_quote::{Body, EnclaveReport, TdReport10};
use scute_tee::Hex;
use serde::Serialize;
use serde_json::Value;

/// A quote's report body as claims; `kind` is SgxEnclave, TD10, TD15 or TD15Ex. Members are
/// declared in the order the JSON has always listed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum ReportClaims {
    #[serde(rename = "SgxEnclave")]
    Sgx(SgxClaims),
    #[serde(rename = "TD10")]
    Td10(TdClaims),
    #[serde(rename = "TD15")]
    Td15(TdClaims),
    #[serde(rename = "TD15Ex")]
    Td15Ex(TdClaims),
}

/// An SGX enclave report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SgxClaims {
    pub mr_enclave: Hex<[u8; 32]>,
    pub mr_signer: Hex<[u8; 32]>,
    pub isv_prod_id: u16,
    pub isv_svn: u16,
    pub attributes: Hex<[u8; 16]>,
    pub misc_select: u32,
    pub cpu_svn: Hex<[u8; 16]>,
    pub config_id: Hex<[u8; 64]>,
    pub config_svn: u16,
    pub isv_ext_prod_id: Hex<[u8; 16]>,
    pub isv_family_id: Hex<[u8; 16]>,
    pub report_data: Hex<[u8; 64]>,
}

/// A TD report: the TDX 1.0 fields every TD report has, then what TDX 1.5 adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdClaims {
    pub tee_tcb_svn: Hex<[u8; 16]>,
    pub mr_seam: Hex<[u8; 48]>,
    pub mr_signer_seam: Hex<[u8; 48]>,
    pub seam_attributes: Hex<[u8; 8]>,
    pub td_attributes: Hex<[u8; 8]>,
    pub xfam: Hex<[u8; 8]>,
    pub mr_td: Hex<[u8; 48]>,
    pub mr_config_id: Hex<[u8; 48]>,
    pub mr_owner: Hex<[u8; 48]>,
    pub mr_owner_config: Hex<[u8; 48]>,
    pub rtmr0: Hex<[u8; 48]>,
    pub rtmr1: Hex<[u8; 48]>,
    pub rtmr2: Hex<[u8; 48]>,
    pub rtmr3: Hex<[u8; 48]>,
    pub report_data: Hex<[u8; 64]>,
    /// TD15Ex only.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub ex: Option<Td15ExClaims>,
    /// TD15 and TD15Ex.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub td15: Option<Td15Claims>,
}

/// What TDX 1.5 reports add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Td15Claims {
    pub tee_tcb_svn2: Hex<[u8; 16]>,
    pub mr_service_td: Hex<[u8; 48]>,
}

/// What the TD15Ex (v5 quote, body type 4, TD partitioning) report adds to TD15: every field
/// of Intel QVL's `TDReport15Ex` (`QuoteStructures.h`, confidential-computing.tee.dcap.qvl
/// 4f45190a). The first four members are listed as they always were; the rest follow in wire
/// order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Td15ExClaims {
    /// VMID: 0 for the L1 TD, 1..=3 for a partitioned L2 VM.
    pub vmid: u8,
    pub td_id: Hex<[u8; 32]>,
    pub dev_info: Hex<[u8; 48]>,
    pub cur_service_td_hash: Hex<[u8; 48]>,
    /// The service TD bound when the TD was built, and its attributes.
    pub init_service_td_hash: Hex<[u8; 48]>,
    pub init_service_td_attributes: Hex<[u8; 8]>,
    /// The platform's CPUSVN, TEE_TCB_SVN and FMSPC field (12 bytes) recorded at that time.
    pub init_cpu_svn: Hex<[u8; 16]>,
    pub init_tee_tcb_svn: Hex<[u8; 16]>,
    pub init_tee_fmspc: Hex<[u8; 12]>,
    pub cur_service_td_attributes: Hex<[u8; 8]>,
}

impl SgxClaims {
    fn new(r: &EnclaveReport) -> Self {
        Self {
            mr_enclave: Hex(r.mr_enclave),
            mr_signer: Hex(r.mr_signer),
            isv_prod_id: r.isv_prod_id,
            isv_svn: r.isv_svn,
            attributes: Hex(r.attributes),
            misc_select: r.misc_select,
            cpu_svn: Hex(r.cpu_svn),
            config_id: Hex(r.config_id),
            config_svn: r.config_svn,
            isv_ext_prod_id: Hex(r.isv_ext_prod_id),
            isv_family_id: Hex(r.isv_family_id),
            report_data: Hex(r.report_data),
        }
    }
}

impl TdClaims {
    fn new(td: &TdReport10, body: &Body) -> Self {
        let [rtmr0, rtmr1, rtmr2, rtmr3] = td.rtmr;
        Self {
            tee_tcb_svn: Hex(td.tee_tcb_svn),
            mr_seam: Hex(td.mr_seam),
            mr_signer_seam: Hex(td.mr_signer_seam),
            seam_attributes: Hex(td.seam_attributes),
            td_attributes: Hex(td.td_attributes),
            xfam: Hex(td.xfam),
            mr_td: Hex(td.mr_td),
            mr_config_id: Hex(td.mr_config_id),
            mr_owner: Hex(td.mr_owner),
            mr_owner_config: Hex(td.mr_owner_config),
            rtmr0: Hex(rtmr0),
            rtmr1: Hex(rtmr1),
            rtmr2: Hex(rtmr2),
            rtmr3: Hex(rtmr3),
            report_data: Hex(td.report_data),
            ex: match body {
                Body::Td15Ex(td) => Some(Td15ExClaims {
                    vmid: td.vm_index,
                    td_id: Hex(td.td_id),
                    dev_info: Hex(td.dev_info),
                    cur_service_td_hash: Hex(td.cur_service_td_hash),
                    init_service_td_hash: Hex(td.init_service_td_hash),
                    init_service_td_attributes: Hex(td.init_service_td_attributes),
                    init_cpu_svn: Hex(td.init_cpu_svn),
                    init_tee_tcb_svn: Hex(td.init_tee_tcb_svn),
                    init_tee_fmspc: Hex(td.init_tee_fmspc),
                    cur_service_td_attributes: Hex(td.cur_service_td_attributes),
                }),
                _ => None,
            },
            td15: body.td15().map(|td15| Td15Claims {
                tee_tcb_svn2: Hex(td15.tee_tcb_svn2),
                mr_service_td: Hex(td15.mr_service_td),
            }),
        }
    }
}

impl ReportClaims {
    pub fn new(body: &Body) -> Self {
        match body {
            Body::Sgx(r) => Self::Sgx(SgxClaims::new(r)),
            Body::Td10(td) => Self::Td10(TdClaims::new(td, body)),
            Body::Td15(td) => Self::Td15(TdClaims::new(&td.base, body)),
            Body::Td15Ex(td) => Self::Td15Ex(TdClaims::new(&td.base.base, body)),
        }
    }

    /// The TD fields, for any TD report kind.
    pub fn td(&self) -> Option<&TdClaims> {
        match self {
            Self::Sgx(_) => None,
            Self::Td10(td) | Self::Td15(td) | Self::Td15Ex(td) => Some(td),
        }
    }
}

/// The report body as a JSON object (the serialised [`ReportClaims`]).
pub fn report_json(body: &Body) -> Value {
    serde_json::to_value(ReportClaims::new(body)).unwrap_or(Value::Null)
}

/// The attribute flags the debug rule reads (SGX ATTRIBUTES.FLAGS, TDX TD_ATTRIBUTES) as a claim:
/// `flags` is the 64-bit value in hex (not the report's little-endian bytes), `set` names each
/// set bit. Whether they make the TEE a debug one is `Body::is_debug`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeClaims {
    pub flags: String,
    pub set: Vec<String>,
}

impl AttributeClaims {
    pub fn new(body: &Body) -> Self {
        Self {
            flags: format!("{:016x}", body.attribute_flags()),
            set: body.attribute_names(),
        }
    }
}

/// The serialised [`AttributeClaims`].
pub fn attributes_json(body: &Body) -> Value {
    serde_json::to_value(AttributeClaims::new(body)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scute_quote::Quote;
    use serde_json::{json, Map};

    /// The hand-written builders these types replaced, kept as the reference the types must
    /// match byte for byte.
    mod before {
        use super::*;

        fn td10_fields(td: &TdReport10, out: &mut Map<String, Value>) {
            fn h(bytes: impl AsRef<[u8]>) -> String {
                hex::encode(bytes)
            }
            let fields = [
                ("tee_tcb_svn", h(td.tee_tcb_svn)),
                ("mr_seam", h(td.mr_seam)),
                ("mr_signer_seam", h(td.mr_signer_seam)),
                ("seam_attributes", h(td.seam_attributes)),
                ("td_attributes", h(td.td_attributes)),
                ("xfam", h(td.xfam)),
                ("mr_td", h(td.mr_td)),
                ("mr_config_id", h(td.mr_config_id)),
                ("mr_owner", h(td.mr_owner)),
                ("mr_owner_config", h(td.mr_owner_config)),
                ("rtmr0", h(td.rtmr[0])),
                ("rtmr1", h(td.rtmr[1])),
                ("rtmr2", h(td.rtmr[2])),
                ("rtmr3", h(td.rtmr[3])),
                ("report_data", h(td.report_data)),
            ];
            for (name, value) in fields {
                out.insert(name.into(), Value::String(value));
            }
        }

        pub(super) fn report_json(body: &Body) -> Value {
            let mut out = Map::new();
            match body {
                Body::Sgx(r) => {
                    return json!({
                        "kind": "SgxEnclave",
                        "mr_enclave": hex::encode(r.mr_enclave),
                        "mr_signer": hex::encode(r.mr_signer),
                        "isv_prod_id": r.isv_prod_id,
                        "isv_svn": r.isv_svn,
                        "attributes": hex::encode(r.attributes),
                        "misc_select": r.misc_select,
                        "cpu_svn": hex::encode(r.cpu_svn),
                        "config_id": hex::encode(r.config_id),
                        "config_svn": r.config_svn,
                        "isv_ext_prod_id": hex::encode(r.isv_ext_prod_id),
                        "isv_family_id": hex::encode(r.isv_family_id),
                        "report_data": hex::encode(r.report_data),
                    });
                }
                Body::Td10(td) => {
                    out.insert("kind".into(), "TD10".into());
                    td10_fields(td, &mut out);
                }
                Body::Td15(td) => {
                    out.insert("kind".into(), "TD15".into());
                    td10_fields(&td.base, &mut out);
                }
                Body::Td15Ex(td) => {
                    out.insert("kind".into(), "TD15Ex".into());
                    td10_fields(&td.base.base, &mut out);
                    out.insert("vmid".into(), td.vm_index.into());
                    out.insert("td_id".into(), hex::encode(td.td_id).into());
                    out.insert("dev_info".into(), hex::encode(td.dev_info).into());
                    out.insert(
                        "cur_service_td_hash".into(),
                        hex::encode(td.cur_service_td_hash).into(),
                    );
                }
            }
            if let Some(td15) = body.td15() {
                out.insert("tee_tcb_svn2".into(), hex::encode(td15.tee_tcb_svn2).into());
                out.insert(
                    "mr_service_td".into(),
                    hex::encode(td15.mr_service_td).into(),
                );
            }
            Value::Object(out)
        }

        pub(super) fn attributes_json(body: &Body) -> Value {
            json!({
                "flags": format!("{:016x}", body.attribute_flags()),
                "set": body.attribute_names(),
            })
        }
    }

    /// Whether serde_json's maps keep insertion order here (its `preserve_order` feature, which
    /// another crate of the build may turn on): only then does a builder's text show its order.
    fn json_keeps_insertion_order() -> bool {
        let probe = serde_json::json!({"b": 0, "a": 0});
        probe
            .as_object()
            .and_then(|m| m.keys().next())
            .is_some_and(|k| k == "b")
    }

    /// Every quote in ../shared/vectors: the typed claims serialise to exactly what the
    /// hand-written builders wrote, as values and as text (member order included).
    #[test]
    fn typed_claims_serialise_as_the_hand_written_json_did_over_the_vectors() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
        let mut kinds = std::collections::BTreeSet::new();
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let Ok(bytes) = std::fs::read(entry.unwrap().path().join("quote.bin")) else {
                continue;
            };
            let Ok(quote) = Quote::decode(&bytes) else {
                continue;
            };
            let body = &quote.body;
            let old = before::report_json(body);
            let new = ReportClaims::new(body);
            // The TD15Ex members added since the builders were replaced (issue 24) are checked
            // against the body, then set aside: every other member is compared as before.
            let (new_value, added) = without_added_members(serde_json::to_value(&new).unwrap());
            if let Body::Td15Ex(td) = body {
                let want = [
                    hex::encode(td.init_service_td_hash),
                    hex::encode(td.init_service_td_attributes),
                    hex::encode(td.init_cpu_svn),
                    hex::encode(td.init_tee_tcb_svn),
                    hex::encode(td.init_tee_fmspc),
                    hex::encode(td.cur_service_td_attributes),
                ];
                assert_eq!(added, want.map(Value::String).to_vec());
            } else {
                assert!(added.is_empty());
            }
            assert_eq!(new_value, old);
            assert_eq!(
                serde_json::to_string(&new_value).unwrap(),
                serde_json::to_string(&old).unwrap()
            );
            if json_keeps_insertion_order() {
                // Written directly, members come in the order the builder inserted them, the
                // added ones last.
                let direct: Value =
                    serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
                let (direct, _) = without_added_members(direct);
                assert_eq!(
                    serde_json::to_string(&direct).unwrap(),
                    serde_json::to_string(&old).unwrap()
                );
            }
            assert_eq!(without_added_members(report_json(body)).0, old);
            let (old, new) = (before::attributes_json(body), AttributeClaims::new(body));
            assert_eq!(serde_json::to_value(&new).unwrap(), old);
            kinds.insert(old_kind(body));
            seen += 1;
        }
        assert!(seen >= 15, "only {seen} quotes");
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["SgxEnclave", "TD10", "TD15", "TD15Ex"]
        );
    }

    /// The members [`Td15ExClaims`] added after its first four (`vmid`, `td_id`, `dev_info`,
    /// `cur_service_td_hash`), in the order they serialise.
    const TD15EX_ADDED_CLAIMS: [&str; 6] = [
        "init_service_td_hash",
        "init_service_td_attributes",
        "init_cpu_svn",
        "init_tee_tcb_svn",
        "init_tee_fmspc",
        "cur_service_td_attributes",
    ];

    /// `value` without the TD15Ex members added after the hand-written builders, and their
    /// values in [`TD15EX_ADDED_CLAIMS`] order.
    fn without_added_members(mut value: Value) -> (Value, Vec<Value>) {
        let Some(object) = value.as_object_mut() else {
            return (value, Vec::new());
        };
        let added = TD15EX_ADDED_CLAIMS
            .iter()
            .filter_map(|name| object.shift_remove(*name))
            .collect();
        (value, added)
    }

    fn old_kind(body: &Body) -> String {
        before::report_json(body)["kind"]
            .as_str()
            .unwrap()
            .to_string()
    }
}
