//! The Confidential Containers Key Broker Service protocol, version 0.4.0, as the
//! guest-components `kbs_protocol` client speaks it: the JSON messages, the binding of nonce
//! and TEE key into report data, init-data digests, and the JWE that carries a released secret.
//! No I/O: the service (scute-server) and the guest client (scute) both build on this.

mod binding;
mod jwe;
mod protocol;

pub use binding::{init_data_digest, runtime_data_digest, HashAlgorithm};
pub use jwe::{decrypt, encrypt, EcCurve, FlattenedJwe, RecipientKey, TeeKeyPair};
pub use protocol::{
    Attestation, Challenge, CompositeEvidence, InitData, Request, RuntimeData, PROTOCOL_VERSION,
};

/// What was wrong with a KBS message, key or envelope.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KbsError {
    #[error("tee-pubkey: {0}")]
    TeeKey(String),
    #[error("init-data: {0}")]
    InitData(String),
    #[error("hash algorithm {0:?} is not supported (sha256, sha384, sha512)")]
    HashAlgorithm(String),
    #[error("runtime data cannot be canonicalised: {0}")]
    Canonical(String),
    #[error("JWE: {0}")]
    Jwe(&'static str),
}
