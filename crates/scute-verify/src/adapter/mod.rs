//! One adapter per TEE family: the glue between a TEE crate's verifier and the registry's
//! erased types, its endorsement file names, its one debug rule, its output and its hints.

pub(crate) mod csv;
pub(crate) mod dcap;
pub(crate) mod sample;
pub(crate) mod snp;

use crate::{Error, Files};

/// A file that may be absent; an unreadable one stops the command.
pub(crate) fn optional(files: &dyn Files, name: &str) -> Result<Option<Vec<u8>>, Error> {
    files.get(name).map_err(Error::CannotRun)
}

/// An RFC 3339 text of an instant (scute-dcap's formatter, the one the JSON contract uses).
pub(crate) fn rfc3339(at: i64) -> String {
    scute_dcap::format_rfc3339(at)
}
