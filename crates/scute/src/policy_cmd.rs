//! `scute policy put|get|list|delete`: the service's attestation policies (Rego, `package
//! scute`) through its admin API, for what was only `curl` before. The anchor is Trustee's
//! `kbs-client config set-attestation-policy --id ID --policy-file F`
//! (confidential-containers/trustee `tools/kbs-client/src/main.rs`); here the policy is named
//! and read back too, and listed with the digest of its text. Exit 0 done, 1 refused by the
//! service (its problem kind and detail on stderr), 2 usage errors or an unreachable service.

use crate::admin_client::{AdminServer, Answer, CannotRun};
use crate::{EXIT_CANNOT_RUN, EXIT_REJECTED};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum PolicyCommand {
    /// Store (or replace) a policy; the service compiles it first and refuses a bad one.
    Put(PutArgs),
    /// Print a policy's Rego text exactly as stored (`default`: the built-in one until
    /// replaced).
    Get(IdArgs),
    /// The policies the service holds: id, mandatory, SHA-256 of the text, when stored.
    List(ListArgs),
    /// Delete a stored policy (a mandatory one is refused).
    Delete(IdArgs),
}

#[derive(Args)]
pub(crate) struct PutArgs {
    /// The policy id, 1–128 of [A-Za-z0-9._-].
    #[arg(value_parser = policy_id)]
    id: String,
    /// The Rego file.
    file: PathBuf,
    #[command(flatten)]
    admin: AdminServer,
}

#[derive(Args)]
pub(crate) struct IdArgs {
    /// The policy id.
    #[arg(value_parser = policy_id)]
    id: String,
    #[command(flatten)]
    admin: AdminServer,
}

#[derive(Args)]
pub(crate) struct ListArgs {
    /// Print the service's JSON list instead of one line per policy.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    admin: AdminServer,
}

/// The exit status for an answer that is not a success, with the reason on stderr.
fn refused(what: &str, answer: &Answer) -> u8 {
    eprintln!(
        "scute: the service refused {what}: {}",
        answer.refusal().unwrap_or_default()
    );
    EXIT_REJECTED
}

fn unreachable(error: CannotRun) -> u8 {
    eprintln!("scute: {error:#}");
    EXIT_CANNOT_RUN
}

fn policy_path(id: &str) -> String {
    format!("/v1/policies/{id}")
}

/// A policy id as the service accepts them (1–128 of [A-Za-z0-9._-]), and never `.` or `..`,
/// which a URL would resolve into another route: a usage error here, not a request elsewhere.
fn policy_id(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 128
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && text != "."
        && text != "..";
    if ok {
        Ok(text.to_string())
    } else {
        Err("a policy id is 1-128 of [A-Za-z0-9._-], not . or ..".into())
    }
}

pub(crate) fn run(command: PolicyCommand) -> anyhow::Result<u8> {
    match command {
        PolicyCommand::Put(args) => {
            let rego = std::fs::read(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            let body = Some(("text/plain; charset=utf-8", rego));
            match args
                .admin
                .send(reqwest::Method::PUT, &policy_path(&args.id), body)
            {
                Ok(Answer::Done(_)) => {
                    outln!("stored policy {}", args.id);
                    Ok(0)
                }
                Ok(answer) => Ok(refused(&format!("policy {}", args.id), &answer)),
                Err(e) => Ok(unreachable(e)),
            }
        }
        PolicyCommand::Get(args) => {
            match args
                .admin
                .send_raw(reqwest::Method::GET, &policy_path(&args.id), None)
            {
                Ok((Answer::Done(_), text)) => {
                    use std::io::Write as _;
                    let _ = std::io::stdout().lock().write_all(&text);
                    Ok(0)
                }
                Ok((answer, _)) => Ok(refused(&format!("policy {}", args.id), &answer)),
                Err(e) => Ok(unreachable(e)),
            }
        }
        PolicyCommand::Delete(args) => {
            match args
                .admin
                .send(reqwest::Method::DELETE, &policy_path(&args.id), None)
            {
                Ok(Answer::Done(_)) => {
                    outln!("deleted policy {}", args.id);
                    Ok(0)
                }
                Ok(answer) => Ok(refused(&format!("to delete policy {}", args.id), &answer)),
                Err(e) => Ok(unreachable(e)),
            }
        }
        PolicyCommand::List(args) => {
            match args.admin.send(reqwest::Method::GET, "/v1/policies", None) {
                Ok(Answer::Done(Some(Value::Array(list)))) => {
                    if args.json {
                        outln!("{}", serde_json::to_string_pretty(&list)?);
                    } else {
                        for p in &list {
                            outln!(
                                "{}\t{}\tsha256:{}\t{}",
                                p["id"].as_str().unwrap_or("?"),
                                if p["mandatory"] == true {
                                    "mandatory"
                                } else {
                                    "optional"
                                },
                                p["sha256"].as_str().unwrap_or("?"),
                                p["updated"].as_str().unwrap_or("built-in"),
                            );
                        }
                    }
                    Ok(0)
                }
                Ok(Answer::Done(other)) => {
                    eprintln!(
                        "scute: {} answered GET /v1/policies with {}, not a list (a service older than this client?)",
                        args.admin.server,
                        other.map_or("nothing".into(), |v| v.to_string())
                    );
                    Ok(EXIT_CANNOT_RUN)
                }
                Ok(answer) => Ok(refused("to list policies", &answer)),
                Err(e) => Ok(unreachable(e)),
            }
        }
    }
}
