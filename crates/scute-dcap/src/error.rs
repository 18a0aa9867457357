//! The one error type of DCAP verification. Each variant names the step and the item that
//! failed; `kind()` gives the stable snake_case id that CLIs and HTTP APIs expose.

use scute_quote::QuoteError;
use thiserror::Error;

/// A piece of collateral or evidence, named in errors.
pub(crate) type Item = &'static str;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DcapError {
    #[error("quote could not be decoded: {0}")]
    QuoteDecode(#[from] QuoteError),
    #[error("quote was produced by an unknown quoting enclave vendor {0}")]
    UnknownQeVendor(String),
    #[error("{item} is missing from the collateral")]
    CollateralMissing { item: Item },
    #[error("{item} could not be decoded: {reason}")]
    CollateralDecode { item: Item, reason: String },
    #[error("{item} signature does not verify")]
    CollateralSignature { item: Item },
    #[error("certificate {item} is invalid: {reason}")]
    Certificate { item: Item, reason: String },
    #[error("{item} does not chain to the trusted root key")]
    UntrustedRoot { item: Item },
    #[error("certificate {item} is revoked")]
    CertificateRevoked { item: Item },
    #[error("{item} expired at {not_after}")]
    Expired { item: Item, not_after: String },
    #[error("{item} is not valid before {not_before}")]
    NotYetValid { item: Item, not_before: String },
    #[error("quote carries certification data type {0} and the collateral holds no pck_chain.pem")]
    PckChainMissing(u16),
    #[error("{item} is for {found}, the quote is {expected}")]
    TeeMismatch {
        item: Item,
        found: String,
        expected: &'static str,
    },
    #[error("PCK certificate {field} {pck} does not match TCB Info {tcb_info}")]
    PlatformMismatch {
        field: &'static str,
        pck: String,
        tcb_info: String,
    },
    #[error("QE report signature does not verify with the PCK key")]
    QeReportSignature,
    #[error("QE report data does not bind the attestation key and QE auth data")]
    QeReportData,
    #[error("QE report does not match QE Identity: {field}")]
    QeIdentityMismatch { field: &'static str },
    #[error("quote signature does not verify with the attestation key")]
    QuoteSignature,
    #[error("TDX module does not match TCB Info: {reason}")]
    TdxModuleMismatch { reason: String },
    #[error("TCB not supported: no {what} TCB level matches the platform")]
    TcbNotSupported { what: &'static str },
    #[error("TCB is revoked")]
    TcbRevoked,
    #[error("debug {0} not allowed")]
    Debug(&'static str),
    #[error("TD attributes not allowed: {0}")]
    TdAttributes(&'static str),
}

impl DcapError {
    /// Stable snake_case identifier of the failure kind.
    pub fn kind(&self) -> &'static str {
        match self {
            DcapError::QuoteDecode(_) => "quote_decode",
            DcapError::UnknownQeVendor(_) => "unknown_qe_vendor",
            DcapError::CollateralMissing { .. } => "collateral_missing",
            DcapError::CollateralDecode { .. } => "collateral_decode",
            DcapError::CollateralSignature { .. } => "collateral_signature",
            DcapError::Certificate { .. } => "certificate_invalid",
            DcapError::UntrustedRoot { .. } => "untrusted_root",
            DcapError::CertificateRevoked { .. } => "certificate_revoked",
            DcapError::Expired { .. } => "collateral_expired",
            DcapError::NotYetValid { .. } => "collateral_not_yet_valid",
            DcapError::PckChainMissing(_) => "pck_chain_missing",
            DcapError::TeeMismatch { .. } => "tee_mismatch",
            DcapError::PlatformMismatch { .. } => "platform_mismatch",
            DcapError::QeReportSignature => "qe_report_signature",
            DcapError::QeReportData => "qe_report_data",
            DcapError::QeIdentityMismatch { .. } => "qe_identity_mismatch",
            DcapError::QuoteSignature => "quote_signature",
            DcapError::TdxModuleMismatch { .. } => "tdx_module_mismatch",
            DcapError::TcbNotSupported { .. } => "tcb_not_supported",
            DcapError::TcbRevoked => "tcb_revoked",
            DcapError::Debug(_) => "debug_not_allowed",
            DcapError::TdAttributes(_) => "td_attributes_not_allowed",
        }
    }
}
