//! Evidence collection inside a guest: TDX quotes and SEV-SNP reports through Linux
//! configfs-tsm, SGX quotes inside Gramine or Occlum, the Hygon CSV guest device, and a
//! simulated machine of each of the four TEEs. Every path is injectable, so tests run against
//! fake trees; `detect` picks the first DCAP backend present, `detect_guest` the first of any
//! TEE (module `guest` has the evidence of every TEE and its wire forms).

mod csv_guest;
mod error;
mod files;
mod guest;
mod machine;
mod sgx;
mod sim;
mod sim_csv;
mod sim_snp;
mod tsm;

pub use csv_guest::CsvGuestDevice;
pub use error::AttesterError;
pub use files::write_atomic;
pub use guest::{
    snp_report_json, CsvGuestEvidence, GuestAttester, GuestEvidence, GuestTee, SnpGuestEvidence,
};
pub use machine::{sim_dir_tee, LaunchMeasurements, MachineOptions};
pub use sgx::{Gramine, Occlum};
pub use sim::Simulated;
pub use sim_csv::SimulatedCsv;
pub use sim_snp::SimulatedSnp;
pub use tsm::{SnpEvidence, TsmReport, TsmSnp};

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

/// The first TEE present, of any kind: configfs-tsm (TDX or SEV-SNP, by its provider), SGX in
/// Gramine, SGX in Occlum, the Hygon CSV guest device, and the simulator only when a simulator
/// directory is given (the machine it holds, or a new TDX one as `detect` makes).
pub fn detect_guest(
    paths: &Paths,
    csv_guest: &std::path::Path,
    sim_dir: Option<PathBuf>,
) -> Result<Box<dyn GuestAttester>, AttesterError> {
    let tsm = TsmReport::new(paths.tsm_report.clone(), Some(paths.ccel.clone()));
    if tsm.is_present() {
        if tsm.provider()? == "sev_guest" {
            return Ok(Box::new(TsmSnp::new(tsm)));
        }
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
    let csv = CsvGuestDevice::new(csv_guest.to_path_buf());
    if csv.is_present() {
        return Ok(Box::new(csv));
    }
    if let Some(dir) = sim_dir {
        return open_simulator(dir, None, &MachineOptions::default());
    }
    Err(AttesterError::NoTeeFound {
        probed: vec![
            format!(
                "configfs-tsm (TDX, SEV-SNP) at {}",
                paths.tsm_report.display()
            ),
            format!("Gramine at {}", paths.gramine.display()),
            format!(
                "Occlum at {}",
                paths.occlum_dev.join("attestation_quote").display()
            ),
            format!("the Hygon CSV guest at {}", csv_guest.display()),
            "the simulator (give a simulator directory)".into(),
        ],
    })
}

/// The simulated machine in `dir`: of the TEE asked (refused if the directory holds another),
/// or, with `None`, of the TEE it holds (a new directory becomes a TDX machine, as with
/// `detect`). A new directory is made with `options` (Intel: a random seed).
pub fn open_simulator(
    dir: PathBuf,
    asked: Option<GuestTee>,
    options: &MachineOptions,
) -> Result<Box<dyn GuestAttester>, AttesterError> {
    let found = sim_dir_tee(&dir)?;
    if let (Some(found), Some(asked)) = (found, asked) {
        if found != asked {
            return Err(AttesterError::OtherSimulator {
                dir,
                found: found.name(),
                asked: asked.name(),
            });
        }
    }
    Ok(match found.or(asked).unwrap_or(GuestTee::Tdx) {
        GuestTee::Snp => Box::new(SimulatedSnp::open(dir, options)?),
        GuestTee::Csv => Box::new(SimulatedCsv::open(dir, options)?),
        GuestTee::Sgx => Box::new(Simulated::open_with_options(
            dir,
            scute_sim::Tee::Sgx,
            None,
            options,
        )?),
        GuestTee::Tdx => Box::new(Simulated::open_with_options(
            dir,
            scute_sim::Tee::Tdx,
            None,
            options,
        )?),
        GuestTee::Sample => {
            return Err(AttesterError::Sim(scute_sim::SimError::Unsupported(
                "no simulated machine of the sample TEE".into(),
            )))
        }
    })
}
