//! An operator's commands: `scute config check`, `scute admin rotate-key`,
//! `scute admin reset-token`, `scute man`,
//! `scute completions`, and what `scute --version` says.

use crate::EXIT_REJECTED;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The configuration file the packages install and the unit starts with.
pub(crate) const PACKAGED_CONFIG: &str = "/etc/scute/scute.toml";

/// `scute --version`: the version, the git revision, and what this build can do.
pub(crate) const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("SCUTE_GIT_REVISION"),
    ")\nstore: sqlite, postgres\ntee: sgx, tdx, snp, csv, sample (off unless allow_sample_tee)\n",
    "protocols: Scute API v1, Confidential Containers KBS 0.4.0, PCCS v4, RA-TLS"
);

#[derive(Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate a configuration file as `scute serve` would read it: an unknown key, a value
    /// of the wrong type or a setting that cannot work is named with the reason; exit 1.
    Check(CheckArgs),
}

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// The file [default: /etc/scute/scute.toml].
    #[arg(long)]
    config: Option<PathBuf>,
}

pub(crate) fn config(command: ConfigCommand) -> anyhow::Result<u8> {
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
pub(crate) struct ManArgs {
    /// Directory for the pages: scute.1 and one per subcommand (scute-serve.1, ...).
    #[arg(long)]
    out: PathBuf,
}

/// Man pages generated from the command-line definition, so they cannot drift from it.
pub(crate) fn man(args: ManArgs, command: clap::Command) -> anyhow::Result<u8> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    clap_mangen::generate_to(command, &args.out)
        .with_context(|| format!("writing man pages to {}", args.out.display()))?;
    Ok(0)
}

#[derive(Args)]
pub(crate) struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

/// A completion script for `shell`, on stdout.
pub(crate) fn completions(args: CompletionsArgs, mut command: clap::Command) -> anyhow::Result<u8> {
    clap_complete::generate(args.shell, &mut command, "scute", &mut std::io::stdout());
    Ok(0)
}

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Make a new token signing key: every replica signs with it within a second or so, and
    /// the old keys stay in the JWKS until the tokens they signed have expired.
    RotateKey(RotateKeyArgs),
    /// Make a new admin token with local access to the service's store (its data directory,
    /// or its database URL and master key file), when the old one is lost or leaked: the token
    /// is written to DATA/admin-token (0600) and replaces the stored one; running replicas
    /// switch to it within a second or so and the old token stops working.
    ResetToken(ResetTokenArgs),
}

#[derive(Args)]
pub(crate) struct ResetTokenArgs {
    /// The service's configuration file (for its data directory, database and master key);
    /// the options below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The service's data directory, where the token file is written [default: ./scute-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The service's store, when it is not the data directory's (config `database_url`).
    #[arg(long)]
    database: Option<String>,
    /// The key sealing the store's secrets [default: master.key in the data directory]
    /// (config `master_key_file`).
    #[arg(long)]
    master_key_file: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct RotateKeyArgs {
    /// The service (any replica).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The admin token's file (as `scute serve` wrote it).
    #[arg(long, default_value = "scute-data/admin-token")]
    admin_token_file: PathBuf,
}

pub(crate) fn admin(command: AdminCommand) -> anyhow::Result<u8> {
    let args = match command {
        AdminCommand::RotateKey(args) => args,
        AdminCommand::ResetToken(args) => return reset_token(args),
    };
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

fn reset_token(args: ResetTokenArgs) -> anyhow::Result<u8> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            scute_server::Config::from_toml(&text)?
        }
        None => scute_server::Config::default(),
    };
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(url) = args.database {
        config.database_url = Some(url);
    }
    if let Some(file) = args.master_key_file {
        config.master_key_file = Some(file);
    }
    config.validate()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (token, path) = runtime.block_on(scute_server::reset_admin_token(&config))?;
    // As `scute serve` does: the token itself only to a person at a terminal, never to a pipe
    // or a log collector.
    use std::io::IsTerminal as _;
    if std::io::stdout().is_terminal() && std::env::var_os("JOURNAL_STREAM").is_none() {
        outln!(
            "new admin token (also in {}, mode 0600):\n{token}",
            path.display()
        );
    } else {
        outln!("new admin token written to {} (mode 0600)", path.display());
    }
    Ok(0)
}
