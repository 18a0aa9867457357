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
        }
    }
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Self, crate::ServerError> {
        toml::from_str(text).map_err(|e| crate::ServerError::Config(e.to_string()))
    }
}
