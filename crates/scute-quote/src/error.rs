//! The one error type of quote decoding: every variant names the field or block that was wrong.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QuoteError {
    #[error("quote truncated in {field}: needs {needed} bytes, {available} left")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("unsupported quote version {0} (supported: 3, 4, 5)")]
    UnsupportedVersion(u16),
    #[error("unsupported attestation key type {0} (supported: 2 = ECDSA-256 with P-256)")]
    UnsupportedAttestationKeyType(u16),
    #[error("unknown TEE type {0:#010x}")]
    UnknownTeeType(u32),
    #[error("quote version {version} cannot carry a {tee} report")]
    TeeTypeMismatch { version: u16, tee: &'static str },
    #[error("unsupported v5 body type {0}")]
    UnsupportedBodyType(u16),
    #[error("v5 body type {body_type} declares {declared} bytes, its layout has {expected}")]
    BodySizeMismatch {
        body_type: u16,
        declared: u32,
        expected: usize,
    },
    #[error("{field} declares {declared} bytes but its content uses {used}")]
    SizeMismatch {
        field: &'static str,
        declared: usize,
        used: usize,
    },
    #[error("unsupported {position} certification data type {cert_type}")]
    UnsupportedCertificationDataType {
        position: &'static str,
        cert_type: u16,
    },
    #[error("non-zero byte at offset {offset} after the end of the quote")]
    TrailingData { offset: usize },
}
