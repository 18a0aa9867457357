//! Evidence collection inside a guest: TDX quotes through Linux configfs-tsm, SGX quotes inside
//! Gramine or Occlum, and the simulated TEE. Every path is injectable, so tests run against
//! fake trees; `detect` picks the first backend present, in that order.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
mod files;
mod sgx;
mod sim;
mod tsm;

pub use error::AttesterError;
pub use files::write_atomic;
pub use sgx::{Gramine, Occlum};
pub use sim::Simulated;
pub use tsm::{SnpEvidence, TsmReport};

use scute_quote::{Quote, TeeType};
use std::path::PathBuf;

/// Quotes larger than this are refused (configfs-tsm caps outblob at 32 KiB).
pub const MAX_QUOTE_LEN: usize = 32 * 1024;

/// What a guest sends to a verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub tee: TeeType,
    pub quote: Vec<u8>,
    /// The TDX CCEL event log area, when the firmware publishes one.
    pub cc_eventlog: Option<Vec<u8>>,
}

pub trait Attester: Send + Sync {
    /// A short name for messages ("tdx (configfs-tsm)", "sgx (gramine)", ...).
    fn name(&self) -> &'static str;
    /// The kind of TEE this attester's quotes come from (known before collecting, for
    /// protocols that name the TEE first, like the KBS handshake).
    fn tee(&self) -> TeeType;
    /// Evidence whose quote carries exactly `report_data`.
    fn collect(&self, report_data: &[u8; 64]) -> Result<Evidence, AttesterError>;
}

/// Checks what a TEE returned: a well-formed quote carrying our report data.
pub(crate) fn checked_quote(
    bytes: Vec<u8>,
    report_data: &[u8; 64],
) -> Result<(TeeType, Vec<u8>), AttesterError> {
    if bytes.len() > MAX_QUOTE_LEN {
        return Err(AttesterError::QuoteTooLarge {
            limit: MAX_QUOTE_LEN,
        });
    }
    let quote = Quote::decode(&bytes)?;
    if quote.report_data() != report_data {
        return Err(AttesterError::ReportDataMismatch);
    }
    Ok((quote.tee_type(), bytes))
}

/// Where each backend looks; `Default` gives the real paths of a Linux guest.
#[derive(Debug, Clone)]
pub struct Paths {
    pub tsm_report: PathBuf,
    pub ccel: PathBuf,
    pub gramine: PathBuf,
    pub occlum_dev: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            tsm_report: PathBuf::from("/sys/kernel/config/tsm/report"),
            ccel: PathBuf::from("/sys/firmware/acpi/tables/data/CCEL"),
            gramine: PathBuf::from("/dev/attestation"),
            occlum_dev: PathBuf::from("/dev"),
        }
    }
}

/// The first TEE present, in this order: TDX (configfs-tsm), SGX in Gramine, SGX in Occlum,
/// and the simulator only when a simulator directory is given.
pub fn detect(paths: &Paths, sim_dir: Option<PathBuf>) -> Result<Box<dyn Attester>, AttesterError> {
    let tsm = TsmReport::new(paths.tsm_report.clone(), Some(paths.ccel.clone()));
    if tsm.is_present() {
        return Ok(Box::new(tsm));
    }
    let gramine = Gramine::new(paths.gramine.clone());
    if gramine.is_present() {
        return Ok(Box::new(gramine));
    }
    let occlum = Occlum::new(paths.occlum_dev.clone());
    if occlum.is_present() {
        return Ok(Box::new(occlum));
    }
    if let Some(dir) = sim_dir {
        return Ok(Box::new(Simulated::open(dir, scute_sim::Tee::Tdx)?));
    }
    Err(AttesterError::NoTeeFound {
        probed: vec![
            format!("TDX configfs-tsm at {}", paths.tsm_report.display()),
            format!("Gramine at {}", paths.gramine.display()),
            format!(
                "Occlum at {}",
                paths.occlum_dev.join("attestation_quote").display()
            ),
            "the simulator (give a simulator directory)".into(),
        ],
    })
}
