//! `scute measure snp|tdx|sgx`: expected measurements computed from build artefacts (by
//! `scute-measure`), printed as one JSON object mapping reference-value names to arrays of
//! accepted values — exactly the bodies `PUT /v1/reference-values/{name}` takes — or, with
//! `--put`, registered with the service. Exit 0 measured (and stored), 1 refused (reason on
//! stderr: an artefact that cannot be measured, or the service refusing a value), 2 usage or an
//! unreachable service.

mod sgx;
mod snp;
mod tdx;

use crate::admin_client::{AdminServer, Answer, CannotRun};
use crate::{EXIT_CANNOT_RUN, EXIT_REJECTED};
use clap::{Args, Subcommand};
use serde_json::{Map, Value};

#[derive(Subcommand)]
pub(crate) enum MeasureCommand {
    /// The SEV-SNP launch MEASUREMENT from OVMF, the vCPUs and (optionally) a direct-boot kernel.
    Snp(snp::SnpArgs),
    /// TDX MRTD from the TDVF firmware, and RTMR0–2 from what the VMM and direct boot measure.
    Tdx(tdx::TdxArgs),
    /// SGX MRENCLAVE, MRSIGNER, ISVPRODID and ISVSVN from an enclave's SIGSTRUCT.
    Sgx(sgx::SgxArgs),
}

/// Registering what was measured, instead of (as well as) printing it.
#[derive(Args)]
pub(crate) struct PutArgs {
    /// Register each value with this service (`PUT /v1/reference-values/{name}`), e.g.
    /// http://127.0.0.1:8080.
    #[arg(long = "put", value_name = "URL")]
    pub put: Option<String>,
    /// The admin token's file, for --put.
    #[arg(long, default_value = "scute-data/admin-token", requires = "put")]
    pub admin_token_file: std::path::PathBuf,
}

/// A measurement could not be computed (exit 1, the reason on stderr).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct Refused(#[from] pub scute_measure::MeasureError);

pub(crate) fn run(command: MeasureCommand) -> anyhow::Result<u8> {
    let (values, put) = match command {
        MeasureCommand::Snp(args) => (snp::measure(&args), args.put),
        MeasureCommand::Tdx(args) => (tdx::measure(&args), args.put),
        MeasureCommand::Sgx(args) => (sgx::measure(&args), args.put),
    };
    let values = match values {
        Ok(values) => values,
        Err(error) => match error.downcast::<Refused>() {
            Ok(refused) => {
                eprintln!("scute: {refused}");
                return Ok(EXIT_REJECTED);
            }
            Err(other) => return Err(other),
        },
    };
    outln!(
        "{}",
        serde_json::to_string_pretty(&Value::Object(values.clone()))?
    );
    let Some(server) = put.put else {
        return Ok(0);
    };
    let admin = AdminServer {
        server,
        admin_token_file: put.admin_token_file,
    };
    for (name, accepted) in &values {
        let body = serde_json::to_vec(accepted)?;
        match admin.send(
            reqwest::Method::PUT,
            &format!("/v1/reference-values/{name}"),
            Some(("application/json", body)),
        ) {
            Ok(Answer::Done(_)) => {}
            Ok(refused) => {
                eprintln!(
                    "scute: the service refused reference value {name}: {}",
                    refused.refusal().unwrap_or_default()
                );
                return Ok(EXIT_REJECTED);
            }
            Err(CannotRun(error)) => {
                eprintln!("scute: {error:#}");
                return Ok(EXIT_CANNOT_RUN);
            }
        }
    }
    Ok(0)
}

/// What each subcommand returns: reference-value name → accepted values.
pub(crate) type Measured = Map<String, Value>;
