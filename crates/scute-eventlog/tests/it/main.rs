//! The integration tests of `scute-eventlog` (event-log replay), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).

mod data;
mod vectors;
