//! The attest domain, apart from HTTP: `parse` turns a request body into a checked
//! `AttestRequest` with the report_data it must bind (pure, fuzzed); `attest` spends the nonce,
//! verifies the quote, replays the event log and appraises under the mandatory policies.

use super::{b64, rejected, replay_event_log};
use crate::appraisal::{claims, status_name, tier};
use crate::error::ApiError;
use crate::nonce::NonceError;
use crate::AppState;
use aws_lc_rs::digest::{digest, SHA384};
use axum::http::StatusCode;
use scute_dcap::{quote_platform, VerifyOptions};
use scute_quote::Quote;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Most policies one request may add to the mandatory ones.
pub const MAX_POLICY_IDS: usize = 16;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Evidence {
    quote: String,
    #[serde(default)]
    cc_eventlog: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    tee: String,
    evidence: Evidence,
    runtime_data: Value,
    #[serde(default)]
    policy_ids: Option<Vec<String>>,
}

/// A well-formed attestation request. Nothing in it is verified yet.
#[derive(Debug, Clone)]
pub struct AttestRequest {
    /// "sgx" or "tdx".
    pub tee: &'static str,
    pub quote: Vec<u8>,
    pub cc_eventlog: Option<Vec<u8>>,
    pub runtime_data: Value,
    /// `runtime_data.nonce` as sent (it becomes the token's `eat_nonce`) and decoded.
    pub nonce_text: String,
    pub nonce: Vec<u8>,
    /// Policies the attester asks for on top of the mandatory ones (at most 16, no repeats).
    pub extra_policy_ids: Vec<String>,
    /// What the quote's report_data must be.
    pub report_data: [u8; 64],
}

/// report_data for runtime data: SHA-384 of its RFC 8785 canonical JSON, then 16 zero bytes
/// (the Confidential Containers convention).
pub fn report_data_for(runtime_data: &Value) -> Result<[u8; 64], ApiError> {
    let canonical = serde_json_canonicalizer::to_vec(runtime_data)
        .map_err(|e| ApiError::bad_request("bad_field", format!("runtime_data: {e}")))?;
    let mut out = [0u8; 64];
    out[..48].copy_from_slice(digest(&SHA384, &canonical).as_ref());
    Ok(out)
}

/// Parses and checks a `/v1/attest` body, without I/O.
pub fn parse(bytes: &[u8]) -> Result<AttestRequest, ApiError> {
    let body: Body = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("request body: {e}")))?;
    let quote = b64("evidence.quote", &body.evidence.quote)?;
    let cc_eventlog = body
        .evidence
        .cc_eventlog
        .as_deref()
        .map(|t| b64("evidence.cc_eventlog", t))
        .transpose()?;
    let runtime = body
        .runtime_data
        .as_object()
        .ok_or_else(|| ApiError::bad_request("bad_field", "runtime_data must be a JSON object"))?;
    let nonce_text = runtime
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("bad_field", "runtime_data.nonce must be a string"))?
        .to_string();
    let nonce = b64("runtime_data.nonce", &nonce_text)?;
    let tee = match body.tee.as_str() {
        "sgx" => "sgx",
        "tdx" => "tdx",
        other => {
            return Err(ApiError::bad_request(
                "bad_field",
                format!("tee must be \"sgx\" or \"tdx\", not {other:?}"),
            ))
        }
    };
    let requested = body.policy_ids.unwrap_or_default();
    if requested.len() > MAX_POLICY_IDS {
        return Err(ApiError::bad_request(
            "bad_field",
            format!(
                "policy_ids names {} policies; at most {MAX_POLICY_IDS}",
                requested.len()
            ),
        ));
    }
    let mut extra_policy_ids: Vec<String> = Vec::new();
    for id in requested {
        if !extra_policy_ids.contains(&id) {
            extra_policy_ids.push(id);
        }
    }
    let report_data = report_data_for(&body.runtime_data)?;
    Ok(AttestRequest {
        tee,
        quote,
        cc_eventlog,
        runtime_data: body.runtime_data,
        nonce_text,
        nonce,
        extra_policy_ids,
        report_data,
    })
}

/// A signed attestation result.
pub struct Attested {
    pub token: String,
    pub tcb_status: &'static str,
    pub ear_status: &'static str,
}

/// The policies applied: the mandatory ones, then the attester's additions.
fn applied_policies(mandatory: &[String], extra: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in mandatory.iter().chain(extra) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// Attests: freshness, binding, authenticity, event log, appraisal, token.
pub async fn attest(
    state: &AppState,
    request: AttestRequest,
    now: i64,
) -> Result<Attested, ApiError> {
    // Freshness: the nonce is ours, unused and unexpired, and it is spent now.
    state
        .nonces
        .consume(&state.store, &request.nonce, now)
        .await
        .map_err(|e| match e {
            NonceError::Expired => rejected("nonce_expired", "the challenge nonce has expired"),
            NonceError::Replayed => {
                rejected("nonce_replayed", "the challenge nonce was already used")
            }
            NonceError::Unknown => rejected(
                "nonce_unknown",
                "the challenge nonce was not issued by this service",
            ),
            NonceError::Store(e) => ApiError::internal(format!("store: {e}")),
        })?;

    // Binding: report_data = SHA-384(JCS(runtime_data)) ‖ 16 zero bytes.
    let quote = Quote::decode(&request.quote)
        .map_err(|e| rejected("evidence_rejected", format!("quote_decode: {e}")))?;
    if quote.tee_type().name() != request.tee {
        return Err(ApiError::bad_request(
            "bad_field",
            format!(
                "tee is {:?} but the quote is {}",
                request.tee,
                quote.tee_type().name()
            ),
        ));
    }
    if quote.report_data().as_slice() != request.report_data.as_slice() {
        return Err(rejected("report_data_mismatch", "the quote's report_data is not SHA-384 of the canonical runtime_data followed by 16 zero bytes"));
    }

    // Authenticity: the warm collateral for this platform, then the quote.
    let (pck, ca) = quote_platform(&quote)
        .map_err(|e| rejected("evidence_rejected", format!("{}: {e}", e.kind())))?;
    let collateral = state
        .collateral
        .get(
            &state.store,
            &state.anchors,
            &hex::encode(pck.fmspc),
            ca.name(),
            quote.tee_type().name(),
        )
        .await?;
    // Debug TEEs pass verification here so the policy can mark them contraindicated.
    let options = VerifyOptions {
        allow_debug: true,
        ..VerifyOptions::default()
    };
    let verified = collateral
        .verify_quote(&request.quote, now, options)
        .map_err(|e| rejected("evidence_rejected", format!("{}: {e}", e.kind())))?;

    let log_claims = match &request.cc_eventlog {
        Some(bytes) => Some(replay_event_log(&verified, bytes)?),
        None => None,
    };
    let claims = claims(&verified, &request.runtime_data, log_claims);

    // Appraisal: the relying side's mandatory policies always, the attester's additions too;
    // the worst tier per claim wins and any denial refuses.
    let policy_ids = applied_policies(&state.config.mandatory_policies, &request.extra_policy_ids);
    let policies = state
        .policies
        .read()
        .map_err(|_| ApiError::internal("policy lock"))?
        .clone();
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
            .evaluate(id, &claims)
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
    let ear = json!({
        "eat_profile": crate::token::EAR_PROFILE,
        "iat": now,
        // A result is no fresher than the collateral that vouched for it.
        "exp": (now + state.config.token_lifetime_secs as i64).min(verified.collateral_expires()),
        "eat_nonce": request.nonce_text,
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
    let token = state.signer.sign(&ear).map_err(ApiError::internal)?;
    Ok(Attested {
        token,
        tcb_status: verified.tcb_status().name(),
        ear_status: status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(policy_ids: Value) -> Vec<u8> {
        json!({"tee": "tdx", "evidence": {"quote": "AAAA"}, "runtime_data": {"nonce": "AAAA"},
               "policy_ids": policy_ids})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn at_most_sixteen_policies_and_repeats_collapse() {
        let ids: Vec<String> = (0..16).map(|i| format!("p{i}")).collect();
        assert_eq!(parse(&body(json!(ids))).unwrap().extra_policy_ids, ids);
        let ids: Vec<String> = (0..17).map(|i| format!("p{i}")).collect();
        assert_eq!(parse(&body(json!(ids))).unwrap_err().kind, "bad_field");
        let parsed = parse(&body(json!(["a", "b", "a"]))).unwrap();
        assert_eq!(parsed.extra_policy_ids, ["a", "b"]);
    }

    #[test]
    fn mandatory_policies_come_first_and_are_never_dropped() {
        let mandatory = vec!["default".to_string(), "site".to_string()];
        assert_eq!(applied_policies(&mandatory, &[]), ["default", "site"]);
        assert_eq!(
            applied_policies(&mandatory, &["narrow".into(), "default".into()]),
            ["default", "site", "narrow"]
        );
    }
}
