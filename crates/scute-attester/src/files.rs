//! File access with errors that name the path, bounded reads of device files, and outputs
//! written whole or not at all (by `scute-files`, the workspace's one file writer).

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

/// Writes `bytes` to `path` whole or not at all, by the workspace's one file writer
/// (`scute_files::write_atomic`: a fresh O_EXCL file under a random name beside it, renamed
/// over it; a device, FIFO or symlink named as the output is written through).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AttesterError> {
    scute_files::write_atomic(path, bytes).map_err(|e| match e {
        scute_files::WriteError::NoFileName(path) => AttesterError::NoFileName(path),
        scute_files::WriteError::Io { op, path, source } => AttesterError::Io { op, path, source },
        other => AttesterError::Io {
            op: "writing",
            path: path.to_path_buf(),
            source: other.into_io(),
        },
    })
}

/// Writes a simulated machine's private keys or seed: like [`write_atomic`], but readable by
/// the owner only (a service that trusts the machine's root accepts whatever these keys sign).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AttesterError> {
    scute_files::write_private(path, bytes).map_err(|e| match e {
        scute_files::WriteError::NoFileName(path) => AttesterError::NoFileName(path),
        scute_files::WriteError::Io { op, path, source } => AttesterError::Io { op, path, source },
        other => AttesterError::Io {
            op: "writing",
            path: path.to_path_buf(),
            source: other.into_io(),
        },
    })
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
