//! Service settings: defaults, a TOML file, and command-line overrides (applied by the binary).

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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("scute-data"),
            trust_roots: Vec::new(),
            nonce_lifetime_secs: 300,
            token_lifetime_secs: 600,
            max_body_bytes: 1024 * 1024,
            pccs_url: None,
            pcs_api_key: None,
            pccs_cacert: None,
            tls_cert: None,
            tls_key: None,
            pccs_listen: None,
        }
    }
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Self, crate::ServerError> {
        toml::from_str(text).map_err(|e| crate::ServerError::Config(e.to_string()))
    }
}
