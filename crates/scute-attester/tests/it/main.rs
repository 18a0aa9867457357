//! The integration tests of `scute-attester` (evidence collection), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).

mod fake_trees;
mod guest_tees;
mod outputs_and_seeds;
mod snp_tsm;
