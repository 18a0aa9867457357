//! The integration tests of `scute-server` (the service), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).
// A failed assumption in a test is a failed test: tests may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub(crate) mod fake_pccs;
}

mod api;
mod attack_kbs;
mod attack_pccs;
mod attack_upstream;
mod collateral_update;
mod csv;
mod debug_rule;
mod eventlog_attacks;
mod jcs;
mod kbs;
mod limits;
mod pccs;
mod platforms;
mod policy_list;
mod revocation;
mod signed_reference_values;
mod snp;
mod store;
mod tcb_baselines;
mod td_partitioning;
