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

/// Writes a secret: readable by the owner only from its first byte, through a fresh file with
/// an unpredictable name (created with O_EXCL, so nothing placed there beforehand is followed),
/// renamed over `path`. A device, FIFO or symlink named as the output is written through.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
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
    let mut random = [0u8; 12];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut random)
        .map_err(|_| anyhow::anyhow!("no randomness for a temporary name"))?;
    let tmp = dir.join(format!(".{name}.{}", hex::encode(random)));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let written = file.write_all(bytes).and_then(|_| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}
