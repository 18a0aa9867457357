//! The HTTP API, declared in one router. Handlers extract, call the domain, map errors to
//! problem JSON. Admin routes need the admin bearer token.

use crate::appraisal::DEFAULT_POLICY_ID;
use crate::error::ApiError;
use crate::pipeline::{self, Tee};
use crate::AppState;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{digest, SHA256, SHA384};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
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
use std::time::Instant;

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
        .route("/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(crate::pccs::routes())
        .merge(crate::kbs::routes())
        .fallback(|| async { ApiError::not_found("no such route") })
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

/// The request body, or 413 when it is over the limit.
pub(crate) fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is over the size limit",
            )
        } else {
            ApiError::bad_request("bad_body", e.body_text())
        }
    })
}

fn json_body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("request body: {e}")))
}

pub(crate) fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    let hash = digest(&SHA256, presented.trim().as_bytes());
    verify_slices_are_equal(hash.as_ref(), &state.admin_token_sha256)
        .map_err(|_| ApiError::unauthorized())
}

async fn challenge(State(state): Shared) -> Result<Json<Value>, ApiError> {
    let now = crate::now();
    let (nonce, expires) = state.nonces.issue(now).map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_challenges",
            "too many outstanding challenges; retry shortly",
        )
    })?;
    Ok(Json(
        json!({ "nonce": STANDARD.encode(nonce), "expires_at": scute_dcap::format_rfc3339(expires) }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Evidence {
    quote: String,
    #[serde(default)]
    cc_eventlog: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestRequest {
    tee: String,
    evidence: Evidence,
    runtime_data: Value,
    #[serde(default)]
    policy_ids: Option<Vec<String>>,
}

fn b64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| ApiError::bad_request("malformed_base64", format!("{field}: {e}")))
}

fn rejected(kind: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, kind, detail)
}

async fn attest(
    State(state): Shared,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let outcome = attest_inner(&state, &body(raw)?).await;
    let seconds = started.elapsed().as_secs_f64();
    match &outcome {
        Ok((_, tcb, status)) => state.metrics.verdict(tcb, status, seconds),
        Err(e) => state.metrics.verdict("none", e.kind, seconds),
    }
    outcome.map(|(token, _, _)| Json(json!({ "token": token })))
}

/// (token, TCB status, EAR status)
async fn attest_inner(
    state: &AppState,
    bytes: &[u8],
) -> Result<(String, String, String), ApiError> {
    let request: AttestRequest = json_body(bytes)?;
    let quote = b64("evidence.quote", &request.evidence.quote)?;
    let cc_eventlog = request
        .evidence
        .cc_eventlog
        .as_deref()
        .map(|t| b64("evidence.cc_eventlog", t))
        .transpose()?;
    let runtime = request
        .runtime_data
        .as_object()
        .ok_or_else(|| ApiError::bad_request("bad_field", "runtime_data must be a JSON object"))?;
    let nonce_text = runtime
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("bad_field", "runtime_data.nonce must be a string"))?
        .to_string();
    let nonce = b64("runtime_data.nonce", &nonce_text)?;
    let tee = match Tee::from_name(&request.tee) {
        Some(tee @ (Tee::Sgx | Tee::Tdx)) => tee,
        _ => {
            return Err(ApiError::bad_request(
                "bad_field",
                format!("tee must be \"sgx\" or \"tdx\", not {:?}", request.tee),
            ))
        }
    };
    let extra_policy_ids = request.policy_ids.unwrap_or_default();
    crate::appraisal::check_request_policy_ids(&extra_policy_ids)?;

    // Freshness: the nonce is ours, unused and unexpired, and it is spent now.
    let now = crate::now();
    state.nonces.consume(&nonce, now).map_err(|e| match e {
        crate::nonce::NonceError::Expired => {
            rejected("nonce_expired", "the challenge nonce has expired")
        }
        crate::nonce::NonceError::Replayed => {
            rejected("nonce_replayed", "the challenge nonce was already used")
        }
        _ => rejected(
            "nonce_unknown",
            "the challenge nonce was not issued by this service",
        ),
    })?;

    // Binding: report_data = SHA-384(JCS(runtime_data)) ‖ 16 zero bytes.
    let canonical = serde_jcs::to_vec(&request.runtime_data).map_err(ApiError::internal)?;
    let mut expected_report_data = [0u8; 64];
    expected_report_data[..48].copy_from_slice(digest(&SHA384, &canonical).as_ref());
    let appraised = pipeline::appraise(
        state,
        pipeline::Appraise {
            evidence: pipeline::Evidence::Dcap {
                tee,
                quote,
                cc_eventlog,
            },
            expected_report_data,
            runtime_data: request.runtime_data,
            nonce: nonce_text,
            init_data: None,
            extra_policy_ids,
        },
        now,
    )
    .await?;
    Ok((
        appraised.token,
        appraised.tcb_status,
        appraised.status.to_string(),
    ))
}

async fn jwks(State(state): Shared) -> Json<Value> {
    Json(state.signer.jwks())
}

async fn rebuild_policies(state: &AppState) -> Result<(), ApiError> {
    let rebuilt = crate::load_policies(&state.store)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "policy_invalid", e))?;
    *state
        .policies
        .write()
        .map_err(|_| ApiError::internal("policy lock"))? = Arc::new(rebuilt);
    Ok(())
}

fn valid_name(kind: &str, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    ok.then_some(()).ok_or_else(|| {
        ApiError::bad_request(
            "bad_field",
            format!("{kind} must be 1-128 of [A-Za-z0-9._-]"),
        )
    })
}

async fn put_policy(
    State(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    require_admin(&state, &headers)?;
    let bytes = body(raw)?;
    let rego = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::bad_request("bad_body", "policy must be UTF-8 Rego text"))?;
    store_policy(&state, &id, rego).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks, stores and activates an attestation policy (both doors' admin routes).
pub(crate) async fn store_policy(state: &AppState, id: &str, rego: &str) -> Result<(), ApiError> {
    valid_name("policy id", id)?;
    crate::appraisal::compile(id, rego).map_err(|e| ApiError::bad_request("policy_invalid", e))?;
    state.store.put_policy(id, rego, crate::now()).await?;
    rebuild_policies(state).await
}

async fn get_policy(
    State(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    let rego = match state.store.policy(&id).await? {
        Some(rego) => rego,
        None if id == DEFAULT_POLICY_ID => crate::appraisal::DEFAULT_POLICY.to_string(),
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "policy_not_found",
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
) -> Result<StatusCode, ApiError> {
    require_admin(&state, &headers)?;
    if !state.store.delete_policy(&id).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "policy_not_found",
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
    raw: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    require_admin(&state, &headers)?;
    valid_name("reference value name", &name)?;
    let values: Vec<Value> = json_body(&body(raw)?)?;
    let text = serde_json::to_string(&values).map_err(ApiError::internal)?;
    state
        .store
        .put_reference_value(&name, &text, crate::now())
        .await?;
    rebuild_policies(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_reference(
    State(state): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_admin(&state, &headers)?;
    let text = state
        .store
        .reference_value(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no reference value {name:?}")))?;
    Ok(Json(
        serde_json::from_str(&text).map_err(ApiError::internal)?,
    ))
}

async fn delete_reference(
    State(state): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    require_admin(&state, &headers)?;
    if !state.store.delete_reference_value(&name).await? {
        return Err(ApiError::not_found(format!("no reference value {name:?}")));
    }
    rebuild_policies(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body: `{"files": {"tcb_info.json": base64, ...}}` with the files of a collateral directory.
async fn import_collateral(
    State(state): Shared,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&state, &headers)?;
    #[derive(Deserialize)]
    struct Import {
        files: BTreeMap<String, String>,
    }
    let request: Import = json_body(&body(raw)?)?;
    let mut files = BTreeMap::new();
    for (name, text) in &request.files {
        files.insert(name.clone(), b64(&format!("files.{name}"), text)?);
    }
    let (fmspc, ca, tee) =
        crate::collateral::import(&state.store, &state.anchors, &files, crate::now()).await?;
    Ok(Json(json!({ "fmspc": fmspc, "ca": ca, "tee": tee })))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn metrics(State(state): Shared) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render() + &state.pccs.render_metrics(),
    )
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}
