//! The simulated TEE as an attester: its PKI lives in a directory (`sim-state.json`, created
//! on first use from a random or a given seed), beside `root_ca.pem` and a `collateral/`
//! directory that `scute verify` reads. Collateral is renewed when it has expired.

use crate::error::io;
use crate::files::{write_atomic, write_private};
use crate::machine::MachineOptions;
use crate::{Attester, AttesterError, Evidence};
use scute_quote::TeeType;
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const STATE: &str = "sim-state.json";
const TEE: &str = "tee";

pub struct Simulated {
    dir: PathBuf,
    tee: Tee,
    sim: Simulator,
    /// `machine.json`, when the machine was made with options (`scute sim machine`).
    options: MachineOptions,
    /// The launch measurements of `options`, in the simulator's form.
    launch: scute_sim::LaunchMeasurements,
}

fn guest_tee(tee: Tee) -> crate::GuestTee {
    match tee {
        Tee::Sgx => crate::GuestTee::Sgx,
        Tee::Tdx => crate::GuestTee::Tdx,
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A seed nobody else has: an unseeded simulator must not share its keys with every other one.
fn random_seed() -> Result<u64, AttesterError> {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| AttesterError::Randomness)?;
    Ok(u64::from_le_bytes(bytes))
}

impl Simulated {
    /// Opens the simulator kept in `dir`, creating it (a `tee` machine with a random seed, kept
    /// in the directory) if empty.
    pub fn open(dir: PathBuf, tee: Tee) -> Result<Self, AttesterError> {
        Self::open_seeded(dir, tee, None)
    }

    /// Like `open`, but a new directory gets `seed`, so its keys follow from it: anyone who
    /// knows the seed has them. An existing directory must have been made with the same seed.
    pub fn open_with_seed(dir: PathBuf, tee: Tee, seed: u64) -> Result<Self, AttesterError> {
        Self::open_seeded(dir, tee, Some(seed))
    }

    fn open_seeded(dir: PathBuf, tee: Tee, seed: Option<u64>) -> Result<Self, AttesterError> {
        Self::open_with_options(dir, tee, seed, &MachineOptions::default())
    }

    /// Like `open_with_seed` (a random seed with `None`), and a new directory is made with
    /// `options` (debug, the TCB status of its collateral), kept in its `machine.json`.
    pub fn open_with_options(
        dir: PathBuf,
        tee: Tee,
        seed: Option<u64>,
        options: &MachineOptions,
    ) -> Result<Self, AttesterError> {
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        let state = dir.join(STATE);
        let (sim, tee) = if state.is_file() {
            let bytes = std::fs::read(&state).map_err(io("reading", &state))?;
            let kind =
                std::fs::read_to_string(dir.join(TEE)).map_err(io("reading", &dir.join(TEE)))?;
            let tee = if kind.trim() == "sgx" {
                Tee::Sgx
            } else {
                Tee::Tdx
            };
            let sim = Simulator::from_state(&bytes)?;
            if let Some(asked) = seed.filter(|s| *s != sim.seed()) {
                return Err(AttesterError::SeedMismatch { dir, asked });
            }
            (sim, tee)
        } else {
            let seed = match seed {
                Some(s) => s,
                None => random_seed()?,
            };
            // Checked before anything is written: a refused option leaves no machine behind.
            options.launch_for(guest_tee(tee))?;
            let sim = Simulator::new(seed, now())?;
            if *options != MachineOptions::default() {
                options.write(&dir)?;
            }
            write_atomic(
                &dir.join(TEE),
                if tee == Tee::Sgx { b"sgx\n" } else { b"tdx\n" },
            )?;
            write_atomic(&dir.join("root_ca.pem"), sim.root_ca_pem().as_bytes())?;
            write_private(&state, &sim.to_state())?;
            (sim, tee)
        };
        let options = MachineOptions::read(&dir)?;
        let launch = options.launch_for(guest_tee(tee))?.intel()?;
        let this = Self {
            dir,
            tee,
            sim,
            options,
            launch,
        };
        this.ensure_collateral()?;
        Ok(this)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn collateral_dir(&self) -> PathBuf {
        self.dir.join("collateral")
    }

    pub fn root_ca_pem(&self) -> String {
        self.sim.root_ca_pem()
    }

    /// Writes collateral valid for 30 days unless what is there is still valid for a day.
    fn ensure_collateral(&self) -> Result<(), AttesterError> {
        let dir = self.collateral_dir();
        let stamp = dir.join("valid-until");
        let now = now();
        let valid_until = std::fs::read_to_string(&stamp)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok());
        if valid_until.is_some_and(|t| t > now + 24 * 3600) {
            return Ok(());
        }
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        let mut options = CollateralOptions::valid_at(self.tee, now);
        if let Some(status) = &self.options.tcb_status {
            options.tcb_status = status.clone();
        }
        for (name, bytes) in self.sim.collateral(&options)? {
            write_atomic(&dir.join(name), &bytes)?;
        }
        write_atomic(&stamp, options.window.1.to_string().as_bytes())
    }
}

impl Attester for Simulated {
    fn name(&self) -> &'static str {
        match self.tee {
            Tee::Sgx => "sgx (simulated)",
            Tee::Tdx => "tdx (simulated)",
        }
    }

    fn tee(&self) -> TeeType {
        match self.tee {
            Tee::Sgx => TeeType::Sgx,
            Tee::Tdx => TeeType::Tdx,
        }
    }

    fn collect(&self, report_data: &[u8; 64]) -> Result<Evidence, AttesterError> {
        self.ensure_collateral()?;
        let version = if self.tee == Tee::Sgx { 3 } else { 4 };
        let workload = Workload {
            tee: self.tee,
            quote_version: version,
            debug: self.options.debug,
            report_data: *report_data,
            rtmrs: None,
            tee_tcb_svn2: None,
            mr_config_id: None,
        };
        let quote = self.sim.quote_launched(&workload, &self.launch)?;
        Ok(Evidence {
            tee: quote.tee_type(),
            quote: quote.encode(),
            cc_eventlog: None,
        })
    }
}
