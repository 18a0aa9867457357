//! A simulated TEE that is cryptographically real: from a seed it mints an Intel-shaped PKI
//! (root, PCK Platform CA, TCB signing, PCK leaf with the SGX extension, CRLs), signed TCB Info
//! and QE Identity, and a quoting enclave that signs spec-exact SGX v3 and TDX v4/v5 quotes.
//! A simulated quote verifies only where its root is passed explicitly as a trust anchor.

pub mod amd;
mod case;
mod collateral;
mod error;
mod hygon;
mod keys;
mod pki;
mod quote;
mod sim;

pub use case::{case, CaseSpec, Expected, SimCase, Tamper};
pub use error::SimError;
pub use hygon::{CsvReportSpec, HygonSim, GMT_DEFAULT_ID};
pub use pki::{is_simulator_root, Platform};
pub use quote::{LaunchMeasurements, Workload, TD_BODY_TYPES};
pub use sim::{CollateralOptions, FleetLevel, Simulator, CASE_TCB_STATUSES, TCB_STATUSES};

/// The kind of DCAP quote the Intel simulator makes (SGX or TDX): what its quote body,
/// collateral and QE are shaped by. SEV-SNP and CSV machines are scute-attester's; the TEE
/// vocabulary is `scute_tee::Tee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tee {
    Sgx,
    Tdx,
}
