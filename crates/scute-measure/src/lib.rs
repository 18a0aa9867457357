//! Expected measurements from build artefacts, computed offline: what genuine evidence of a
//! workload should report, derived from the firmware, kernel and enclave files the tenant
//! built or chose, never read off the machine being judged. Pure: every function takes bytes
//! and returns typed values; reading files is the caller's business.
//!
//! - [`ovmf`]: the GUIDed table at the end of an OVMF/TDVF image, which both the SEV and the TDX
//!   metadata are found through.
//! - [`snp`]: the SEV-SNP launch digest (`MEASUREMENT`).
//! - [`tdx`]: MRTD from the TDVF metadata, RTMR0–2 for direct kernel boot.
//! - [`sgx`]: MRENCLAVE, MRSIGNER and the enclave identity from a SIGSTRUCT.

pub mod ovmf;
pub mod sgx;
pub mod snp;
pub mod tdx;

mod error;
pub use error::MeasureError;
