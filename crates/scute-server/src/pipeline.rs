//! The appraisal pipeline every front door shares (`/v1/attest`, the KBS): evidence → verified
//! evidence → claims → policies → a signed EAR. Front doors translate their wire format into an
//! [`Appraise`] (having spent their own kind of nonce) and the result back; nothing here knows
//! about HTTP bodies, cookies or sessions.

use crate::appraisal::{claims, status_name, tier};
use crate::error::ApiError;
use crate::AppState;
use axum::http::StatusCode;
use scute_dcap::VerifyOptions;
use scute_quote::Quote;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The TEEs the pipeline can appraise, as front doors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tee {
    Sgx,
    Tdx,
    /// AMD SEV-SNP.
    Snp,
    /// Hygon CSV (`pipeline_csv`).
    Csv,
    /// Confidential Containers' `sample` TEE: nothing to verify; refused unless configured.
    Sample,
}

impl Tee {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sgx" => Some(Self::Sgx),
            "tdx" => Some(Self::Tdx),
            "snp" => Some(Self::Snp),
            "csv" => Some(Self::Csv),
            "sample" => Some(Self::Sample),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sgx => "sgx",
            Self::Tdx => "tdx",
            Self::Snp => "snp",
            Self::Csv => "csv",
            Self::Sample => "sample",
        }
    }
}

/// Evidence as decoded from a front door's wire format (bytes, not base64).
pub enum Evidence {
    /// An SGX or TDX quote, and for TDX optionally the CCEL event log.
    Dcap {
        tee: Tee,
        quote: Vec<u8>,
        cc_eventlog: Option<Vec<u8>>,
    },
    /// An SEV-SNP report and what endorses it.
    Snp(crate::snp::SnpEvidence),
    /// A Hygon CSV report: raw, or the CoCo attester's evidence JSON (text); and an event log.
    Csv {
        evidence: Vec<u8>,
        cc_eventlog: Option<Vec<u8>>,
    },
    /// The `sample` TEE's claim of its report data (nothing vouches for it).
    Sample { report_data: Vec<u8> },
}

/// One appraisal request.
pub struct Appraise {
    pub evidence: Evidence,
    /// What the evidence's report data must be, all 64 bytes (the front door's binding rule).
    pub expected_report_data: [u8; 64],
    /// Exposed to policies as `input.runtime_data` and kept in the token's claims.
    pub runtime_data: Value,
    /// `eat_nonce` of the token.
    pub nonce: String,
    /// When present: the digest that TDX MRCONFIGID must carry (zero-padded), and the claims
    /// (`input.init_data`) that digest proves.
    pub init_data: Option<(Vec<u8>, Value)>,
    /// Policies the requester adds to the mandatory ones.
    pub extra_policy_ids: Vec<String>,
}

/// The verdict: the signed token and what it says.
pub struct Appraised {
    pub token: String,
    pub tcb_status: String,
    pub status: &'static str,
    pub expires: i64,
}

/// The one log line of an attestation decision: which route, TEE and policies, and the
/// verdict (the EAR status and TCB status) or the refusal (its problem kind). Nothing of the
/// evidence, the token or the runtime data is written.
pub(crate) fn log_decision(
    state: &AppState,
    route: &str,
    tee: &str,
    extra_policy_ids: &[String],
    outcome: Result<(&str, &str), &ApiError>,
) {
    // One cached check when the line is filtered out (`RUST_LOG`): nothing below is computed.
    if !tracing::enabled!(tracing::Level::INFO) {
        return;
    }
    let policy_ids = crate::appraisal::applied_policy_ids(&state.config, extra_policy_ids)
        .unwrap_or_else(|_| state.config.mandatory_policies.clone());
    let (request_id, policy_ids) = (crate::log::request_id(), crate::log::List(&policy_ids));
    match outcome {
        Ok((ear_status, tcb_status)) => tracing::info!(
            request_id,
            route,
            tee,
            policy_ids = ?policy_ids,
            decision = "token",
            status = ear_status,
            tcb_status,
            "attestation"
        ),
        Err(e) => tracing::info!(
            request_id,
            route,
            tee,
            policy_ids = ?policy_ids,
            decision = "refused",
            status = e.kind,
            http_status = e.status.as_u16(),
            "attestation"
        ),
    }
}

pub(crate) fn rejected(kind: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, kind, detail)
}

/// Verified evidence in the one shape the rest of the pipeline consumes.
pub(crate) struct Verified {
    pub(crate) claims: Value,
    pub(crate) tcb_status: String,
    /// The instant after which the verdict is no longer vouched for (collateral expiry).
    pub(crate) expires: i64,
}

pub async fn appraise(
    state: &AppState,
    request: Appraise,
    now: i64,
) -> Result<Appraised, ApiError> {
    let verified = verify_evidence(state, &request, now).await?;
    let mut claims = verified.claims;
    claims["runtime_data"] = request.runtime_data.clone();
    if let Some((_, init_claims)) = &request.init_data {
        claims["init_data"] = init_claims.clone();
    }

    let policy_ids =
        crate::appraisal::applied_policy_ids(&state.config, &request.extra_policy_ids)?;
    let policies = state
        .policies
        .read()
        .map_err(|_| ApiError::internal("policy lock"))?
        .clone();
    let input = crate::appraisal::PolicyInput::new(&claims)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "policy_failed", e))?;
    let mut vector: BTreeMap<String, i64> = BTreeMap::new();
    let mut denials = Vec::new();
    for id in &policy_ids {
        if !policies.contains(id) {
            if state.config.mandatory_policies.contains(id) {
                // Checked at start and on delete; fail closed if it is gone anyway.
                return Err(ApiError::internal(format!(
                    "mandatory policy {id:?} is missing"
                )));
            }
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "policy_not_found",
                format!("no policy {id:?}"),
            ));
        }
        let (v, deny) = policies
            .evaluate(id, &input)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "policy_failed", e))?;
        for (claim, value) in v {
            let slot = vector.entry(claim).or_insert(value);
            if tier(value) > tier(*slot) {
                *slot = value;
            }
        }
        denials.extend(deny);
    }
    if !denials.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "policy_denied",
            denials.join("; "),
        ));
    }
    let status = status_name(vector.values().map(|v| tier(*v)).max().unwrap_or(0));
    // A result is no fresher than the collateral that vouched for it.
    let expires = (now + state.config.token_lifetime_secs as i64).min(verified.expires);
    let ear = json!({
        "eat_profile": crate::token::EAR_PROFILE,
        "iat": now,
        "exp": expires,
        "eat_nonce": request.nonce,
        "ear_verifier_id": { "developer": "https://github.com/scute", "build": concat!("scute ", env!("CARGO_PKG_VERSION")) },
        "ear_status": status,
        "submods": {
            "cpu0": {
                "ear_status": status,
                "ear_trustworthiness_vector": vector,
                "ear_appraisal_policy_ids": policy_ids,
                "ear_veraison_annotated_evidence": claims,
            }
        }
    });
    let token = state.signer().sign(&ear).map_err(ApiError::internal)?;
    Ok(Appraised {
        token,
        tcb_status: verified.tcb_status,
        status,
        expires,
    })
}

/// Per-TEE verification: authenticity, the report-data binding and the init-data binding.
async fn verify_evidence(
    state: &AppState,
    request: &Appraise,
    now: i64,
) -> Result<Verified, ApiError> {
    match &request.evidence {
        Evidence::Dcap {
            tee,
            quote,
            cc_eventlog,
        } => verify_dcap(state, request, *tee, quote, cc_eventlog.as_deref(), now).await,
        Evidence::Snp(evidence) => verify_snp(state, request, evidence, now).await,
        Evidence::Csv {
            evidence,
            cc_eventlog,
        } => {
            crate::pipeline_csv::verify(state, request, evidence, cc_eventlog.as_deref(), now).await
        }
        Evidence::Sample { report_data } => {
            if !state.config.allow_sample_tee {
                return Err(rejected(
                    "evidence_rejected",
                    "the sample TEE proves nothing and is refused (allow_sample_tee = false)",
                ));
            }
            let mut padded = report_data.clone();
            padded.resize(64, 0);
            if padded.as_slice() != request.expected_report_data.as_slice() {
                return Err(rejected(
                    "report_data_mismatch",
                    "the sample evidence's report_data does not bind the runtime data",
                ));
            }
            if request.init_data.is_some() {
                return Err(rejected(
                    "init_data_mismatch",
                    "init-data cannot be bound by the sample TEE",
                ));
            }
            Ok(Verified {
                // No hardware vouches: nothing a policy could mistake for a verified claim.
                claims: json!({ "tee": "sample", "tcb_status": "None", "debug": true, "measurements": {} }),
                tcb_status: "None".into(),
                expires: now + state.config.token_lifetime_secs as i64,
            })
        }
    }
}

/// SEV-SNP: report_data, and init-data bound by HOST_DATA (the digest zero-padded or cut to
/// 32 bytes, as guest-components' `pad` and trustee's `regularize_data` do), then
/// authenticity (`crate::snp::verify`). The bindings and the report's own form are checked
/// first: a report that could never be accepted must not make the service look up, let alone
/// fetch from AMD's KDS, a key for it.
async fn verify_snp(
    state: &AppState,
    request: &Appraise,
    evidence: &crate::snp::SnpEvidence,
    now: i64,
) -> Result<Verified, ApiError> {
    let evidence_rejected =
        |e: scute_snp::SnpError| rejected("evidence_rejected", format!("{}: {e}", e.kind()));
    let report = scute_snp::Report::decode(&evidence.report).map_err(evidence_rejected)?;
    if report.report_data != request.expected_report_data {
        return Err(rejected(
            "report_data_mismatch",
            "the report's report_data does not bind the runtime data",
        ));
    }
    if let Some((digest, _)) = &request.init_data {
        let mut expected = [0u8; 32];
        for (slot, byte) in expected.iter_mut().zip(digest) {
            *slot = *byte;
        }
        if report.host_data != expected {
            return Err(rejected(
                "init_data_mismatch",
                "the report's HOST_DATA is not the digest of the init-data sent",
            ));
        }
    }
    scute_snp::check_form(&report).map_err(evidence_rejected)?;
    let verified = crate::snp::verify(
        &state.store,
        &state.snp_roots,
        state.snp_kds.as_ref(),
        evidence,
        now,
    )
    .await?;
    Ok(Verified {
        claims: crate::snp::claims(&verified),
        tcb_status: crate::snp::TCB_STATUS.to_string(),
        expires: verified.expires(),
    })
}

async fn verify_dcap(
    state: &AppState,
    request: &Appraise,
    tee: Tee,
    quote_bytes: &[u8],
    cc_eventlog: Option<&[u8]>,
    now: i64,
) -> Result<Verified, ApiError> {
    let quote = Quote::decode(quote_bytes)
        .map_err(|e| rejected("evidence_rejected", format!("quote_decode: {e}")))?;
    if quote.tee_type().name() != tee.name() {
        return Err(ApiError::bad_request(
            "bad_field",
            format!(
                "tee is {:?} but the quote is {}",
                tee.name(),
                quote.tee_type().name()
            ),
        ));
    }
    if quote.report_data().as_slice() != request.expected_report_data.as_slice() {
        return Err(rejected(
            "report_data_mismatch",
            "the quote's report_data does not bind the runtime data",
        ));
    }

    // Authenticity: the warm collateral for this platform, then the quote.
    let (pck, ca) = state
        .platforms
        .platform(&quote)
        .map_err(|e| rejected("evidence_rejected", format!("{}: {e}", e.kind())))?;
    let collateral = state
        .collateral
        .get(
            &state.store,
            &state.anchors,
            &hex::encode(pck.fmspc),
            ca.name(),
            quote.tee_type().name(),
            // Only a chain a trusted root vouches for may make us ask the upstream.
            || {
                state
                    .anchors
                    .iter()
                    .any(|a| scute_dcap::authenticated_quote_platform(&quote, a).is_ok())
            },
        )
        .await?;
    // Debug TEEs pass verification here so the policy can mark them contraindicated.
    let options = VerifyOptions {
        allow_debug: true,
        ..VerifyOptions::default()
    };
    let verified = collateral
        .verify_quote(quote_bytes, now, options)
        .map_err(|e| rejected("evidence_rejected", format!("{}: {e}", e.kind())))?;

    if let Some((digest, _)) = &request.init_data {
        let td = verified.quote().body.td10().ok_or_else(|| {
            rejected(
                "init_data_mismatch",
                "init-data is bound by TDX MRCONFIGID; this quote has none",
            )
        })?;
        let mut expected = digest.clone();
        expected.resize(48, 0);
        if td.mr_config_id.as_slice() != expected.as_slice() {
            return Err(rejected(
                "init_data_mismatch",
                "the quote's MRCONFIGID is not the digest of the init-data sent",
            ));
        }
    }

    let log_claims = match cc_eventlog {
        Some(bytes) => Some(crate::eventlog_claims::replay_event_log(&verified, bytes)?),
        None => None,
    };
    Ok(Verified {
        claims: claims(&verified, &Value::Null, log_claims),
        tcb_status: verified.tcb_status().name().to_string(),
        expires: verified.collateral_expires(),
    })
}
