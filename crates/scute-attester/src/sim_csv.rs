//! A simulated Hygon CSV machine kept in a directory: a seed (random when the machine is made,
//! kept in `machine-seed`) from which scute-sim's Hygon simulator derives the HRK, HSK, CEK and
//! PEK; the trust root `hrk.cert` and `hsk_cek.cert` in the layout `scute verify --tee csv
//! --collateral` reads; and `machine.json` (debug, report version). Its evidence is the CoCo CSV
//! attester's JSON with the HSK/CEK included, so a verifier needs only the trust root.

use crate::error::io;
use crate::files::{write_atomic, write_private};
use crate::machine::{random_bytes, MachineOptions};
use crate::{AttesterError, CsvGuestEvidence, GuestAttester, GuestEvidence, GuestTee};
use scute_sim::{CsvReportSpec, HygonSim};
use std::path::{Path, PathBuf};

const SEED: &str = "machine-seed";
const CHIP: &str = "SIMCSV0001";
/// CSV policy bit 0: NODBG.
const NODBG: u32 = 1;

pub struct SimulatedCsv {
    dir: PathBuf,
    sim: HygonSim,
    version: u8,
    debug: bool,
    /// The MEASURE chosen when the machine was made; the simulator's default otherwise.
    measure: Option<[u8; 32]>,
}

impl SimulatedCsv {
    /// Opens the CSV machine kept in `dir`, making it (with `options`) if the directory has no
    /// machine yet.
    pub fn open(dir: PathBuf, options: &MachineOptions) -> Result<Self, AttesterError> {
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        match crate::sim_dir_tee(&dir)? {
            Some(GuestTee::Csv) => Self::load(dir),
            Some(other) => Err(AttesterError::OtherSimulator {
                dir,
                found: other.name(),
                asked: "csv",
            }),
            None => Self::make(dir, options),
        }
    }

    fn make(dir: PathBuf, options: &MachineOptions) -> Result<Self, AttesterError> {
        options.launch_for(GuestTee::Csv)?;
        let version = options.csv_report_version.unwrap_or(1);
        if !(1..=2).contains(&version) {
            return Err(AttesterError::BadMachine {
                path: dir.join(crate::machine::MACHINE),
                reason: format!("CSV report version {version}: 1 or 2"),
            });
        }
        write_private(
            &dir.join(SEED),
            hex::encode(random_bytes::<32>()?).as_bytes(),
        )?;
        let mut kept = options.clone();
        kept.csv_report_version = Some(version);
        kept.write(&dir)?;
        let this = Self::load_seeded(dir)?;
        write_atomic(&this.dir.join("hrk.cert"), &this.sim.hrk_cert.encode())?;
        write_atomic(&this.dir.join("hsk_cek.cert"), &this.sim.hsk_cek().encode())?;
        write_atomic(&this.dir.join("tee"), b"csv\n")?;
        Ok(this)
    }

    fn load(dir: PathBuf) -> Result<Self, AttesterError> {
        Self::load_seeded(dir)
    }

    fn load_seeded(dir: PathBuf) -> Result<Self, AttesterError> {
        let options = MachineOptions::read(&dir)?;
        let path = dir.join(SEED);
        let seed = std::fs::read(&path).map_err(io("reading", &path))?;
        let sim = HygonSim::new(&seed, CHIP)?;
        Ok(Self {
            dir,
            sim,
            version: options.csv_report_version.unwrap_or(1),
            debug: options.debug,
            measure: options.launch_for(GuestTee::Csv)?.csv_measure()?,
        })
    }

    fn spec(&self, report_data: &[u8; 64]) -> CsvReportSpec {
        let mut spec = CsvReportSpec {
            version: self.version,
            report_data: *report_data,
            ..CsvReportSpec::default()
        };
        if self.debug {
            spec.policy &= !NODBG;
        }
        if let Some(measure) = self.measure {
            spec.measure = measure;
        }
        spec
    }
}

impl GuestAttester for SimulatedCsv {
    fn name(&self) -> &'static str {
        "csv (simulated)"
    }

    fn guest_tee(&self) -> GuestTee {
        GuestTee::Csv
    }

    fn collect_guest(&self, report_data: &[u8; 64]) -> Result<GuestEvidence, AttesterError> {
        let spec = self.spec(report_data);
        Ok(GuestEvidence::Csv(CsvGuestEvidence {
            report: self.sim.report(&spec)?.encode(),
            evidence: self.sim.trustee_evidence(&spec, true, None)?,
        }))
    }

    fn sim_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }
}
