//! AMD SEV-SNP attestation in pure Rust: the attestation report (v2–v5) decoded byte-exactly,
//! the ARK → ASK/ASVK → VCEK/VLEK chain to pinned AMD roots (RSASSA-PSS SHA-384), the report
//! signature over the exact bytes received, TCB and chip identity against the endorsement key.
//! No I/O: time, trust roots and collateral are arguments.
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cert;
mod cert_table;
mod claims;
mod error;
mod evidence;
mod report;
mod roots;
mod tee;
mod verify;

pub use cert_table::{pem_chain, CertTable, ARK_GUID, ASK_GUID, VCEK_GUID, VLEK_GUID};
pub use claims::{
    report_json, CpuidClaims, PlatformInfoClaims, PolicyClaims, ReportClaims, TcbClaims,
};
pub use error::{CertRole, SnpError};
pub use evidence::{report_from_json, Evidence};
pub use report::{
    platform_info, policy, Product, Report, SigningKey, TcbField, TcbLayout, TcbVersion,
    REPORT_LEN, SIGNED_LEN,
};
pub use roots::{TrustRoots, AMD_ARK_SPKI_SHA256};
pub use tee::{Endorsements, Snp, TCB_STATUS};
pub use verify::{
    check_form, inspect_vek, verify, verify_chain, Collateral, VekInfo, VerifiedReport,
};
