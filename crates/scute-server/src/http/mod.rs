//! The HTTP layer: the only part of the service that knows axum, routes, status codes and
//! headers. Handlers extract, call the domain, and answer; nothing below imports from here.

pub(crate) mod admin;
pub(crate) mod admin_auth;
pub(crate) mod attest;
pub(crate) mod extract;
pub(crate) mod kbs;
pub(crate) mod kds;
pub(crate) mod openapi;
pub(crate) mod pccs;
pub(crate) mod problem;
pub(crate) mod reference_values;
pub(crate) mod serve;
pub(crate) mod state;
pub(crate) mod tls;

use crate::http::state::AppState;
use crate::problem::Problem;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

type Shared = State<Arc<AppState>>;

/// The service: every route of the main listener, in one place.
pub(crate) fn app(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/v1/challenge", post(attest::challenge))
        .route("/v1/attest", post(attest::attest))
        .route("/.well-known/jwks.json", get(attest::jwks))
        .route("/v1/policies", get(admin::list_policies))
        .route(
            "/v1/policies/{id}",
            put(admin::put_policy)
                .get(admin::get_policy)
                .delete(admin::delete_policy),
        )
        .route(
            "/v1/reference-values/{name}",
            put(admin::put_reference)
                .get(admin::get_reference)
                .delete(admin::delete_reference)
                .post(reference_values::import),
        )
        .route("/v1/reference-values", get(reference_values::list))
        .route(
            "/v1/reference-values/documents/{digest}",
            delete(reference_values::delete_document),
        )
        .route("/v1/collateral", post(admin::import_collateral))
        .route("/v1/platforms", get(admin::list_platforms))
        .route(
            "/v1/admin/signing-keys/rotate",
            post(admin::rotate_signing_key),
        )
        .route("/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(pccs::routes())
        .merge(kbs::routes())
        .merge(kds::routes())
        .fallback(|| async { Problem::not_found("no such route") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn count_requests(
    State(state): Shared,
    path: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = path
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    state.metrics.request(&route, response.status().as_u16());
    response
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The public `/metrics`: counters and aggregates, no FMSPC (which names the platforms served).
async fn metrics(State(state): Shared) -> impl IntoResponse {
    render_metrics(&state, false)
}

fn render_metrics(state: &AppState, per_set: bool) -> impl IntoResponse {
    let mut out = state.metrics.render();
    state.body_budget.render(&mut out);
    state.platforms.render(&mut out);
    out.push_str(&state.pccs.render_metrics(per_set));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
}

/// The `metrics_listen` listener: `/metrics` with every stored set's line, by FMSPC, for a
/// scraper on a private address.
pub(crate) fn metrics_app(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(state): Shared| async move { render_metrics(&state, true) }),
        )
        .fallback(|| async { Problem::not_found("only /metrics is served here") })
        .with_state(state)
}

async fn openapi() -> Json<Value> {
    Json(crate::http::openapi::document())
}

/// The one log line of an attestation decision: which route, TEE and policies, and the
/// verdict (the EAR status and TCB status) or the refusal (its problem kind). Nothing of the
/// evidence, the token or the runtime data is written.
pub(crate) fn log_decision(
    state: &AppState,
    route: &str,
    tee: &str,
    extra_policy_ids: &[String],
    outcome: Result<(&str, &str), (&Problem, u16)>,
) {
    // One cached check when the line is filtered out (`RUST_LOG`): nothing below is computed.
    if !tracing::enabled!(tracing::Level::INFO) {
        return;
    }
    let policy_ids = crate::domain::appraisal::applied_policy_ids(&state.config, extra_policy_ids)
        .unwrap_or_else(|_| state.config.mandatory_policies.clone());
    let (request_id, policy_ids) = (crate::log::request_id(), crate::log::List(&policy_ids));
    match outcome {
        Ok((ear_status, tcb_status)) => tracing::info!(
            request_id,
            route,
            tee,
            policy_ids = ?policy_ids,
            decision = "token",
            status = ear_status,
            tcb_status,
            "attestation"
        ),
        Err((e, http_status)) => tracing::info!(
            request_id,
            route,
            tee,
            policy_ids = ?policy_ids,
            decision = "refused",
            status = e.kind.name(),
            http_status,
            "attestation"
        ),
    }
}

/// The collateral routes alone, for `--pccs-listen`: PCCS v4 and AMD KDS.
pub(crate) fn collateral_app(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    pccs::routes()
        .merge(kds::routes())
        .fallback(|| async { Problem::not_found("no such route") })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
