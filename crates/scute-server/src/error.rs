//! Errors: `ServerError` for starting the service; `ApiError` for requests, rendered as RFC 7807
//! problem JSON with a stable `type` per kind. Hostile input is always a 4xx, never a 5xx.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
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

/// A failed request: HTTP status, stable kind, and a message that names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub detail: String,
}

pub const PROBLEM_TYPE_PREFIX: &str = "urn:scute:problem:";

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
        }
    }
    pub fn bad_request(kind: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, kind, detail)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "admin endpoints need Authorization: Bearer <admin token>",
        )
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            detail.to_string(),
        )
    }
}

impl From<scute_api::RequestError> for ApiError {
    fn from(e: scute_api::RequestError) -> Self {
        Self::bad_request(e.kind(), e.to_string())
    }
}

impl From<sqlx::Error> for ApiError {
    /// A store that cannot be reached is the service being unavailable (503, retry), not a
    /// fault in the request or the service; it recovers when the database returns.
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("the store cannot be reached ({e}); retry"),
            ),
            // PostgreSQL's "admin shutdown", "cannot connect now" and "connection failure"
            // classes: the database is going away or not yet back.
            sqlx::Error::Database(ref db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) =>
            {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    format!("the store is unavailable ({e}); retry"),
                )
            }
            _ => ApiError::internal(format!("store: {e}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("{PROBLEM_TYPE_PREFIX}{}", self.kind),
            "title": self.kind.replace('_', " "),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
