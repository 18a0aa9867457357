//! `ServerError`: why the service could not start or an offline command (import, reset-token)
//! failed. A refused request is a `crate::problem::Problem` instead.

use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("data directory {path} is writable by group or others (mode {mode:o}); chmod go-w it")]
    DataDirWritableByOthers { path: String, mode: u32 },
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    #[error("secret {name}: {reason}")]
    Secret { name: String, reason: String },
    #[error("trust root {path}: {reason}")]
    TrustRoot { path: String, reason: String },
    #[error("config: {0}")]
    Config(String),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("fetching {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("TLS {path}: {reason}")]
    Tls { path: String, reason: String },
}
