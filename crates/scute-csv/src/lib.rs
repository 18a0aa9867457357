//! Hygon CSV attestation in pure Rust: reports V1 (anonce XOR) and V2 (RTMRs), Hygon's CA- and
//! CSV-format certificates, the HRK → HSK → CEK → PEK → report chain (SM2 over SM3 with each
//! signer's user ID), the signer block's HMAC-SM3, and Trustee's evidence JSON. No I/O: trust
//! roots and collateral are arguments. Layouts: `shared/research/tee-formats.md` §6.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cert;
mod error;
mod evidence;
mod reader;
mod report;
mod tee;
mod verify;

pub use cert::{
    usage, CaCert, CsvCert, EccKey, Le72, SigSlot, Sm2Sig, ALGO_SM2_SA, CA_BODY_LEN, CA_CERT_LEN,
    CSV_BODY_LEN, CSV_CERT_LEN, CURVE_SM2_256, USER_ID_LEN,
};
pub use error::CsvError;
pub use evidence::{ca_cert_json, csv_cert_json, HskCek, TrusteeEvidence};
pub use report::{
    serial_text, xor_anonce, Container, Fields, Policy, Report, Signer, SignerForm, TeeInfo,
    TeeInfoV1, TeeInfoV2, CONTAINER_LEN, EXT_MAGIC, PAGE_LEN, REPORT_V1_LEN, REPORT_V2_LEN,
    SIGNER_LEN, TEE_INFO_V1_LEN, TEE_INFO_V2_LEN, V1_SIGNED_LEN, V2_SIGNED_LEN,
};
pub use tee::Csv;
pub use verify::{
    check_before_chain, verify, verify_hsk_cek, Evidence, MacCheck, PolicyClaims, ReportClaims,
    RootKey, SerialClaim, TeeInfoClaims, TrustRoots, VerifiedReport,
};
