//! File access with errors that name the path, and bounded reads of device files.

use crate::error::io;
use crate::{AttesterError, MAX_QUOTE_LEN};
use std::io::Read;
use std::path::Path;

pub(crate) fn read_text(path: &Path) -> Result<String, AttesterError> {
    std::fs::read_to_string(path)
        .map_err(io("reading", path))
        .map(|s| s.trim().to_string())
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), AttesterError> {
    std::fs::write(path, bytes).map_err(io("writing", path))
}

/// Reads at most `MAX_QUOTE_LEN` + 1 bytes, so an oversized blob is detected without
/// reading all of it.
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_QUOTE_LEN as u64 + 1)
        .read_to_end(&mut out)?;
    Ok(out)
}
