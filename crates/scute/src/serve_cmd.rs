//! `scute serve` (the attestation service) and `scute collateral import`.

use anyhow::Context;
use clap::{Args, Subcommand};
use scute_server::Config;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// A TOML file of settings (every key, its default and meaning: dist/scute.toml, installed
    /// as /etc/scute/scute.toml; check one with `scute config check`). Command-line options
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
    /// Also trust this AMD ARK (PEM or DER, CN=ARK-<product>) for SEV-SNP besides AMD's
    /// pinned roots, e.g. a simulator's.
    #[arg(long = "snp-trust-root")]
    snp_trust_roots: Vec<PathBuf>,
    /// Also trust this Hygon HRK certificate (`hrk.cert`) for CSV besides Hygon's root, e.g. a
    /// simulated machine's (config `csv_trust_roots`).
    #[arg(long = "csv-trust-root")]
    csv_trust_roots: Vec<PathBuf>,
    /// Fetch SEV-SNP VCEKs missing from evidence and store from this AMD KDS-compatible server
    /// (e.g. https://kdsintf.amd.com); stored only once a report verifies with them.
    #[arg(long)]
    snp_kds: Option<String>,
    /// Seconds a challenge nonce stays valid [default: 300].
    #[arg(long)]
    nonce_lifetime: Option<u64>,
    /// Seconds an issued token stays valid [default: 600].
    #[arg(long)]
    token_lifetime: Option<u64>,
    /// Fetch collateral this service lacks from this PCCS-compatible server (Intel PCS, a
    /// PCCS, another Scute); verified before it is stored (config `pccs_url`).
    #[arg(long, visible_alias = "pccs")]
    upstream: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Also serve the PCCS routes alone on this address.
    #[arg(long)]
    pccs_listen: Option<String>,
    /// Also serve /metrics alone on this (private) address, with the per-FMSPC collateral
    /// lines the public /metrics leaves out (config `metrics_listen`).
    #[arg(long)]
    metrics_listen: Option<String>,
    /// A policy applied to every attestation (repeat for several; replaces the configured
    /// list) [default: default].
    #[arg(long = "mandatory-policy")]
    mandatory_policies: Vec<String>,
    /// Connections served at once; more are answered 503 [default: 1024].
    #[arg(long)]
    max_connections: Option<usize>,
    /// The store: postgres://... shared by replicas, or sqlite://PATH [default: scute.db in
    /// the data directory] (config `database_url`).
    #[arg(long)]
    database: Option<String>,
    /// The key sealing secrets at rest; every replica of one database needs the same file
    /// [default: master.key in the data directory] (config `master_key_file`).
    #[arg(long)]
    master_key_file: Option<PathBuf>,
}

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<u8> {
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
    config.snp_trust_roots.extend(args.snp_trust_roots);
    config.csv_trust_roots.extend(args.csv_trust_roots);
    if let Some(url) = args.snp_kds {
        config.snp_kds_url = Some(url);
    }
    if let Some(s) = args.nonce_lifetime {
        config.nonce_lifetime_secs = s;
    }
    if let Some(s) = args.token_lifetime {
        config.token_lifetime_secs = s;
    }
    warn_of_simulator_roots(&config.trust_roots);
    warn_of_simulator_roots(&config.snp_trust_roots);
    warn_of_foreign_hrks(&config.csv_trust_roots);
    if let Some(url) = args.upstream {
        config.pccs_url = Some(url);
    }
    if args.tls_cert.is_some() {
        config.tls_cert = args.tls_cert;
        config.tls_key = args.tls_key;
    }
    if let Some(addr) = args.pccs_listen {
        config.pccs_listen = Some(addr);
    }
    if let Some(addr) = args.metrics_listen {
        config.metrics_listen = Some(addr);
    }
    let scheme = if config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    if !args.mandatory_policies.is_empty() {
        config.mandatory_policies = args.mandatory_policies;
    }
    if let Some(n) = args.max_connections {
        config.max_connections = n;
    }
    if let Some(url) = args.database {
        config.database_url = Some(url);
    }
    if let Some(file) = args.master_key_file {
        config.master_key_file = Some(file);
    }
    let data_dir = config.data_dir.clone();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let running = scute_server::start(config).await?;
        let token_file = data_dir.join("admin-token");
        // The token is shown only to a person at a terminal: stderr that is a pipe or a file
        // (systemd's journal, a container's log collector) is not a place for a credential.
        use std::io::IsTerminal as _;
        let at_terminal =
            std::io::stderr().is_terminal() && std::env::var_os("JOURNAL_STREAM").is_none();
        match &running.new_admin_token {
            Some(token) if at_terminal => eprintln!(
                "admin token (shown once; also in {}, mode 0600):\n{token}",
                token_file.display()
            ),
            Some(_) => eprintln!(
                "admin token created: read it from {} (mode 0600)",
                token_file.display()
            ),
            None => {}
        }
        eprintln!(
            "scute attestation service listening on {scheme}://{}",
            running.addr
        );
        if let Some(addr) = running.pccs_addr {
            eprintln!("PCCS routes also on {scheme}://{addr}");
        }
        if let Some(addr) = running.metrics_addr {
            eprintln!("metrics also on {scheme}://{addr}/metrics");
        }
        let stop = stop_signal()?;
        // Readiness for a `Type=notify` unit (nothing happens outside systemd).
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        running
            .serve(async move {
                stop.await;
                eprintln!("stopping: finishing the requests in flight");
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            })
            .await
            .context("serving")?;
        eprintln!("stopped");
        anyhow::Ok(0)
    })
}

/// SIGTERM (systemd, kill) or SIGINT (Ctrl-C): either one drains and exits 0.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[derive(Subcommand)]
pub(crate) enum CollateralCommand {
    /// Verify a collateral directory and store it for `scute serve`.
    Import(ImportArgs),
    /// Fetch the collateral a quote needs from a PCCS-compatible server, verify it, and write
    /// it as a collateral directory.
    Fetch(FetchArgs),
    /// Verify a Hygon chip's HSK and CEK (hsk_cek.cert, as Hygon's KDS serves it) and store
    /// them for `scute serve` under the chip's serial.
    ImportCsv(ImportCsvArgs),
}

#[derive(Args)]
pub(crate) struct ImportCsvArgs {
    /// The chip serial (the report's signer block names it; the KDS is asked by it).
    #[arg(long)]
    chip: String,
    /// HSK ‖ CEK (832 + 2084 bytes).
    hsk_cek: PathBuf,
    #[arg(long, default_value = "scute-data")]
    data_dir: PathBuf,
    /// The store of a replicated service (postgres://...) instead of the data directory's.
    #[arg(long)]
    database: Option<String>,
    /// Also trust this HRK certificate (Hygon CA format), e.g. a simulator's.
    #[arg(long = "trust-hrk")]
    trust_hrks: Vec<PathBuf>,
}

fn import_csv(args: ImportCsvArgs) -> anyhow::Result<u8> {
    let bytes = std::fs::read(&args.hsk_cek)
        .with_context(|| format!("reading {}", args.hsk_cek.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let config = Config {
        data_dir: args.data_dir.clone(),
        database_url: args.database.clone(),
        csv_trust_roots: args.trust_hrks.clone(),
        ..Config::default()
    };
    match runtime.block_on(scute_server::import_csv_hsk_cek_with(
        &config, &args.chip, &bytes,
    )) {
        Ok(()) => {
            outln!(
                "imported HSK/CEK of CSV chip {} into {}",
                args.chip,
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

#[derive(Args)]
pub(crate) struct FetchArgs {
    /// The PCCS-compatible server [default: pccs_url of /etc/sgx_default_qcnl.conf].
    #[arg(long)]
    pccs: Option<String>,
    /// A PEM CA certificate for a server with a private CA.
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// The quote whose collateral to fetch.
    #[arg(long)]
    quote: PathBuf,
    /// Where to write the files (created).
    #[arg(long)]
    out: PathBuf,
    /// Trust this root CA certificate (PEM or DER) instead of the Intel SGX Root CA.
    #[arg(long)]
    root_ca: Option<PathBuf>,
}

/// Intel's QCNL config names the node's PCCS; its comment lines start with `//`.
pub(crate) const QCNL_CONF: &str = "/etc/sgx_default_qcnl.conf";

pub(crate) fn pccs_url_from_qcnl(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let value: serde_json::Value = serde_json::from_str(&json).ok()?;
    value.get("pccs_url")?.as_str().map(str::to_string)
}

/// The client for `--pccs` (or the QCNL config's `pccs_url`) and `--cacert`.
pub(crate) fn pccs_client(
    url: Option<&str>,
    cacert: Option<&std::path::Path>,
) -> anyhow::Result<Option<scute_server::PccsClient>> {
    let url = match url {
        Some(u) => u.to_string(),
        None => match pccs_url_from_qcnl(std::path::Path::new(QCNL_CONF)) {
            Some(u) => u,
            None => return Ok(None),
        },
    };
    let ca = cacert
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    Ok(Some(scute_server::PccsClient::new(
        &url,
        ca.as_deref(),
        None,
    )?))
}

/// Fetches and verifies (under `anchor`) the collateral for `quote`: the files as fetched and
/// the verified set. Starts its own async runtime, so it must not run on one.
pub(crate) fn fetch_verified(
    client: &scute_server::PccsClient,
    quote: &[u8],
    anchor: &scute_dcap::TrustAnchor,
) -> anyhow::Result<(BTreeMap<String, Vec<u8>>, scute_dcap::VerifiedCollateral)> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (_, files) = runtime.block_on(client.fetch_for_quote(quote))?;
    let collateral = scute_dcap::Collateral::from_files(|n| files.get(n).cloned())?;
    let verified = scute_dcap::verify_collateral(&collateral, anchor).map_err(|e| {
        anyhow::anyhow!("collateral from {} does not verify: {e}", client.base_url())
    })?;
    Ok((files, verified))
}

fn fetch(args: FetchArgs) -> anyhow::Result<u8> {
    let quote =
        std::fs::read(&args.quote).with_context(|| format!("reading {}", args.quote.display()))?;
    let Some(client) = pccs_client(args.pccs.as_deref(), args.cacert.as_deref())? else {
        anyhow::bail!("no --pccs given and no pccs_url in {QCNL_CONF}");
    };
    let anchor = match &args.root_ca {
        Some(p) => scute_dcap::TrustAnchor::from_certificate(&std::fs::read(p)?)?,
        None => scute_dcap::TrustAnchor::intel_sgx_root(),
    };
    let files = match fetch_verified(&client, &quote, &anchor) {
        Ok((f, _)) => f,
        Err(e) => {
            eprintln!("scute: {e:#}");
            return Ok(crate::EXIT_REJECTED);
        }
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (name, bytes) in &files {
        std::fs::write(args.out.join(name), bytes)
            .with_context(|| format!("writing {}", args.out.join(name).display()))?;
    }
    outln!(
        "wrote {} collateral files to {}",
        files.len(),
        args.out.display()
    );
    Ok(0)
}

#[derive(Args)]
pub(crate) struct ImportArgs {
    /// A collateral directory (the layout of a shared/vectors case or `scute sim case`).
    dir: PathBuf,
    #[arg(long, default_value = "scute-data")]
    data_dir: PathBuf,
    /// The store of a replicated service (postgres://...) instead of the data directory's.
    #[arg(long)]
    database: Option<String>,
    /// Also trust this root CA certificate, e.g. a simulator's root_ca.pem.
    #[arg(long = "trust-root")]
    trust_roots: Vec<PathBuf>,
    /// SEV-SNP (a directory with vcek.der or vlek.der): also trust this ARK.
    #[arg(long = "snp-trust-root")]
    snp_trust_roots: Vec<PathBuf>,
    /// SGX/TDX: which of Intel's TCB evaluation data sets the directory holds (PCS's
    /// update=; the files cannot say). Both kinds are kept side by side; `collateral_update`
    /// says which one appraisal uses.
    #[arg(long, value_name = "KIND", default_value = "standard", value_parser = ["standard", "early"])]
    update: String,
    /// Verify the set as import does and store nothing: list every platform of its TEE and
    /// FMSPC the service attested within platform_retention_days (90 days here), with the
    /// TCB status it has and the one it would get under this set.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: print the JSON of POST /v1/collateral?dry_run=true instead of lines.
    #[arg(long, requires = "dry_run")]
    json: bool,
}

/// The collateral files present in `dir`.
pub(crate) fn read_collateral_files(
    dir: &std::path::Path,
) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
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

pub(crate) fn collateral(command: CollateralCommand) -> anyhow::Result<u8> {
    let args = match command {
        CollateralCommand::Import(args) => args,
        CollateralCommand::Fetch(args) => return fetch(args),
        CollateralCommand::ImportCsv(args) => return import_csv(args),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let config = Config {
        data_dir: args.data_dir.clone(),
        database_url: args.database.clone(),
        trust_roots: args.trust_roots.clone(),
        snp_trust_roots: args.snp_trust_roots.clone(),
        ..Config::default()
    };
    let into = match &args.database {
        Some(url) => url.split('@').next_back().unwrap_or(url).to_string(),
        None => args.data_dir.display().to_string(),
    };
    let update = scute_server::CollateralUpdate::parse(&args.update)
        .with_context(|| format!("--update {}: standard or early", args.update))?;
    // SEV-SNP: a VCEK or VLEK with, optionally, KDS's cert_chain beside it.
    if args.dir.join("vcek.der").is_file() || args.dir.join("vlek.der").is_file() {
        anyhow::ensure!(
            update == scute_server::CollateralUpdate::Standard,
            "--update early names one of Intel's TCB evaluation data sets: not for SEV-SNP"
        );
        anyhow::ensure!(
            !args.dry_run,
            "--dry-run judges SGX/TDX collateral: a VCEK or VLEK has no TCB levels to judge by"
        );
        let (vek, chain, _) = crate::verify_cmd::read_snp_collateral(&args.dir)?;
        return match runtime.block_on(scute_server::import_snp_collateral(
            &config,
            &vek,
            chain.as_deref(),
        )) {
            Ok(name) => {
                outln!("imported SEV-SNP {name} into {into}");
                Ok(0)
            }
            Err(e) => {
                eprintln!("scute: {e}");
                Ok(crate::EXIT_REJECTED)
            }
        };
    }
    let files = read_collateral_files(&args.dir)?;
    if args.dry_run {
        return match runtime.block_on(scute_server::dry_run_collateral(&config, &files, update)) {
            Ok(report) => {
                if args.json {
                    outln!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print_dry_run(&report);
                }
                Ok(0)
            }
            Err(e) => {
                eprintln!("scute: {e}");
                Ok(crate::EXIT_REJECTED)
            }
        };
    }
    match runtime.block_on(scute_server::import_collateral_as(&config, &files, update)) {
        Ok((fmspc, ca, tee)) => {
            // The standard set's line is as it always was; the early one says so.
            let kind = match update {
                scute_server::CollateralUpdate::Standard => "",
                scute_server::CollateralUpdate::Early => " (update=early)",
            };
            outln!("imported {tee} collateral{kind} for FMSPC {fmspc} ({ca} CA) into {into}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("scute: {e}");
            Ok(crate::EXIT_REJECTED)
        }
    }
}

/// One line per platform of a dry run (`tdx FMSPC 00906ed50000 TCB {…}: UpToDate ->
/// OutOfDate`), then a summary.
fn print_dry_run(report: &serde_json::Value) {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    for set in report["sets"].as_array().into_iter().flatten() {
        outln!(
            "dry run: {} collateral for FMSPC {} ({} CA) verifies; nothing stored",
            text(&set["tee"]),
            text(&set["fmspc"]),
            text(&set["ca"])
        );
    }
    for p in report["platforms"].as_array().into_iter().flatten() {
        let mark = if p["changed"].as_bool().unwrap_or(false) {
            " (changed)"
        } else {
            ""
        };
        outln!(
            "{} FMSPC {} TCB {}: {} -> {}{mark}",
            text(&p["tee"]),
            text(&p["platform"]),
            p["tcb"],
            text(&p["status"]),
            text(&p["new_status"])
        );
    }
    outln!(
        "{} platform(s) would change, {} would not",
        report["changed"],
        report["unchanged"]
    );
}

/// A CSV root other than Hygon's HRK (a simulated machine's, `scute sim machine --tee csv`)
/// vouches for whatever its key holder signs: the operator is told, as for the simulators.
fn warn_of_foreign_hrks(roots: &[PathBuf]) {
    for root in roots {
        let hygon = scute_csv::RootKey::hygon();
        let foreign = std::fs::read(root)
            .ok()
            .and_then(|bytes| scute_csv::CaCert::decode(&bytes).ok())
            .and_then(|cert| scute_csv::RootKey::from_hrk(&cert).ok())
            .is_some_and(|key| key.key != hygon.key);
        if foreign {
            eprintln!(
                "warning: CSV trust root {} is not Hygon's HRK: evidence it accepts proves \
                 nothing about Hygon hardware unless you know who holds its key (a simulated \
                 machine's keys are kept in its directory: tests and demos only)",
                root.display()
            );
        }
    }
}

/// The verifier treats every trust root alike; only the operator is told that a simulator's
/// root lets anyone with its (seed-derived, file-kept) keys mint evidence that verifies.
fn warn_of_simulator_roots(roots: &[PathBuf]) {
    for root in roots {
        if std::fs::read(root).is_ok_and(|cert| scute_sim::is_simulator_root(&cert)) {
            eprintln!(
                "warning: trust root {} is a Scute simulator root: its keys are not secret, so \
                 evidence it accepts proves nothing about hardware (tests and demos only)",
                root.display()
            );
        }
    }
}
