//! Signed collateral as Intel's PCS serves it: TCB Info (v2 and v3, SGX and TDX) and QE
//! Identity (v2). Signatures are checked over the exact bytes of the inner object as received;
//! the parsed forms below are only built from text that was already authenticated.

use crate::error::{DcapError, Item};
use crate::status::TcbStatus;
use crate::time::{parse_rfc3339, UnixTime};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

pub(crate) const TCB_INFO: Item = "TCB Info";
pub(crate) const QE_IDENTITY: Item = "QE Identity";

/// The raw collateral files of one platform (the layout of a `shared/vectors` case).
#[derive(Debug, Clone, Default)]
pub struct Collateral {
    pub tcb_info: Vec<u8>,
    pub tcb_info_issuer_chain: Vec<u8>,
    pub qe_identity: Vec<u8>,
    pub qe_identity_issuer_chain: Vec<u8>,
    pub pck_crl: Vec<u8>,
    pub pck_crl_issuer_chain: Vec<u8>,
    pub root_ca_crl: Vec<u8>,
    /// A PCK chain (PEM leaf, CA, root) used instead of the quote's certification data: for
    /// quotes that carry only a PPID, or a chain that cannot be read.
    pub pck_chain: Option<Vec<u8>>,
}

impl Collateral {
    /// The files a collateral directory may hold (CRLs as `.der` or `.pem`).
    pub const FILE_NAMES: [&'static str; 10] = [
        "tcb_info.json",
        "tcb_info_issuer_chain.pem",
        "qe_identity.json",
        "qe_identity_issuer_chain.pem",
        "pck_crl.der",
        "pck_crl.pem",
        "pck_crl_issuer_chain.pem",
        "root_ca_crl.der",
        "root_ca_crl.pem",
        "pck_chain.pem",
    ];

    /// Builds collateral from the files of a case directory, read by `read` (which returns
    /// `None` for a file that does not exist). CRLs may be `.der` or `.pem`.
    pub fn from_files(mut read: impl FnMut(&str) -> Option<Vec<u8>>) -> Result<Self, DcapError> {
        let mut need = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|n| read(n))
                .ok_or(DcapError::CollateralDecode {
                    item: names.first().copied().unwrap_or("collateral"),
                    reason: "file missing".into(),
                })
        };
        Ok(Self {
            tcb_info: need(&["tcb_info.json"])?,
            tcb_info_issuer_chain: need(&["tcb_info_issuer_chain.pem"])?,
            qe_identity: need(&["qe_identity.json"])?,
            qe_identity_issuer_chain: need(&["qe_identity_issuer_chain.pem"])?,
            pck_crl: need(&["pck_crl.der", "pck_crl.pem"])?,
            pck_crl_issuer_chain: need(&["pck_crl_issuer_chain.pem"])?,
            root_ca_crl: need(&["root_ca_crl.der", "root_ca_crl.pem"])?,
            pck_chain: read("pck_chain.pem"),
        })
    }
}

/// A PCS body split into the signed text and its r‖s signature.
pub(crate) struct SignedJson {
    pub body: String,
    pub signature: Vec<u8>,
}

pub(crate) fn split_signed(bytes: &[u8], key: &str, item: Item) -> Result<SignedJson, DcapError> {
    let bad = |reason: String| DcapError::CollateralDecode { item, reason };
    let outer: BTreeMap<String, Box<RawValue>> =
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let body = outer
        .get(key)
        .ok_or_else(|| bad(format!("no \"{key}\" member")))?;
    let sig_text: String = outer
        .get("signature")
        .ok_or_else(|| bad("no \"signature\" member".into()))
        .and_then(|s| serde_json::from_str(s.get()).map_err(|e| bad(e.to_string())))?;
    let signature = hex::decode(&sig_text).map_err(|e| bad(format!("signature: {e}")))?;
    if signature.len() != 64 {
        return Err(bad(format!(
            "signature has {} bytes, expected 64",
            signature.len()
        )));
    }
    Ok(SignedJson {
        body: body.get().to_string(),
        signature,
    })
}

fn hex_array<const N: usize>(text: &str, field: &str, item: Item) -> Result<[u8; N], DcapError> {
    let bytes = hex::decode(text).map_err(|e| DcapError::CollateralDecode {
        item,
        reason: format!("{field}: {e}"),
    })?;
    bytes.try_into().map_err(|_| DcapError::CollateralDecode {
        item,
        reason: format!("{field} is not {N} bytes"),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLevelCommon {
    tcb_date: String,
    tcb_status: TcbStatus,
    #[serde(rename = "advisoryIDs", default)]
    advisory_ids: Vec<String>,
}

#[derive(Deserialize)]
struct RawComponent {
    svn: u32,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTcb {
    V3 {
        sgxtcbcomponents: Vec<RawComponent>,
        pcesvn: u32,
        #[serde(default)]
        tdxtcbcomponents: Option<Vec<RawComponent>>,
    },
    V2(BTreeMap<String, u32>),
}

#[derive(Deserialize)]
struct RawTcbLevel {
    tcb: RawTcb,
    #[serde(flatten)]
    common: RawLevelCommon,
}

#[derive(Deserialize)]
struct RawIsvSvn {
    isvsvn: u16,
}

#[derive(Deserialize)]
struct RawIsvLevel {
    tcb: RawIsvSvn,
    #[serde(flatten)]
    common: RawLevelCommon,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawModuleIdentity {
    id: String,
    mrsigner: String,
    attributes: String,
    attributes_mask: String,
    tcb_levels: Vec<RawIsvLevel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTdxModule {
    mrsigner: String,
    attributes: String,
    attributes_mask: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTcbInfo {
    #[serde(default)]
    id: Option<String>,
    version: u32,
    issue_date: String,
    next_update: String,
    fmspc: String,
    pce_id: String,
    tcb_evaluation_data_number: u32,
    #[serde(default)]
    tdx_module: Option<RawTdxModule>,
    #[serde(default)]
    tdx_module_identities: Option<Vec<RawModuleIdentity>>,
    tcb_levels: Vec<RawTcbLevel>,
}

/// TCB Info's `id` (a wire field: `SGX`, or absent in version 2; `TDX`), not the TEE
/// vocabulary, which is `scute_tee::Tee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CollateralTee {
    Sgx,
    Tdx,
}

/// One platform TCB level. `tdx_components` is present for TDX TCB Info only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcbLevel {
    pub sgx_components: [u32; 16],
    pub pce_svn: u32,
    pub tdx_components: Option<[u32; 16]>,
    pub tcb_date: String,
    pub status: TcbStatus,
    pub advisory_ids: Vec<String>,
}

/// A TCB level keyed by one ISV SVN (QE identity levels, TDX module identity levels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsvLevel {
    pub isv_svn: u16,
    pub tcb_date: String,
    pub status: TcbStatus,
    pub advisory_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdxModuleIdentity {
    /// "TDX_" and two upper-case hex digits of the module major version; empty for `tdxModule`.
    pub id: String,
    pub mr_signer: [u8; 48],
    pub attributes: [u8; 8],
    pub attributes_mask: [u8; 8],
    pub levels: Vec<IsvLevel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcbInfo {
    pub tee: CollateralTee,
    pub version: u32,
    pub issue_date: UnixTime,
    pub next_update: UnixTime,
    pub fmspc: [u8; 6],
    pub pce_id: [u8; 2],
    pub tcb_evaluation_data_number: u32,
    pub tdx_module: Option<TdxModuleIdentity>,
    pub tdx_module_identities: Vec<TdxModuleIdentity>,
    pub levels: Vec<TcbLevel>,
}

fn isv_levels(raw: Vec<RawIsvLevel>) -> Vec<IsvLevel> {
    raw.into_iter()
        .map(|l| IsvLevel {
            isv_svn: l.tcb.isvsvn,
            tcb_date: l.common.tcb_date,
            status: l.common.tcb_status,
            advisory_ids: l.common.advisory_ids,
        })
        .collect()
}

fn sixteen(components: &[RawComponent], field: &str) -> Result<[u32; 16], DcapError> {
    let svns: Vec<u32> = components.iter().map(|c| c.svn).collect();
    svns.try_into()
        .map_err(|v: Vec<u32>| DcapError::CollateralDecode {
            item: TCB_INFO,
            reason: format!("{field} has {} entries, expected 16", v.len()),
        })
}

impl TcbInfo {
    pub(crate) fn parse(text: &str) -> Result<Self, DcapError> {
        let bad = |reason: String| DcapError::CollateralDecode {
            item: TCB_INFO,
            reason,
        };
        let raw: RawTcbInfo = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let tee = match (raw.version, raw.id.as_deref()) {
            (2, None | Some("SGX")) | (3, Some("SGX")) => CollateralTee::Sgx,
            (3, Some("TDX")) => CollateralTee::Tdx,
            (v, id) => {
                return Err(bad(format!(
                    "unsupported TCB Info version {v} with id {id:?}"
                )))
            }
        };
        let mut levels = Vec::with_capacity(raw.tcb_levels.len());
        for level in raw.tcb_levels {
            let (sgx_components, pce_svn, tdx_components) = match (raw.version, level.tcb) {
                (
                    3,
                    RawTcb::V3 {
                        sgxtcbcomponents,
                        pcesvn,
                        tdxtcbcomponents,
                    },
                ) => {
                    let tdx = tdxtcbcomponents
                        .map(|c| sixteen(&c, "tdxtcbcomponents"))
                        .transpose()?;
                    if (tee == CollateralTee::Tdx) != tdx.is_some() {
                        return Err(bad("tdxtcbcomponents present exactly when id is TDX".into()));
                    }
                    (sixteen(&sgxtcbcomponents, "sgxtcbcomponents")?, pcesvn, tdx)
                }
                (2, RawTcb::V2(map)) => {
                    let mut svns = [0u32; 16];
                    for (i, svn) in svns.iter_mut().enumerate() {
                        let key = format!("sgxtcbcomp{:02}svn", i + 1);
                        *svn = *map.get(&key).ok_or_else(|| bad(format!("{key} missing")))?;
                    }
                    let pce = *map
                        .get("pcesvn")
                        .ok_or_else(|| bad("pcesvn missing".into()))?;
                    (svns, pce, None)
                }
                (v, _) => return Err(bad(format!("TCB level shape does not match version {v}"))),
            };
            levels.push(TcbLevel {
                sgx_components,
                pce_svn,
                tdx_components,
                tcb_date: level.common.tcb_date,
                status: level.common.tcb_status,
                advisory_ids: level.common.advisory_ids,
            });
        }
        let module = |id: String, signer: &str, attrs: &str, mask: &str, levels| {
            Ok::<_, DcapError>(TdxModuleIdentity {
                id,
                mr_signer: hex_array(signer, "tdxModule.mrsigner", TCB_INFO)?,
                attributes: hex_array(attrs, "tdxModule.attributes", TCB_INFO)?,
                attributes_mask: hex_array(mask, "tdxModule.attributesMask", TCB_INFO)?,
                levels,
            })
        };
        let tdx_module = raw
            .tdx_module
            .map(|m| {
                module(
                    String::new(),
                    &m.mrsigner,
                    &m.attributes,
                    &m.attributes_mask,
                    Vec::new(),
                )
            })
            .transpose()?;
        if tee == CollateralTee::Tdx && tdx_module.is_none() {
            return Err(bad("TDX TCB Info without tdxModule".into()));
        }
        let tdx_module_identities = raw
            .tdx_module_identities
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                module(
                    m.id.to_ascii_uppercase(),
                    &m.mrsigner,
                    &m.attributes,
                    &m.attributes_mask,
                    isv_levels(m.tcb_levels),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            tee,
            version: raw.version,
            issue_date: parse_rfc3339(&raw.issue_date, TCB_INFO)?,
            next_update: parse_rfc3339(&raw.next_update, TCB_INFO)?,
            fmspc: hex_array(&raw.fmspc, "fmspc", TCB_INFO)?,
            pce_id: hex_array(&raw.pce_id, "pceId", TCB_INFO)?,
            tcb_evaluation_data_number: raw.tcb_evaluation_data_number,
            tdx_module,
            tdx_module_identities,
            levels,
        })
    }
}

impl TcbInfo {
    /// The identity of TDX modules with major version `major` (`TDX_xx`, two upper-case hex
    /// digits), when TCB Info lists one.
    pub fn tdx_module_identity(&self, major: u8) -> Option<&TdxModuleIdentity> {
        let id = format!("TDX_{major:02X}");
        self.tdx_module_identities.iter().find(|m| m.id == id)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawQeIdentity {
    id: String,
    version: u32,
    issue_date: String,
    next_update: String,
    tcb_evaluation_data_number: u32,
    miscselect: String,
    miscselect_mask: String,
    attributes: String,
    attributes_mask: String,
    mrsigner: String,
    isvprodid: u16,
    tcb_levels: Vec<RawIsvLevel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QeIdentity {
    /// "QE" (SGX) or "TD_QE" (TDX).
    pub id: String,
    pub version: u32,
    pub issue_date: UnixTime,
    pub next_update: UnixTime,
    pub tcb_evaluation_data_number: u32,
    pub misc_select: u32,
    pub misc_select_mask: u32,
    pub attributes: [u8; 16],
    pub attributes_mask: [u8; 16],
    pub mr_signer: [u8; 32],
    pub isv_prod_id: u16,
    pub levels: Vec<IsvLevel>,
}

impl QeIdentity {
    pub(crate) fn parse(text: &str) -> Result<Self, DcapError> {
        let bad = |reason: String| DcapError::CollateralDecode {
            item: QE_IDENTITY,
            reason,
        };
        let raw: RawQeIdentity = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.version != 2 {
            return Err(bad(format!(
                "unsupported QE Identity version {}",
                raw.version
            )));
        }
        // miscselect is the hex of the report field's bytes, which are little-endian.
        let misc = |t: &str, f| hex_array::<4>(t, f, QE_IDENTITY).map(u32::from_le_bytes);
        Ok(Self {
            id: raw.id,
            version: raw.version,
            issue_date: parse_rfc3339(&raw.issue_date, QE_IDENTITY)?,
            next_update: parse_rfc3339(&raw.next_update, QE_IDENTITY)?,
            tcb_evaluation_data_number: raw.tcb_evaluation_data_number,
            misc_select: misc(&raw.miscselect, "miscselect")?,
            misc_select_mask: misc(&raw.miscselect_mask, "miscselectMask")?,
            attributes: hex_array(&raw.attributes, "attributes", QE_IDENTITY)?,
            attributes_mask: hex_array(&raw.attributes_mask, "attributesMask", QE_IDENTITY)?,
            mr_signer: hex_array(&raw.mrsigner, "mrsigner", QE_IDENTITY)?,
            isv_prod_id: raw.isvprodid,
            levels: isv_levels(raw.tcb_levels),
        })
    }
}
