//! The integration tests of `scute-kbs` (the KBS protocol pieces), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).
// A failed assumption in a test is a failed test: tests may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod jwe;
