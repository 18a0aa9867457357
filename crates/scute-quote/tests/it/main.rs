//! The integration tests of `scute-quote` (quote parsing), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).

mod debug_rule;
mod mutations;
mod vectors;
