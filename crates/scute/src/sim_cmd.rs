//! `scute sim case`: writes a simulated case directory (quote, collateral, root, expected
//! verdict) in the layout of a `shared/vectors` case.

use crate::files::{report_data_from_hex, write_atomic};
use anyhow::Context;
use clap::{Args, Subcommand};
use scute_dcap::{format_rfc3339, report_json};
use scute_sim::{case, CaseSpec, Tee, CASE_TCB_STATUSES, TCB_STATUSES};
use serde_json::json;
use std::path::PathBuf;
use time::OffsetDateTime;

#[derive(Subcommand)]
pub(crate) enum SimCommand {
    /// Write a simulated quote with its collateral, root CA and expected verdict.
    Case(CaseArgs),
    /// Write a simulated Hygon CSV report, its evidence JSON, HSK/CEK and root.
    Csv(crate::sim_csv::CsvArgs),
    /// Make a simulated machine of any TEE in a directory (its PKI, trust root and launch
    /// options), for `--tee sim-tdx|sim-sgx|sim-snp|sim-csv --sim-dir DIR`.
    Machine(crate::sim_machine::MachineArgs),
}

/// The TEEs `scute sim case` makes quotes of (`--tee`, in its `--help` order).
pub(crate) const CASE_TEES: &[scute_verify::Tee] =
    &[scute_verify::Tee::Sgx, scute_verify::Tee::Tdx];

pub(crate) fn tcb_status(text: &str) -> Result<String, String> {
    one_of(&TCB_STATUSES, text)
}

/// `--tcb-status`: a level status, or a TD-preserving verdict (TDX v5, TD 1.5 bodies).
fn case_tcb_status(text: &str) -> Result<String, String> {
    one_of(&CASE_TCB_STATUSES, text)
}

fn one_of(statuses: &[&str], text: &str) -> Result<String, String> {
    statuses
        .iter()
        .find(|s| s.eq_ignore_ascii_case(text))
        .map(|s| s.to_string())
        .ok_or_else(|| format!("one of {}", statuses.join(", ")))
}

#[derive(Args)]
pub(crate) struct CaseArgs {
    /// Directory to write (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = "tdx", value_parser = crate::tee_arg::tee(CASE_TEES))]
    tee: scute_verify::Tee,
    /// 3 for SGX; 4 or 5 for TDX (default: 3 for SGX, 4 for TDX).
    #[arg(long, value_parser = clap::value_parser!(u16).range(3..=5))]
    quote_version: Option<u16>,
    /// TDX v5 body type: 2 (TD 1.0), 3 (TD 1.5, the v5 default) or 4 (TD 1.5 extended, TD
    /// partitioning). Implies --quote-version 5.
    #[arg(long, value_parser = clap::value_parser!(u16).range(2..=4))]
    td_body_type: Option<u16>,
    /// The platform's TCB status in the collateral. TDRelaunchAdvised[ConfigurationNeeded]: a
    /// TD 1.5 launched on an out-of-date TDX module while the platform runs the current one
    /// (implies --quote-version 5).
    #[arg(long, default_value = "UpToDate", value_parser = case_tcb_status)]
    tcb_status: String,
    /// The quoting enclave's TCB status in the collateral.
    #[arg(long, default_value = "UpToDate", value_parser = tcb_status)]
    qe_tcb_status: String,
    /// A debug enclave or TD.
    #[arg(long)]
    debug: bool,
    /// List the PCK certificate in the PCK CRL.
    #[arg(long)]
    revoke_pck: bool,
    /// Up to 64 bytes of report data, hex.
    #[arg(long, default_value = "")]
    report_data: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub(crate) fn run(command: SimCommand) -> anyhow::Result<u8> {
    let args = match command {
        SimCommand::Case(args) => args,
        SimCommand::Csv(args) => return crate::sim_csv::run(args),
        SimCommand::Machine(args) => return crate::sim_machine::run(args),
    };
    // The simulator's quote kind (only SGX and TDX are in CASE_TEES).
    let tee = match args.tee {
        scute_verify::Tee::Sgx => Tee::Sgx,
        scute_verify::Tee::Tdx => Tee::Tdx,
        other => anyhow::bail!("scute sim case makes SGX and TDX quotes, not {other}"),
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut spec = CaseSpec::new(tee, now);
    spec.quote_version = args.quote_version.unwrap_or(spec.quote_version);
    if let Some(body_type) = args.td_body_type {
        match (tee, args.quote_version) {
            (Tee::Tdx, None | Some(5)) => spec.quote_version = 5,
            _ => anyhow::bail!(
                "--td-body-type {body_type} needs a TDX quote of version 5 (--tee tdx --quote-version 5)"
            ),
        }
        spec.td_body_type = Some(body_type);
    }
    if args.tcb_status.starts_with("TDRelaunch") && args.quote_version.is_none() {
        spec.quote_version = 5;
    }
    spec.tcb_status = args.tcb_status;
    spec.qe_tcb_status = args.qe_tcb_status;
    spec.debug = args.debug;
    spec.revoke_pck = args.revoke_pck;
    spec.report_data = report_data_from_hex(&args.report_data)?;
    spec.seed = args.seed;
    let sim_case = case(&spec).context("simulating the case")?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (name, bytes) in &sim_case.collateral {
        write_atomic(&args.out.join(name), bytes)?;
    }
    write_atomic(&args.out.join("quote.bin"), &sim_case.quote)?;
    write_atomic(
        &args.out.join("root_ca.pem"),
        sim_case.root_ca_pem.as_bytes(),
    )?;
    let quote =
        scute_quote::Quote::decode(&sim_case.quote).context("decoding the simulated quote")?;
    let exp = &sim_case.expected;
    let expected = json!({
        "case": "scute-sim",
        "oracle": "scute-sim: the verdict follows from the knobs the case was made with",
        "verify_time": format_rfc3339(exp.verify_time),
        "verify_time_unix": exp.verify_time,
        "seed": args.seed,
        "result": {
            "ok": exp.ok,
            "tcb_status": exp.tcb_status,
            "advisory_ids": exp.advisory_ids,
            "error_kind": exp.error_kind,
            "report": report_json(&quote.body),
        },
    });
    let text = serde_json::to_vec_pretty(&expected).context("encoding expected.json")?;
    write_atomic(&args.out.join("expected.json"), &text)?;
    outln!(
        "wrote {}: {} quote v{}, expected {}",
        args.out.display(),
        quote.tee_type().name().to_uppercase(),
        quote.header.version,
        exp.tcb_status
            .clone()
            .or(exp.error_kind.map(str::to_string))
            .unwrap_or_default()
    );
    Ok(0)
}
