//! Who may use an admin route: one rule for every door (the service's own API, the PCCS admin
//! upload, the key broker). The admin token is presented as `Authorization: Bearer T` or, as
//! Intel's PccsAdminTool sends it, `admin-token: T`; it is compared by its SHA-256, in constant
//! time, with the hash the store holds (which `scute admin reset-token` can replace).

use crate::http::state::AppState;
use crate::problem::Problem;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{digest, SHA256};
use axum::http::HeaderMap;

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
