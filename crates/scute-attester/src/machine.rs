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
    /// The launch measurements the machine reports instead of its defaults (absent in files
    /// written before they could be chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<LaunchMeasurements>,
}

/// Launch measurements chosen when the machine is made (`scute sim machine --mr-td …`), so that
/// a value computed from build artefacts and the reported one can meet. Hex as the verifier
/// prints it; each field belongs to one TEE and is refused for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchMeasurements {
    /// TDX MRTD, 48 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mr_td: Option<String>,
    /// TDX RTMR0, 48 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmr0: Option<String>,
    /// TDX RTMR1, 48 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmr1: Option<String>,
    /// TDX RTMR2, 48 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmr2: Option<String>,
    /// TDX RTMR3, 48 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmr3: Option<String>,
    /// SGX MRENCLAVE, 32 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mr_enclave: Option<String>,
    /// SGX MRSIGNER, 32 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mr_signer: Option<String>,
    /// SGX ISVPRODID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isv_prod_id: Option<u16>,
    /// SGX ISVSVN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isv_svn: Option<u16>,
    /// SEV-SNP MEASUREMENT, 48 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<String>,
    /// CSV MEASURE, 32 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
}

/// `field`'s hex as `N` bytes, if it is set.
fn launch_bytes<const N: usize>(
    field: &str,
    value: &Option<String>,
) -> Result<Option<[u8; N]>, AttesterError> {
    let Some(text) = value else {
        return Ok(None);
    };
    let bad = || AttesterError::BadMachine {
        path: std::path::PathBuf::from(MACHINE),
        reason: format!("launch {field} {text:?} is not {N} bytes of hex"),
    };
    let bytes = hex::decode(text).map_err(|_| bad())?;
    bytes.try_into().map(Some).map_err(|_| bad())
}

impl LaunchMeasurements {
    /// The fields that are set, by name, with the TEE each belongs to.
    fn set_fields(&self) -> Vec<(&'static str, crate::GuestTee)> {
        use crate::GuestTee::{Csv, Sgx, Snp, Tdx};
        let present = [
            ("mr_td", Tdx, self.mr_td.is_some()),
            ("rtmr0", Tdx, self.rtmr0.is_some()),
            ("rtmr1", Tdx, self.rtmr1.is_some()),
            ("rtmr2", Tdx, self.rtmr2.is_some()),
            ("rtmr3", Tdx, self.rtmr3.is_some()),
            ("mr_enclave", Sgx, self.mr_enclave.is_some()),
            ("mr_signer", Sgx, self.mr_signer.is_some()),
            ("isv_prod_id", Sgx, self.isv_prod_id.is_some()),
            ("isv_svn", Sgx, self.isv_svn.is_some()),
            ("measurement", Snp, self.measurement.is_some()),
            ("measure", Csv, self.measure.is_some()),
        ];
        present
            .into_iter()
            .filter(|(_, _, set)| *set)
            .map(|(name, tee, _)| (name, tee))
            .collect()
    }

    /// The first field set that belongs to another TEE than `tee`, with the TEE it is for.
    pub fn foreign_field(&self, tee: crate::GuestTee) -> Option<(&'static str, crate::GuestTee)> {
        self.set_fields().into_iter().find(|(_, t)| *t != tee)
    }

    /// Refuses a field of another TEE than `tee`, and a value of the wrong length or not hex.
    pub fn check(&self, tee: crate::GuestTee) -> Result<(), AttesterError> {
        if let Some((name, owner)) = self.foreign_field(tee) {
            return Err(AttesterError::BadMachine {
                path: std::path::PathBuf::from(MACHINE),
                reason: format!(
                    "launch measurement {name} is for {} machines, not {}",
                    owner.name(),
                    tee.name()
                ),
            });
        }
        self.intel()?;
        self.snp_measurement()?;
        self.csv_measure()?;
        Ok(())
    }

    /// The SGX/TDX fields in the simulator's form.
    pub(crate) fn intel(&self) -> Result<scute_sim::LaunchMeasurements, AttesterError> {
        Ok(scute_sim::LaunchMeasurements {
            mr_td: launch_bytes("mr_td", &self.mr_td)?,
            rtmrs: [
                launch_bytes("rtmr0", &self.rtmr0)?,
                launch_bytes("rtmr1", &self.rtmr1)?,
                launch_bytes("rtmr2", &self.rtmr2)?,
                launch_bytes("rtmr3", &self.rtmr3)?,
            ],
            mr_enclave: launch_bytes("mr_enclave", &self.mr_enclave)?,
            mr_signer: launch_bytes("mr_signer", &self.mr_signer)?,
            isv_prod_id: self.isv_prod_id,
            isv_svn: self.isv_svn,
        })
    }

    /// SEV-SNP MEASUREMENT, if chosen.
    pub(crate) fn snp_measurement(&self) -> Result<Option<[u8; 48]>, AttesterError> {
        launch_bytes("measurement", &self.measurement)
    }

    /// CSV MEASURE, if chosen.
    pub(crate) fn csv_measure(&self) -> Result<Option<[u8; 32]>, AttesterError> {
        launch_bytes("measure", &self.measure)
    }
}

impl MachineOptions {
    /// The chosen launch measurements, checked for `tee` (none chosen: the defaults).
    pub(crate) fn launch_for(
        &self,
        tee: crate::GuestTee,
    ) -> Result<LaunchMeasurements, AttesterError> {
        let launch = self.launch.clone().unwrap_or_default();
        launch.check(tee)?;
        Ok(launch)
    }

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
