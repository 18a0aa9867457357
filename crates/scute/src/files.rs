//! Writing output files so that a reader never sees half of one: write beside, then rename.
//! Only regular files are replaced that way; a device, FIFO or symlink named as the output
//! (`--out /dev/null`, `--out /dev/stdout`, a pipe) is written through, never replaced.

use anyhow::Context;
use std::path::Path;

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_file() {
            return std::fs::write(path, bytes)
                .with_context(|| format!("writing {}", path.display()));
        }
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("output path has no file name")?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// Parses exactly 64 bytes of report data from hex (shorter input is zero-padded on the right).
pub(crate) fn report_data_from_hex(text: &str) -> anyhow::Result<[u8; 64]> {
    let bytes = hex::decode(text.trim()).context("--report-data is not hex")?;
    anyhow::ensure!(
        bytes.len() <= 64,
        "--report-data has {} bytes, at most 64",
        bytes.len()
    );
    let mut out = [0u8; 64];
    out[..bytes.len()].copy_from_slice(&bytes);
    Ok(out)
}
