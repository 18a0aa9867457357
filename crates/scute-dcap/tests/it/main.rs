//! The integration tests of `scute-dcap` (DCAP verification), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).

mod debug_rule;
mod parse_once;
mod rejections;
mod strict_encoding;
mod vectors;
mod warm_cache;
