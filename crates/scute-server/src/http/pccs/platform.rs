//! Registered platforms: `GET /pckcert` (Intel's PCK certificate selection over the platform's
//! stored certificates) and the admin `PUT /platformcollateral` import of the JSON that
//! PccsAdminTool exports; everything in it is verified before anything is stored.

use super::{hex_param, not_cached, Shared};
use crate::http::admin_auth::Admin;
use crate::problem::{Kind, Problem};
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use scute_dcap::{select_pck_cert, Collateral, PckTcb, RawTcb};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// `GET /sgx/certification/v4/pckcert?qeid=&cpusvn=&pcesvn=&pceid=[&encrypted_ppid=]`.
/// `pcesvn` is the little-endian hex of the 16-bit SVN, as dcap-qvl and QPL send it.
pub(crate) async fn pck_cert(
    axum::extract::State(state): Shared,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let qe_id = hex::encode(hex_param::<16>(&params, "qeid")?);
    let cpu_svn = hex_param::<16>(&params, "cpusvn")?;
    let pce_svn = u16::from_le_bytes(hex_param::<2>(&params, "pcesvn")?);
    let pce_id = hex::encode(hex_param::<2>(&params, "pceid")?);
    if let Some(ppid) = params.get("encrypted_ppid") {
        if hex::decode(ppid).is_err() {
            return Err(Problem::new(
                Kind::PccsBadParameter,
                "encrypted_ppid must be hex",
            ));
        }
    }
    let rows = state.store.pck_certs(&qe_id, &pce_id).await?;
    let unregistered = || {
        not_cached(format!(
            "no PCK certificate of platform qeid={qe_id} pceid={pce_id} covers cpusvn={} pcesvn={pce_svn}: \
             register the platform's PCK certificates with PUT /sgx/certification/v4/platformcollateral",
            hex::encode(cpu_svn)
        ))
    };
    // Each stored certificate is checked against its own CA's newest CRL, through the set of
    // its FMSPC and CA (what a quote from it would be judged with); one that no longer
    // verifies (revoked since it was stored) is not offered, and no stored item is a 500.
    let mut candidates = Vec::with_capacity(rows.len());
    let mut tcb_info = None;
    let mut refused = None;
    for row in &rows {
        let (_, fmspc, ca, cert, chain) = row;
        let set = match state
            .verifiers
            .collateral
            .get(
                &state.store,
                &state.verifiers.anchors,
                fmspc,
                ca,
                "sgx",
                || false,
            )
            .await
        {
            Ok(set) => set,
            Err(e) if e.is_service_fault() => return Err(e),
            Err(e) => {
                refused = Some(e.detail);
                continue;
            }
        };
        let chain_pem = format!("{cert}\n{chain}");
        match set.verify_pck_certificate(chain_pem.as_bytes()) {
            Ok(ext) => {
                candidates.push((row, ext.tcb));
                tcb_info.get_or_insert(set);
            }
            Err(e) => refused = Some(format!("stored PCK certificate: {}: {e}", e.kind())),
        }
    }
    let Some(tcb_info) = tcb_info else {
        return Err(match refused {
            Some(reason) => not_cached(format!(
                "no stored PCK certificate of platform qeid={qe_id} pceid={pce_id} can be served: {reason}"
            )),
            None => unregistered(),
        });
    };
    let tcbs: Vec<PckTcb> = candidates.iter().map(|(_, tcb)| tcb.clone()).collect();
    let chosen = select_pck_cert(RawTcb { cpu_svn, pce_svn }, &tcbs, tcb_info.tcb_info())
        .and_then(|i| candidates.get(i))
        .ok_or_else(unregistered)?;
    let ((_, fmspc, ca, cert, chain), tcb) = (chosen.0, &chosen.1);

    let tcbm = format!(
        "{}{}",
        hex::encode_upper(tcb.cpu_svn),
        hex::encode_upper((tcb.pce_svn as u16).to_le_bytes())
    );
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).map_err(Problem::internal);
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    headers.insert(HeaderName::from_static("sgx-tcbm"), header(&tcbm)?);
    headers.insert(
        HeaderName::from_static("sgx-fmspc"),
        header(&fmspc.to_uppercase())?,
    );
    headers.insert(
        HeaderName::from_static("sgx-pck-certificate-ca-type"),
        header(ca)?,
    );
    headers.insert(
        HeaderName::from_static("sgx-pck-certificate-issuer-chain"),
        super::chain_header(chain.as_bytes()).ok_or_else(|| Problem::internal("stored chain"))?,
    );
    Ok((StatusCode::OK, headers, cert.clone()).into_response())
}

#[derive(Deserialize)]
struct PlatformCollateral {
    #[serde(default)]
    #[allow(dead_code)]
    platforms: Vec<Value>,
    collaterals: Collaterals,
}

#[derive(Deserialize)]
struct Collaterals {
    #[serde(default)]
    pck_certs: Vec<PlatformCerts>,
    #[serde(default)]
    tcbinfos: Vec<TcbInfos>,
    #[serde(default)]
    pckcacrl: BTreeMap<String, String>,
    #[serde(default)]
    qeidentity: String,
    #[serde(default)]
    tdqeidentity: String,
    #[serde(default)]
    qveidentity: String,
    certificates: Certificates,
    rootcacrl: String,
}

#[derive(Deserialize)]
struct PlatformCerts {
    qe_id: String,
    pce_id: String,
    certs: Vec<TcbCert>,
}

#[derive(Deserialize)]
struct TcbCert {
    cert: String,
}

#[derive(Deserialize)]
struct TcbInfos {
    fmspc: String,
    #[serde(default)]
    sgx_tcbinfo: Option<Box<RawValue>>,
    #[serde(default)]
    tdx_tcbinfo: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct Certificates {
    #[serde(rename = "SGX-PCK-Certificate-Issuer-Chain", default)]
    pck: BTreeMap<String, String>,
    #[serde(rename = "TCB-Info-Issuer-Chain", alias = "SGX-TCB-Info-Issuer-Chain")]
    tcb_info: String,
    #[serde(rename = "SGX-Enclave-Identity-Issuer-Chain")]
    enclave_identity: String,
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(Kind::BadField, detail)
}

fn unescape(field: &str, text: &str) -> Result<Vec<u8>, Problem> {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(text).collect();
    if bytes.is_empty() {
        return Err(bad(format!("{field} is empty")));
    }
    Ok(bytes)
}

/// A PCS body given either as its text or as the parsed object; the object is written back
/// compactly in its own member order (serde_transcode), which is how Intel signs it. Anything
/// else fails signature verification later and is refused.
fn signed_body(raw: &RawValue) -> Result<Vec<u8>, Problem> {
    if let Ok(text) = serde_json::from_str::<String>(raw.get()) {
        return Ok(text.into_bytes());
    }
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde_transcode::transcode(&mut de, &mut serde_json::Serializer::new(&mut out))
        .map_err(|e| bad(format!("collateral JSON: {e}")))?;
    Ok(out)
}

fn crl(field: &str, text: &str) -> Result<Vec<u8>, Problem> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return Ok(text.as_bytes().to_vec());
    }
    hex::decode(text).map_err(|e| bad(format!("{field}: {e}")))
}

/// `PUT /sgx/certification/v4/platformcollateral` (admin): the collateral and PCK certificates
/// PccsAdminTool exports. All of it verifies, or nothing is stored.
pub(crate) async fn put_platform_collateral(
    axum::extract::State(state): Shared,
    // Authorized before a byte of the body is read, which then has the body timeout.
    _admin: Admin,
    request: axum::extract::Request,
) -> Result<Json<Value>, Problem> {
    let crate::http::extract::Body(bytes) =
        <crate::http::extract::Body as axum::extract::FromRequest<_>>::from_request(
            request, &state,
        )
        .await?;
    let input: PlatformCollateral = serde_json::from_slice(&bytes)
        .map_err(|e| Problem::new(Kind::MalformedJson, format!("request body: {e}")))?;
    let c = &input.collaterals;
    let root_crl = crl("rootcacrl", &c.rootcacrl)?;
    let tcb_chain = unescape("TCB-Info-Issuer-Chain", &c.certificates.tcb_info)?;
    let identity_chain = unescape(
        "SGX-Enclave-Identity-Issuer-Chain",
        &c.certificates.enclave_identity,
    )?;

    // One set per FMSPC, TEE and PCK CA with a CRL in the upload.
    let mut sets: Vec<BTreeMap<String, Vec<u8>>> = Vec::new();
    for info in &c.tcbinfos {
        for (tee, tcb, identity) in [
            ("sgx", &info.sgx_tcbinfo, &c.qeidentity),
            ("tdx", &info.tdx_tcbinfo, &c.tdqeidentity),
        ] {
            let Some(tcb) = tcb else { continue };
            if identity.is_empty() {
                return Err(bad(format!(
                    "a {tee} TCB Info for FMSPC {} needs the {tee} QE identity",
                    info.fmspc
                )));
            }
            for (ca_key, crl_text) in &c.pckcacrl {
                let ca = match ca_key.as_str() {
                    "processorCrl" => "processor",
                    "platformCrl" => "platform",
                    other => {
                        return Err(bad(format!(
                            "pckcacrl.{other} is not processorCrl or platformCrl"
                        )))
                    }
                };
                let chain = c
                    .certificates
                    .pck
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(ca))
                    .map(|(_, v)| unescape("SGX-PCK-Certificate-Issuer-Chain", v))
                    .transpose()?
                    .ok_or_else(|| {
                        bad(format!(
                            "no SGX-PCK-Certificate-Issuer-Chain for the {ca} CA"
                        ))
                    })?;
                let files = BTreeMap::from([
                    ("tcb_info.json".to_string(), signed_body(tcb)?),
                    ("tcb_info_issuer_chain.pem".into(), tcb_chain.clone()),
                    ("qe_identity.json".into(), identity.as_bytes().to_vec()),
                    (
                        "qe_identity_issuer_chain.pem".into(),
                        identity_chain.clone(),
                    ),
                    (
                        if crl_text.trim().starts_with("-----") {
                            "pck_crl.pem"
                        } else {
                            "pck_crl.der"
                        }
                        .into(),
                        crl(ca_key, crl_text)?,
                    ),
                    ("pck_crl_issuer_chain.pem".into(), chain),
                    (
                        if root_crl.starts_with(b"-----") {
                            "root_ca_crl.pem"
                        } else {
                            "root_ca_crl.der"
                        }
                        .into(),
                        root_crl.clone(),
                    ),
                ]);
                sets.push(files);
            }
        }
    }

    // Verify every set, then every PCK certificate and the QvE identity against them.
    let mut verified = Vec::with_capacity(sets.len());
    for files in &sets {
        let collateral = Collateral::from_files(|n| files.get(n).cloned())
            .map_err(|e| Problem::new(Kind::CollateralIncomplete, e.to_string()))?;
        let v = crate::collateral::verify_any(&collateral, &state.verifiers.anchors)
            .map_err(|e| rejected(format!("{}: {e}", e.kind())))?;
        verified.push(v);
    }
    let mut certs = Vec::new();
    for platform in &c.pck_certs {
        let qe_id =
            hex::decode(&platform.qe_id).map_err(|_| bad("pck_certs[].qe_id must be hex"))?;
        let pce_id =
            hex::decode(&platform.pce_id).map_err(|_| bad("pck_certs[].pce_id must be hex"))?;
        for entry in &platform.certs {
            let cert = String::from_utf8(unescape("pck_certs[].certs[].cert", &entry.cert)?)
                .map_err(|_| bad("pck_certs[].certs[].cert must be PEM"))?;
            let mut accepted = None;
            for (files, v) in sets.iter().zip(&verified) {
                let Some(chain) = files.get("pck_crl_issuer_chain.pem") else {
                    continue;
                };
                let chain = String::from_utf8_lossy(chain).to_string();
                if v.tcb_info().tee != scute_dcap::CollateralTee::Sgx {
                    continue;
                }
                if let Ok(ext) = v.verify_pck_certificate(format!("{cert}\n{chain}").as_bytes()) {
                    // The certificate names its platform's PCE ID: it is filed under that one.
                    if ext.fmspc == v.tcb_info().fmspc && ext.pce_id.as_slice() == pce_id {
                        accepted = Some((
                            ext,
                            v.pck_ca().map(|c| c.name()).unwrap_or("processor"),
                            chain,
                        ));
                        break;
                    }
                }
            }
            let (ext, ca, chain) = accepted.ok_or_else(|| {
                rejected("a PCK certificate does not verify against the uploaded collateral (its FMSPC's SGX TCB Info, PCK CRL and issuer chain), or its PCE ID is not pck_certs[].pce_id")
            })?;
            certs.push((
                hex::encode(&qe_id),
                hex::encode(&pce_id),
                tcbm(&ext.tcb),
                hex::encode(ext.fmspc),
                ca,
                cert,
                chain,
            ));
        }
    }
    let qve = if c.qveidentity.is_empty() {
        None
    } else {
        let files = sets
            .iter()
            .find(|f| {
                verified
                    .iter()
                    .any(|v| v.tcb_info().tee == scute_dcap::CollateralTee::Sgx)
                    && !f.is_empty()
            })
            .ok_or_else(|| bad("a qveidentity needs an SGX TCB Info in the same upload"))?;
        let collateral = Collateral::from_files(|n| {
            if n == "qe_identity.json" {
                Some(c.qveidentity.as_bytes().to_vec())
            } else {
                files.get(n).cloned()
            }
        })
        .map_err(|e| Problem::new(Kind::CollateralIncomplete, e.to_string()))?;
        crate::collateral::verify_any(&collateral, &state.verifiers.anchors)
            .map_err(|e| rejected(format!("QvE identity: {}: {e}", e.kind())))?;
        Some(c.qveidentity.clone())
    };

    let now = crate::clock::now();
    let mut stored = Vec::new();
    for files in &sets {
        let (fmspc, ca, tee) =
            crate::collateral::import(&state.store, &state.verifiers.anchors, files, now).await?;
        stored.push(json!({"fmspc": fmspc, "ca": ca, "tee": tee}));
    }
    for (qe_id, pce_id, tcbm, fmspc, ca, cert, chain) in &certs {
        state
            .store
            .put_pck_cert(qe_id, pce_id, tcbm, fmspc, ca, cert, chain, now)
            .await?;
    }
    if let Some(qve) = &qve {
        state
            .store
            .put_pccs_item(
                "qve_identity",
                qve,
                &String::from_utf8_lossy(&identity_chain),
                now,
            )
            .await?;
    }
    state.collateral_changed().await?;
    Ok(Json(json!({
        "collateral": stored,
        "pck_certificates": certs.len(),
        "qve_identity": qve.is_some(),
    })))
}

fn tcbm(tcb: &PckTcb) -> String {
    format!(
        "{}{}",
        hex::encode_upper(tcb.cpu_svn),
        hex::encode_upper((tcb.pce_svn as u16).to_le_bytes())
    )
}

fn rejected(detail: impl Into<String>) -> Problem {
    Problem::new(Kind::CollateralRejected, detail)
}
