//! The decoding foundations every binary and PKI format of Scute shares, in one place a
//! reviewer audits once: a bounded cursor over untrusted bytes ([`Reader`]), strict PEM
//! (RFC 7468 with the label checked, [`pem`]) and the strict-DER gate for certificates and CRLs
//! ([`der`]). No I/O and no `std`: callers hand in bytes and map the typed errors here onto the
//! variants of their own error enum.
#![no_std]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

extern crate alloc;

pub mod der;
pub mod pem;
mod reader;

pub use reader::{Reader, Trailing, Truncated};
