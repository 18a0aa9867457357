//! The attestation service: one process, an embedded store, and the HTTP API of
//! challenge → evidence → verification (scute-dcap, warm collateral) → event-log replay →
//! Rego appraisal → signed EAR token. `start` binds, `Running::serve` serves under the
//! configured connection and time limits.

mod clock;
mod collateral;
mod config;
mod domain;
mod error;
mod http;
#[cfg(test)]
mod layers;
mod log;
mod metrics;
mod platforms;
mod problem;
mod secrets;
mod store;
mod tee;

pub use collateral::pccs_client::{PccsClient, MAX_RESPONSE_BYTES};
pub use config::{CollateralUpdate, Config, LogFormat};
pub use domain::appraisal::{DEFAULT_POLICY, DEFAULT_POLICY_ID};
pub use domain::token::EAR_PROFILE;
pub use error::ServerError;
pub use http::kbs::{DEFAULT_RESOURCE_POLICY, SESSION_COOKIE};
pub use http::problem::PROBLEM_TYPE_PREFIX;
pub use http::tls::{serve_tls, server_config as tls_server_config};
pub use scute_api::{parse_attest_request, report_data_for, AttestRequest, MAX_POLICY_IDS};
pub use store::{
    Backend, CollateralRow, KbsSession, PlatformRow, SignedDocumentRow, Store,
    SPENT_NONCE_GRACE_SECS,
};

use aws_lc_rs::digest::{digest, SHA256};
use clock::now;
use domain::appraisal::load_policies;
use domain::{kbs_session, nonce, token};
use http::state::AppState;
use http::{kbs, pccs, serve, tls};
use scute_dcap::TrustAnchor;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use tee::{csv as pipeline_csv, snp};

/// How often spent nonces past their expiry are forgotten.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// How often a replica checks the store for policies and keys changed elsewhere.
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

fn trust_anchors(config: &Config) -> Result<Vec<TrustAnchor>, ServerError> {
    let mut anchors = vec![TrustAnchor::intel_sgx_root()];
    for path in &config.trust_roots {
        let err = |reason: String| ServerError::TrustRoot {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        anchors.push(TrustAnchor::from_certificate(&bytes).map_err(|e| err(e.to_string()))?);
    }
    Ok(anchors)
}

fn load_snp_roots(config: &Config) -> Result<scute_snp::TrustRoots, ServerError> {
    let mut roots = scute_snp::TrustRoots::amd();
    for path in &config.snp_trust_roots {
        let err = |reason: String| ServerError::TrustRoot {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        roots = roots.with_ark(&bytes).map_err(|e| err(e.to_string()))?;
    }
    Ok(roots)
}

/// Imports an SEV-SNP VCEK or VLEK (DER or PEM) and optionally its KDS `cert_chain` into the
/// store of `data_dir`, verified first against AMD's roots and `snp_trust_roots`. Returns the
/// name it is filed under.
pub async fn import_snp_collateral(
    config: &Config,
    vek: &[u8],
    chain: Option<&[u8]>,
) -> Result<String, String> {
    if config.database_url.is_none() {
        create_data_dir(&config.data_dir).map_err(|e| e.to_string())?;
    }
    let store = Store::connect(config.database_url.as_deref(), &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let roots = load_snp_roots(config).map_err(|e| e.to_string())?;
    snp::import(&store, &roots, vek, chain, now())
        .await
        .map_err(|e| format!("{}: {}", e.kind, e.detail))
}

/// Creates the data directory 0700, or checks that an existing one is not writable by group or
/// others (who could swap the key, the store or the admin token under us).
fn create_data_dir(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let io = |e: std::io::Error| ServerError::DataDir {
        path: dir.display().to_string(),
        source: e,
    };
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    let mode = std::fs::metadata(dir).map_err(io)?.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(ServerError::DataDirWritableByOthers {
            path: dir.display().to_string(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

/// jsonwebtoken signs and verifies through a process-wide provider that it picks from its crate
/// features, and when a dependency graph enables both of them (feature unification can do so
/// without this crate asking) every token signed or verified panics, on the request path. So
/// the service names aws-lc-rs once, before any token work; idempotent, and a provider the
/// embedding process installed first is left in place.
pub fn install_jwt_provider() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

use http::state::ADMIN_TOKEN;

/// Where the admin token is written (mode 0600): DATA/admin-token.
pub fn admin_token_path(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("admin-token")
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest(&SHA256, bytes).as_ref().to_vec()
}

/// The token in an admin-token file, when it holds one (64 hex digits and a newline).
fn read_admin_token(path: &Path) -> Result<Option<String>, ServerError> {
    let text = std::fs::read_to_string(path).map_err(|e| ServerError::DataDir {
        path: path.display().to_string(),
        source: e,
    })?;
    let token = text.trim();
    Ok(
        (token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| token.to_string()),
    )
}

/// The admin token's hash, making the token on the first start of a store. The token file is
/// written (0600, fsynced, directory fsynced) before its hash is committed: a crash or a failed
/// write in between leaves no hash, and the next start makes the token again. A hash committed
/// first would lock the admin out for good (issue 21).
async fn admin_token(
    config: &Config,
    store: &Store,
    sealer: &secrets::Sealer,
) -> Result<(Vec<u8>, Option<String>), ServerError> {
    if let Some(sealed) = store.secret(ADMIN_TOKEN).await? {
        return Ok((sealer.open_sealed(ADMIN_TOKEN, &sealed)?, None));
    }
    let path = admin_token_path(config);
    let fresh = hex::encode(secrets::random_bytes::<32>());
    // A token file already there is one whose hash never got committed (a start that stopped
    // in between), or a replica's sharing this directory and starting now: that token is kept,
    // so whoever read the file holds the token that will work.
    let token = if secrets::write_private_new(&path, format!("{fresh}\n").as_bytes())? {
        fresh
    } else if let Some(existing) = read_admin_token(&path)? {
        existing
    } else {
        secrets::write_private(&path, format!("{fresh}\n").as_bytes())?;
        fresh
    };
    let hash = sha256(token.as_bytes());
    // Of replicas starting at once on an empty database, one token is stored and printed; the
    // others accept that one.
    let (stored, ours) = store
        .secret_or_insert(ADMIN_TOKEN, &sealer.seal(ADMIN_TOKEN, &hash)?)
        .await?;
    if ours {
        return Ok((hash, Some(token)));
    }
    let stored = sealer.open_sealed(ADMIN_TOKEN, &stored)?;
    if stored != hash && read_admin_token(&path).ok().flatten().as_deref() == Some(&token) {
        // Another replica's token won, and ours opens nothing: it does not stay where an
        // operator would look for the working one.
        let _ = std::fs::remove_file(&path);
    }
    Ok((stored, None))
}

/// `scute admin reset-token`: a new admin token for the store `config` names, for an operator
/// with local access (the data directory, or the database URL and master key file). The token
/// file is written first (0600, fsynced), then the sealed hash replaced; running replicas of
/// the store switch to it within a second, and the old token stops working. Returns the token
/// and where it was written.
pub async fn reset_admin_token(
    config: &Config,
) -> Result<(String, std::path::PathBuf), ServerError> {
    if config.database_url.is_none() && !config.data_dir.join("scute.db").exists() {
        return Err(ServerError::Config(format!(
            "no store in {}: reset-token works on an existing service's data (or pass its \
             --database)",
            config.data_dir.display()
        )));
    }
    let key = config.master_key_path();
    if !key.exists() {
        // A fresh key would seal the hash so that the service, holding the real key, could not
        // open it.
        return Err(ServerError::Config(format!(
            "no master key at {}: pass the service's --master-key-file",
            key.display()
        )));
    }
    create_data_dir(&config.data_dir)?;
    let sealer = secrets::Sealer::open(&key)?;
    let store = Store::connect(config.database_url.as_deref(), &config.data_dir).await?;
    let token = hex::encode(secrets::random_bytes::<32>());
    let path = admin_token_path(config);
    secrets::write_private(&path, format!("{token}\n").as_bytes())?;
    let sealed = sealer.seal(ADMIN_TOKEN, &sha256(token.as_bytes()))?;
    store
        .replace_secret(ADMIN_TOKEN, &sealed, store::VERSION_ADMIN_TOKEN)
        .await?;
    Ok((token, path))
}

/// A bound, ready service.
pub struct Running {
    pub addr: SocketAddr,
    /// The admin token, when this start created it (print it once; it is also in
    /// DATA/admin-token, mode 0600).
    pub new_admin_token: Option<String>,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    /// The `--pccs-listen` address, when there is one.
    pub pccs_addr: Option<SocketAddr>,
    pccs: Option<(tokio::net::TcpListener, axum::Router)>,
    /// The `metrics_listen` address, when there is one.
    pub metrics_addr: Option<SocketAddr>,
    metrics: Option<(tokio::net::TcpListener, axum::Router)>,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    state: Arc<AppState>,
    limits: serve::Limits,
    store: Store,
}

fn pccs_client(config: &Config) -> Result<Option<PccsClient>, ServerError> {
    let Some(url) = &config.pccs_url else {
        return Ok(None);
    };
    let cacert = match &config.pccs_cacert {
        Some(path) => Some(std::fs::read(path).map_err(|e| ServerError::Tls {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?),
        None => None,
    };
    PccsClient::new(url, cacert.as_deref(), config.pcs_api_key.clone()).map(Some)
}

/// Binds an optional extra listener (`pccs_listen`, `metrics_listen`).
async fn bind_optional(addr: Option<&str>) -> Result<Option<tokio::net::TcpListener>, ServerError> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    tokio::net::TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|e| ServerError::Listen {
            addr: addr.to_string(),
            source: e,
        })
}

/// Opens (or creates) the data directory, keys and store, and binds the listen address.
pub async fn start(config: Config) -> Result<Running, ServerError> {
    config.validate()?;
    install_jwt_provider();
    log::set_format(config.log_format);
    create_data_dir(&config.data_dir)?;
    let sealer = secrets::Sealer::open(&config.master_key_path())?;
    let store = Store::connect(config.database_url.as_deref(), &config.data_dir).await?;
    let signer =
        token::Signer::load_or_create(&store, &sealer, config.token_lifetime_secs, now()).await?;
    let seen_versions = store.versions().await?;

    let (admin_token_sha256, new_admin_token) = admin_token(&config, &store, &sealer).await?;
    let nonces = nonce::Nonces::load_or_create(&store, &sealer, config.nonce_lifetime_secs).await?;
    let kbs_admin_keys = http::admin_auth::admin_keys(&config.kbs_admin_public_keys)?;
    let kbs_cookies = kbs_session::SessionCookies::load_or_create(
        &store,
        &sealer,
        config.kbs_session_lifetime_secs,
    )
    .await?;
    let reference_signers = config.reference_value_signers()?;
    let policies = load_policies(
        &store,
        now(),
        !config.require_signed_reference_values,
        &reference_signers,
    )
    .await
    .map_err(ServerError::Config)?;
    let resource_policy = {
        let rego = store.kbs_resource_policy().await?;
        let rego = rego.as_deref().unwrap_or(kbs::DEFAULT_RESOURCE_POLICY);
        kbs::compile_resource_policy(rego)
            .map_err(|e| ServerError::Config(format!("stored resource policy: {e}")))?
    };
    let token_verifier = token::Verifier::new(&signer, &config.kbs_trusted_jwks)?;
    if let Some(missing) = config
        .mandatory_policies
        .iter()
        .find(|id| !policies.contains(id))
    {
        return Err(ServerError::Config(format!(
            "mandatory policy {missing:?} is neither built in nor stored"
        )));
    }
    if config.max_connections == 0 {
        return Err(ServerError::Config(
            "max_connections must be at least 1".into(),
        ));
    }
    let anchors = trust_anchors(&config)?;
    let snp_roots = load_snp_roots(&config)?;
    let metrics = metrics::Metrics::default();
    let limits = collateral::upstream::Limits::of(&config);
    let snp_kds = config
        .snp_kds_url
        .as_deref()
        .map(|url| snp::Kds::new(url, limits, &metrics.upstream))
        .transpose()?;
    let csv_roots = pipeline_csv::trust_roots(&config)?;
    let csv_kds = config
        .csv_kds_url
        .as_deref()
        .map(|url| pipeline_csv::HygonKds::new(url, limits, &metrics.upstream))
        .transpose()?;
    let upstream =
        pccs_client(&config)?.map(|c| collateral::Pcs::new(c, limits, &metrics.upstream));
    let route_upstream = upstream
        .as_ref()
        .map(|pcs| pcs.with_own_budget("pcs_route", limits, &metrics.upstream));
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        (None, None) => None,
        _ => {
            return Err(ServerError::Config(
                "tls_cert and tls_key go together".into(),
            ))
        }
    };
    let pccs_listener = bind_optional(config.pccs_listen.as_deref()).await?;
    let metrics_listener = bind_optional(config.metrics_listen.as_deref()).await?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| ServerError::Listen {
            addr: config.listen.clone(),
            source: e,
        })?;
    let addr = listener.local_addr().map_err(|e| ServerError::Listen {
        addr: config.listen.clone(),
        source: e,
    })?;
    let (allow_sample_tee, token_lifetime_secs) =
        (config.allow_sample_tee, config.token_lifetime_secs as i64);
    let collateral_update = config.collateral_update;
    let recorder = platforms::Recorder::new(store.clone(), &config);
    let state = Arc::new(AppState {
        platforms: recorder,
        nonces,
        limits: serve::Limits::of(&config),
        body_budget: serve::BodyBudget::new(config.max_body_bytes_in_flight),
        config,
        store: store.clone(),
        verifiers: tee::Verifiers {
            store: store.clone(),
            anchors,
            collateral: collateral::CollateralCache::with_upstream(
                upstream.clone(),
                collateral_update,
            ),
            platforms: scute_dcap::PlatformCache::default(),
            snp_kds,
            given_roots: tee::GivenRoots::new(&snp_roots, &csv_roots),
            snp_roots,
            csv_roots,
            csv_kds,
            allow_sample_tee,
            token_lifetime_secs,
        },
        signer: RwLock::new(Arc::new(signer)),
        policies: RwLock::new(Arc::new(policies)),
        admin_token_sha256: RwLock::new(admin_token_sha256),
        metrics,
        pccs: pccs::Pccs::new(upstream, route_upstream),
        sealer,
        resource_policy: RwLock::new(Arc::new(resource_policy)),
        token_verifier: RwLock::new(Arc::new(token_verifier)),
        seen_versions: tokio::sync::Mutex::new(seen_versions),
        kbs_cookies,
        attested_sessions: Default::default(),
        kbs_admin_keys,
        reference_signers,
    });
    state
        .pccs
        .reload(&state)
        .await
        .map_err(|e| ServerError::Config(format!("loading stored collateral: {}", e.detail)))?;
    let pccs_addr = pccs_listener.as_ref().and_then(|l| l.local_addr().ok());
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    Ok(Running {
        addr,
        new_admin_token,
        listener,
        limits: state.limits,
        router: with_body_budget(http::app(state.clone()), &state),
        pccs_addr,
        pccs: pccs_listener.map(|l| {
            (
                l,
                with_body_budget(http::collateral_app(state.clone()), &state),
            )
        }),
        metrics_addr,
        metrics: metrics_listener.map(|l| (l, http::metrics_app(state.clone()))),
        tls,
        state,
        store,
    })
}

impl Running {
    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Every background task ends with the service: none may outlive it holding the state
        // (and the store's connections).
        let refresh = tokio::spawn(pccs::refresh::run(self.state.clone()));
        let store = self.store;
        let state = self.state.clone();
        let purge = tokio::spawn(async move {
            let mut every = tokio::time::interval(PURGE_EVERY);
            loop {
                every.tick().await;
                // A failed purge only delays forgetting; the next tick retries.
                let _ = store.purge_spent_nonces(now()).await;
                let _ = store.purge_kbs_sessions(now()).await;
                // Platforms not seen within platform_retention_days.
                let retention = platforms::retention_secs(&state.config);
                let _ = store.purge_platforms(now() - retention).await;
                // Retired signing keys leave the JWKS once their tokens have expired.
                let _ = state.reload_signer().await;
            }
        });
        let state = self.state.clone();
        let sync = tokio::spawn(async move {
            let mut every = tokio::time::interval(SYNC_EVERY);
            loop {
                every.tick().await;
                // A store that is down is retried at the next tick; requests meanwhile get 503.
                if let Err(e) = state.sync_with_store().await {
                    tracing::warn!(detail = e.to_string(), "store_sync_failed");
                }
            }
        });
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|done| *done).await;
        };
        if let Some((listener, router)) = self.metrics {
            tokio::spawn(serve_one(
                listener,
                router,
                self.tls.clone(),
                self.limits,
                stopped(rx.clone()),
            ));
        }
        if let Some((listener, router)) = self.pccs {
            tokio::spawn(serve_one(
                listener,
                router,
                self.tls.clone(),
                self.limits,
                stopped(rx.clone()),
            ));
        }
        let served = serve_one(
            self.listener,
            self.router,
            self.tls,
            self.limits,
            stopped(rx),
        )
        .await;
        refresh.abort();
        purge.abort();
        sync.abort();
        served
    }
}

/// Every router's requests reserve their body bytes from the one budget of the process.
fn with_body_budget(router: axum::Router, state: &Arc<AppState>) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        serve::reserve_body,
    ))
}

/// One listener, plain (with the connection limits of `serve`) or TLS.
async fn serve_one(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    limits: serve::Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // TLS or not, the same cap and timeouts.
    serve::serve(listener, router, limits, tls, shutdown).await;
    Ok(())
}

impl Running {
    /// Refreshes every stored set due at `now` from the upstream (what the background task
    /// does each minute); tests call it to refresh at a chosen instant.
    pub async fn refresh_due(&self, now: i64) {
        pccs::refresh::refresh_due(&self.state, now).await;
    }
}

/// Imports a collateral directory's files into the store of `data_dir` (verified first against
/// the Intel root and `trust_roots`). Returns (fmspc, ca, tee).
pub async fn import_collateral(
    data_dir: &Path,
    trust_roots: &[std::path::PathBuf],
    files: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<(String, String, String), String> {
    let config = Config {
        data_dir: data_dir.to_path_buf(),
        trust_roots: trust_roots.to_vec(),
        ..Config::default()
    };
    import_collateral_with(&config, files).await
}

/// Imports into the store `config` names (its `database_url`, else its data directory), under
/// its trust roots, as the standard set.
pub async fn import_collateral_with(
    config: &Config,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<(String, String, String), String> {
    import_collateral_as(config, files, CollateralUpdate::Standard).await
}

/// `import_collateral_with`, storing the set as Intel's `update` kind (`scute collateral
/// import --update`): the files cannot say which they are.
pub async fn import_collateral_as(
    config: &Config,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
    update: CollateralUpdate,
) -> Result<(String, String, String), String> {
    if config.database_url.is_none() {
        create_data_dir(&config.data_dir).map_err(|e| e.to_string())?;
    }
    let store = Store::connect(config.database_url.as_deref(), &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let anchors = trust_anchors(config).map_err(|e| e.to_string())?;
    collateral::import_as(&store, &anchors, files, now(), update)
        .await
        .map_err(|e| format!("{}: {}", e.kind, e.detail))
}

/// `import_collateral_as` without storing anything (`scute collateral import --dry-run`): the
/// set verified as import verifies it, and what it would make of every platform of its TEE
/// and FMSPC seen within `config`'s `platform_retention_days`; the JSON of `POST
/// /v1/collateral?dry_run=true`. Err is the refusal import would give.
pub async fn dry_run_collateral(
    config: &Config,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
    update: CollateralUpdate,
) -> Result<serde_json::Value, String> {
    let anchors = trust_anchors(config).map_err(|e| e.to_string())?;
    // A dry run creates nothing, not even the data directory: no store is no platforms.
    let store = if config.database_url.is_none() && !config.data_dir.join("scute.db").is_file() {
        None
    } else {
        // Read as it is: a dry run never migrates a store (replicas of an older release may
        // still use it); one without this release's migrations cannot be judged.
        let store = Store::open_current(config.database_url.as_deref(), &config.data_dir)
            .await
            .map_err(|e| e.to_string())?;
        Some(store.ok_or_else(|| {
            "the store has not been migrated to this release yet: start this release's `scute serve` on it once, then dry-run".to_string()
        })?)
    };
    collateral::dry_run(
        store.as_ref(),
        &anchors,
        files,
        update,
        now(),
        platforms::retention_secs(config),
        config.platforms_max,
    )
    .await
    .map_err(|e| format!("{}: {}", e.kind, e.detail))
}

/// Imports a chip's HSK ‖ CEK (Hygon KDS format) into the store of `data_dir`, keyed by its
/// chip serial, once they chain to Hygon's HRK or one of `csv_trust_roots`.
pub async fn import_csv_hsk_cek(
    data_dir: &Path,
    csv_trust_roots: &[std::path::PathBuf],
    chip_serial: &str,
    hsk_cek: &[u8],
) -> Result<(), String> {
    let config = Config {
        data_dir: data_dir.to_path_buf(),
        csv_trust_roots: csv_trust_roots.to_vec(),
        ..Config::default()
    };
    import_csv_hsk_cek_with(&config, chip_serial, hsk_cek).await
}

/// Imports a chip's HSK ‖ CEK into the store `config` names, under its CSV trust roots.
pub async fn import_csv_hsk_cek_with(
    config: &Config,
    chip_serial: &str,
    hsk_cek: &[u8],
) -> Result<(), String> {
    if config.database_url.is_none() {
        create_data_dir(&config.data_dir).map_err(|e| e.to_string())?;
    }
    let store = Store::connect(config.database_url.as_deref(), &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let roots = pipeline_csv::trust_roots(config).map_err(|e| e.to_string())?;
    pipeline_csv::import(&store, &roots, chip_serial, hsk_cek, now())
        .await
        .map_err(|e| format!("{}: {}", e.kind, e.detail))
}
