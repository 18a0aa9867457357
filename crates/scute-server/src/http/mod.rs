//! The HTTP layer: the only part of the service that knows axum, routes, status codes and
//! headers. Handlers extract, call the domain, and answer; nothing below imports from here.

pub(crate) mod admin_auth;
pub(crate) mod api;
pub(crate) mod kbs;
pub(crate) mod kds;
pub(crate) mod openapi;
pub(crate) mod pccs;
pub(crate) mod problem;
pub(crate) mod serve;
pub(crate) mod state;
pub(crate) mod tls;

use crate::http::state::AppState;
use crate::problem::Problem;
use serde_json::Value;

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
    let policy_ids = crate::domain::appraisal::applied_policy_ids(&state.config, extra_policy_ids)
        .unwrap_or_else(|_| state.config.mandatory_policies.clone());
    let mut fields = vec![
        ("request_id", Value::String(crate::log::request_id())),
        ("route", Value::String(route.into())),
        ("tee", Value::String(tee.into())),
        ("policy_ids", serde_json::json!(policy_ids)),
    ];
    match outcome {
        Ok((ear_status, tcb_status)) => {
            fields.push(("decision", Value::String("token".into())));
            fields.push(("status", Value::String(ear_status.into())));
            fields.push(("tcb_status", Value::String(tcb_status.into())));
        }
        Err((e, http_status)) => {
            fields.push(("decision", Value::String("refused".into())));
            fields.push(("status", Value::String(e.kind.name().into())));
            fields.push(("http_status", Value::from(http_status)));
        }
    }
    crate::log::event("attestation", &fields);
}
