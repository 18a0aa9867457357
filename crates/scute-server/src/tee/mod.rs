//! The TEE adapters of the service: per TEE, what verifying its evidence needs from the
//! service (stored and fetched endorsements) around the pure verification of its crate.

pub(crate) mod csv;
pub(crate) mod eventlog;
pub(crate) mod snp;
