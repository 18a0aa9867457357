//! What a verified report says, as typed claims ([`ReportClaims`]) for policies, tokens and the
//! CLI: measurement, host_data, report_data, guest_svn, the policy bits, vmpl, platform_info,
//! the TCB values (in the product's layout) and the chip or VLEK identity.

use crate::report::{platform_info, policy, TcbField, TcbLayout, TcbVersion};
use crate::verify::VerifiedReport;
use scute_tee::Hex;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// The claims of a verified report. Members are declared in the order the JSON has always
/// listed them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReportClaims {
    pub version: u32,
    pub product: &'static str,
    pub product_name: String,
    pub signing_key: &'static str,
    pub guest_svn: u32,
    pub measurement: Hex<[u8; 48]>,
    pub host_data: Hex<[u8; 32]>,
    pub report_data: Hex<[u8; 64]>,
    pub family_id: Hex<[u8; 16]>,
    pub image_id: Hex<[u8; 16]>,
    pub id_key_digest: Hex<[u8; 48]>,
    pub author_key_digest: Hex<[u8; 48]>,
    pub author_key_en: bool,
    pub report_id: Hex<[u8; 32]>,
    pub report_id_ma: Hex<[u8; 32]>,
    pub vmpl: u32,
    pub policy: PolicyClaims,
    pub platform_info: PlatformInfoClaims,
    pub reported_tcb: TcbClaims,
    pub current_tcb: TcbClaims,
    pub committed_tcb: TcbClaims,
    pub launch_tcb: TcbClaims,
    /// `major.minor.build`.
    pub current_version: String,
    pub committed_version: String,
    pub mask_chip_key: bool,
    pub chip_id: Hex<[u8; 64]>,
    /// The VCEK's HWID; null for a VLEK.
    pub hwid: Option<Hex<Vec<u8>>>,
    /// The VLEK's CSP_ID; null for a VCEK.
    pub csp_id: Option<String>,
    /// v3+ reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuid: Option<CpuidClaims>,
    /// v5 reports, `0x..`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_mit_vector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_mit_vector: Option<String>,
}

/// The guest policy, raw (`0x..`) and bit by bit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyClaims {
    pub raw: String,
    pub abi_minor: u64,
    pub abi_major: u64,
    pub smt_allowed: bool,
    pub migrate_ma_allowed: bool,
    pub debug_allowed: bool,
    pub single_socket_required: bool,
    pub cxl_allowed: bool,
    pub mem_aes_256_xts_required: bool,
    pub rapl_disabled: bool,
    pub ciphertext_hiding_required: bool,
    pub page_swap_disabled: bool,
}

/// PLATFORM_INFO, raw (`0x..`) and bit by bit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlatformInfoClaims {
    pub raw: String,
    pub smt_enabled: bool,
    pub tsme_enabled: bool,
    pub ecc_enabled: bool,
    pub rapl_disabled: bool,
    pub ciphertext_hiding_enabled: bool,
    pub alias_check_complete: bool,
    pub tio_enabled: bool,
}

/// A TCB version: `raw` (hex) and one member per SPL of the product's layout
/// (`bootloader`, `tee`, `snp`, `microcode`, and `fmc` on Turin), reserved bytes left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcbClaims {
    pub raw: Hex<[u8; 8]>,
    pub spls: Vec<(&'static str, u8)>,
}

impl TcbClaims {
    pub fn new(tcb: &TcbVersion, layout: TcbLayout) -> Self {
        Self {
            raw: Hex(tcb.0),
            spls: layout
                .fields()
                .iter()
                .zip(tcb.0)
                .filter(|(field, _)| !matches!(field, TcbField::Reserved(_)))
                .map(|(field, byte)| (field.name(), byte))
                .collect(),
        }
    }
}

impl Serialize for TcbClaims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.spls.len()))?;
        map.serialize_entry("raw", &self.raw)?;
        for (name, value) in &self.spls {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CpuidClaims {
    pub family: u8,
    pub model: u8,
    pub stepping: u8,
}

impl ReportClaims {
    pub fn new(verified: &VerifiedReport) -> Self {
        let r = verified.report();
        let layout = verified.tcb_layout();
        let p = r.policy;
        let bit = |mask: u64| p & mask != 0;
        let pi = r.platform_info;
        let pi_bit = |mask: u64| pi & mask != 0;
        let version = |v: &[u8; 4]| match v {
            [build, minor, major, _] => format!("{major}.{minor}.{build}"),
        };
        let mit = r.mit_vectors();
        Self {
            version: r.version,
            product: verified.product().name(),
            product_name: verified.product_name().to_string(),
            signing_key: verified.signer().name(),
            guest_svn: r.guest_svn,
            measurement: Hex(r.measurement),
            host_data: Hex(r.host_data),
            report_data: Hex(r.report_data),
            family_id: Hex(r.family_id),
            image_id: Hex(r.image_id),
            id_key_digest: Hex(r.id_key_digest),
            author_key_digest: Hex(r.author_key_digest),
            author_key_en: r.author_key_en(),
            report_id: Hex(r.report_id),
            report_id_ma: Hex(r.report_id_ma),
            vmpl: r.vmpl,
            policy: PolicyClaims {
                raw: format!("{p:#x}"),
                abi_minor: p & 0xff,
                abi_major: (p >> 8) & 0xff,
                smt_allowed: bit(policy::SMT),
                migrate_ma_allowed: bit(policy::MIGRATE_MA),
                debug_allowed: bit(policy::DEBUG),
                single_socket_required: bit(policy::SINGLE_SOCKET),
                cxl_allowed: bit(policy::CXL_ALLOW),
                mem_aes_256_xts_required: bit(policy::MEM_AES_256_XTS),
                rapl_disabled: bit(policy::RAPL_DIS),
                ciphertext_hiding_required: bit(policy::CIPHERTEXT_HIDING),
                page_swap_disabled: bit(policy::PAGE_SWAP_DISABLE),
            },
            platform_info: PlatformInfoClaims {
                raw: format!("{pi:#x}"),
                smt_enabled: pi_bit(platform_info::SMT_EN),
                tsme_enabled: pi_bit(platform_info::TSME_EN),
                ecc_enabled: pi_bit(platform_info::ECC_EN),
                rapl_disabled: pi_bit(platform_info::RAPL_DIS),
                ciphertext_hiding_enabled: pi_bit(platform_info::CIPHERTEXT_HIDING_EN),
                alias_check_complete: pi_bit(platform_info::ALIAS_CHECK_COMPLETE),
                tio_enabled: pi_bit(platform_info::TIO_EN),
            },
            reported_tcb: TcbClaims::new(&r.reported_tcb, layout),
            current_tcb: TcbClaims::new(&r.current_tcb, layout),
            committed_tcb: TcbClaims::new(&r.committed_tcb, layout),
            launch_tcb: TcbClaims::new(&r.launch_tcb, layout),
            current_version: version(&r.current_version),
            committed_version: version(&r.committed_version),
            mask_chip_key: r.mask_chip_key(),
            chip_id: Hex(r.chip_id),
            hwid: verified.hwid().map(|h| Hex(h.to_vec())),
            csp_id: verified.csp_id().map(str::to_string),
            cpuid: r.cpuid().map(|(family, model, stepping)| CpuidClaims {
                family,
                model,
                stepping,
            }),
            launch_mit_vector: mit.map(|(launch, _)| format!("{launch:#x}")),
            current_mit_vector: mit.map(|(_, current)| format!("{current:#x}")),
        }
    }
}

/// The claims of a verified report, as JSON (the serialised [`ReportClaims`]).
pub fn report_json(verified: &VerifiedReport) -> Value {
    serde_json::to_value(ReportClaims::new(verified)).unwrap_or(Value::Null)
}

#[cfg(test)]
pub(crate) mod before {
    //! The hand-written builder [`super::ReportClaims`] replaced, kept as the reference it must
    //! match byte for byte (`tests/claims.rs`).
    use crate::report::{platform_info, policy};
    use crate::verify::VerifiedReport;
    use serde_json::{json, Value};

    pub(crate) fn report_json(verified: &VerifiedReport) -> Value {
        let r = verified.report();
        let layout = verified.tcb_layout();
        let p = r.policy;
        let bit = |mask: u64| p & mask != 0;
        let pi = r.platform_info;
        let version = |v: &[u8; 4]| match v {
            [build, minor, major, _] => format!("{major}.{minor}.{build}"),
        };
        let mut out = json!({
            "version": r.version,
            "product": verified.product().name(),
            "product_name": verified.product_name(),
            "signing_key": verified.signer().name(),
            "guest_svn": r.guest_svn,
            "measurement": hex::encode(r.measurement),
            "host_data": hex::encode(r.host_data),
            "report_data": hex::encode(r.report_data),
            "family_id": hex::encode(r.family_id),
            "image_id": hex::encode(r.image_id),
            "id_key_digest": hex::encode(r.id_key_digest),
            "author_key_digest": hex::encode(r.author_key_digest),
            "author_key_en": r.author_key_en(),
            "report_id": hex::encode(r.report_id),
            "report_id_ma": hex::encode(r.report_id_ma),
            "vmpl": r.vmpl,
            "policy": {
                "raw": format!("{p:#x}"),
                "abi_minor": p & 0xff,
                "abi_major": (p >> 8) & 0xff,
                "smt_allowed": bit(policy::SMT),
                "migrate_ma_allowed": bit(policy::MIGRATE_MA),
                "debug_allowed": bit(policy::DEBUG),
                "single_socket_required": bit(policy::SINGLE_SOCKET),
                "cxl_allowed": bit(policy::CXL_ALLOW),
                "mem_aes_256_xts_required": bit(policy::MEM_AES_256_XTS),
                "rapl_disabled": bit(policy::RAPL_DIS),
                "ciphertext_hiding_required": bit(policy::CIPHERTEXT_HIDING),
                "page_swap_disabled": bit(policy::PAGE_SWAP_DISABLE),
            },
            "platform_info": {
                "raw": format!("{pi:#x}"),
                "smt_enabled": pi & platform_info::SMT_EN != 0,
                "tsme_enabled": pi & platform_info::TSME_EN != 0,
                "ecc_enabled": pi & platform_info::ECC_EN != 0,
                "rapl_disabled": pi & platform_info::RAPL_DIS != 0,
                "ciphertext_hiding_enabled": pi & platform_info::CIPHERTEXT_HIDING_EN != 0,
                "alias_check_complete": pi & platform_info::ALIAS_CHECK_COMPLETE != 0,
                "tio_enabled": pi & platform_info::TIO_EN != 0,
            },
            "reported_tcb": r.reported_tcb.to_json(layout),
            "current_tcb": r.current_tcb.to_json(layout),
            "committed_tcb": r.committed_tcb.to_json(layout),
            "launch_tcb": r.launch_tcb.to_json(layout),
            "current_version": version(&r.current_version),
            "committed_version": version(&r.committed_version),
            "mask_chip_key": r.mask_chip_key(),
            "chip_id": hex::encode(r.chip_id),
            "hwid": verified.hwid().map(hex::encode),
            "csp_id": verified.csp_id(),
        });
        if let Some(map) = out.as_object_mut() {
            if let Some((family, model, stepping)) = r.cpuid() {
                map.insert(
                    "cpuid".into(),
                    json!({ "family": family, "model": model, "stepping": stepping }),
                );
            }
            if let Some((launch, current)) = r.mit_vectors() {
                map.insert("launch_mit_vector".into(), json!(format!("{launch:#x}")));
                map.insert("current_mit_vector".into(), json!(format!("{current:#x}")));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{verify, Collateral, Product, TrustRoots};

    /// Whether serde_json's maps keep insertion order here (its `preserve_order` feature, which
    /// another crate of the build may turn on): only then does a builder's text show its order.
    fn json_keeps_insertion_order() -> bool {
        let probe = serde_json::json!({"b": 0, "a": 0});
        probe
            .as_object()
            .and_then(|m| m.keys().next())
            .is_some_and(|k| k == "b")
    }

    fn same_as_before(v: &VerifiedReport) -> ReportClaims {
        let old = before::report_json(v);
        let new = ReportClaims::new(v);
        assert_eq!(serde_json::to_value(&new).unwrap(), old);
        assert_eq!(
            serde_json::to_string(&serde_json::to_value(&new).unwrap()).unwrap(),
            serde_json::to_string(&old).unwrap()
        );
        if json_keeps_insertion_order() {
            // Written directly, members come in the order the builder inserted them.
            assert_eq!(
                serde_json::to_string(&new).unwrap(),
                serde_json::to_string(&old).unwrap()
            );
        }
        assert_eq!(report_json(v), old);
        new
    }

    /// The real reports of ../shared/vectors (Milan v2, VCEK and VLEK), and simulated Turin
    /// v5 reports (CPUID, mitigation vectors, the fmc SPL): the typed claims serialise to exactly
    /// what the hand-written builder wrote, member order included.
    #[test]
    fn typed_claims_serialise_as_the_hand_written_json_did() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
        let read = |case: &str, file: &str| std::fs::read(dir.join(case).join(file)).unwrap();
        let (at_2024, at_vlek) = (1_704_067_200, 1_748_736_000);
        for (case, vek, chain, at) in [
            (
                "snp-virtee-milan-vcek",
                "vcek.der",
                Some("ask_ark_chain.pem"),
                at_2024,
            ),
            ("snp-trustee-milan-vcek", "vcek.der", None, at_2024),
            (
                "snp-gosevguest-milan-vcek",
                "vcek.der",
                Some("ask_ark_chain.pem"),
                at_2024,
            ),
            (
                "snp-trustee-milan-vlek",
                "vlek.der",
                Some("asvk_ark_chain.pem"),
                at_vlek,
            ),
        ] {
            let (vek, chain) = (read(case, vek), chain.map(|c| read(case, c)));
            let collateral = Collateral {
                vek: &vek,
                chain: chain.as_deref(),
                crl: None,
            };
            let v = verify(
                &read(case, "report.bin"),
                &collateral,
                &TrustRoots::amd(),
                at,
            )
            .unwrap_or_else(|e| panic!("{case}: {e}"));
            same_as_before(&v);
        }

        // Fields no vector has: a Turin v3 and v5 report (CPUID, mitigation vectors, the fmc
        // SPL), as the Milan VCEK's verdict would describe it.
        let vek = read("snp-virtee-milan-vcek", "vcek.der");
        let chain = read("snp-virtee-milan-vcek", "ask_ark_chain.pem");
        let collateral = Collateral {
            vek: &vek,
            chain: Some(&chain),
            crl: None,
        };
        let report = read("snp-virtee-milan-vcek", "report.bin");
        for version in [3, 5] {
            let v = verify(&report, &collateral, &TrustRoots::amd(), at_2024).unwrap();
            let mut r = v.report().clone();
            r.version = version;
            r.bytes_188[..3].copy_from_slice(&[0x1a, 0x02, 1]);
            r.bytes_1f8[..16].copy_from_slice(&[0x5a; 16]);
            r.reported_tcb = crate::TcbVersion([1, 2, 3, 4, 0, 0, 0, 9]);
            let v = v.with_report(r, Product::Turin);
            let claims = same_as_before(&v);
            assert!(claims.cpuid.is_some());
            assert_eq!(claims.launch_mit_vector.is_some(), version == 5);
            assert!(claims.reported_tcb.spls.contains(&("fmc", 1)));
        }
    }
}
