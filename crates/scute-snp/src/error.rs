//! The one error type of SEV-SNP decoding and verification. Each variant names the step and the
//! field or certificate that failed; `kind()` is the stable snake_case id CLIs and APIs expose.

use thiserror::Error;

/// A certificate of the chain, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRole {
    /// AMD Root Key (self-signed, RSA-4096).
    Ark,
    /// AMD SEV Signing Key (signs VCEKs).
    Ask,
    /// AMD SEV VLEK Signing Key (signs VLEKs).
    Asvk,
    /// Versioned Chip Endorsement Key.
    Vcek,
    /// Versioned Loaded Endorsement Key.
    Vlek,
    /// The revocation list of the ARK for ASKs/ASVKs.
    Crl,
}

impl CertRole {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ark => "ARK",
            Self::Ask => "ASK",
            Self::Asvk => "ASVK",
            Self::Vcek => "VCEK",
            Self::Vlek => "VLEK",
            Self::Crl => "CRL",
        }
    }
}

impl std::fmt::Display for CertRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SnpError {
    #[error("attestation report is {len} bytes; a report is exactly 1184")]
    ReportLength { len: usize },
    #[error("attestation report version {0} is not supported (2 to 5)")]
    ReportVersion(u32),
    #[error("report field {field} is invalid: {reason}")]
    ReportField { field: &'static str, reason: String },
    #[error("report signature algorithm {0} is not ECDSA P-384 with SHA-384 (1)")]
    SignatureAlgorithm(u32),
    #[error("report signature {field} has non-zero bytes above the 48-byte scalar")]
    SignatureEncoding { field: &'static str },
    #[error("report signature does not verify with the {0} key")]
    ReportSignature(CertRole),
    #[error("certificate {role} could not be decoded: {reason}")]
    CertificateDecode { role: CertRole, reason: String },
    #[error("certificate {role} is invalid: {reason}")]
    Certificate { role: CertRole, reason: String },
    #[error("certificate {role} signature does not verify with the key of {issuer}")]
    CertificateSignature { role: CertRole, issuer: CertRole },
    #[error("the ARK is not one of the trusted AMD root keys")]
    UntrustedRoot,
    #[error("certificate {role} is not valid at {at} (valid {not_before} to {not_after})")]
    Validity {
        role: CertRole,
        at: i64,
        not_before: i64,
        not_after: i64,
    },
    #[error("certificate {0} is revoked")]
    Revoked(CertRole),
    #[error("no {0} certificate was given and none is built in for this product")]
    Missing(CertRole),
    #[error("product line mismatch: {what} says {found}, expected {expected}")]
    ProductMismatch {
        what: &'static str,
        found: String,
        expected: String,
    },
    #[error("report says it is signed by {reported}, the endorsement key is a {found}")]
    SignerMismatch { reported: String, found: CertRole },
    #[error("reported TCB {field} is {report}, the {role} certifies {cert}")]
    TcbMismatch {
        field: &'static str,
        report: u8,
        cert: u8,
        role: CertRole,
    },
    #[error("chip_id does not match the VCEK's HWID")]
    ChipIdMismatch,
    #[error("certificate table is invalid: {0}")]
    CertTable(String),
    /// The evidence JSON (the sev crate's serde form) is not one this decoder knows.
    #[error("{0}")]
    Evidence(String),
    /// A base64 member of the evidence does not decode.
    #[error("{field}: {reason}")]
    Base64 { field: &'static str, reason: String },
}

impl SnpError {
    /// Stable snake_case identifier of the failure kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ReportLength { .. } | Self::ReportVersion(_) | Self::ReportField { .. } => {
                "report_decode"
            }
            Self::SignatureAlgorithm(_) | Self::SignatureEncoding { .. } => "signature_encoding",
            Self::ReportSignature(_) => "report_signature",
            Self::CertificateDecode { .. } => "collateral_decode",
            Self::Certificate { .. } => "certificate_invalid",
            Self::CertificateSignature { .. } => "certificate_signature",
            Self::UntrustedRoot => "untrusted_root",
            Self::Validity { .. } => "collateral_expired",
            Self::Revoked(_) => "certificate_revoked",
            Self::Missing(_) => "collateral_missing",
            Self::ProductMismatch { .. } => "product_mismatch",
            Self::SignerMismatch { .. } => "signer_mismatch",
            Self::TcbMismatch { .. } => "tcb_mismatch",
            Self::ChipIdMismatch => "chip_id_mismatch",
            Self::CertTable(_) => "cert_table",
            Self::Evidence(_) | Self::Base64 { .. } => "evidence_decode",
        }
    }
}
