//! The service's own attestation door: `/v1/challenge`, `/v1/attest` (the nonce, the pipeline,
//! the token) and the JWKS that verifies its tokens.

use crate::http::extract::Body;
use crate::http::state::AppState;
use crate::problem::Problem;
use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

type Shared = State<Arc<AppState>>;

pub(super) async fn challenge(State(state): Shared) -> Json<Value> {
    let (nonce, expires) = state.nonces.issue(crate::clock::now());
    Json(
        json!({ "nonce": STANDARD.encode(nonce), "expires_at": scute_dcap::format_rfc3339(expires) }),
    )
}

pub(super) async fn attest(
    State(state): Shared,
    Body(bytes): Body,
) -> Result<Json<Value>, Problem> {
    let started = Instant::now();
    let (mut tee, mut extra_policy_ids) = ("unknown".to_string(), Vec::new());
    let outcome = match scute_api::parse_attest_request(&bytes).map_err(Problem::from) {
        Ok(request) => {
            tee = request.tee.to_string();
            extra_policy_ids.clone_from(&request.extra_policy_ids);
            crate::domain::attest::attest(
                &state.pipeline(),
                &state.nonces,
                &state.store,
                request,
                crate::clock::now(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    let seconds = started.elapsed().as_secs_f64();
    match &outcome {
        Ok(a) => state.metrics.verdict(&a.tcb_status, a.ear_status, seconds),
        Err(e) => state.metrics.verdict("none", e.kind.name(), seconds),
    }
    crate::http::log_decision(
        &state,
        "/v1/attest",
        &tee,
        &extra_policy_ids,
        outcome
            .as_ref()
            .map(|a| (a.ear_status, a.tcb_status.as_str()))
            .map_err(|e| (e, crate::http::problem::status(e).as_u16())),
    );
    outcome.map(|a| Json(json!({ "token": a.token })))
}

pub(super) async fn jwks(State(state): Shared) -> Json<Value> {
    Json(state.signer().jwks())
}
