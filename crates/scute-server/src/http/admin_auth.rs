//! Who may use an admin route: one rule for every door (the service's own API, the PCCS admin
//! upload, the key broker). The admin token is presented as `Authorization: Bearer T` or, as
//! Intel's PccsAdminTool sends it, `admin-token: T`; it is compared by its SHA-256, in constant
//! time, with the hash the store holds (which `scute admin reset-token` can replace).

use crate::error::ServerError;
use crate::http::state::AppState;
use crate::problem::Problem;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{digest, SHA256};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::sync::Arc;

/// The token a request presents, if any: the Bearer credential, else `admin-token`.
pub(crate) fn presented_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("admin-token").and_then(|v| v.to_str().ok()))
        .map(str::trim)
}

/// Ok when the request presents the admin token, else 401.
pub(crate) fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    let presented = presented_token(headers).ok_or_else(Problem::unauthorized)?;
    let hash = digest(&SHA256, presented.as_bytes());
    verify_slices_are_equal(hash.as_ref(), &state.admin_token_sha256())
        .map_err(|_| Problem::unauthorized())
}

/// Extracts an admin request: the admin token was presented. Checked before the body is read.
pub(crate) struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Problem> {
        require_admin(state, &parts.headers).map(|()| Admin)
    }
}

/// Extracts a request to the key broker's admin routes (`require_kbs_admin`).
pub(crate) struct KbsAdmin;

impl FromRequestParts<Arc<AppState>> for KbsAdmin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Problem> {
        require_kbs_admin(state, &parts.headers).map(|()| KbsAdmin)
    }
}

/// The key broker's admin routes: the admin token, or — as Trustee's KBS accepts from
/// `kbs-client --auth-private-key` (`tools/kbs-client/src/lib.rs`: an EdDSA JWT with `iat`,
/// `nbf` and `exp`, as `Authorization: Bearer`) — a JWT signed by a key of
/// `kbs_admin_public_keys`, EdDSA only, unexpired (`exp` required, `nbf` checked).
pub(crate) fn require_kbs_admin(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    let admin_token = require_admin(state, headers);
    if admin_token.is_ok() || state.kbs_admin_keys.is_empty() {
        return admin_token;
    }
    let presented = presented_token(headers).ok_or_else(Problem::unauthorized)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_required_spec_claims(&["exp"]);
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.leeway = 0;
    let signed_by_an_admin = state.kbs_admin_keys.iter().any(|key| {
        jsonwebtoken::decode::<serde::de::IgnoredAny>(presented, key, &validation).is_ok()
    });
    if signed_by_an_admin {
        Ok(())
    } else {
        Err(Problem::unauthorized())
    }
}

/// Reads `kbs_admin_public_keys`: Ed25519 public keys in PEM, as Trustee's KBS takes its
/// `auth_public_key`.
pub(crate) fn admin_keys(
    paths: &[std::path::PathBuf],
) -> Result<Vec<jsonwebtoken::DecodingKey>, ServerError> {
    paths
        .iter()
        .map(|path| {
            let err = |reason: String| {
                ServerError::Config(format!(
                    "kbs_admin_public_keys: {}: {reason}",
                    path.display()
                ))
            };
            let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
            jsonwebtoken::DecodingKey::from_ed_pem(&pem)
                .map_err(|e| err(format!("not an Ed25519 public key in PEM: {e}")))
        })
        .collect()
}
