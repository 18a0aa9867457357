//! KBS 0.4.0 messages (kebab-case members), checked against `kbs-types` and the client in
//! guest-components `kbs_protocol/src/client/rcar_client.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only protocol version this broker speaks (pre-1.0 versions are not compatible).
pub const PROTOCOL_VERSION: &str = "0.4.0";

/// `POST /kbs/v0/auth` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub version: String,
    pub tee: String,
    /// An object (the client sends `{"supported-hash-algorithms": [...]}`) or "".
    #[serde(rename = "extra-params")]
    pub extra_params: Value,
}

/// `POST /kbs/v0/auth` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Challenge {
    pub nonce: String,
    #[serde(rename = "extra-params")]
    pub extra_params: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeData {
    pub nonce: String,
    /// A JWK; see [`crate::RecipientKey::from_jwk`].
    #[serde(rename = "tee-pubkey")]
    pub tee_pubkey: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompositeEvidence {
    /// TEE-specific JSON: TDX `{"quote", "cc_eventlog"}`, SGX `{"quote"}` (base64).
    pub primary_evidence: Value,
    /// A JSON string kept exactly as sent: it is hashed into the report data.
    pub additional_evidence: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitData {
    pub format: String,
    pub body: String,
}

/// `POST /kbs/v0/attest` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attestation {
    #[serde(rename = "init-data", default, skip_serializing_if = "Option::is_none")]
    pub init_data: Option<InitData>,
    #[serde(rename = "runtime-data")]
    pub runtime_data: RuntimeData,
    #[serde(rename = "tee-evidence")]
    pub tee_evidence: CompositeEvidence,
}
