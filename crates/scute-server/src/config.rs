//! Service settings: defaults, a TOML file, and command-line overrides (applied by the binary).
//! The limits here bound what one client can hold: connections, time per read, policies named.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in attestation policy's id (mandatory by default).
pub const DEFAULT_POLICY_ID: &str = "default";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where the store, keys and admin token live (created on first start).
    pub data_dir: PathBuf,
    /// Extra root CA certificates (PEM or DER) trusted besides the Intel SGX Root CA, e.g. a
    /// simulator's root.
    pub trust_roots: Vec<PathBuf>,
    /// Extra AMD ARK certificates (PEM or DER, `CN=ARK-<product>`) trusted for SEV-SNP besides
    /// AMD's pinned Milan, Genoa and Turin roots, e.g. a simulator's.
    pub snp_trust_roots: Vec<PathBuf>,
    /// An AMD KDS-compatible server (`https://kdsintf.amd.com`) asked for the VCEK of a report
    /// that carries none and whose VCEK is not stored; what it sends is stored only after the
    /// report verifies with it.
    pub snp_kds_url: Option<String>,
    /// HRK certificates (Hygon CA format) trusted besides Hygon's built-in root key, e.g. a
    /// simulator's.
    pub csv_trust_roots: Vec<PathBuf>,
    /// A Hygon KDS-compatible server (`https://cert.hygon.cn/hsk_cek`) asked
    /// `?snumber=<chip serial>` for a chip's HSK ‖ CEK this service does not hold; what it sends
    /// is verified before it is stored.
    pub csv_kds_url: Option<String>,
    /// How long a challenge nonce may be used.
    pub nonce_lifetime_secs: u64,
    /// How long an issued token is valid.
    pub token_lifetime_secs: u64,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// A PCCS-compatible server (Intel PCS, a PCCS, another Scute) asked for collateral this
    /// service does not hold; what it sends is verified before it is stored.
    pub pccs_url: Option<String>,
    /// Intel PCS subscription key, sent as `Ocp-Apim-Subscription-Key`.
    pub pcs_api_key: Option<String>,
    /// A PEM CA certificate for a `pccs_url` with a private CA.
    pub pccs_cacert: Option<PathBuf>,
    /// Which of Intel's TCB evaluation data sets appraisal judges DCAP quotes by: `standard`
    /// (PCS `update=standard`) or `early` (`update=early`, released at a TCB recovery's
    /// embargo lift). Both are stored and served; a platform whose set of this kind is missing
    /// is filled from `pccs_url` with this `update=`, and without an upstream is a miss
    /// (`collateral_missing`): the other kind is never used instead.
    pub collateral_update: CollateralUpdate,
    /// Serve HTTPS with this PEM certificate chain and `tls_key`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Also serve the PCCS routes alone on this address.
    pub pccs_listen: Option<String>,
    /// Also serve `/metrics` alone on this address (a private one), with the per-set lines
    /// that name each stored FMSPC; the public `/metrics` gives only aggregates per TEE.
    pub metrics_listen: Option<String>,
    /// Accept the Confidential Containers `sample` TEE (no hardware; never affirming by default).
    pub allow_sample_tee: bool,
    /// How long a KBS session may go from `/auth` to `/attest`, and how long an attested
    /// session's cookie may fetch resources (never past its token's expiry).
    pub kbs_session_lifetime_secs: u64,
    /// Largest resource the key broker stores.
    pub kbs_max_resource_bytes: usize,
    /// JWKS files of other token issuers whose EAR tokens the key broker accepts as bearer
    /// credentials (this service's own key is always accepted).
    pub kbs_trusted_jwks: Vec<PathBuf>,
    /// Ed25519 public keys (PEM, SubjectPublicKeyInfo) whose EdDSA-signed JWTs authorize the
    /// key broker's admin routes, as Trustee's `auth_public_key` does for `kbs-client
    /// --auth-private-key`. The admin token is accepted there as well.
    pub kbs_admin_public_keys: Vec<PathBuf>,
    /// PEM files (a certificate or a public key each, ECDSA P-256 or P-384) of those whose
    /// signed reference values (`POST /v1/reference-values/import`) the service accepts; read
    /// at start, and a file that does not read as a signer stops the start naming it.
    pub reference_value_signers: Vec<PathBuf>,
    /// Only signed reference values count: `PUT /v1/reference-values/{name}` is refused
    /// (`reference_values_signed_only`) and admin values already stored are left out of
    /// appraisals (they can still be read and deleted).
    pub require_signed_reference_values: bool,
    /// Policies applied to every attestation; a request's `policy_ids` can only add to them.
    pub mandatory_policies: Vec<String>,
    /// Time a client has to send a request's headers (also the wait for the next request on a
    /// kept-alive connection, which hyper times the same way).
    pub header_read_timeout_secs: u64,
    /// Time a client has to send a request's whole body once its headers are in.
    pub body_read_timeout_secs: u64,
    /// A connection that moves no bytes either way for this long is closed.
    pub idle_timeout_secs: u64,
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Request-body bytes all requests together may be receiving at once: a request with a
    /// body reserves its Content-Length (a chunked one `max_body_bytes`) before it is read,
    /// and is answered 503 when this budget is spent. Bounds what clients stalling bodies can
    /// pin, whatever `max_connections` allows.
    pub max_body_bytes_in_flight: usize,
    /// How long a vendor upstream's miss or failure for one key (a platform's collateral set, a
    /// chip's VCEK or HSK/CEK) is remembered: that key is not asked again before then.
    /// 0 remembers nothing.
    pub upstream_negative_cache_secs: u64,
    /// Fetches in flight at once, per upstream (Intel PCS/PCCS, AMD KDS, Hygon KDS).
    pub upstream_max_concurrent: usize,
    /// Fetches started per minute, per upstream (a burst of a quarter of that); past it a
    /// fetch is refused, not queued, and not remembered.
    pub upstream_fetches_per_minute: u32,
    /// `text` (key=value) or `json` (one object a line) for the service's log on stderr.
    pub log_format: LogFormat,
    /// The store: `postgres://…` shared by replicas, or `sqlite://PATH`; none means
    /// `scute.db` in the data directory.
    pub database_url: Option<String>,
    /// The key that seals secrets at rest (created on first start when missing); replicas
    /// of one database must share it. None means `master.key` in the data directory.
    pub master_key_file: Option<PathBuf>,
    /// Most rows of the platforms table (`GET /v1/platforms`): one per TEE, platform and TCB
    /// level attested; past it the least recently seen rows are deleted.
    pub platforms_max: u64,
    /// Days a platform not attested again stays in the platforms table (listed and judged
    /// by a collateral dry run); older rows are purged.
    pub platform_retention_days: u64,
}

/// Largest `platforms_max`.
const MAX_PLATFORMS: u64 = 1_000_000;
/// Largest `platform_retention_days`.
const MAX_RETENTION_DAYS: u64 = 3650;

/// Intel's two TCB evaluation data sets of a platform (PCS v4's `update=` parameter). Nothing
/// in the signed JSON says which one a document is; only the request that fetched it does, so
/// the kind is part of a stored set's key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CollateralUpdate {
    /// The set Intel publishes a few weeks after a TCB recovery (PCS's default).
    #[default]
    Standard,
    /// The set released at the recovery's embargo lift (a higher or equal
    /// tcbEvaluationDataNumber).
    Early,
}

impl CollateralUpdate {
    /// The `update=` value, as PCS spells it and the store keys it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Early => "early",
        }
    }

    /// `standard` or `early`; anything else is none.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "standard" => Some(Self::Standard),
            "early" => Some(Self::Early),
            _ => None,
        }
    }
}

impl std::fmt::Display for CollateralUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the service writes its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("scute-data"),
            trust_roots: Vec::new(),
            snp_trust_roots: Vec::new(),
            snp_kds_url: None,
            csv_trust_roots: Vec::new(),
            csv_kds_url: None,
            nonce_lifetime_secs: 300,
            token_lifetime_secs: 600,
            max_body_bytes: 1024 * 1024,
            pccs_url: None,
            pcs_api_key: None,
            pccs_cacert: None,
            collateral_update: CollateralUpdate::Standard,
            tls_cert: None,
            tls_key: None,
            pccs_listen: None,
            metrics_listen: None,
            allow_sample_tee: false,
            kbs_session_lifetime_secs: 300,
            kbs_max_resource_bytes: 256 * 1024,
            kbs_trusted_jwks: Vec::new(),
            kbs_admin_public_keys: Vec::new(),
            reference_value_signers: Vec::new(),
            require_signed_reference_values: false,
            mandatory_policies: vec![DEFAULT_POLICY_ID.to_string()],
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            idle_timeout_secs: 60,
            // Each connection holds hyper's buffers while its head arrives; the body budget
            // bounds what bodies hold (4096 × 1 MiB bodies for 30 s once pinned ~4 GiB).
            max_connections: 1024,
            max_body_bytes_in_flight: 64 * 1024 * 1024,
            upstream_negative_cache_secs: 300,
            upstream_max_concurrent: 4,
            upstream_fetches_per_minute: 60,
            log_format: LogFormat::Text,
            database_url: None,
            master_key_file: None,
            platforms_max: 10_000,
            platform_retention_days: 90,
        }
    }
}

impl Config {
    /// The settings of a TOML file; an unknown key or a value of the wrong type is an error
    /// that names it.
    pub fn from_toml(text: &str) -> Result<Self, crate::error::ServerError> {
        toml::from_str(text).map_err(|e| crate::error::ServerError::Config(e.to_string()))
    }

    /// Where the master key is.
    /// The `reference_value_signers`, each file read as one certificate or public key; the
    /// first that does not read stops the start, naming the key and the file. Two signers with
    /// the same name (two certificates with one CN) stop it too, naming both files: provenance
    /// (`signed:<name>`) could not tell their documents apart.
    pub fn reference_value_signers(
        &self,
    ) -> Result<Vec<scute_refvalues::Signer>, crate::error::ServerError> {
        let bad = |why: String| {
            crate::error::ServerError::Config(format!("reference_value_signers: {why}"))
        };
        let mut signers: Vec<(String, scute_refvalues::Signer)> = Vec::new();
        for path in &self.reference_value_signers {
            let shown = path.display().to_string();
            let text = std::fs::read(path).map_err(|e| bad(format!("{shown}: {e}")))?;
            let signer =
                scute_refvalues::Signer::from_pem(&shown, &text).map_err(|e| bad(e.to_string()))?;
            if let Some((first, _)) = signers.iter().find(|(_, s)| s.name == signer.name) {
                return Err(bad(format!(
                    "{first} and {shown} both name a signer {:?}: give each signer its own name",
                    signer.name
                )));
            }
            signers.push((shown, signer));
        }
        Ok(signers.into_iter().map(|(_, s)| s).collect())
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// What a start would refuse, found before it: each problem names its key and why.
    /// `scute serve` and `scute config check` run the same checks.
    pub fn validate(&self) -> Result<(), crate::error::ServerError> {
        let bad = |key: &str, why: String| {
            Err(crate::error::ServerError::Config(format!("{key}: {why}")))
        };
        if let Err(e) = self.listen.parse::<std::net::SocketAddr>() {
            return bad(
                "listen",
                format!("{:?} is not an address:port ({e})", self.listen),
            );
        }
        for (key, addr) in [
            ("pccs_listen", &self.pccs_listen),
            ("metrics_listen", &self.metrics_listen),
        ] {
            if let Some(addr) = addr {
                if let Err(e) = addr.parse::<std::net::SocketAddr>() {
                    return bad(key, format!("{addr:?} is not an address:port ({e})"));
                }
            }
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return bad("tls_key", "tls_cert is set, tls_key is not".into()),
            (None, Some(_)) => return bad("tls_cert", "tls_key is set, tls_cert is not".into()),
            _ => {}
        }
        let files = [
            ("tls_cert", self.tls_cert.as_deref()),
            ("tls_key", self.tls_key.as_deref()),
            ("pccs_cacert", self.pccs_cacert.as_deref()),
        ];
        let lists = [
            ("trust_roots", &self.trust_roots),
            ("snp_trust_roots", &self.snp_trust_roots),
            ("csv_trust_roots", &self.csv_trust_roots),
            ("kbs_trusted_jwks", &self.kbs_trusted_jwks),
            ("kbs_admin_public_keys", &self.kbs_admin_public_keys),
            ("reference_value_signers", &self.reference_value_signers),
        ];
        let named = files
            .into_iter()
            .filter_map(|(k, p)| p.map(|p| (k, p)))
            .chain(
                lists
                    .into_iter()
                    .flat_map(|(k, l)| l.iter().map(move |p| (k, p.as_path()))),
            );
        for (key, path) in named {
            if let Err(e) = readable(path) {
                return bad(key, format!("{}: {e}", path.display()));
            }
        }
        // Each signer must read as a key, so `scute config check` catches what `start` would.
        self.reference_value_signers()?;
        if let Some(url) = &self.database_url {
            match crate::store::backend_of(url) {
                None => {
                    return bad(
                        "database_url",
                        "not a postgres://, postgresql:// or sqlite:// URL".into(),
                    )
                }
                Some(crate::store::Backend::Postgres) => {
                    if let Err(why) = crate::store::postgres_link_is_protected(url) {
                        return bad("database_url", why);
                    }
                }
                Some(crate::store::Backend::Sqlite) => {}
            }
        }
        for (key, url) in [
            ("pccs_url", &self.pccs_url),
            ("snp_kds_url", &self.snp_kds_url),
        ] {
            if let Some(url) = url {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return bad(key, format!("{url:?} is not an http(s) URL"));
                }
            }
        }
        if let Some(url) = &self.csv_kds_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return bad("csv_kds_url", format!("{url:?} is not an http(s) URL"));
            }
        }
        if self.mandatory_policies.is_empty() {
            return bad(
                "mandatory_policies",
                "empty: every attestation would be judged by the policies its client picks".into(),
            );
        }
        let positive = [
            ("nonce_lifetime_secs", self.nonce_lifetime_secs),
            ("token_lifetime_secs", self.token_lifetime_secs),
            ("kbs_session_lifetime_secs", self.kbs_session_lifetime_secs),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("max_body_bytes", self.max_body_bytes as u64),
            ("kbs_max_resource_bytes", self.kbs_max_resource_bytes as u64),
            ("max_connections", self.max_connections as u64),
            (
                "max_body_bytes_in_flight",
                self.max_body_bytes_in_flight as u64,
            ),
            (
                "upstream_max_concurrent",
                self.upstream_max_concurrent as u64,
            ),
            (
                "upstream_fetches_per_minute",
                u64::from(self.upstream_fetches_per_minute),
            ),
            ("platforms_max", self.platforms_max),
            ("platform_retention_days", self.platform_retention_days),
        ];
        for (key, value) in positive {
            if value == 0 {
                return bad(key, "must be greater than 0".into());
            }
        }
        if self.max_body_bytes_in_flight < self.max_body_bytes {
            return bad(
                "max_body_bytes_in_flight",
                format!(
                    "{} is less than max_body_bytes ({}): a body of the largest size would \
                     never be accepted",
                    self.max_body_bytes_in_flight, self.max_body_bytes
                ),
            );
        }
        if self.platforms_max > MAX_PLATFORMS {
            return bad(
                "platforms_max",
                format!("at most {MAX_PLATFORMS}: the table is a summary, not a log"),
            );
        }
        if self.platform_retention_days > MAX_RETENTION_DAYS {
            return bad(
                "platform_retention_days",
                format!("at most {MAX_RETENTION_DAYS} (ten years)"),
            );
        }
        if self.max_body_bytes_in_flight > u32::MAX as usize {
            return bad(
                "max_body_bytes_in_flight",
                format!("at most {} (4 GiB - 1)", u32::MAX),
            );
        }
        Ok(())
    }
}

fn readable(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path).map(drop)
}
