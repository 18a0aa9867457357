//! `scute serve` (the attestation service) and `scute collateral import`.

use anyhow::Context;
use clap::{Args, Subcommand};
use scute_server::Config;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// A TOML file with any of: listen, data_dir, trust_roots, nonce_lifetime_secs,
    /// token_lifetime_secs, max_body_bytes, mandatory_policies, header_read_timeout_secs,
    /// body_read_timeout_secs, idle_timeout_secs, max_connections. Command-line options
    /// override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<String>,
    /// Data directory [default: ./scute-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Also trust this root CA certificate (PEM or DER), e.g. a simulator's root_ca.pem.
    #[arg(long = "trust-root")]
    trust_roots: Vec<PathBuf>,
    /// Seconds a challenge nonce stays valid [default: 300].
    #[arg(long)]
    nonce_lifetime: Option<u64>,
    /// Seconds an issued token stays valid [default: 600].
    #[arg(long)]
    token_lifetime: Option<u64>,
    /// A policy applied to every attestation (repeat for several; replaces the configured
    /// list) [default: default].
    #[arg(long = "mandatory-policy")]
    mandatory_policies: Vec<String>,
    /// Connections served at once; more are answered 503 [default: 4096].
    #[arg(long)]
    max_connections: Option<usize>,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Config::from_toml(&text)?
        }
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    config.trust_roots.extend(args.trust_roots);
    if let Some(s) = args.nonce_lifetime {
        config.nonce_lifetime_secs = s;
    }
    if let Some(s) = args.token_lifetime {
        config.token_lifetime_secs = s;
    }
    if !args.mandatory_policies.is_empty() {
        config.mandatory_policies = args.mandatory_policies;
    }
    if let Some(n) = args.max_connections {
        config.max_connections = n;
    }
    let data_dir = config.data_dir.clone();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let running = scute_server::start(config).await?;
        if let Some(token) = &running.new_admin_token {
            eprintln!(
                "admin token (shown once; also in {}, mode 0600):\n{token}",
                data_dir.join("admin-token").display()
            );
        }
        eprintln!(
            "scute attestation service listening on http://{}",
            running.addr
        );
        running
            .serve(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving")?;
        anyhow::Ok(0)
    })
}

#[derive(Subcommand)]
pub enum CollateralCommand {
    /// Verify a collateral directory and store it for `scute serve`.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// A collateral directory (the layout of a shared/vectors case or `scute sim case`).
    dir: PathBuf,
    #[arg(long, default_value = "scute-data")]
    data_dir: PathBuf,
    /// Also trust this root CA certificate, e.g. a simulator's root_ca.pem.
    #[arg(long = "trust-root")]
    trust_roots: Vec<PathBuf>,
}

/// The collateral files present in `dir`.
pub fn read_collateral_files(dir: &std::path::Path) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    anyhow::ensure!(
        dir.is_dir(),
        "collateral directory {} not found",
        dir.display()
    );
    let mut files = BTreeMap::new();
    for name in scute_dcap::Collateral::FILE_NAMES {
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => {
                files.insert(name.to_string(), bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", dir.join(name).display()))
            }
        }
    }
    Ok(files)
}

pub fn collateral(command: CollateralCommand) -> anyhow::Result<u8> {
    let CollateralCommand::Import(args) = command;
    let files = read_collateral_files(&args.dir)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match runtime.block_on(scute_server::import_collateral(
        &args.data_dir,
        &args.trust_roots,
        &files,
    )) {
        Ok((fmspc, ca, tee)) => {
            outln!(
                "imported {tee} collateral for FMSPC {fmspc} ({ca} CA) into {}",
                args.data_dir.display()
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("scute: {e}");
            Ok(crate::EXIT_REJECTED)
        }
    }
}
