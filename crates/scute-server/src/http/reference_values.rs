//! The signed side of the reference-value admin routes: importing a signed document
//! (`POST /v1/reference-values/import`), listing every value in force with its provenance
//! (`GET /v1/reference-values`), and removing a signed document
//! (`DELETE /v1/reference-values/documents/{digest}`). A document is verified by
//! `scute_refvalues` against `reference_value_signers` at the service's clock before anything is
//! stored; a refused one leaves the store as it was.

use crate::domain::reference::InForce;
use crate::http::admin::rebuild_policies;
use crate::http::admin_auth::Admin;
use crate::http::extract::Body;
use crate::http::state::AppState;
use crate::problem::{Kind, Problem};
use crate::store::SignedDocumentRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

type Shared = State<Arc<AppState>>;

/// The one name under `/v1/reference-values/` that POST takes.
pub(crate) const IMPORT: &str = "import";

/// The values in force now, as the next appraisal on this replica would read them.
pub(crate) async fn in_force(state: &AppState) -> Result<InForce, Problem> {
    InForce::load(
        &state.store,
        crate::clock::now(),
        !state.config.require_signed_reference_values,
        &state.reference_signers,
    )
    .await
    .map_err(|e| Problem::new(Kind::StoreUnavailable, e))
}

/// `POST /v1/reference-values/import`: body = the signed document's bytes (a DSSE envelope or
/// a signed CoRIM). Verified → stored with its provenance, answer `{"stored": [names],
/// "provenance": {...}}`; refused → `reference_values_refused` (422) with the reason.
pub(crate) async fn import(
    State(state): Shared,
    Path(name): Path<String>,
    _admin: Admin,
    Body(bytes): Body,
) -> Result<Response, Problem> {
    if name != IMPORT {
        // Only `import` takes a POST; any other name keeps answering as it always did.
        return Ok(StatusCode::METHOD_NOT_ALLOWED.into_response());
    }
    if state.reference_signers.is_empty() {
        return Err(Problem::new(
            Kind::ReferenceValuesRefused,
            "no reference_value_signers are configured: no signed document can verify",
        ));
    }
    let now = crate::clock::now();
    let verified = scute_refvalues::verify_document(&bytes, &state.reference_signers, now)
        .map_err(|e| Problem::new(Kind::ReferenceValuesRefused, e.to_string()))?;
    let provenance = verified.provenance;
    let format = serde_json::to_value(provenance.format)
        .map_err(Problem::internal)?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let row = SignedDocumentRow {
        digest: provenance.document_digest.clone(),
        signer: provenance.signer.clone(),
        format,
        not_before: provenance.not_before,
        not_after: provenance.not_after,
        values_json: serde_json::to_string(&verified.values).map_err(Problem::internal)?,
        imported: now,
        key_sha256: Some(provenance.signer_key_sha256.clone()),
    };
    let new = state.store.put_signed_reference_values(&row).await?;
    rebuild_policies(&state).await?;
    let stored: Vec<&String> = verified.values.keys().collect();
    Ok(Json(json!({
        "stored": stored,
        "provenance": provenance,
        "already_stored": !new,
    }))
    .into_response())
}

/// `GET /v1/reference-values`: every name in force with its values, each with its provenance,
/// and every stored signed document (counting now or not) with the names it holds, whether it
/// is in force and, when not, why (`signer_not_trusted`, `not_valid_now`, `superseded`).
pub(crate) async fn list(State(state): Shared, _admin: Admin) -> Result<Json<Value>, Problem> {
    let set = in_force(&state).await?;
    let documents: Vec<Value> = state
        .store
        .signed_reference_values()
        .await?
        .into_iter()
        .map(|doc| {
            // The set was read just before: a document stored in between is listed as not in
            // force until the next listing.
            let standing = set
                .documents
                .iter()
                .find(|s| s.document_digest == doc.digest);
            let names: Vec<String> =
                serde_json::from_str::<BTreeMap<String, Value>>(&doc.values_json)
                    .map(|m| m.into_keys().collect())
                    .unwrap_or_default();
            let mut entry = json!({
                "document_digest": doc.digest,
                "signer": doc.signer,
                "signer_key_sha256": doc.key_sha256,
                "format": doc.format,
                "not_before": doc.not_before,
                "not_after": doc.not_after,
                "imported": doc.imported,
                "names": names,
                "in_force": standing.is_some_and(|s| s.in_force),
            });
            if let Some(reason) = standing.and_then(|s| s.reason) {
                entry["reason"] = Value::from(reason);
            }
            if let Some(s) = standing.filter(|s| !s.superseded.is_empty()) {
                entry["superseded"] = json!(s.superseded);
            }
            entry
        })
        .collect();
    Ok(Json(json!({
        "reference_values": set.values,
        "documents": documents,
    })))
}

/// `DELETE /v1/reference-values/documents/{digest}`: the document's values stop counting.
pub(crate) async fn delete_document(
    State(state): Shared,
    Path(digest): Path<String>,
    _admin: Admin,
) -> Result<StatusCode, Problem> {
    if !state.store.delete_signed_reference_values(&digest).await? {
        return Err(Problem::not_found(format!(
            "no signed reference-value document {digest:?}"
        )));
    }
    rebuild_policies(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}
