//! The one error type of CSV decoding and verification. Each variant names the step and the
//! item or field that failed; `kind()` gives the stable snake_case id CLIs and HTTP APIs expose.

use thiserror::Error;

/// A certificate of the chain, or the report, named in errors.
pub(crate) type Item = &'static str;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CsvError {
    #[error("{field} is truncated: {needed} bytes needed, {available} available")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("{item} is {len} bytes; expected {expected}")]
    Length {
        item: Item,
        len: usize,
        expected: &'static str,
    },
    #[error("{item} has {trailing} bytes past its {expected}-byte layout")]
    Trailing {
        item: Item,
        trailing: usize,
        expected: &'static str,
    },
    #[error("{field} is invalid: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("{field}: bytes above the 32-byte little-endian value are not zero")]
    HighBytes { field: &'static str },
    #[error("Trustee evidence JSON could not be decoded: {0}")]
    EvidenceJson(String),
    #[error("{item} has usage {found:#x}; expected {expected:#x}")]
    Usage {
        item: Item,
        found: u32,
        expected: u32,
    },
    #[error("{item} has algorithm {found:#x}; expected SM2 ({expected:#x})")]
    Algorithm {
        item: Item,
        found: u32,
        expected: u32,
    },
    #[error("{item} key is not a point of SM2-256")]
    PublicKey { item: Item },
    #[error("{item} does not name its issuer's key ID")]
    IssuerId { item: Item },
    #[error("{item} is not signed by a trusted Hygon root key")]
    UntrustedRoot { item: Item },
    #[error("{item} signature does not verify")]
    Signature { item: Item },
    #[error("HSK and CEK for this chip are not in the collateral")]
    ChainMissing,
    #[error("the signer block's MAC (HMAC-SM3 keyed with mnonce) does not verify")]
    Mac,
    #[error("the evidence's {field} differs from the one in the report's signer block")]
    SignerMismatch { field: &'static str },
    #[error("Trustee's evidence form cannot have its MAC checked: it is accepted only with report_data bound")]
    ReportDataRequired,
    #[error("report_data does not match the expected value")]
    ReportData,
}

impl CsvError {
    /// Stable snake_case identifier of the failure kind.
    pub fn kind(&self) -> &'static str {
        match self {
            CsvError::Truncated { .. }
            | CsvError::Length { .. }
            | CsvError::Trailing { .. }
            | CsvError::Field { .. }
            | CsvError::HighBytes { .. } => "report_decode",
            CsvError::EvidenceJson(_) => "evidence_decode",
            CsvError::Usage { .. } => "key_usage",
            CsvError::Algorithm { .. } => "algorithm",
            CsvError::PublicKey { .. } => "public_key_invalid",
            CsvError::IssuerId { .. } => "issuer_mismatch",
            CsvError::UntrustedRoot { .. } => "untrusted_root",
            CsvError::Signature { .. } => "signature_invalid",
            CsvError::ChainMissing => "collateral_missing",
            CsvError::Mac => "mac_invalid",
            CsvError::SignerMismatch { .. } => "signer_mismatch",
            CsvError::ReportDataRequired => "report_data_required",
            CsvError::ReportData => "report_data_mismatch",
        }
    }
}
