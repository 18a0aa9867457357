//! `scute reference-value put|get|list|delete|import`: the service's reference-value admin
//! routes from the command line, through the shared admin client. Modelled on Trustee's
//! `kbs-client` (confidential-containers/trustee `tools/kbs-client/src/main.rs`:
//! `set-sample-reference-value NAME VALUE`, `get-reference-values`, `config set-* --*-file F`),
//! with Scute's `--server URL --admin-token-file F`. Exit 0 done, 1 refused by the service (its
//! problem kind and detail on stderr), 2 on usage, an unreadable file or an unreachable server.

use crate::admin_client::{AdminServer, Answer, CannotRun};
use crate::{EXIT_CANNOT_RUN, EXIT_REJECTED};
use anyhow::Context;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum ReferenceValueCommand {
    /// Store the accepted values of NAME (replacing the admin's earlier ones).
    Put(PutArgs),
    /// Print the values of NAME in force (the admin's and valid signed ones) as a JSON array.
    Get(NameArgs),
    /// Print every value in force with its provenance, and every stored signed document.
    List(ServerArgs),
    /// Delete the admin's values of NAME (a signed document's stay until it is deleted).
    Delete(NameArgs),
    /// Import a signed document (a DSSE envelope or a signed CoRIM): exit 0 stored, 1 refused
    /// (the reason on stderr), 2 on usage or an unreachable server.
    Import(ImportArgs),
}

#[derive(Args)]
pub(crate) struct ServerArgs {
    #[command(flatten)]
    admin: AdminServer,
}

#[derive(Args)]
pub(crate) struct NameArgs {
    /// The reference-value name, e.g. mr_td, rtmr1, measurement, mr_enclave.
    name: String,
    #[command(flatten)]
    admin: AdminServer,
}

#[derive(Args)]
pub(crate) struct PutArgs {
    /// The reference-value name, e.g. mr_td.
    name: String,
    /// An accepted value, as a JSON string (e.g. lowercase hex). Repeatable.
    #[arg(
        long = "value",
        value_name = "V",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    values: Vec<String>,
    /// A file holding the JSON array of accepted values (numbers and objects too, e.g. the SGX
    /// identifiers or snp_min_tcb).
    #[arg(long, value_name = "F")]
    file: Option<PathBuf>,
    #[command(flatten)]
    admin: AdminServer,
}

#[derive(Args)]
pub(crate) struct ImportArgs {
    /// The signed document.
    file: PathBuf,
    #[command(flatten)]
    admin: AdminServer,
}

/// One request: the answer's body on success, exit 1 on a refusal, 2 when it could not run.
fn request(
    admin: &AdminServer,
    method: Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<Option<Value>, u8> {
    match admin.send(method, path, body) {
        Ok(Answer::Done(body)) => Ok(body),
        Ok(refused) => {
            eprintln!(
                "scute: the service refused: {}",
                refused.refusal().unwrap_or_default()
            );
            Err(EXIT_REJECTED)
        }
        Err(CannotRun(error)) => {
            eprintln!("scute: {error:#}");
            Err(EXIT_CANNOT_RUN)
        }
    }
}

fn path_of(name: &str) -> String {
    // The name goes into the path as one segment, whatever it holds.
    format!(
        "/v1/reference-values/{}",
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
    )
}

pub(crate) fn run(command: ReferenceValueCommand) -> anyhow::Result<u8> {
    let outcome = match command {
        ReferenceValueCommand::Put(args) => {
            let values: Vec<Value> = match &args.file {
                Some(file) => {
                    let text = std::fs::read(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    serde_json::from_slice(&text).with_context(|| {
                        format!("{}: not a JSON array of values", file.display())
                    })?
                }
                None => args.values.iter().cloned().map(Value::String).collect(),
            };
            let count = values.len();
            let body = serde_json::to_vec(&values)?;
            request(
                &args.admin,
                Method::PUT,
                &path_of(&args.name),
                Some(("application/json", body)),
            )
            .map(|_| outln!("stored reference value {} ({count} values)", args.name))
        }
        ReferenceValueCommand::Get(args) => {
            request(&args.admin, Method::GET, &path_of(&args.name), None)
                .map(|body| outln!("{}", body.unwrap_or(Value::Null)))
        }
        ReferenceValueCommand::List(args) => {
            request(&args.admin, Method::GET, "/v1/reference-values", None).map(|body| {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&body.unwrap_or(Value::Null)).unwrap_or_default()
                )
            })
        }
        ReferenceValueCommand::Delete(args) => {
            request(&args.admin, Method::DELETE, &path_of(&args.name), None)
                .map(|_| outln!("deleted the admin's values of {}", args.name))
        }
        ReferenceValueCommand::Import(args) => {
            let document = match std::fs::read(&args.file) {
                Ok(bytes) => bytes,
                Err(e) => {
                    eprintln!("scute: reading {}: {e}", args.file.display());
                    return Ok(EXIT_CANNOT_RUN);
                }
            };
            request(
                &args.admin,
                Method::POST,
                "/v1/reference-values/import",
                Some(("application/octet-stream", document)),
            )
            .map(|body| {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&body.unwrap_or(Value::Null)).unwrap_or_default()
                )
            })
        }
    };
    Ok(match outcome {
        Ok(()) => 0,
        Err(code) => code,
    })
}
