//! Problems on the wire: the one table from a problem's class to its HTTP status, and the RFC
//! 7807 problem JSON body (`type` = `urn:scute:problem:<kind>`). Hostile input is always a 4xx,
//! never a 5xx.

use crate::problem::{Class, Problem};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const PROBLEM_TYPE_PREFIX: &str = "urn:scute:problem:";

/// The status code of a problem, by its class.
pub(crate) fn status(problem: &Problem) -> StatusCode {
    match problem.kind.class() {
        Class::BadRequest => StatusCode::BAD_REQUEST,
        Class::Unauthenticated => StatusCode::UNAUTHORIZED,
        Class::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
        Class::Denied => StatusCode::FORBIDDEN,
        Class::NotFound => StatusCode::NOT_FOUND,
        Class::Conflict => StatusCode::CONFLICT,
        Class::Timeout => StatusCode::REQUEST_TIMEOUT,
        Class::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Class::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Class::Upstream => StatusCode::BAD_GATEWAY,
        Class::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The status the key broker answers a refused attestation with: 401, as Trustee does (its
/// `kbs/src/error.rs` `ResponseError` maps every error but a bad path (404) and a resource
/// policy denial (403) to 401, with a kbs-types `ErrorInformation` body), because the client
/// reads the reason only from a 401 (guest-components `kbs_protocol/src/client/rcar_client.rs`
/// prints "KBS attest unauthorized, Error Info: ..."; any other status is "KBS Server Internal
/// Failed"). So every verdict against the evidence — its checks (`evidence_rejected`,
/// `report_data_mismatch`, `init_data_mismatch`, `collateral_missing`, ...) and the
/// attestation policy (`policy_denied`) — becomes a 401 with the same problem `type`, so
/// scripts still tell the kinds apart. A malformed request stays a 400 and the service's own
/// failures stay 5xx: neither is a verdict on the guest.
pub(crate) fn kbs_attest_status(problem: &Problem) -> StatusCode {
    match problem.kind.class() {
        Class::Rejected | Class::Denied => StatusCode::UNAUTHORIZED,
        _ => status(problem),
    }
}

/// A problem answered with the given status (a front door's own mapping).
pub(crate) fn response(problem: &Problem, status: StatusCode) -> Response {
    let body = json!({
        "type": format!("{PROBLEM_TYPE_PREFIX}{}", problem.kind.name()),
        "title": problem.kind.name().replace('_', " "),
        "status": status.as_u16(),
        "detail": problem.detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        response(&self, status(&self))
    }
}

/// A refused key-broker attestation, answered as [`kbs_attest_status`] says.
pub(crate) struct KbsRefusal(pub(crate) Problem);

impl IntoResponse for KbsRefusal {
    fn into_response(self) -> Response {
        response(&self.0, kbs_attest_status(&self.0))
    }
}
