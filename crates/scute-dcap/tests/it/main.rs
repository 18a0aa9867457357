//! The integration tests of `scute-dcap` (DCAP verification), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).
// A failed assumption in a test is a failed test: tests may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod debug_rule;
mod parse_once;
mod qvl_crosscheck;
mod rejections;
mod strict_encoding;
mod tcb_explanation;
mod td15ex;
mod vectors;
mod warm_cache;
