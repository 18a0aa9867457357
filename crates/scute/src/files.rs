//! Output files and report data from the command line. Outputs and secrets are written whole
//! or not at all, by `scute-files` (the workspace's one file writer; the simulator's directory
//! and the server's key and token files are written the same way).

use anyhow::Context;
use std::path::Path;

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(scute_files::write_atomic(path, bytes)?)
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

/// Writes a secret: readable by the owner only from its first byte, through a fresh file with
/// an unpredictable name (created with O_EXCL, so nothing placed there beforehand is followed),
/// fsynced and renamed over `path`. A device, FIFO or symlink named as the output is written
/// through (a file it creates is 0600 too).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(scute_files::write_private(path, bytes)?)
}
