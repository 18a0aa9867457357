//! File access with errors that name the path, bounded reads of device files, and the one way
//! outputs are written: whole or not at all, without following anything pre-placed beside them.

use crate::error::io;
use crate::{AttesterError, MAX_QUOTE_LEN};
use std::io::{Read, Write};
use std::path::Path;

pub(crate) fn read_text(path: &Path) -> Result<String, AttesterError> {
    std::fs::read_to_string(path)
        .map_err(io("reading", path))
        .map(|s| s.trim().to_string())
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), AttesterError> {
    std::fs::write(path, bytes).map_err(io("writing", path))
}

/// Writes `bytes` to `path` so that a reader never sees half of it: into a new file beside it,
/// then renamed over it. The new file is created exclusively (O_EXCL) under a random name, so a
/// file or symlink someone placed at a guessable temporary name is neither followed nor
/// clobbered. Only regular files are replaced; a device, FIFO or symlink named as the output
/// (`/dev/null`, `/dev/stdout`, a pipe) is written through, never replaced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AttesterError> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_file() {
            return write(path, bytes);
        }
    }
    let mut tmp = temp_beside(path)?;
    tmp.write_all(bytes).map_err(io("writing", tmp.path()))?;
    tmp.persist(path)
        .map_err(|e| io("renaming to", path)(e.error))?;
    Ok(())
}

/// A new, empty file in `path`'s directory named `.NAME.XXXXXX.tmp`, removed if dropped.
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile, AttesterError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| AttesterError::NoFileName(path.to_path_buf()))?
        .to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // The mode std::fs::write gives (0666 less the umask), not tempfile's private 0600:
    // outputs are quotes, certificates and collateral that other users may need to read.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder
        .tempfile_in(dir)
        .map_err(io("creating a file in", dir))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_random_and_hidden_beside_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("quote.bin");
        let a = temp_beside(&out).unwrap();
        let b = temp_beside(&out).unwrap();
        assert_ne!(a.path(), b.path());
        for t in [&a, &b] {
            assert_eq!(t.path().parent(), Some(dir.path()));
            let name = t.path().file_name().unwrap().to_string_lossy().to_string();
            assert!(
                name.starts_with(".quote.bin.") && name.ends_with(".tmp"),
                "{name}"
            );
            assert!(name.len() >= ".quote.bin.XXXXXX.tmp".len(), "{name}");
        }
    }
}
