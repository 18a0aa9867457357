//! `scute sim csv`: a simulated Hygon CSV chip's files in the layout `scute verify --tee csv`
//! reads: `hrk.cert` (the simulated root, to pass as --root-ca), `hsk_cek.cert`, the raw report
//! `report.bin` and the CoCo attester's evidence JSON `evidence.json`.

use crate::files::{report_data_from_hex, write_atomic};
use anyhow::Context;
use clap::Args;
use scute_sim::{CsvReportSpec, HygonSim};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct CsvArgs {
    /// Directory to write (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// 1 (legacy, anonce XOR) or 2 (extended, RTMRs).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    report_version: u8,
    /// Report data, hex (at most 64 bytes, zero-padded as the CSV attester pads it).
    #[arg(long, default_value = "")]
    report_data: String,
    /// A debug guest (policy NODBG clear).
    #[arg(long)]
    debug: bool,
    /// The chip serial.
    #[arg(long, default_value = "SIMCSV0001")]
    chip: String,
    /// Seed of the simulated Hygon PKI.
    #[arg(long, default_value = "scute-sim")]
    seed: String,
}

pub(crate) fn run(args: CsvArgs) -> anyhow::Result<u8> {
    let sim = HygonSim::new(args.seed.as_bytes(), &args.chip).context("simulating the chip")?;
    let mut spec = CsvReportSpec {
        version: args.report_version,
        report_data: report_data_from_hex(&args.report_data)?,
        ..CsvReportSpec::default()
    };
    if args.debug {
        spec.policy &= !1;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let report = sim.report(&spec).context("signing the report")?.encode();
    let evidence = sim
        .trustee_evidence(&spec, true, None)
        .context("signing the report")?
        .to_string();
    for (name, bytes) in [
        ("hrk.cert", sim.hrk_cert.encode()),
        ("hsk_cek.cert", sim.hsk_cek().encode()),
        ("report.bin", report),
        ("evidence.json", evidence.into_bytes()),
    ] {
        write_atomic(&args.out.join(name), &bytes)?;
    }
    outln!(
        "wrote a simulated CSV v{} report of chip {} to {} (verify with --root-ca {})",
        args.report_version,
        args.chip,
        args.out.display(),
        args.out.join("hrk.cert").display()
    );
    Ok(0)
}
