//! The key broker's front door: the Confidential Containers KBS protocol 0.4.0 under `/kbs/v0`
//! (auth → attest → resource), translated onto the shared appraisal pipeline; resource release
//! is decided by a Rego policy. A challenge is its own cookie (`kbs_session`: `/auth` writes
//! nothing); the store holds only attested sessions (one row per successful `/attest`, which
//! also spends the challenge) and the sealed resources.
//!
//! Wire behaviour follows the guest-components client (`kbs_protocol/src/client/rcar_client.rs`):
//! it begins with `GET /resource/...`, runs the handshake on a 401, keeps the
//! `kbs-session-id` cookie in its cookie store, and parses every error body as kbs-types
//! `ErrorInformation {type, detail}` (our problem JSON carries both).

use crate::domain::appraisal::RegoInput;
use crate::domain::attested_sessions::{AttestedSession, MAX_REMEMBERED_TOKEN_BYTES};
use crate::domain::ear::{Ear, EarError};
use crate::domain::pipeline;
use crate::domain::resource_policy::ResourcePolicy;
use crate::http::admin_auth::KbsAdmin;
use crate::http::extract::Body;
use crate::http::problem::KbsRefusal;
use crate::http::state::AppState;
use crate::problem::{Kind, Problem};
use crate::tee::{Evidence, Tee};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use regorus::Value as RegoValue;
use scute_kbs::{
    init_data_digest, runtime_data_digest, Attestation, Challenge, HashAlgorithm, RecipientKey,
    Request, PROTOCOL_VERSION,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Shared = State<Arc<AppState>>;

pub const SESSION_COOKIE: &str = "kbs-session-id";

pub use crate::domain::resource_policy::DEFAULT_RESOURCE_POLICY;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/kbs/v0/auth", post(auth))
        .route("/kbs/v0/attest", post(attest))
        .route(
            "/kbs/v0/resource/{repository}/{kind}/{tag}",
            axum::routing::get(get_resource)
                .post(put_resource)
                .put(put_resource)
                .delete(delete_resource),
        )
        .route("/kbs/v0/resource-policy", post(set_resource_policy))
        .route("/kbs/v0/attestation-policy", post(set_attestation_policy))
}

/// Compiles a resource policy: `package policy` with a boolean `allow`.
pub(crate) fn compile_resource_policy(rego: &str) -> Result<ResourcePolicy, String> {
    ResourcePolicy::compile(rego)
}

fn replayed() -> Problem {
    Problem::new(
        Kind::NonceReplayed,
        "this session's challenge was already used: POST /kbs/v0/auth again",
    )
}

fn json_body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes)
        .map_err(|e| Problem::new(Kind::MalformedJson, format!("request body: {e}")))
}

fn set_cookie(id: &str, max_age_secs: i64) -> Result<HeaderValue, Problem> {
    let cookie = cookie::Cookie::build((SESSION_COOKIE, id.to_string()))
        .path("/kbs/v0")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age_secs.max(0)));
    HeaderValue::from_str(&cookie.to_string()).map_err(Problem::internal)
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// `POST /kbs/v0/auth`: a session with a fresh nonce, and the hash algorithm to bind with.
async fn auth(State(state): Shared, Body(bytes): Body) -> Result<Response, Problem> {
    let request: Request = json_body(&bytes)?;
    if request.version != PROTOCOL_VERSION {
        return Err(Problem::new(
            Kind::ProtocolVersion,
            format!(
                "KBS protocol version {:?} is not supported; this broker speaks {PROTOCOL_VERSION}",
                request.version
            ),
        ));
    }
    let tee = match Tee::from_kbs_name(&request.tee) {
        Some(Tee::Sample) if !state.config.allow_sample_tee => {
            return Err(Problem::new(
                Kind::TeeNotSupported,
                "the sample TEE proves nothing; it is refused unless allow_sample_tee = true",
            ))
        }
        Some(tee) => tee,
        None => {
            return Err(Problem::new(
                Kind::TeeNotSupported,
                format!(
                    "TEE {:?} is not supported (tdx, sgx, snp, csv)",
                    request.tee
                ),
            ))
        }
    };
    let algorithm = HashAlgorithm::select(&request.extra_params)
        .map_err(|e| Problem::new(Kind::BadField, e.to_string()))?;
    // Nothing is stored: the cookie carries the challenge under the service's MAC.
    let now = crate::clock::now();
    let (cookie, nonce, expires) = state.kbs_cookies.issue(tee, algorithm, now);
    let challenge = Challenge {
        nonce,
        extra_params: json!({ "selected-hash-algorithm": algorithm.name() }),
    };
    let mut response = Json(challenge).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&cookie, expires - now)?);
    Ok(response)
}

fn evidence_field(evidence: &Value, field: &str) -> Result<Option<Vec<u8>>, Problem> {
    match evidence.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => STANDARD.decode(text.trim()).map(Some).map_err(|e| {
            Problem::new(
                Kind::MalformedBase64,
                format!("tee-evidence.primary_evidence.{field}: {e}"),
            )
        }),
        Some(_) => Err(Problem::new(
            Kind::BadField,
            format!("tee-evidence.primary_evidence.{field} must be a base64 string"),
        )),
    }
}

/// The TEE's evidence as the CoCo attesters send it, in the form its registry adapter decodes
/// (the decoding itself is the pipeline's): TDX `{"quote", "cc_eventlog"}`, SGX `{"quote"}`
/// and sample `{"svn", "report_data"}` carry the raw evidence in base64 (standard) members; every
/// other TEE's `primary_evidence` is its evidence JSON itself (SNP `{"attestation_report",
/// "cert_chain"}`, CSV the attester's evidence object, which older clients send as a string).
fn primary_evidence(tee: Tee, evidence: &Value) -> Result<Evidence, Problem> {
    let required = |field: &str| {
        evidence_field(evidence, field)?.ok_or_else(|| {
            Problem::new(
                Kind::BadField,
                format!(
                    "tee-evidence.primary_evidence.{field} is required for {}",
                    tee.name()
                ),
            )
        })
    };
    let json = |evidence: &Value| evidence.to_string().into_bytes();
    Ok(match tee {
        Tee::Tdx => Evidence::kbs(
            tee,
            required("quote")?,
            evidence_field(evidence, "cc_eventlog")?,
        ),
        Tee::Sgx => Evidence::kbs(tee, required("quote")?, None),
        Tee::Sample => Evidence::kbs(tee, required("report_data")?, None),
        Tee::Snp => match evidence {
            Value::Object(_) => Evidence::kbs(tee, json(evidence), None),
            _ => {
                return Err(Problem::new(
                    Kind::BadField,
                    "tee-evidence.primary_evidence.attestation_report is required for snp",
                ))
            }
        },
        // CSV, and any TEE added to the registry: its evidence JSON, for its adapter.
        _ => match evidence {
            // Older CSV clients send the evidence JSON as a string.
            Value::String(text) => Evidence::kbs(tee, text.clone().into_bytes(), None),
            Value::Object(_) => Evidence::kbs(tee, json(evidence), None),
            _ => {
                return Err(Problem::new(
                    Kind::BadField,
                    format!(
                        "tee-evidence.primary_evidence must be the {} evidence object",
                        tee.name().to_uppercase()
                    ),
                ))
            }
        },
    })
}

/// `POST /kbs/v0/attest`: the session's nonce, bound with the TEE key into the evidence. A
/// refusal is answered as `http::problem::kbs_attest_status` says (401 for every verdict).
async fn attest(
    State(state): Shared,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<Response, KbsRefusal> {
    attest_session(&state, &headers, &bytes)
        .await
        .map_err(KbsRefusal)
}

async fn attest_session(
    state: &AppState,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Response, Problem> {
    let now = crate::clock::now();
    let cookie = session_id(headers).ok_or_else(|| {
        Problem::new(
            Kind::SessionMissing,
            "no kbs-session-id cookie: POST /kbs/v0/auth first",
        )
    })?;
    let session = state
        .kbs_cookies
        .open(&cookie)
        .map_err(|_| Problem::new(Kind::SessionUnknown, "the KBS session is unknown"))?;
    if now > session.expires {
        return Err(Problem::new(
            Kind::SessionUnknown,
            "the KBS session's challenge has expired: POST /kbs/v0/auth again",
        ));
    }
    let attestation: Attestation = json_body(bytes)?;
    if attestation.runtime_data.nonce != session.nonce {
        return Err(Problem::new(
            Kind::NonceMismatch,
            "runtime-data.nonce is not this session's challenge",
        ));
    }
    // A read, not a write: a replay is refused before it costs an appraisal. The insert after
    // the appraisal is what spends the challenge, atomically.
    if state.store.kbs_session(&session.id_sha256).await?.is_some() {
        return Err(replayed());
    }
    let tee_pubkey = &attestation.runtime_data.tee_pubkey;
    RecipientKey::from_jwk(tee_pubkey)
        .map_err(|e| Problem::new(Kind::BadField, format!("runtime-data.{e}")))?;
    let (tee, algorithm) = (session.tee, session.hash);
    let bound = runtime_data_digest(
        algorithm,
        &session.nonce,
        tee_pubkey,
        &attestation.tee_evidence.additional_evidence,
    )
    .map_err(|e| Problem::new(Kind::BadField, e.to_string()))?;
    let mut expected_report_data = [0u8; 64];
    let n = bound.len().min(64);
    expected_report_data[..n].copy_from_slice(&bound[..n]);

    let init_data = match &attestation.init_data {
        None => None,
        Some(init) => {
            let digest = init_data_digest(&init.format, &init.body)
                .map_err(|e| Problem::new(Kind::BadField, e.to_string()))?;
            let data = toml::from_str::<toml::Table>(&init.body)
                .ok()
                .and_then(|t| t.get("data").cloned())
                .and_then(|d| serde_json::to_value(d).ok())
                .unwrap_or(Value::Null);
            Some(pipeline::InitData { digest, data })
        }
    };
    let appraised = pipeline::appraise(
        &state.pipeline(),
        pipeline::Appraise {
            evidence: primary_evidence(tee, &attestation.tee_evidence.primary_evidence)?,
            expected_report_data,
            runtime_data: serde_json::to_value(&attestation.runtime_data)
                .map_err(Problem::internal)?,
            nonce: session.nonce.clone(),
            init_data,
            extra_policy_ids: Vec::new(),
        },
        now,
    )
    .await;
    let seconds = 0.0;
    crate::http::log_decision(
        state,
        "/kbs/v0/attest",
        tee.name(),
        &[],
        appraised
            .as_ref()
            .map(|a| (a.status.name(), a.tcb_status.as_str()))
            .map_err(|e| (e, crate::http::problem::kbs_attest_status(e).as_u16())),
    );
    let appraised = match appraised {
        Ok(a) => {
            state
                .metrics
                .verdict(&a.tcb_status, a.status.name(), seconds);
            a
        }
        Err(e) => {
            state.metrics.verdict("none", e.kind.name(), seconds);
            return Err(e);
        }
    };
    // The challenge is spent by the insert below only while it is unexpired: a spent mark is
    // kept just past the challenge's expiry, so a spend after it could not see an earlier one.
    if crate::clock::now() > session.expires {
        return Err(Problem::new(
            Kind::SessionUnknown,
            "the KBS session's challenge expired during its attestation: POST /kbs/v0/auth again",
        ));
    }
    let expires = (now + state.kbs_cookies.lifetime()).min(appraised.expires);
    let spent = state
        .store
        .attest_kbs_session(&crate::store::KbsSession {
            id_sha256: session.id_sha256.clone(),
            token: appraised.token.clone(),
            expires,
            // The row is the challenge's spent mark too: it must outlive the challenge.
            forget_after: expires.max(session.expires),
        })
        .await?;
    if !spent {
        // Another attest of this cookie won the race (here or at another replica).
        return Err(replayed());
    }
    // The session is attested and its challenge spent: only now is the platform recorded,
    // once per challenge (a replay or a denial writes no row). A failed write fails nothing.
    if let Some(sighting) = &appraised.sighting {
        state
            .platforms
            .record(sighting, appraised.status.name(), now)
            .await;
    }
    // The row is this token's: the resource calls of this session need not read it back.
    let small = appraised.token.len() <= MAX_REMEMBERED_TOKEN_BYTES;
    if let (true, Ok(ear)) = (small, serde_json::from_value::<Ear>(appraised.claims)) {
        state.attested_sessions.remember(
            &session.id_sha256,
            AttestedSession {
                expires,
                ear: Arc::new(ear),
            },
        );
    }
    let mut response = Json(json!({ "token": appraised.token })).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&cookie, expires - now)?);
    Ok(response)
}

/// The verified EAR of the requester: from `Authorization: Bearer <token>`, or from the
/// attested session the cookie names.
async fn credentials(state: &AppState, headers: &HeaderMap, now: i64) -> Result<Arc<Ear>, Problem> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let token = match (bearer, session_id(headers)) {
        (Some(token), _) => token.trim().to_string(),
        (None, Some(cookie)) => {
            let missing =
                || Problem::new(Kind::TokenNotFound, "the session has not attested or has expired");
            // A cookie not made by this service costs no store read.
            let session = state.kbs_cookies.open(&cookie).map_err(|_| missing())?;
            // Attested here: the result as this replica signed it and stored it.
            if let Some(ear) = state.attested_sessions.recall(&session.id_sha256, now) {
                return Ok(ear);
            }
            state
                .store
                .kbs_session(&session.id_sha256)
                .await?
                .filter(|s| s.expires >= now)
                .map(|s| s.token)
                .ok_or_else(missing)?
        }
        (None, None) => {
            return Err(Problem::new(Kind::TokenNotFound,
                "attest first: POST /kbs/v0/auth, then /kbs/v0/attest (or send Authorization: Bearer <token>)",
            ))
        }
    };
    state
        .token_verifier()
        .verify(&token)
        .map(Arc::new)
        .map_err(|e| Problem::new(Kind::TokenInvalid, e.to_string()))
}

/// Trustee's resource policies read EAR -00 member names (`ear.status`, ...); ours read the -03
/// names. The policy input carries both, so either kind of policy reads the same verdict.
fn with_legacy_names(mut claims: Value) -> Value {
    if let Some(submods) = claims.get_mut("submods").and_then(Value::as_object_mut) {
        for submod in submods.values_mut() {
            let Some(object) = submod.as_object_mut() else {
                continue;
            };
            for (new, old) in [
                ("ear_status", "ear.status"),
                ("ear_trustworthiness_vector", "ear.trustworthiness-vector"),
                ("ear_appraisal_policy_ids", "ear.appraisal-policy-id"),
                (
                    "ear_veraison_annotated_evidence",
                    "ear.veraison.annotated-evidence",
                ),
            ] {
                if let Some(v) = object.get(new).cloned() {
                    object.insert(old.to_string(), v);
                }
            }
        }
    }
    claims
}

/// The part of the KBS runtime data (`scute_kbs::RuntimeData`) a release reads: the key the
/// secret is encrypted to. Only this member is required, so a token another issuer signed
/// releases as long as it binds a key.
#[derive(Deserialize)]
struct TeePubkey {
    #[serde(rename = "tee-pubkey")]
    tee_pubkey: Value,
}

fn resource_path(repository: &str, kind: &str, tag: &str) -> Result<String, Problem> {
    for part in [repository, kind, tag] {
        let ok = !part.is_empty()
            && part.len() <= 128
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            return Err(Problem::new(
                Kind::BadField,
                "resource path segments must be 1-128 of [A-Za-z0-9._-]",
            ));
        }
    }
    Ok(format!("{repository}/{kind}/{tag}"))
}

fn sealed_name(path: &str) -> String {
    format!("kbs-resource/{path}")
}

/// `GET /kbs/v0/resource/<repository>/<type>/<tag>`: the resource, as a JWE to the attested key.
async fn get_resource(
    State(state): Shared,
    Path((repository, kind, tag)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let now = crate::clock::now();
    let path = resource_path(&repository, &kind, &tag)?;
    let ear = credentials(&state, &headers, now).await?;
    let policy = state
        .resource_policy
        .read()
        .map_err(|_| Problem::internal("resource policy lock"))?
        .clone();
    let rego = |e: String| Problem::new(Kind::PolicyFailed, e);
    // The Rego boundary: the EAR as signed (another issuer's members included), with the
    // legacy names beside ours.
    // Straight from JSON values, as the attestation policies' input (no text in between).
    let input = serde_json::to_value(&*ear).map_err(Problem::internal)?;
    let input = RegoInput::from_json(&with_legacy_names(input))
        .map_err(rego)?
        .into_value();
    // The request (`data`): the path, as Trustee's resource plugin gives it.
    let allowed = policy
        .evaluate((&repository, &kind, &tag), input)
        .map_err(rego)?;
    if allowed != RegoValue::Bool(true) {
        return Err(Problem::new(
            Kind::PolicyDenied,
            format!("the resource policy does not release {path} to this attestation result"),
        ));
    }
    let sealed = state
        .store
        .kbs_resource(&path)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no resource {path}")))?;
    let secret = state
        .sealer
        .open_sealed(&sealed_name(&path), &sealed)
        .map_err(Problem::internal)?;
    // The key the secret is encrypted to: the runtime data the TEE's evidence bound, by type.
    let no_key = |e: EarError| Problem::new(Kind::TokenInvalid, e.to_string());
    let runtime_data: TeePubkey = ear.cpu0().and_then(|c| c.runtime_data()).map_err(no_key)?;
    let recipient = RecipientKey::from_jwk(&runtime_data.tee_pubkey)
        .map_err(|e| Problem::new(Kind::TokenInvalid, e.to_string()))?;
    let jwe = scute_kbs::encrypt(&recipient, &secret).map_err(Problem::internal)?;
    state.metrics.request("kbs_release", 200);
    Ok(Json(jwe).into_response())
}

/// What a successful admin call answers: 200 with an empty body, as Trustee's
/// (`kbs/src/api_server.rs`: `HttpResponse::Ok().finish()` for the policies, the resource
/// plugin's empty `Vec` for a stored or deleted resource). Trustee's `kbs-client`
/// (`tools/kbs-client/src/lib.rs`: `set_resource`, `set_resource_policy`,
/// `set_attestation_policy`) accepts exactly `StatusCode::OK`; anything else, a 204 included, is
/// "Request Failed, Response: \"\"".
const ADMIN_DONE: StatusCode = StatusCode::OK;

async fn put_resource(
    State(state): Shared,
    Path((repository, kind, tag)): Path<(String, String, String)>,
    _admin: KbsAdmin,
    Body(bytes): Body,
) -> Result<StatusCode, Problem> {
    let path = resource_path(&repository, &kind, &tag)?;
    if bytes.len() > state.config.kbs_max_resource_bytes {
        return Err(Problem::new(
            Kind::PayloadTooLarge,
            format!(
                "resources are at most {} bytes",
                state.config.kbs_max_resource_bytes
            ),
        ));
    }
    let sealed = state
        .sealer
        .seal(&sealed_name(&path), &bytes)
        .map_err(Problem::internal)?;
    state
        .store
        .put_kbs_resource(&path, &sealed, crate::clock::now())
        .await?;
    Ok(ADMIN_DONE)
}

async fn delete_resource(
    State(state): Shared,
    Path((repository, kind, tag)): Path<(String, String, String)>,
    _admin: KbsAdmin,
) -> Result<StatusCode, Problem> {
    let path = resource_path(&repository, &kind, &tag)?;
    if !state.store.delete_kbs_resource(&path).await? {
        return Err(Problem::not_found(format!("no resource {path}")));
    }
    Ok(ADMIN_DONE)
}

/// Policies arrive base64 (Trustee's admin client sends URL-safe without padding; accept the
/// standard alphabet too).
fn policy_text(field: &str, text: &str) -> Result<String, Problem> {
    let text = text.trim();
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(text))
        .map_err(|e| Problem::new(Kind::MalformedBase64, format!("{field}: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| Problem::new(Kind::BadField, format!("{field} must be UTF-8 Rego")))
}

async fn set_resource_policy(
    State(state): Shared,
    _admin: KbsAdmin,
    Body(bytes): Body,
) -> Result<StatusCode, Problem> {
    #[derive(Deserialize)]
    struct Upload {
        policy: String,
    }
    let body: Upload = json_body(&bytes)?;
    let rego = policy_text("policy", &body.policy)?;
    compile_resource_policy(&rego).map_err(|e| Problem::new(Kind::PolicyInvalid, e))?;
    state
        .store
        .put_kbs_resource_policy(&rego, crate::clock::now())
        .await?;
    crate::http::admin::rebuild_policies(&state).await?;
    Ok(ADMIN_DONE)
}

async fn set_attestation_policy(
    State(state): Shared,
    _admin: KbsAdmin,
    Body(bytes): Body,
) -> Result<StatusCode, Problem> {
    #[derive(Deserialize)]
    struct Upload {
        #[serde(rename = "type")]
        kind: String,
        policy_id: String,
        policy: String,
    }
    let body: Upload = json_body(&bytes)?;
    if body.kind != "rego" {
        return Err(Problem::new(
            Kind::BadField,
            format!("policy type must be \"rego\", not {:?}", body.kind),
        ));
    }
    let rego = policy_text("policy", &body.policy)?;
    crate::http::admin::store_policy(&state, &body.policy_id, &rego).await?;
    Ok(ADMIN_DONE)
}
