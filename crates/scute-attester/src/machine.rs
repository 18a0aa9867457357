//! What a simulated machine is, beside its keys: `machine.json` in its directory, written when
//! the machine is made (`scute sim machine`) and read on every open. Intel directories made
//! before it existed have none and behave as they always did (no debug, UpToDate).

use crate::error::io;
use crate::files::write_atomic;
use crate::AttesterError;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub(crate) const MACHINE: &str = "machine.json";

/// The launch options of a simulated guest and its platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineOptions {
    /// A debug guest: TD/enclave DEBUG attribute, SNP policy DEBUG, CSV policy NODBG clear.
    #[serde(default)]
    pub debug: bool,
    /// SGX/TDX: the platform's TCB status in the collateral (an Intel TCB status name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcb_status: Option<String>,
    /// SEV-SNP: the product line (Milan, Genoa, Turin) [default Milan].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// SEV-SNP: the TCB_VERSION the firmware reports and the VCEK is derived for, 8 bytes
    /// hex in the product's layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snp_tcb: Option<String>,
    /// CSV: the report version, 1 (legacy) or 2 (extended, RTMRs) [default 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_report_version: Option<u8>,
}

impl MachineOptions {
    /// The options kept in `dir`, or the defaults when it has none.
    pub fn read(dir: &Path) -> Result<Self, AttesterError> {
        let path = dir.join(MACHINE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| AttesterError::BadMachine {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(io("reading", &path)(e)),
        }
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<(), AttesterError> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| AttesterError::BadMachine {
            path: dir.join(MACHINE),
            reason: e.to_string(),
        })?;
        write_atomic(&dir.join(MACHINE), &text)
    }
}

/// The kind a simulator directory holds (its `tee` file), if it holds one.
pub fn sim_dir_tee(dir: &Path) -> Result<Option<crate::GuestTee>, AttesterError> {
    let path = dir.join("tee");
    match std::fs::read_to_string(&path) {
        Ok(text) => match text.trim() {
            "tdx" => Ok(Some(crate::GuestTee::Tdx)),
            "sgx" => Ok(Some(crate::GuestTee::Sgx)),
            "snp" => Ok(Some(crate::GuestTee::Snp)),
            "csv" => Ok(Some(crate::GuestTee::Csv)),
            other => Err(AttesterError::BadMachine {
                path,
                reason: format!("unknown TEE {other:?}"),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", &path)(e)),
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AttesterError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| AttesterError::Randomness)?;
    Ok(bytes)
}
