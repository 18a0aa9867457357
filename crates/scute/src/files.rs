//! Output files and report data from the command line. Outputs are written whole or not at
//! all, by `scute_attester::write_atomic` (the simulator's directory is written the same way).

use anyhow::Context;
use std::path::Path;

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(scute_attester::write_atomic(path, bytes)?)
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
