//! The attestation API's own wire format: a `/v1/attest` body parsed and checked into an
//! `AttestRequest`, with the report_data its quote must bind. No I/O, so the service, the
//! client and the fuzzer share one parser.

use aws_lc_rs::digest::{digest, SHA384};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
pub use scute_tee::Tee;
use serde::Deserialize;
use serde_json::Value;

/// Most policies one request may add to the mandatory ones.
pub const MAX_POLICY_IDS: usize = 16;

/// What is wrong with a request body; `kind` is the problem type the service answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request body: {0}")]
    MalformedJson(String),
    #[error("{field}: {detail}")]
    MalformedBase64 { field: &'static str, detail: String },
    #[error("{0}")]
    BadField(String),
}

impl RequestError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::MalformedBase64 { .. } => "malformed_base64",
            Self::BadField(_) => "bad_field",
        }
    }
}

/// The first object key anywhere in `value` that serde_json reserves for itself
/// (`$serde_json::private::…`): deserialisers such as regorus's read such an object as a number
/// of unbounded size, so attester-chosen JSON carrying one is refused.
pub fn serde_private_key(value: &Value) -> Option<&str> {
    match value {
        Value::Object(object) => object.iter().find_map(|(key, value)| {
            if key.starts_with("$serde_json::private") {
                Some(key.as_str())
            } else {
                serde_private_key(value)
            }
        }),
        Value::Array(items) => items.iter().find_map(serde_private_key),
        _ => None,
    }
}

fn b64(field: &'static str, text: &str) -> Result<Vec<u8>, RequestError> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| RequestError::MalformedBase64 {
            field,
            detail: e.to_string(),
        })
}

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
    /// Any TEE of the workspace's vocabulary (`scute_tee::Tee`): "sgx", "tdx", "snp", "csv"
    /// (quote: a raw CSV report or the CoCo attester's evidence JSON), or "sample" (the
    /// service refuses it unless configured to accept it).
    pub tee: Tee,
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

/// The refusal of a TEE name `/v1/attest` does not take (the service answers `sample`, when
/// not configured to accept it, with this too).
pub fn unsupported_tee(name: &str) -> RequestError {
    RequestError::BadField(format!(
        "tee must be \"sgx\", \"tdx\", \"snp\" or \"csv\", not {name:?}"
    ))
}

/// report_data for runtime data: SHA-384 of its RFC 8785 canonical JSON, then 16 zero bytes
/// (the Confidential Containers convention).
pub fn report_data_for(runtime_data: &Value) -> Result<[u8; 64], RequestError> {
    let canonical = serde_json_canonicalizer::to_vec(runtime_data)
        .map_err(|e| RequestError::BadField(format!("runtime_data: {e}")))?;
    let mut out = [0u8; 64];
    out[..48].copy_from_slice(digest(&SHA384, &canonical).as_ref());
    Ok(out)
}

/// Parses and checks a `/v1/attest` body, without I/O.
pub fn parse_attest_request(bytes: &[u8]) -> Result<AttestRequest, RequestError> {
    let body: Body =
        serde_json::from_slice(bytes).map_err(|e| RequestError::MalformedJson(e.to_string()))?;
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
        .ok_or_else(|| RequestError::BadField("runtime_data must be a JSON object".into()))?;
    let nonce_text = runtime
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or_else(|| RequestError::BadField("runtime_data.nonce must be a string".into()))?
        .to_string();
    let nonce = b64("runtime_data.nonce", &nonce_text)?;
    if let Some(key) = serde_private_key(&body.runtime_data) {
        return Err(RequestError::BadField(format!(
            "runtime_data carries the reserved key {key:?}"
        )));
    }
    let tee: Tee = body.tee.parse().map_err(|_| unsupported_tee(&body.tee))?;
    if tee != Tee::Snp && (vcek.is_some() || cert_chain.is_some()) {
        return Err(RequestError::BadField(
            "evidence.vcek and evidence.cert_chain are for tee \"snp\"".into(),
        ));
    }
    let requested = body.policy_ids.unwrap_or_default();
    if requested.len() > MAX_POLICY_IDS {
        return Err(RequestError::BadField(format!(
            "policy_ids names {} policies; at most {MAX_POLICY_IDS}",
            requested.len()
        )));
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
        assert_eq!(
            parse_attest_request(&body(json!(ids)))
                .unwrap()
                .extra_policy_ids,
            ids
        );
        let ids: Vec<String> = (0..17).map(|i| format!("p{i}")).collect();
        assert_eq!(
            parse_attest_request(&body(json!(ids))).unwrap_err().kind(),
            "bad_field"
        );
        let parsed = parse_attest_request(&body(json!(["a", "b", "a"]))).unwrap();
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
        let snp = parse_attest_request(&body("snp")).unwrap();
        assert_eq!(snp.vcek.as_deref(), Some(&[0u8, 0, 0][..]));
        assert_eq!(
            parse_attest_request(&body("tdx")).unwrap_err().kind(),
            "bad_field"
        );
    }

    #[test]
    fn errors_name_their_kind_and_field() {
        let err = parse_attest_request(b"{").unwrap_err();
        assert_eq!(err.kind(), "malformed_json");
        let body =
            json!({"tee": "tdx", "evidence": {"quote": "@@"}, "runtime_data": {"nonce": "AAAA"}});
        let err = parse_attest_request(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.kind(), "malformed_base64");
        assert!(err.to_string().starts_with("evidence.quote: "), "{err}");
        let body =
            json!({"tee": "sev", "evidence": {"quote": "AAAA"}, "runtime_data": {"nonce": "AAAA"}});
        let err = parse_attest_request(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.kind(), "bad_field");
    }

    #[test]
    fn a_reserved_serde_key_is_refused_at_any_depth() {
        let body = json!({"tee": "tdx", "evidence": {"quote": "AAAA"},
            "runtime_data": {"nonce": "AAAA", "a": [{"b": {"$serde_json::private::Number": "1e9"}}]}});
        let err = parse_attest_request(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.kind(), "bad_field");
        assert!(err.to_string().contains("reserved key"), "{err}");
    }

    #[test]
    fn report_data_is_sha384_of_the_canonical_runtime_data() {
        let body = json!({"tee": "csv", "evidence": {"quote": "AAAA"},
                          "runtime_data": {"z": 1, "nonce": "AAAA", "a": [true]}});
        let request = parse_attest_request(body.to_string().as_bytes()).unwrap();
        assert_eq!(request.tee, Tee::Csv);
        let canonical = br#"{"a":[true],"nonce":"AAAA","z":1}"#;
        assert_eq!(
            &request.report_data[..48],
            digest(&SHA384, canonical).as_ref()
        );
        assert_eq!(request.report_data[48..], [0u8; 16]);
    }
}
