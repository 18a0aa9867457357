//! The one error type of RA-TLS: which step failed (certificate, binding, quote, TCB,
//! measurement), worded for the log of the side that rejected the peer.

use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RaTlsError {
    #[error("certificate cannot be read: {0}")]
    Certificate(String),
    #[error("certificate carries no attestation evidence")]
    NoEvidence,
    #[error("{format} evidence is malformed: {reason}")]
    Evidence {
        format: &'static str,
        reason: String,
    },
    #[error("no collateral: the certificate carries no endorsements extension and none was given")]
    NoEndorsements,
    #[error("no collateral for the peer's quote: {0}")]
    CollateralUnavailable(String),
    #[error("key binding failed: no evidence extension binds the certificate's public key")]
    KeyNotBound,
    #[error("quote verification failed: {0}")]
    Quote(#[from] scute_dcap::DcapError),
    #[error("TCB status {0} is not accepted")]
    TcbNotAccepted(String),
    #[error("the collateral's TCB evaluation data number {have} is below the minimum {minimum}")]
    EvaluationDataTooOld { have: u32, minimum: u32 },
    #[error("measurement {name} is {actual}, expected {expected}")]
    Measurement {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("certificate is not valid at this time")]
    Expired,
    #[error("issuing the certificate failed: {0}")]
    Issue(String),
}
