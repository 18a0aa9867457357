//! Signed collateral as Intel's PCS serves it: TCB Info v3 (SGX or TDX, with TDX module
//! identities) and QE Identity v2, each signed by the TCB signing key over the exact bytes of
//! the inner object, plus the issuer chains and CRLs. Levels are laid out so the simulated
//! platform lands on the requested status.

use crate::keys::SimKey;
use crate::pki::{pem_chain, Pki, Platform};
use crate::{SimError, Tee};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

pub(crate) fn rfc3339(t: i64) -> Result<String, SimError> {
    crate::pki::at(t)?
        .format(&Rfc3339)
        .map_err(|e| SimError::State(e.to_string()))
}

#[derive(Serialize)]
struct Signed<'a> {
    #[serde(rename = "tcbInfo", skip_serializing_if = "Option::is_none")]
    tcb_info: Option<&'a RawValue>,
    #[serde(rename = "enclaveIdentity", skip_serializing_if = "Option::is_none")]
    enclave_identity: Option<&'a RawValue>,
    signature: String,
}

/// `{"<key>": <inner>, "signature": hex(r‖s over inner's bytes)}`.
fn sign_json(key: &SimKey, inner: &Value, tcb_info: bool) -> Result<Vec<u8>, SimError> {
    let text = serde_json::to_string(inner).map_err(|e| SimError::State(e.to_string()))?;
    let signature = hex::encode(key.sign(text.as_bytes())?);
    let raw = RawValue::from_string(text).map_err(|e| SimError::State(e.to_string()))?;
    let body = if tcb_info {
        Signed {
            tcb_info: Some(&raw),
            enclave_identity: None,
            signature,
        }
    } else {
        Signed {
            tcb_info: None,
            enclave_identity: Some(&raw),
            signature,
        }
    };
    serde_json::to_vec(&body).map_err(|e| SimError::State(e.to_string()))
}

pub(crate) const PLATFORM_ADVISORY: &str = "INTEL-SA-99001";
pub(crate) const OLD_ADVISORY: &str = "INTEL-SA-99002";
pub(crate) const QE_ADVISORY: &str = "INTEL-SA-99003";
/// SVN of the simulated quoting enclave.
pub(crate) const QE_SVN: u16 = 8;

fn components(svns: &[u32; 16]) -> Value {
    Value::Array(svns.iter().map(|svn| json!({ "svn": svn })).collect())
}

fn advisories(status: &str, ids: &[&str]) -> Value {
    if status == "UpToDate" {
        json!([])
    } else {
        json!(ids)
    }
}

/// TCB Info whose levels put `platform` exactly on `status`: a newer UpToDate level above it
/// (unless the status is UpToDate), its own level, and an old OutOfDate level below.
pub(crate) const MODULE_ADVISORY: &str = "INTEL-SA-99004";

/// Levels of the TDX module identity putting the running module (SVN `svn`) on `status`.
fn module_levels(svn: u8, status: &str) -> Value {
    let date = "2026-02-01T00:00:00Z";
    let mut levels = Vec::new();
    if status != "UpToDate" {
        levels.push(json!({ "tcb": { "isvsvn": u16::from(svn) + 1 }, "tcbDate": "2026-08-01T00:00:00Z", "tcbStatus": "UpToDate" }));
    }
    let mut own = json!({ "tcb": { "isvsvn": svn }, "tcbDate": date, "tcbStatus": status });
    own["advisoryIDs"] = advisories(status, &[MODULE_ADVISORY]);
    levels.push(own);
    levels.push(json!({ "tcb": { "isvsvn": 1 }, "tcbDate": "2020-01-01T00:00:00Z", "tcbStatus": "OutOfDate", "advisoryIDs": [OLD_ADVISORY] }));
    Value::Array(levels)
}

pub(crate) fn tcb_info(
    tee: Tee,
    platform: &Platform,
    status: &str,
    module_status: &str,
    fmspc: [u8; 6],
    window: (i64, i64),
) -> Result<Value, SimError> {
    let tdx = tee == Tee::Tdx;
    let level =
        |sgx: [u32; 16], pce: u16, tdx_svns: [u32; 16], date: &str, status: &str, ids: &[&str]| {
            let mut tcb = json!({ "sgxtcbcomponents": components(&sgx), "pcesvn": pce });
            if tdx {
                tcb["tdxtcbcomponents"] = components(&tdx_svns);
            }
            let mut level = json!({ "tcb": tcb, "tcbDate": date, "tcbStatus": status });
            level["advisoryIDs"] = advisories(status, ids);
            level
        };
    let tdx_now: [u32; 16] = platform.tee_tcb_svn.map(u32::from);
    let bump = |svns: [u32; 16]| svns.map(|s| s + 1);
    let mut levels = Vec::new();
    if status != "UpToDate" {
        let mut tdx_newer = tdx_now;
        tdx_newer[2] += 1; // late microcode
        levels.push(level(
            bump(platform.components),
            platform.pce_svn + 1,
            tdx_newer,
            "2026-08-01T00:00:00Z",
            "UpToDate",
            &[],
        ));
    }
    levels.push(level(
        platform.components,
        platform.pce_svn,
        tdx_now,
        "2026-02-01T00:00:00Z",
        status,
        &[PLATFORM_ADVISORY],
    ));
    let mut old = [0u32; 16];
    old[0] = 1;
    levels.push(level(
        old,
        1,
        [0; 16],
        "2020-01-01T00:00:00Z",
        "OutOfDate",
        &[PLATFORM_ADVISORY, OLD_ADVISORY],
    ));

    let mut info = json!({
        "id": if tdx { "TDX" } else { "SGX" },
        "version": 3,
        "issueDate": rfc3339(window.0)?,
        "nextUpdate": rfc3339(window.1)?,
        "fmspc": hex::encode_upper(fmspc),
        "pceId": hex::encode_upper(platform.pce_id),
        "tcbType": 0,
        "tcbEvaluationDataNumber": 17,
    });
    if tdx {
        let zeros48 = "0".repeat(96);
        info["tdxModule"] = json!({ "mrsigner": zeros48, "attributes": "0000000000000000", "attributesMask": "FFFFFFFFFFFFFFFF" });
        let major = platform.tee_tcb_svn[1];
        info["tdxModuleIdentities"] = json!([{
            "id": format!("TDX_{major:02X}"),
            "mrsigner": zeros48,
            "attributes": "0000000000000000",
            "attributesMask": "FFFFFFFFFFFFFFFF",
            "tcbLevels": module_levels(platform.tee_tcb_svn[0], module_status),
        }]);
    }
    info["tcbLevels"] = Value::Array(levels);
    Ok(info)
}

/// QE Identity whose levels put the simulated QE (ISVSVN `QE_SVN`) on `status`.
pub(crate) fn qe_identity(
    tee: Tee,
    qe_mr_signer: &[u8; 32],
    status: &str,
    window: (i64, i64),
) -> Result<Value, SimError> {
    let level = |svn: u16, status: &str| {
        let mut l = json!({ "tcb": { "isvsvn": svn }, "tcbDate": "2026-02-01T00:00:00Z", "tcbStatus": status });
        l["advisoryIDs"] = advisories(status, &[QE_ADVISORY]);
        l
    };
    let mut levels = Vec::new();
    if status != "UpToDate" {
        levels.push(level(QE_SVN + 1, "UpToDate"));
    }
    levels.push(level(QE_SVN, status));
    levels.push(level(1, "OutOfDate"));
    Ok(json!({
        "id": if tee == Tee::Tdx { "TD_QE" } else { "QE" },
        "version": 2,
        "issueDate": rfc3339(window.0)?,
        "nextUpdate": rfc3339(window.1)?,
        "tcbEvaluationDataNumber": 17,
        "miscselect": "00000000",
        "miscselectMask": "FFFFFFFF",
        "attributes": "11000000000000000000000000000000",
        "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
        "mrsigner": hex::encode_upper(qe_mr_signer),
        "isvprodid": if tee == Tee::Tdx { 2 } else { 1 },
        "tcbLevels": levels,
    }))
}

/// The files of a collateral directory (the layout of a `shared/vectors` case).
pub(crate) struct CollateralFiles {
    pub files: Vec<(&'static str, Vec<u8>)>,
}

pub(crate) struct CollateralSpec<'a> {
    pub tee: Tee,
    pub platform: &'a Platform,
    pub fmspc: [u8; 6],
    pub platform_status: &'a str,
    pub module_status: &'a str,
    pub qe_status: &'a str,
    pub qe_mr_signer: [u8; 32],
    pub window: (i64, i64),
    pub revoke_pck: bool,
    pub revoke_pck_ca: bool,
    pub processor_ca_crl: bool,
}

pub(crate) fn collateral(
    pki: &Pki,
    spec: &CollateralSpec<'_>,
) -> Result<CollateralFiles, SimError> {
    let tcb = tcb_info(
        spec.tee,
        spec.platform,
        spec.platform_status,
        spec.module_status,
        spec.fmspc,
        spec.window,
    )?;
    let qe = qe_identity(spec.tee, &spec.qe_mr_signer, spec.qe_status, spec.window)?;
    let tcb_chain = pem_chain(&[&pki.tcb_der, &pki.root_der]);
    let (pck_crl, pck_crl_chain) = if spec.processor_ca_crl {
        (
            pki.processor_ca_crl(spec.window.0, spec.window.1)?,
            pem_chain(&[&pki.processor_ca_der, &pki.root_der]),
        )
    } else {
        (
            pki.pck_crl(spec.window.0, spec.window.1, spec.revoke_pck)?,
            pem_chain(&[&pki.ca_der, &pki.root_der]),
        )
    };
    Ok(CollateralFiles {
        files: vec![
            ("tcb_info.json", sign_json(&pki.tcb_key, &tcb, true)?),
            ("qe_identity.json", sign_json(&pki.tcb_key, &qe, false)?),
            ("tcb_info_issuer_chain.pem", tcb_chain.clone().into_bytes()),
            ("qe_identity_issuer_chain.pem", tcb_chain.into_bytes()),
            ("pck_crl.der", pck_crl),
            ("pck_crl_issuer_chain.pem", pck_crl_chain.into_bytes()),
            (
                "root_ca_crl.der",
                pki.root_crl(spec.window.0, spec.window.1, spec.revoke_pck_ca)?,
            ),
        ],
    })
}
