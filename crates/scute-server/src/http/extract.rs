//! Request extractors shared by every door: a body read within the time and size limits, JSON
//! and base64 fields decoded into problems that name the field.

use crate::http::state::AppState;
use crate::problem::{Kind, Problem};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// A request body, read whole within the body timeout and the size limit (413 over it, 408
/// when the client is too slow), so a stalled body cannot hold a connection.
pub(crate) struct Body(pub(crate) Bytes);

impl FromRequest<Arc<AppState>> for Body {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, Problem> {
        let limit = Duration::from_secs(state.config.body_read_timeout_secs);
        let budget = request
            .extensions()
            .get::<crate::http::serve::BudgetSpent>()
            .cloned();
        let read = tokio::time::timeout(limit, Bytes::from_request(request, state))
            .await
            .map_err(|_| {
                Problem::new(Kind::BodyTimeout, "the request body did not arrive in time")
            })?;
        read.map(Body).map_err(|e| {
            if budget.is_some_and(|b| b.is_set()) {
                Problem::new(
                    Kind::Overloaded,
                    "the service is receiving as many request bodies as it may hold; retry shortly",
                )
            } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(Kind::PayloadTooLarge, "request body is over the size limit")
            } else {
                Problem::new(Kind::BadBody, e.body_text())
            }
        })
    }
}

pub(crate) fn json_body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes)
        .map_err(|e| Problem::new(Kind::MalformedJson, format!("request body: {e}")))
}

pub(crate) fn b64(field: &str, text: &str) -> Result<Vec<u8>, Problem> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| Problem::new(Kind::MalformedBase64, format!("{field}: {e}")))
}
