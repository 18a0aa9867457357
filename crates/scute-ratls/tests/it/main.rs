//! The integration tests of `scute-ratls` (RA-TLS), one test binary: each module was a
//! binary of its own (one link of the crate and its dev-dependencies instead of one per file).

mod debug_rule;
mod handshake;
mod vectors;
