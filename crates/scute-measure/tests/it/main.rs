//! The integration tests of `scute-measure`, one test binary: measurements of real firmware
//! (Debian's OVMF.fd) against values recorded from independent tools.
// A failed assumption in a test is a failed test: tests may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod snp_debian_ovmf;
mod tdx_debian_ovmf;
