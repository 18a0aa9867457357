//! The HTTP API, declared in one router. Handlers extract, call the domain, map errors to
//! problem JSON. Admin routes need the admin bearer token.

use crate::http::admin_auth::require_admin;

use crate::domain::appraisal::DEFAULT_POLICY_ID;
use crate::http::state::AppState;
use crate::problem::{Kind, Problem};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Shared = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/v1/challenge", post(challenge))
        .route("/v1/attest", post(attest))
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/v1/policies/{id}",
            put(put_policy).get(get_policy).delete(delete_policy),
        )
        .route(
            "/v1/reference-values/{name}",
            put(put_reference)
                .get(get_reference)
                .delete(delete_reference),
        )
        .route("/v1/collateral", post(import_collateral))
        .route("/v1/admin/signing-keys/rotate", post(rotate_signing_key))
        .route("/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(crate::http::pccs::routes())
        .merge(crate::http::kbs::routes())
        .merge(crate::http::kds::routes())
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

fn json_body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes)
        .map_err(|e| Problem::new(Kind::MalformedJson, format!("request body: {e}")))
}

async fn challenge(State(state): Shared) -> Json<Value> {
    let (nonce, expires) = state.nonces.issue(crate::clock::now());
    Json(
        json!({ "nonce": STANDARD.encode(nonce), "expires_at": scute_dcap::format_rfc3339(expires) }),
    )
}

pub(crate) fn b64(field: &str, text: &str) -> Result<Vec<u8>, Problem> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| Problem::new(Kind::MalformedBase64, format!("{field}: {e}")))
}

async fn attest(State(state): Shared, Body(bytes): Body) -> Result<Json<Value>, Problem> {
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

async fn jwks(State(state): Shared) -> Json<Value> {
    Json(state.signer().jwks())
}

/// After an admin write: what the store now holds becomes what this replica enforces, through
/// the one writer of in-memory policies (the sync, which records the version it loaded), so an
/// older snapshot can never overwrite a newer one.
pub(crate) async fn rebuild_policies(state: &AppState) -> Result<(), Problem> {
    state.sync_with_store().await.map_err(|e| match e {
        crate::error::ServerError::Store(e) => Problem::from(e),
        crate::error::ServerError::Config(e) => Problem::new(Kind::PolicyInvalid, e),
        other => Problem::internal(other),
    })
}

fn valid_name(kind: &str, name: &str) -> Result<(), Problem> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    ok.then_some(()).ok_or_else(|| {
        Problem::new(
            Kind::BadField,
            format!("{kind} must be 1-128 of [A-Za-z0-9._-]"),
        )
    })
}

async fn put_policy(
    State(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<StatusCode, Problem> {
    require_admin(&state, &headers)?;
    let rego = std::str::from_utf8(&bytes)
        .map_err(|_| Problem::new(Kind::BadBody, "policy must be UTF-8 Rego text"))?;
    store_policy(&state, &id, rego).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks, stores and activates an attestation policy (both doors' admin routes).
pub(crate) async fn store_policy(state: &AppState, id: &str, rego: &str) -> Result<(), Problem> {
    valid_name("policy id", id)?;
    crate::domain::appraisal::check(id, rego).map_err(|e| Problem::new(Kind::PolicyInvalid, e))?;
    state
        .store
        .put_policy(id, rego, crate::clock::now())
        .await?;
    rebuild_policies(state).await
}

async fn get_policy(
    State(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    require_admin(&state, &headers)?;
    let rego = match state.store.policy(&id).await? {
        Some(rego) => rego,
        None if id == DEFAULT_POLICY_ID => crate::domain::appraisal::DEFAULT_POLICY.to_string(),
        None => {
            return Err(Problem::new(
                Kind::PolicyNotFound,
                format!("no policy {id:?}"),
            ))
        }
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        rego,
    )
        .into_response())
}

async fn delete_policy(
    State(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    require_admin(&state, &headers)?;
    if id != DEFAULT_POLICY_ID && state.config.mandatory_policies.contains(&id) {
        return Err(Problem::new(
            Kind::PolicyMandatory,
            format!("policy {id:?} is mandatory in this service's configuration"),
        ));
    }
    if !state.store.delete_policy(&id).await? {
        return Err(Problem::new(
            Kind::PolicyNotFound,
            format!("no policy {id:?}"),
        ));
    }
    rebuild_policies(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_reference(
    State(state): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<StatusCode, Problem> {
    require_admin(&state, &headers)?;
    valid_name("reference value name", &name)?;
    let values: Vec<Value> = json_body(&bytes)?;
    let text = serde_json::to_string(&values).map_err(Problem::internal)?;
    state
        .store
        .put_reference_value(&name, &text, crate::clock::now())
        .await?;
    rebuild_policies(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_reference(
    State(state): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    require_admin(&state, &headers)?;
    let text = state
        .store
        .reference_value(&name)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no reference value {name:?}")))?;
    Ok(Json(
        serde_json::from_str(&text).map_err(Problem::internal)?,
    ))
}

async fn delete_reference(
    State(state): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    require_admin(&state, &headers)?;
    if !state.store.delete_reference_value(&name).await? {
        return Err(Problem::not_found(format!("no reference value {name:?}")));
    }
    rebuild_policies(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body: `{"files": {"tcb_info.json": base64, ...}}` with the files of a collateral directory.
/// A new token signing key, used by every replica within a second or so; the old keys stay
/// in the JWKS until the tokens they signed have expired.
async fn rotate_signing_key(
    State(state): Shared,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    require_admin(&state, &headers)?;
    let kid =
        crate::domain::token::Signer::rotate(&state.store, &state.sealer, crate::clock::now())
            .await
            .map_err(|e| match e {
                crate::error::ServerError::Store(e) => Problem::from(e),
                other => Problem::internal(other),
            })?;
    state.reload_signer().await.map_err(Problem::internal)?;
    Ok(Json(json!({ "kid": kid, "jwks": state.signer().jwks() })))
}

async fn import_collateral(
    State(state): Shared,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<Json<Value>, Problem> {
    require_admin(&state, &headers)?;
    #[derive(Deserialize)]
    struct Import {
        files: BTreeMap<String, String>,
    }
    let request: Import = json_body(&bytes)?;
    let mut files = BTreeMap::new();
    for (name, text) in &request.files {
        files.insert(name.clone(), b64(&format!("files.{name}"), text)?);
    }
    // SEV-SNP: a VCEK or VLEK, and optionally its KDS cert_chain.
    let snp_vek = files.get("vcek.der").or_else(|| files.get("vlek.der"));
    if let Some(vek) = snp_vek {
        let chain = files
            .get("ask_ark_chain.pem")
            .or_else(|| files.get("asvk_ark_chain.pem"));
        let name = crate::tee::snp::import(
            &state.store,
            &state.verifiers.snp_roots,
            vek,
            chain.map(Vec::as_slice),
            crate::clock::now(),
        )
        .await?;
        return Ok(Json(json!({ "tee": "snp", "stored": name })));
    }
    let (fmspc, ca, tee) = crate::collateral::import(
        &state.store,
        &state.verifiers.anchors,
        &files,
        crate::clock::now(),
    )
    .await?;
    state.collateral_changed().await?;
    Ok(Json(json!({ "fmspc": fmspc, "ca": ca, "tee": tee })))
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
pub fn metrics_router(state: Arc<AppState>) -> Router {
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
