//! Runs cold verification in a loop, for profilers (callgrind, perf).
// A measuring harness stops at the first broken assumption: it may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use scute_dcap::{verify, Collateral, TrustAnchor, VerifyOptions};
use std::path::PathBuf;

fn main() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/dcapqvl-tdx-v4");
    let quote = std::fs::read(dir.join("quote.bin")).expect("quote");
    let collateral =
        Collateral::from_files(|f| std::fs::read(dir.join(f)).ok()).expect("collateral");
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    for _ in 0..iterations {
        verify(
            &quote,
            &collateral,
            &TrustAnchor::intel_sgx_root(),
            1_750_329_147,
            VerifyOptions::default(),
        )
        .expect("verifies");
    }
}
