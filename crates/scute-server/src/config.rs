//! Service settings: defaults, a TOML file, and command-line overrides (applied by the binary).
//! The limits here bound what one client can hold: connections, time per read, policies named.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where the store, keys and admin token live (created on first start).
    pub data_dir: PathBuf,
    /// Extra root CA certificates (PEM or DER) trusted besides the Intel SGX Root CA, e.g. a
    /// simulator's root.
    pub trust_roots: Vec<PathBuf>,
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
    /// Serve HTTPS with this PEM certificate chain and `tls_key`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Also serve the PCCS routes alone on this address.
    pub pccs_listen: Option<String>,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("scute-data"),
            trust_roots: Vec::new(),
            csv_trust_roots: Vec::new(),
            csv_kds_url: None,
            nonce_lifetime_secs: 300,
            token_lifetime_secs: 600,
            max_body_bytes: 1024 * 1024,
            pccs_url: None,
            pcs_api_key: None,
            pccs_cacert: None,
            tls_cert: None,
            tls_key: None,
            pccs_listen: None,
            allow_sample_tee: false,
            kbs_session_lifetime_secs: 300,
            kbs_max_resource_bytes: 256 * 1024,
            kbs_trusted_jwks: Vec::new(),
            mandatory_policies: vec![crate::DEFAULT_POLICY_ID.to_string()],
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 4096,
        }
    }
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Self, crate::ServerError> {
        toml::from_str(text).map_err(|e| crate::ServerError::Config(e.to_string()))
    }
}
