//! Test support for the Scute workspace (a dev-dependency only, never published): what the
//! integration tests of several crates share instead of each copying it — the service started
//! in-process on a real loopback socket ([`TestService`]), `scute serve` and its kin as a child
//! process ([`ChildServer`]), a throwaway PostgreSQL cluster ([`postgres::Cluster`]), and the
//! dcap-qvl crate as an independent second verifier ([`dcap_qvl::dcap_qvl_collateral`]).
//!
//! The same idea as rustls's `rustls-test` crate: support code is a crate the tests depend on,
//! not files included across crates with `#[path]`.

// Test support fails the test that called it: it may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod dcap_qvl;

#[cfg(feature = "service")]
mod child;
#[cfg(feature = "service")]
pub mod postgres;
#[cfg(feature = "service")]
mod service;

#[cfg(feature = "service")]
pub use child::ChildServer;
#[cfg(feature = "service")]
pub use service::{collateral_files, tdx_collateral_set, ServiceBuilder, TestService};

/// Now, in Unix seconds: the verification time the tests give the verifiers.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The report_data `/v1/attest` expects for `runtime_data`: SHA-384 of its RFC 8785 form, then
/// 16 zero bytes. Computed here from the rule itself, not by `scute_api::report_data_for` (the
/// service's own function): a regression there must fail the end-to-end tests, not move the
/// tests along with the service.
pub fn report_data(runtime_data: &serde_json::Value) -> [u8; 64] {
    let canonical =
        serde_json_canonicalizer::to_vec(runtime_data).expect("runtime data canonicalizes");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, &canonical);
    let mut out = [0u8; 64];
    out[..48].copy_from_slice(digest.as_ref());
    out
}

/// Copies the directory tree `from` into `to` (created): a simulated machine copied keeps its
/// platform, keys and trust root, so a test can relaunch the same machine with other options.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
