//! Intel DCAP verification in pure Rust: PCK certificate chains to a pinned root, CRLs, TCB Info
//! and QE Identity, QE report binding, quote signature, TCB level matching (SGX, TDX, TDX module
//! identities) and status convergence. No I/O: time, trust anchor and collateral are arguments.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod collateral;
mod error;
mod evaluate;
mod pck;
mod pck_select;
mod report;
mod status;
mod tee;
mod time;
mod verify;
mod x509;

pub use x509::crl_der;

pub use collateral::{
    Collateral, CollateralTee, IsvLevel, QeIdentity, TcbInfo, TcbLevel, TdxModuleIdentity,
};
pub use error::DcapError;
pub use evaluate::{evaluate_tcb, LevelVerdict, PlatformTcb, TcbEvaluation, TcbVerdict};
pub use pck::{PckExtension, PckTcb, PlatformConfiguration, SgxType};
pub use pck_select::{select_pck_cert, RawTcb};
pub use report::{
    attributes_json, report_json, AttributeClaims, ReportClaims, SgxClaims, Td15Claims,
    Td15ExClaims, TdClaims,
};
pub use status::TcbStatus;
pub use tee::{Dcap, DcapOptions, QuoteEvidence};
pub use time::{format_rfc3339, UnixTime};
pub use verify::{
    authenticated_quote_platform, quote_platform, verify, verify_collateral, CrlRank, IssuerKeyId,
    PckCa, PlatformCache, Shortfall, TrustAnchor, VerifiedCollateral, VerifiedQuote, VerifyOptions,
};
