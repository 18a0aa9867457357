//! `scute quote`: collect a quote inside a guest (TDX configfs-tsm, Gramine, Occlum) or from
//! the simulator, for given report data, and write it raw.

use crate::files::{report_data_from_hex, write_atomic};
use clap::{Args, ValueEnum};
use scute_attester::{detect, Attester, Gramine, Occlum, Paths, Simulated, TsmReport};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TeeChoice {
    Auto,
    Tdx,
    Sgx,
    /// AMD SEV-SNP through configfs-tsm (`scute quote` only).
    Snp,
    Sim,
}

/// Where to find the TEE; the defaults are the real paths of a Linux guest.
#[derive(Args, Clone)]
pub struct TeeArgs {
    /// Which TEE to use; auto tries TDX, Gramine, Occlum, then the simulator if --sim-dir is given.
    #[arg(long, value_enum, default_value = "auto")]
    pub tee: TeeChoice,
    /// The simulator's directory (PKI, root_ca.pem, collateral/); created on first use.
    #[arg(long)]
    pub sim_dir: Option<PathBuf>,
    /// Create the simulator's directory from this seed (with --tee sim): its keys follow from
    /// the seed, so they are public. Without it, a new directory gets a random seed.
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
}

impl TeeArgs {
    /// The attester these arguments name.
    pub fn attester(&self) -> anyhow::Result<Box<dyn Attester>> {
        let paths = Paths {
            tsm_report: self.tsm_root.clone(),
            ccel: self.ccel.clone(),
            gramine: self.gramine_root.clone(),
            occlum_dev: self.occlum_dev.clone(),
        };
        let sim_dir = || {
            self.sim_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("scute-sim"))
        };
        anyhow::ensure!(
            self.seed.is_none() || self.tee == TeeChoice::Sim,
            "--seed is for the simulator: give --tee sim"
        );
        Ok(match self.tee {
            TeeChoice::Auto => detect(&paths, self.sim_dir.clone())?,
            TeeChoice::Tdx => Box::new(TsmReport::new(paths.tsm_report, Some(paths.ccel))),
            TeeChoice::Sgx => {
                let occlum = Occlum::new(paths.occlum_dev);
                if occlum.is_present() {
                    Box::new(occlum)
                } else {
                    Box::new(Gramine::new(paths.gramine))
                }
            }
            TeeChoice::Snp => anyhow::bail!(
                "--tee snp collects an SEV-SNP report with `scute quote`; attest with the key broker's client"
            ),
            TeeChoice::Sim => Box::new(match self.seed {
                Some(seed) => Simulated::open_with_seed(sim_dir(), scute_sim::Tee::Tdx, seed)?,
                None => Simulated::open(sim_dir(), scute_sim::Tee::Tdx)?,
            }),
        })
    }
}

#[derive(Args)]
pub struct QuoteArgs {
    /// Up to 64 bytes of report data, hex.
    #[arg(long)]
    report_data: String,
    #[command(flatten)]
    tee: TeeArgs,
    /// Where to write the raw quote (an event log, when there is one, goes to FILE.ccel).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: QuoteArgs) -> anyhow::Result<u8> {
    let report_data = report_data_from_hex(&args.report_data)?;
    if args.tee.tee == TeeChoice::Snp {
        return snp(&args, &report_data);
    }
    let attester = args.tee.attester()?;
    let evidence = match attester.collect(&report_data) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("scute: {}: {e}", attester.name());
            return Ok(crate::EXIT_REJECTED);
        }
    };
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
        let dir = args
            .tee
            .sim_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("scute-sim"));
        eprintln!(
            "verify with: scute verify --quote {} --collateral {} --root-ca {}",
            args.out.display(),
            dir.join("collateral").display(),
            dir.join("root_ca.pem").display()
        );
    }
    Ok(0)
}

/// SEV-SNP: the report to `--out`, and the host's certificates (auxblob), when it gave any,
/// to `OUT.certs/` as a `scute verify --tee snp --collateral` directory.
fn snp(args: &QuoteArgs, report_data: &[u8; 64]) -> anyhow::Result<u8> {
    let tsm = TsmReport::new(args.tee.tsm_root.clone(), None);
    let evidence = match tsm.collect_snp(report_data) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("scute: sev_guest (configfs-tsm): {e}");
            return Ok(crate::EXIT_REJECTED);
        }
    };
    write_atomic(&args.out, &evidence.report)?;
    eprintln!(
        "wrote {} ({} bytes, SEV-SNP report)",
        args.out.display(),
        evidence.report.len()
    );
    let certs = &evidence.certs;
    let dir = PathBuf::from(format!("{}.certs", args.out.display()));
    let vek = match (&certs.vcek, &certs.vlek) {
        (Some(v), _) => Some(("vcek.der", v, "ask_ark_chain.pem")),
        (None, Some(v)) => Some(("vlek.der", v, "asvk_ark_chain.pem")),
        (None, None) => None,
    };
    if let Some((name, der, chain_name)) = vek {
        std::fs::create_dir_all(&dir)?;
        write_atomic(&dir.join(name), der)?;
        if let Some(chain) = certs.chain_pem() {
            write_atomic(&dir.join(chain_name), chain.as_bytes())?;
        }
        eprintln!(
            "wrote {} (the host's certificates); verify with: scute verify --tee snp --quote {} --collateral {}",
            dir.display(),
            args.out.display(),
            dir.display()
        );
    }
    Ok(0)
}
