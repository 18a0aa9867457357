//! Why a request was refused, apart from HTTP: every problem kind the service answers, listed
//! once, with its stable name (the `urn:scute:problem:` suffix clients and scripts match on) and
//! the class of answer it is. Domain code returns a [`Problem`]; only the HTTP layer
//! (`http::problem`) turns a class into a status code and a problem JSON body, and a front door
//! may answer a class its own way (the key broker answers every verdict with 401, as Trustee
//! does).

/// Every problem kind, once. The names are a wire contract: never rename one; add new kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub(crate) enum Kind {
    // The request is malformed.
    BadBody,
    BadField,
    MalformedJson,
    MalformedBase64,
    CollateralIncomplete,
    PccsBadParameter,
    PolicyInvalid,
    // Who is asking is not established.
    Unauthorized,
    SessionMissing,
    SessionUnknown,
    NonceMismatch,
    ProtocolVersion,
    TeeNotSupported,
    TokenInvalid,
    TokenNotFound,
    // A verdict against the evidence or its freshness.
    EvidenceRejected,
    CollateralRejected,
    CollateralMissing,
    EventlogRejected,
    EventlogMismatch,
    InitDataMismatch,
    ReportDataMismatch,
    NonceExpired,
    NonceReplayed,
    NonceUnknown,
    /// A signed reference-value document did not verify, was out of its validity or used a
    /// profile the service does not map, or the admin's values of a default-policy setting
    /// (`tcb_grace_days`…) do not have its form; nothing of it was stored (422).
    ReferenceValuesRefused,
    // A policy said no.
    PolicyDenied,
    /// `require_signed_reference_values`: the admin path to reference values is closed (403).
    ReferenceValuesSignedOnly,
    // What was asked for does not exist.
    NotFound,
    PolicyNotFound,
    PccsNotCached,
    // The request conflicts with what the service holds.
    CollateralRollback,
    PolicyMandatory,
    // Limits.
    BodyTimeout,
    PayloadTooLarge,
    Overloaded,
    // The service or what it depends on failed.
    StoreUnavailable,
    UpstreamUnavailable,
    UpstreamFailed,
    UpstreamRejected,
    PolicyFailed,
    Internal,
}

/// The kind of answer a problem is; the HTTP layer maps each class to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    BadRequest,
    Unauthenticated,
    /// A verdict on the evidence (422).
    Rejected,
    /// A policy's refusal (403).
    Denied,
    NotFound,
    Conflict,
    Timeout,
    TooLarge,
    /// The service is busy or its store unreachable: retry (503).
    Unavailable,
    /// An upstream (Intel PCS, AMD or Hygon KDS) failed or answered wrongly (502).
    Upstream,
    Internal,
}

impl Kind {
    /// The stable name: the suffix of the problem `type` URI.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::BadBody => "bad_body",
            Self::BadField => "bad_field",
            Self::MalformedJson => "malformed_json",
            Self::MalformedBase64 => "malformed_base64",
            Self::CollateralIncomplete => "collateral_incomplete",
            Self::PccsBadParameter => "pccs_bad_parameter",
            Self::PolicyInvalid => "policy_invalid",
            Self::Unauthorized => "unauthorized",
            Self::SessionMissing => "session_missing",
            Self::SessionUnknown => "session_unknown",
            Self::NonceMismatch => "nonce_mismatch",
            Self::ProtocolVersion => "protocol_version",
            Self::TeeNotSupported => "tee_not_supported",
            Self::TokenInvalid => "token_invalid",
            Self::TokenNotFound => "token_not_found",
            Self::EvidenceRejected => "evidence_rejected",
            Self::CollateralRejected => "collateral_rejected",
            Self::CollateralMissing => "collateral_missing",
            Self::EventlogRejected => "eventlog_rejected",
            Self::EventlogMismatch => "eventlog_mismatch",
            Self::InitDataMismatch => "init_data_mismatch",
            Self::ReportDataMismatch => "report_data_mismatch",
            Self::NonceExpired => "nonce_expired",
            Self::NonceReplayed => "nonce_replayed",
            Self::NonceUnknown => "nonce_unknown",
            Self::PolicyDenied => "policy_denied",
            Self::ReferenceValuesRefused => "reference_values_refused",
            Self::ReferenceValuesSignedOnly => "reference_values_signed_only",
            Self::NotFound => "not_found",
            Self::PolicyNotFound => "policy_not_found",
            Self::PccsNotCached => "pccs_not_cached",
            Self::CollateralRollback => "collateral_rollback",
            Self::PolicyMandatory => "policy_mandatory",
            Self::BodyTimeout => "body_timeout",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Overloaded => "overloaded",
            Self::StoreUnavailable => "store_unavailable",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::UpstreamFailed => "upstream_failed",
            Self::UpstreamRejected => "upstream_rejected",
            Self::PolicyFailed => "policy_failed",
            Self::Internal => "internal",
        }
    }

    pub(crate) const fn class(self) -> Class {
        match self {
            Self::BadBody
            | Self::BadField
            | Self::MalformedJson
            | Self::MalformedBase64
            | Self::CollateralIncomplete
            | Self::PccsBadParameter
            | Self::PolicyInvalid => Class::BadRequest,
            Self::Unauthorized
            | Self::SessionMissing
            | Self::SessionUnknown
            | Self::NonceMismatch
            | Self::ProtocolVersion
            | Self::TeeNotSupported
            | Self::TokenInvalid
            | Self::TokenNotFound => Class::Unauthenticated,
            Self::EvidenceRejected
            | Self::CollateralRejected
            | Self::CollateralMissing
            | Self::EventlogRejected
            | Self::EventlogMismatch
            | Self::InitDataMismatch
            | Self::ReportDataMismatch
            | Self::NonceExpired
            | Self::NonceReplayed
            | Self::NonceUnknown
            | Self::ReferenceValuesRefused => Class::Rejected,
            Self::PolicyDenied | Self::ReferenceValuesSignedOnly => Class::Denied,
            Self::NotFound | Self::PolicyNotFound | Self::PccsNotCached => Class::NotFound,
            Self::CollateralRollback | Self::PolicyMandatory => Class::Conflict,
            Self::BodyTimeout => Class::Timeout,
            Self::PayloadTooLarge => Class::TooLarge,
            Self::Overloaded | Self::StoreUnavailable => Class::Unavailable,
            Self::UpstreamUnavailable | Self::UpstreamFailed | Self::UpstreamRejected => {
                Class::Upstream
            }
            Self::PolicyFailed | Self::Internal => Class::Internal,
        }
    }

    /// Every kind, for the table's own tests.
    #[cfg(test)]
    pub(crate) const ALL: [Kind; 42] = [
        Self::BadBody,
        Self::BadField,
        Self::MalformedJson,
        Self::MalformedBase64,
        Self::CollateralIncomplete,
        Self::PccsBadParameter,
        Self::PolicyInvalid,
        Self::Unauthorized,
        Self::SessionMissing,
        Self::SessionUnknown,
        Self::NonceMismatch,
        Self::ProtocolVersion,
        Self::TeeNotSupported,
        Self::TokenInvalid,
        Self::TokenNotFound,
        Self::EvidenceRejected,
        Self::CollateralRejected,
        Self::CollateralMissing,
        Self::EventlogRejected,
        Self::EventlogMismatch,
        Self::InitDataMismatch,
        Self::ReportDataMismatch,
        Self::NonceExpired,
        Self::NonceReplayed,
        Self::NonceUnknown,
        Self::PolicyDenied,
        Self::ReferenceValuesRefused,
        Self::ReferenceValuesSignedOnly,
        Self::NotFound,
        Self::PolicyNotFound,
        Self::PccsNotCached,
        Self::CollateralRollback,
        Self::PolicyMandatory,
        Self::BodyTimeout,
        Self::PayloadTooLarge,
        Self::Overloaded,
        Self::StoreUnavailable,
        Self::UpstreamUnavailable,
        Self::UpstreamFailed,
        Self::UpstreamRejected,
        Self::PolicyFailed,
        Self::Internal,
    ];
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused request: its kind, and a message that names the field or the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub kind: Kind,
    pub detail: String,
}

impl Problem {
    pub(crate) fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            Kind::Unauthorized,
            "admin endpoints need Authorization: Bearer <admin token>",
        )
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, what)
    }

    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(Kind::Internal, detail.to_string())
    }

    /// A fault of the service or what it depends on, not of the request.
    pub(crate) fn is_service_fault(&self) -> bool {
        matches!(
            self.kind.class(),
            Class::Unavailable | Class::Upstream | Class::Internal
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

impl From<scute_api::RequestError> for Problem {
    fn from(e: scute_api::RequestError) -> Self {
        let kind = match e {
            scute_api::RequestError::MalformedJson(_) => Kind::MalformedJson,
            scute_api::RequestError::MalformedBase64 { .. } => Kind::MalformedBase64,
            _ => Kind::BadField,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<sqlx::Error> for Problem {
    /// A store that cannot be reached is the service being unavailable (503, retry), not a
    /// fault in the request or the service; it recovers when the database returns.
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Problem::new(
                Kind::StoreUnavailable,
                format!("the store cannot be reached ({e}); retry"),
            ),
            // PostgreSQL's "admin shutdown", "cannot connect now" and "connection failure"
            // classes: the database is going away or not yet back.
            sqlx::Error::Database(ref db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) =>
            {
                Problem::new(
                    Kind::StoreUnavailable,
                    format!("the store is unavailable ({e}); retry"),
                )
            }
            _ => Problem::internal(format!("store: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_distinct_name() {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
        for name in names {
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        }
    }
}
