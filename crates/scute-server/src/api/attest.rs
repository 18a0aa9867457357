//! The attest domain, apart from HTTP: `parse` turns a request body into a checked
//! `AttestRequest` with the report_data it must bind (pure, fuzzed); `attest` spends the nonce,
//! verifies the quote, replays the event log and appraises under the mandatory policies.

use super::{b64, rejected};
use crate::error::ApiError;
use crate::nonce::NonceError;
use crate::pipeline::{self, Tee};
use crate::AppState;
use aws_lc_rs::digest::{digest, SHA384};
use serde::Deserialize;
use serde_json::Value;

/// Most policies one request may add to the mandatory ones.
pub const MAX_POLICY_IDS: usize = crate::appraisal::MAX_REQUEST_POLICIES;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Evidence {
    quote: String,
    #[serde(default)]
    cc_eventlog: Option<String>,
    /// SEV-SNP: the VCEK or VLEK (DER or PEM), base64.
    #[serde(default)]
    vcek: Option<String>,
    /// SEV-SNP: KDS's cert_chain (ASK or ASVK, then ARK; PEM), base64.
    #[serde(default)]
    cert_chain: Option<String>,
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
    /// "sgx", "tdx", "snp" or "csv" (quote: a raw CSV report or the CoCo attester's evidence
    /// JSON).
    pub tee: &'static str,
    /// The quote, or for SNP the raw report.
    pub quote: Vec<u8>,
    pub cc_eventlog: Option<Vec<u8>>,
    /// SNP: the endorsement key and its chain, when sent.
    pub vcek: Option<Vec<u8>>,
    pub cert_chain: Option<Vec<u8>>,
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
    let vcek = body
        .evidence
        .vcek
        .as_deref()
        .map(|t| b64("evidence.vcek", t))
        .transpose()?;
    let cert_chain = body
        .evidence
        .cert_chain
        .as_deref()
        .map(|t| b64("evidence.cert_chain", t))
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
        "snp" => "snp",
        "csv" => "csv",
        other => {
            return Err(ApiError::bad_request(
                "bad_field",
                format!("tee must be \"sgx\", \"tdx\", \"snp\" or \"csv\", not {other:?}"),
            ))
        }
    };
    if tee != "snp" && (vcek.is_some() || cert_chain.is_some()) {
        return Err(ApiError::bad_request(
            "bad_field",
            "evidence.vcek and evidence.cert_chain are for tee \"snp\"",
        ));
    }
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
        vcek,
        cert_chain,
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
    pub tcb_status: String,
    pub ear_status: &'static str,
}

/// Attests: spends the challenge nonce, then the shared pipeline (binding, authenticity,
/// event log, appraisal under the mandatory policies, token).
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
            NonceError::Store(_) => ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the store cannot be reached to spend the nonce; retry with a new challenge",
            ),
        })?;
    let evidence = match request.tee {
        "snp" => pipeline::Evidence::Snp(crate::snp::SnpEvidence {
            report: request.quote,
            vek: request.vcek,
            chain: request.cert_chain,
        }),
        "csv" => pipeline::Evidence::Csv {
            evidence: request.quote,
            cc_eventlog: request.cc_eventlog,
        },
        tee => pipeline::Evidence::Dcap {
            tee: if tee == "sgx" { Tee::Sgx } else { Tee::Tdx },
            quote: request.quote,
            cc_eventlog: request.cc_eventlog,
        },
    };
    let appraised = pipeline::appraise(
        state,
        pipeline::Appraise {
            evidence,
            expected_report_data: request.report_data,
            runtime_data: request.runtime_data,
            nonce: request.nonce_text,
            init_data: None,
            extra_policy_ids: request.extra_policy_ids,
        },
        now,
    )
    .await?;
    Ok(Attested {
        token: appraised.token,
        tcb_status: appraised.tcb_status,
        ear_status: appraised.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn snp_certificates_come_only_with_tee_snp() {
        let body = |tee: &str| {
            json!({"tee": tee, "evidence": {"quote": "AAAA", "vcek": "AAAA", "cert_chain": "AAAA"},
                   "runtime_data": {"nonce": "AAAA"}})
            .to_string()
            .into_bytes()
        };
        let snp = parse(&body("snp")).unwrap();
        assert_eq!(snp.vcek.as_deref(), Some(&[0u8, 0, 0][..]));
        assert_eq!(parse(&body("tdx")).unwrap_err().kind, "bad_field");
    }

    #[test]
    fn mandatory_policies_come_first_and_are_never_dropped() {
        let config = crate::Config {
            mandatory_policies: vec!["default".to_string(), "site".to_string()],
            ..crate::Config::default()
        };
        let applied =
            |extra: &[String]| crate::appraisal::applied_policy_ids(&config, extra).unwrap();
        assert_eq!(applied(&[]), ["default", "site"]);
        assert_eq!(
            applied(&["narrow".into(), "default".into()]),
            ["default", "site", "narrow"]
        );
    }
}
