//! `scute quote`: collect evidence for given report data inside a guest (TDX or SEV-SNP through
//! configfs-tsm, SGX in Gramine or Occlum, the Hygon CSV guest) or from a simulated machine of
//! any of the four TEEs, and write it raw. `TeeArgs` is the one mapping from `--tee` to an
//! attester that every guest command shares.

use crate::files::{report_data_from_hex, write_atomic};
use clap::{Args, ValueEnum};
use scute_attester::{
    detect_guest, open_simulator, CsvGuestDevice, Gramine, GuestAttester, GuestEvidence, GuestTee,
    MachineOptions, Occlum, Paths, Simulated, TsmReport, TsmSnp,
};
use std::path::PathBuf;

/// Which attester a guest command uses: not a TEE but a way to reach one (`auto` probes, the
/// `sim*` values pick a simulated machine, `tdx`/`sgx`/`snp`/`csv` the real guest interfaces),
/// so it stays apart from the TEE vocabulary (`scute_tee::Tee`); the TEE an attester yields is
/// its `guest_tee()`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum TeeChoice {
    Auto,
    Tdx,
    Sgx,
    /// AMD SEV-SNP through configfs-tsm.
    Snp,
    /// Hygon CSV through /dev/csv-guest.
    Csv,
    /// The simulator as it always was: the machine in --sim-dir (a new one is TDX).
    Sim,
    /// A simulated TDX machine in --sim-dir.
    SimTdx,
    /// A simulated SGX machine in --sim-dir.
    SimSgx,
    /// A simulated SEV-SNP machine in --sim-dir (its own ARK/ASK/VCEK).
    SimSnp,
    /// A simulated Hygon CSV machine in --sim-dir (its own HRK/HSK/CEK).
    SimCsv,
}

impl TeeChoice {
    /// The simulated TEE this choice names, if it names one.
    fn simulated(self) -> Option<Option<GuestTee>> {
        match self {
            Self::Sim => Some(None),
            Self::SimTdx => Some(Some(GuestTee::Tdx)),
            Self::SimSgx => Some(Some(GuestTee::Sgx)),
            Self::SimSnp => Some(Some(GuestTee::Snp)),
            Self::SimCsv => Some(Some(GuestTee::Csv)),
            _ => None,
        }
    }
}

/// Where to find the TEE; the defaults are the real paths of a Linux guest.
#[derive(Args, Clone)]
pub(crate) struct TeeArgs {
    /// Which TEE to use; auto tries configfs-tsm (TDX or SEV-SNP), Gramine, Occlum, the Hygon
    /// CSV guest, then the simulator if --sim-dir is given. sim-tdx|sim-sgx|sim-snp|sim-csv use
    /// (or make) a simulated machine of that TEE in --sim-dir; sim uses the one there (a new
    /// one is TDX).
    #[arg(long, value_enum, default_value = "auto")]
    pub tee: TeeChoice,
    /// The simulator's directory (PKI, trust root, collateral/); created on first use.
    #[arg(long)]
    pub sim_dir: Option<PathBuf>,
    /// Create the simulator's directory from this seed (with --tee sim, sim-tdx or sim-sgx):
    /// its keys follow from the seed, so they are public. Without it, a new directory gets a
    /// random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// configfs-tsm report directory.
    #[arg(long, default_value = "/sys/kernel/config/tsm/report")]
    pub tsm_root: PathBuf,
    /// The TDX CCEL event log area.
    #[arg(long, default_value = "/sys/firmware/acpi/tables/data/CCEL")]
    pub ccel: PathBuf,
    /// Gramine's attestation pseudo-files.
    #[arg(long, default_value = "/dev/attestation")]
    pub gramine_root: PathBuf,
    /// Where Occlum's attestation_* device files live.
    #[arg(long, default_value = "/dev")]
    pub occlum_dev: PathBuf,
    /// The Hygon CSV guest device.
    #[arg(long, default_value = "/dev/csv-guest")]
    pub csv_guest: PathBuf,
}

impl TeeArgs {
    pub(crate) fn sim_dir_or_default(&self) -> PathBuf {
        self.sim_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("scute-sim"))
    }

    /// The attester these arguments name: the one place the guest commands (`quote`,
    /// `attest`, `secret get`, `ratls serve`) turn `--tee` into evidence.
    pub(crate) fn attester(&self) -> anyhow::Result<Box<dyn GuestAttester>> {
        let paths = Paths {
            tsm_report: self.tsm_root.clone(),
            ccel: self.ccel.clone(),
            gramine: self.gramine_root.clone(),
            occlum_dev: self.occlum_dev.clone(),
        };
        let intel_sim = matches!(
            self.tee,
            TeeChoice::Sim | TeeChoice::SimTdx | TeeChoice::SimSgx
        );
        anyhow::ensure!(
            self.seed.is_none() || intel_sim,
            "--seed is for the simulator: give --tee sim"
        );
        Ok(match self.tee {
            TeeChoice::Auto => detect_guest(&paths, &self.csv_guest, self.sim_dir.clone())?,
            TeeChoice::Tdx => Box::new(TsmReport::new(paths.tsm_report, Some(paths.ccel))),
            TeeChoice::Sgx => {
                let occlum = Occlum::new(paths.occlum_dev);
                if occlum.is_present() {
                    Box::new(occlum)
                } else {
                    Box::new(Gramine::new(paths.gramine))
                }
            }
            TeeChoice::Snp => Box::new(TsmSnp::new(TsmReport::new(paths.tsm_report, None))),
            TeeChoice::Csv => Box::new(CsvGuestDevice::new(self.csv_guest.clone())),
            TeeChoice::Sim => Box::new(match self.seed {
                _ if matches!(
                    scute_attester::sim_dir_tee(&self.sim_dir_or_default())?,
                    Some(GuestTee::Snp | GuestTee::Csv)
                ) =>
                {
                    anyhow::bail!(
                        "{} holds a simulated SEV-SNP or CSV machine: give --tee sim-snp or --tee sim-csv",
                        self.sim_dir_or_default().display()
                    )
                }
                Some(seed) => {
                    Simulated::open_with_seed(self.sim_dir_or_default(), scute_sim::Tee::Tdx, seed)?
                }
                None => Simulated::open(self.sim_dir_or_default(), scute_sim::Tee::Tdx)?,
            }),
            choice => {
                let asked = choice.simulated().flatten();
                let dir = self.sim_dir_or_default();
                match (asked, self.seed) {
                    (Some(tee @ (GuestTee::Tdx | GuestTee::Sgx)), Some(seed)) => {
                        let kind = if tee == GuestTee::Sgx {
                            scute_sim::Tee::Sgx
                        } else {
                            scute_sim::Tee::Tdx
                        };
                        check_sim_kind(&dir, tee)?;
                        Box::new(Simulated::open_with_seed(dir, kind, seed)?)
                    }
                    _ => open_simulator(dir, asked, &MachineOptions::default())?,
                }
            }
        })
    }
}

/// An existing simulator directory must hold the TEE asked for.
fn check_sim_kind(dir: &std::path::Path, asked: GuestTee) -> anyhow::Result<()> {
    if let Some(found) = scute_attester::sim_dir_tee(dir)? {
        anyhow::ensure!(
            found == asked,
            "{} holds a simulated {} machine, not {}",
            dir.display(),
            found.name(),
            asked.name()
        );
    }
    Ok(())
}

/// How many bytes of a TDX CCEL area are events: verifiers get the events, not the padding
/// that fills the rest of the area.
pub(crate) fn events_len(evidence: &GuestEvidence) -> Option<usize> {
    match evidence {
        GuestEvidence::Dcap(e) => e.cc_eventlog.as_ref().and_then(|area| {
            scute_eventlog::parse(area, scute_eventlog::ParseOptions::default())
                .ok()
                .map(|log| log.parsed_len)
        }),
        _ => None,
    }
}

#[derive(Args)]
pub(crate) struct QuoteArgs {
    /// Up to 64 bytes of report data, hex.
    #[arg(long)]
    report_data: String,
    #[command(flatten)]
    tee: TeeArgs,
    /// Where to write the raw quote (an event log, when there is one, goes to FILE.ccel).
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(args: QuoteArgs) -> anyhow::Result<u8> {
    let report_data = report_data_from_hex(&args.report_data)?;
    let attester = args.tee.attester()?;
    let evidence = match attester.collect_guest(&report_data) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("scute: {}: {e}", attester.name());
            return Ok(crate::EXIT_REJECTED);
        }
    };
    match &evidence {
        GuestEvidence::Dcap(evidence) => {
            write_atomic(&args.out, &evidence.quote)?;
            eprintln!(
                "wrote {} ({} bytes, {})",
                args.out.display(),
                evidence.quote.len(),
                attester.name()
            );
            if let Some(log) = &evidence.cc_eventlog {
                let path = PathBuf::from(format!("{}.ccel", args.out.display()));
                write_atomic(&path, log)?;
                eprintln!("wrote {} (event log, {} bytes)", path.display(), log.len());
            }
            if args.tee.tee == TeeChoice::Sim || attester.name().contains("simulated") {
                let dir = args.tee.sim_dir_or_default();
                eprintln!(
                    "verify with: scute verify --quote {} --collateral {} --root-ca {}",
                    args.out.display(),
                    dir.join("collateral").display(),
                    dir.join("root_ca.pem").display()
                );
            }
        }
        GuestEvidence::Snp(snp) => write_snp(&args, snp, attester.sim_dir())?,
        GuestEvidence::Csv(csv) => {
            write_atomic(&args.out, &csv.report)?;
            let json = PathBuf::from(format!("{}.json", args.out.display()));
            write_atomic(&json, csv.evidence.to_string().as_bytes())?;
            eprintln!(
                "wrote {} ({} bytes, CSV report, {}) and {} (the CoCo attester's evidence JSON)",
                args.out.display(),
                csv.report.len(),
                attester.name(),
                json.display()
            );
            if let Some(dir) = attester.sim_dir() {
                eprintln!(
                    "verify with: scute verify --tee csv --quote {} --collateral {} --root-ca {} --report-data {}",
                    args.out.display(),
                    dir.display(),
                    dir.join("hrk.cert").display(),
                    hex::encode(report_data)
                );
            }
        }
    }
    Ok(0)
}

/// SEV-SNP: the report to `--out`, and the certificates (the host's auxblob, or the simulated
/// machine's), when there are any, to `OUT.certs/` as a `scute verify --tee snp --collateral`
/// directory.
fn write_snp(
    args: &QuoteArgs,
    evidence: &scute_attester::SnpGuestEvidence,
    sim_dir: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    write_atomic(&args.out, &evidence.report)?;
    eprintln!(
        "wrote {} ({} bytes, SEV-SNP report)",
        args.out.display(),
        evidence.report.len()
    );
    let dir = PathBuf::from(format!("{}.certs", args.out.display()));
    if let Some((kind, der)) = &evidence.vek {
        let (name, chain_name) = if *kind == "VLEK" {
            ("vlek.der", "asvk_ark_chain.pem")
        } else {
            ("vcek.der", "ask_ark_chain.pem")
        };
        std::fs::create_dir_all(&dir)?;
        write_atomic(&dir.join(name), der)?;
        if let (Some(ask), Some(ark)) = (&evidence.ask, &evidence.ark) {
            let chain = scute_snp::pem_chain(&[ask, ark]);
            write_atomic(&dir.join(chain_name), chain.as_bytes())?;
        }
        let ark = sim_dir
            .map(|d| format!(" --ark {}", d.join("ark.pem").display()))
            .unwrap_or_default();
        eprintln!(
            "wrote {} (the certificates); verify with: scute verify --tee snp --quote {} --collateral {}{ark}",
            dir.display(),
            args.out.display(),
            dir.display()
        );
    }
    Ok(())
}
