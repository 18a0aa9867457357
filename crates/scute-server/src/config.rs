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
    /// Policies evaluated on every attestation, whatever the request names.
    pub mandatory_policies: Vec<String>,
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
            mandatory_policies: vec![crate::DEFAULT_POLICY_ID.to_string()],
            allow_sample_tee: false,
            kbs_session_lifetime_secs: 300,
            kbs_max_resource_bytes: 256 * 1024,
            kbs_trusted_jwks: Vec::new(),
        }
    }
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Self, crate::ServerError> {
        toml::from_str(text).map_err(|e| crate::ServerError::Config(e.to_string()))
    }
}
