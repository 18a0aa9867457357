//! The service's admin routes: attestation policies, reference values, collateral import and
//! signing-key rotation. Every one needs the admin token (`admin_auth`).

use crate::domain::appraisal::DEFAULT_POLICY_ID;
use crate::http::admin_auth::Admin;
use crate::http::extract::{b64, json_body, Body};
use crate::http::state::AppState;
use crate::problem::{Kind, Problem};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

type Shared = State<Arc<AppState>>;

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

pub(super) async fn put_policy(
    State(state): Shared,
    Path(id): Path<String>,
    _admin: Admin,
    Body(bytes): Body,
) -> Result<StatusCode, Problem> {
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

pub(super) async fn get_policy(
    State(state): Shared,
    Path(id): Path<String>,
    _admin: Admin,
) -> Result<Response, Problem> {
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

/// `GET /v1/policies`: every policy the service holds, by id, with whether the configuration
/// makes it mandatory, the SHA-256 of its Rego text (to compare with a local file without
/// fetching it) and when it was stored. The built-in `default` is listed (`builtin: true`, no
/// `updated`) while no stored policy replaces it, as `GET /v1/policies/default` serves it.
pub(super) async fn list_policies(
    State(state): Shared,
    _admin: Admin,
) -> Result<Json<Value>, Problem> {
    let stored = state.store.policies().await?;
    let mandatory = |id: &str| state.config.mandatory_policies.iter().any(|m| m == id);
    let sha256 = |rego: &str| {
        hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            rego.as_bytes(),
        ))
    };
    let mut list = Vec::with_capacity(stored.len() + 1);
    if !stored.iter().any(|(id, _, _)| id == DEFAULT_POLICY_ID) {
        list.push(json!({
            "id": DEFAULT_POLICY_ID,
            "mandatory": mandatory(DEFAULT_POLICY_ID),
            "sha256": sha256(crate::domain::appraisal::DEFAULT_POLICY),
            "builtin": true,
        }));
    }
    for (id, rego, updated) in &stored {
        list.push(json!({
            "id": id,
            "mandatory": mandatory(id),
            "sha256": sha256(rego),
            "updated": scute_dcap::format_rfc3339(*updated),
        }));
    }
    list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Ok(Json(Value::Array(list)))
}

pub(super) async fn delete_policy(
    State(state): Shared,
    Path(id): Path<String>,
    _admin: Admin,
) -> Result<StatusCode, Problem> {
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

pub(super) async fn put_reference(
    State(state): Shared,
    Path(name): Path<String>,
    _admin: Admin,
    Body(bytes): Body,
) -> Result<StatusCode, Problem> {
    valid_name("reference value name", &name)?;
    if state.config.require_signed_reference_values {
        return Err(Problem::new(
            Kind::ReferenceValuesSignedOnly,
            "require_signed_reference_values is set: import a signed document (POST /v1/reference-values/import)",
        ));
    }
    let values: Vec<Value> = json_body(&bytes)?;
    // The default policy's settings (docs/tcb-baselines.md) are held to the forms a signed
    // document's are, one value where one decides; other names keep taking any JSON.
    if scute_refvalues::SETTING_NAMES.contains(&name.as_str()) {
        if let Some(problem) = scute_refvalues::values_problem(&name, &values) {
            return Err(Problem::new(Kind::ReferenceValuesRefused, problem));
        }
    }
    let text = serde_json::to_string(&values).map_err(Problem::internal)?;
    state
        .store
        .put_reference_value(&name, &text, crate::clock::now())
        .await?;
    rebuild_policies(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn get_reference(
    State(state): Shared,
    Path(name): Path<String>,
    _admin: Admin,
) -> Result<Json<Value>, Problem> {
    // The values in force: the admin's and those of signed documents valid now.
    crate::http::reference_values::in_force(&state)
        .await?
        .values_of(&name)
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no reference value {name:?}")))
}

/// Deletes the admin's values of `name` (a signed document's stay until the document is
/// deleted); allowed even with `require_signed_reference_values`, under which they no longer
/// count anyway.
pub(super) async fn delete_reference(
    State(state): Shared,
    Path(name): Path<String>,
    _admin: Admin,
) -> Result<StatusCode, Problem> {
    if !state.store.delete_reference_value(&name).await? {
        return Err(Problem::not_found(format!("no reference value {name:?}")));
    }
    rebuild_policies(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new token signing key, used by every replica within a second or so; the old keys stay
/// in the JWKS until the tokens they signed have expired.
pub(super) async fn rotate_signing_key(
    State(state): Shared,
    _admin: Admin,
) -> Result<Json<Value>, Problem> {
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

/// `?update=standard|early` of `POST /v1/collateral`: which of Intel's TCB evaluation data
/// sets a DCAP set is (the files cannot say); standard when absent.
fn update_param(
    params: &std::collections::HashMap<String, String>,
) -> Result<crate::config::CollateralUpdate, Problem> {
    match params.get("update") {
        None => Ok(crate::config::CollateralUpdate::Standard),
        Some(text) => crate::config::CollateralUpdate::parse(text).ok_or_else(|| {
            Problem::new(
                Kind::BadField,
                format!("update must be standard or early, not {text:?}"),
            )
        }),
    }
}

/// `?dry_run=true|false` of `POST /v1/collateral`: verify and report, store nothing.
fn dry_run_param(params: &std::collections::HashMap<String, String>) -> Result<bool, Problem> {
    match params.get("dry_run").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(text) => Err(Problem::new(
            Kind::BadField,
            format!("dry_run must be true or false, not {text:?}"),
        )),
    }
}

/// Body: `{"files": {"tcb_info.json": base64, ...}}` with the files of a collateral directory.
/// `?update=early` stores a DCAP set as the early one (`update_param`). `?dry_run=true`
/// verifies the set as import does and stores nothing: the answer lists every platform of the
/// set's TEE and FMSPC seen within `platform_retention_days`, with the status it has and the
/// one it would get (`collateral::dry_run`).
pub(super) async fn import_collateral(
    State(state): Shared,
    _admin: Admin,
    Query(params): Query<std::collections::HashMap<String, String>>,
    Body(bytes): Body,
) -> Result<Json<Value>, Problem> {
    let update = update_param(&params)?;
    let dry_run = dry_run_param(&params)?;
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
        if update != crate::config::CollateralUpdate::Standard {
            return Err(Problem::new(
                Kind::BadField,
                "update=early names one of Intel's TCB evaluation data sets: not for SEV-SNP",
            ));
        }
        let chain = files
            .get("ask_ark_chain.pem")
            .or_else(|| files.get("asvk_ark_chain.pem"));
        if dry_run {
            // SEV-SNP has no TCB evaluation to redo: the VEK is checked, nothing is judged.
            let (name, _, _) = crate::tee::snp::check_vek(
                &state.verifiers.snp_roots,
                vek,
                chain.map(Vec::as_slice),
                crate::clock::now(),
            )?;
            return Ok(Json(json!({
                "dry_run": true,
                "sets": [{ "tee": "snp", "stored": name }],
                "platforms": [],
                "changed": 0,
                "unchanged": 0,
            })));
        }
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
    if dry_run {
        let now = crate::clock::now();
        let report = crate::collateral::dry_run(
            Some(&state.store),
            &state.verifiers.anchors,
            &files,
            update,
            now,
            crate::platforms::retention_secs(&state.config),
            state.config.platforms_max,
        )
        .await?;
        return Ok(Json(report));
    }
    let (fmspc, ca, tee) = crate::collateral::import_as(
        &state.store,
        &state.verifiers.anchors,
        &files,
        crate::clock::now(),
        update,
    )
    .await?;
    state.collateral_changed().await?;
    Ok(Json(json!({ "fmspc": fmspc, "ca": ca, "tee": tee })))
}

/// Largest and default `?limit=` of `GET /v1/platforms`.
const PLATFORMS_LIMIT_MAX: u64 = 10_000;
const PLATFORMS_LIMIT_DEFAULT: u64 = 1_000;

/// `GET /v1/platforms[?tee=&limit=]`: the platforms attested within `platform_retention_days`,
/// most recently seen first (`platforms`), and how many there are in all.
pub(super) async fn list_platforms(
    State(state): Shared,
    _admin: Admin,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let limit = match params.get("limit") {
        None => PLATFORMS_LIMIT_DEFAULT,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=PLATFORMS_LIMIT_MAX).contains(n))
            .ok_or_else(|| {
                Problem::new(
                    Kind::BadField,
                    format!("limit must be 1 to {PLATFORMS_LIMIT_MAX}, not {text:?}"),
                )
            })?,
    };
    let tee = params.get("tee").map(String::as_str);
    if let Some(tee) = tee {
        if !["sgx", "tdx", "snp", "csv"].contains(&tee) {
            return Err(Problem::new(
                Kind::BadField,
                format!("tee must be sgx, tdx, snp or csv, not {tee:?}"),
            ));
        }
    }
    let now = crate::clock::now();
    let oldest = now - crate::platforms::retention_secs(&state.config);
    let (rows, total) = state.store.platforms(oldest, tee, None, limit).await?;
    let platforms: Vec<Value> = rows
        .iter()
        .map(|row| crate::platforms::row_json(row, now))
        .collect();
    Ok(Json(json!({ "platforms": platforms, "total": total })))
}
