//! An operator's commands: `scute config check`, `scute admin rotate-key`, `scute man`,
//! `scute completions`, and what `scute --version` says.

use crate::EXIT_REJECTED;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The configuration file the packages install and the unit starts with.
pub const PACKAGED_CONFIG: &str = "/etc/scute/scute.toml";

/// `scute --version`: the version, the git revision, and what this build can do.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("SCUTE_GIT_REVISION"),
    ")\nstore: sqlite, postgres\ntee: sgx, tdx, snp, csv, sample (off unless allow_sample_tee)\n",
    "protocols: Scute API v1, Confidential Containers KBS 0.4.0, PCCS v4, RA-TLS"
);

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file as `scute serve` would read it: an unknown key, a value
    /// of the wrong type or a setting that cannot work is named with the reason; exit 1.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The file [default: /etc/scute/scute.toml].
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn config(command: ConfigCommand) -> anyhow::Result<u8> {
    let ConfigCommand::Check(args) = command;
    let path = args.config.unwrap_or_else(|| PACKAGED_CONFIG.into());
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    match scute_server::Config::from_toml(&text).and_then(|c| c.validate()) {
        Ok(()) => {
            outln!("{}: ok", path.display());
            Ok(0)
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            Ok(EXIT_REJECTED)
        }
    }
}

#[derive(Args)]
pub struct ManArgs {
    /// Directory for the pages: scute.1 and one per subcommand (scute-serve.1, ...).
    #[arg(long)]
    out: PathBuf,
}

/// Man pages generated from the command-line definition, so they cannot drift from it.
pub fn man(args: ManArgs, command: clap::Command) -> anyhow::Result<u8> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    clap_mangen::generate_to(command, &args.out)
        .with_context(|| format!("writing man pages to {}", args.out.display()))?;
    Ok(0)
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

/// A completion script for `shell`, on stdout.
pub fn completions(args: CompletionsArgs, mut command: clap::Command) -> anyhow::Result<u8> {
    clap_complete::generate(args.shell, &mut command, "scute", &mut std::io::stdout());
    Ok(0)
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Make a new token signing key: every replica signs with it within a second or so, and
    /// the old keys stay in the JWKS until the tokens they signed have expired.
    RotateKey(RotateKeyArgs),
}

#[derive(Args)]
pub struct RotateKeyArgs {
    /// The service (any replica).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The admin token's file (as `scute serve` wrote it).
    #[arg(long, default_value = "scute-data/admin-token")]
    admin_token_file: PathBuf,
}

pub fn admin(command: AdminCommand) -> anyhow::Result<u8> {
    let AdminCommand::RotateKey(args) = command;
    let token = std::fs::read_to_string(&args.admin_token_file)
        .with_context(|| format!("reading {}", args.admin_token_file.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let url = format!(
            "{}/v1/admin/signing-keys/rotate",
            args.server.trim_end_matches('/')
        );
        let response = reqwest::Client::new()
            .post(&url)
            .bearer_auth(token.trim())
            .send()
            .await
            .with_context(|| format!("contacting {url}"))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            outln!("new signing key {}", body["kid"].as_str().unwrap_or("?"));
            Ok(0)
        } else {
            eprintln!(
                "scute: {status}: {}",
                body["detail"].as_str().unwrap_or("refused")
            );
            Ok(EXIT_REJECTED)
        }
    })
}
