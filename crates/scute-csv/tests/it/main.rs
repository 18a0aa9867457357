//! The integration tests of `scute-csv` (Hygon CSV verification), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).

mod sim;
mod tamper;
mod vectors;
