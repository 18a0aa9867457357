//! The integration tests of `scute` (the scute binary), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).
// A failed assumption in a test is a failed test: tests may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod eventlog_cli;
mod exit_status_cli;
mod guest_tees_cli;
mod hardening_cli;
mod measure_cli;
mod measure_sgx_cli;
mod measure_tdx_cli;
mod ops_cli;
mod pccs_cli;
mod platforms_cli;
mod policy_cli;
mod quote_cli;
mod ratls_cli;
mod readme_walkthrough;
mod refvalue_cli;
mod replicas;
mod secret_cli;
mod service_cli;
mod sim_cli;
mod sim_dir_cli;
mod sim_launch_cli;
mod sim_matrix;
mod verify_cli;
mod verify_csv_cli;
mod verify_snp_cli;
mod verify_tcb_explanation_cli;
