//! `scute sim machine`: makes a simulated machine of any of the four TEEs in a directory, with
//! its launch options (debug, TCB), for the guest commands' `--tee sim-* --sim-dir DIR`. The
//! directory gets the machine's own keys and the trust root a verifier must be told about.

use anyhow::Context;
use clap::Args;
use scute_attester::{open_simulator, GuestTee, MachineOptions, Simulated};
use std::path::PathBuf;

/// The TEEs `scute sim machine` makes machines of (`--tee`, in its `--help` order).
pub(crate) const MACHINE_TEES: &[GuestTee] =
    &[GuestTee::Tdx, GuestTee::Sgx, GuestTee::Snp, GuestTee::Csv];

#[derive(Args)]
pub(crate) struct MachineArgs {
    /// The TEE of the machine.
    #[arg(long, value_parser = crate::tee_arg::tee(MACHINE_TEES))]
    tee: GuestTee,
    /// The directory to make (it must not hold a machine yet).
    #[arg(long)]
    sim_dir: PathBuf,
    /// A debug guest (TD/enclave DEBUG, SEV-SNP policy DEBUG, CSV policy NODBG clear).
    #[arg(long)]
    debug: bool,
    /// SGX/TDX: the platform's TCB status in the machine's collateral.
    #[arg(long, value_parser = crate::sim_cmd::tcb_status)]
    tcb_status: Option<String>,
    /// SEV-SNP: the product line, Milan, Genoa or Turin [default: Milan].
    #[arg(long)]
    snp_product: Option<String>,
    /// SEV-SNP: the TCB_VERSION the firmware reports and the VCEK certifies, 8 bytes hex in
    /// the product's layout [default: 0300000000000873, boot loader 3, SNP 8, microcode 0x73].
    #[arg(long)]
    snp_tcb: Option<String>,
    /// CSV: the report version, 1 (legacy) or 2 (extended, RTMRs) [default: 1].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    csv_report_version: Option<u8>,
    /// SGX/TDX: derive the machine's keys from this seed (public) instead of a random one.
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    launch: Box<crate::sim_launch::LaunchArgs>,
}

pub(crate) fn run(args: MachineArgs) -> anyhow::Result<u8> {
    let tee = args.tee;
    let intel = matches!(tee, GuestTee::Tdx | GuestTee::Sgx);
    anyhow::ensure!(
        intel || (args.tcb_status.is_none() && args.seed.is_none()),
        "--tcb-status and --seed are for SGX and TDX machines"
    );
    anyhow::ensure!(
        tee == GuestTee::Snp || (args.snp_product.is_none() && args.snp_tcb.is_none()),
        "--snp-product and --snp-tcb are for SEV-SNP machines"
    );
    anyhow::ensure!(
        tee == GuestTee::Csv || args.csv_report_version.is_none(),
        "--csv-report-version is for CSV machines"
    );
    let launch = args.launch.for_tee(tee)?;
    if let Some(found) = scute_attester::sim_dir_tee(&args.sim_dir)? {
        anyhow::bail!(
            "{} already holds a simulated {} machine",
            args.sim_dir.display(),
            found.name()
        );
    }
    let options = MachineOptions {
        debug: args.debug,
        tcb_status: args.tcb_status,
        product: args.snp_product,
        snp_tcb: args.snp_tcb,
        csv_report_version: args.csv_report_version,
        launch,
    };
    let dir = args.sim_dir.clone();
    let attester: Box<dyn scute_attester::GuestAttester> = match (tee, args.seed) {
        (GuestTee::Tdx, Some(seed)) => Box::new(Simulated::open_with_options(
            dir.clone(),
            scute_sim::Tee::Tdx,
            Some(seed),
            &options,
        )?),
        (GuestTee::Sgx, Some(seed)) => Box::new(Simulated::open_with_options(
            dir.clone(),
            scute_sim::Tee::Sgx,
            Some(seed),
            &options,
        )?),
        _ => open_simulator(dir.clone(), Some(tee), &options)
            .with_context(|| format!("making the machine in {}", dir.display()))?,
    };
    let (root, serve_flag) = match tee {
        GuestTee::Tdx | GuestTee::Sgx => ("root_ca.pem", "--trust-root"),
        GuestTee::Snp => ("ark.pem", "--snp-trust-root"),
        GuestTee::Csv => ("hrk.cert", "--csv-trust-root"),
        // Not in MACHINE_TEES: `open_simulator` refused it above.
        GuestTee::Sample => anyhow::bail!("no simulated machine of the sample TEE"),
    };
    outln!(
        "made {} in {}{}; its trust root is {} (scute serve {} {})",
        attester.name(),
        dir.display(),
        if args.debug { " (a debug guest)" } else { "" },
        dir.join(root).display(),
        serve_flag,
        dir.join(root).display()
    );
    Ok(0)
}
