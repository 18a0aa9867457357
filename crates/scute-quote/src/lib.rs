//! Intel DCAP quotes, decoded once into types: SGX quote v3, TDX quote v4 and v5 (TD 1.0, 1.5
//! and 1.5-extended bodies), ECDSA-P256 signature data and certification data. No I/O, no
//! crypto: verification lives in `scute-dcap`. Layouts: Intel DCAP quote library API, and
//! `shared/research/tee-formats.md` §1.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod error;
mod quote;
mod reader;
mod report;

pub use error::QuoteError;
pub use quote::{CertificationData, Header, Quote, QuoteSignature, TeeType, INTEL_QE_VENDOR_ID};
pub use report::{
    sgx_attributes, td_attributes, Body, EnclaveReport, TdReport10, TdReport15, TdReport15Ex,
};
