//! The OpenAPI 3.1 description of the API, served at /v1/openapi.json, derived by `utoipa`:
//! the schemas from the wire types below (`ToSchema`), each route from its `#[utoipa::path]`
//! declaration. The handlers live in `api.rs`, `kbs.rs` and `pccs/`; the declarations here
//! name their request and response types, and `tests/it/api.rs` checks the served answers against
//! these schemas.

use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// An RFC 7807 problem: every error answer (`application/problem+json`).
#[allow(dead_code)] // a schema: the answer is built in `error.rs`
#[derive(ToSchema)]
struct Problem {
    /// urn:scute:problem:<kind>
    #[schema(rename = "type")]
    kind: String,
    title: Option<String>,
    status: u16,
    detail: String,
}

/// A single-use nonce (`POST /v1/challenge`).
#[allow(dead_code)]
#[derive(ToSchema)]
struct Challenge {
    #[schema(content_encoding = "base64")]
    nonce: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// The TEE that produced the evidence.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
enum Tee {
    Sgx,
    Tdx,
    Snp,
    Csv,
}

/// The evidence of `POST /v1/attest` (scute-api's `Evidence`).
#[allow(dead_code)]
#[derive(ToSchema)]
struct Evidence {
    /// the DCAP quote; for snp the raw attestation report; for csv a raw report or the CoCo CSV attester's evidence JSON
    #[schema(content_encoding = "base64")]
    quote: String,
    #[schema(content_encoding = "base64")]
    cc_eventlog: Option<String>,
    /// snp: the VCEK or VLEK, DER or PEM
    #[schema(content_encoding = "base64")]
    vcek: Option<String>,
    /// snp: AMD KDS cert_chain (ASK or ASVK, then ARK), PEM
    #[schema(content_encoding = "base64")]
    cert_chain: Option<String>,
}

/// report_data must be SHA-384 of the RFC 8785 canonical JSON of this object, then 16 zero bytes
#[allow(dead_code)]
#[derive(ToSchema)]
struct RuntimeData {
    /// a nonce from `POST /v1/challenge`, as given
    nonce: String,
}

/// The body of `POST /v1/attest` (scute-api's `Body`, which refuses any other field).
#[allow(dead_code)]
#[derive(ToSchema)]
struct AttestRequest {
    tee: Tee,
    evidence: Evidence,
    #[schema(inline)]
    runtime_data: RuntimeData,
    /// policies applied on top of the service's mandatory ones
    #[schema(max_items = 16)]
    policy_ids: Option<Vec<String>>,
}

/// The answer of `POST /v1/attest`.
#[allow(dead_code)]
#[derive(ToSchema)]
struct Token {
    /// EAR JWT, ES256
    token: String,
}

/// The body of `POST /v1/collateral`: the files of a collateral directory by name, each
/// base64.
#[allow(dead_code)]
#[derive(ToSchema)]
struct CollateralImport {
    files: std::collections::BTreeMap<String, String>,
}

/// The answer of `GET /v1/platforms`.
#[allow(dead_code)]
#[derive(ToSchema)]
struct Platforms {
    /// most recently seen first
    platforms: Vec<Platform>,
    /// how many platforms within the retention match (the list may be limited)
    total: u64,
}

/// A platform at one TCB level, with its last verdict (no evidence).
#[allow(dead_code)]
#[derive(ToSchema)]
struct Platform {
    /// sgx, tdx, snp or csv
    tee: String,
    /// FMSPC (SGX, TDX), chip id (SEV-SNP; the product when masked) or chip serial (CSV), hex
    platform: String,
    /// the TCB values the verdict depends on (SGX/TDX: PlatformTcb; SEV-SNP: reported TCB; CSV: firmware)
    #[schema(value_type = Object)]
    tcb: Value,
    /// the last TCB status (VekEndorsed for SEV-SNP, None for CSV)
    tcb_status: String,
    /// the last EAR status, or policy_denied
    ear_status: Option<String>,
    #[schema(format = DateTime)]
    tcb_date: Option<String>,
    /// the tcbDate of the level that superseded the platform's
    #[schema(format = DateTime)]
    superseded_at: Option<String>,
    #[schema(format = DateTime)]
    newest_tcb_date: Option<String>,
    /// whole days since superseded_at while the status is not UpToDate
    days_behind: Option<u64>,
    tcb_evaluation_data_number: Option<u64>,
    advisory_ids: Vec<String>,
    #[schema(format = DateTime)]
    first_seen: String,
    #[schema(format = DateTime)]
    last_seen: String,
    /// attestations counted
    attestations: u64,
}

/// The answer of `POST /v1/collateral?dry_run=true`.
#[allow(dead_code)]
#[derive(ToSchema)]
struct DryRun {
    dry_run: bool,
    /// standard or early
    update: Option<String>,
    /// each set as import reports it (fmspc, ca, tee)
    #[schema(value_type = Vec<Object>)]
    sets: Vec<Value>,
    /// every platform of the set's TEE and FMSPC within the retention (empty for SEV-SNP)
    platforms: Vec<DryRunPlatform>,
    changed: u64,
    unchanged: u64,
}

/// A platform as a dry run judges it: the same evaluation verification uses.
#[allow(dead_code)]
#[derive(ToSchema)]
struct DryRunPlatform {
    tee: String,
    platform: String,
    #[schema(value_type = Object)]
    tcb: Value,
    /// the last TCB status seen
    status: String,
    #[schema(format = DateTime)]
    tcb_date: Option<String>,
    /// the status under the new set, or the error kind (e.g. tcb_not_supported)
    new_status: String,
    changed: bool,
    #[schema(format = DateTime)]
    new_tcb_date: Option<String>,
    new_days_behind: Option<u64>,
    new_advisory_ids: Vec<String>,
    #[schema(format = DateTime)]
    last_seen: String,
}

/// One entry of `GET /v1/policies`.
#[allow(dead_code)]
#[derive(ToSchema)]
struct PolicySummary {
    id: String,
    /// the configuration's `mandatory_policies` names it: applied to every attestation
    mandatory: bool,
    /// SHA-256 of the Rego text, hex
    sha256: String,
    /// when it was stored (absent for the built-in default)
    #[schema(format = DateTime)]
    updated: Option<String>,
    /// the built-in default policy, served while no stored policy replaces it
    builtin: Option<bool>,
}

/// Operations that require the admin token (`security(("adminToken" = []))`).
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "adminToken",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The declarations of the routes: each function names one route's method, path, parameters,
/// bodies and answers; none is called.
#[allow(dead_code)]
mod routes {
    use super::{
        AdminToken, AttestRequest, Challenge, CollateralImport, DryRun, DryRunPlatform, Platform,
        Platforms, PolicySummary, Problem, Token,
    };

    #[utoipa::path(post, path = "/v1/challenge", summary = "A single-use nonce",
        responses((status = 200, description = "nonce", body = Challenge)))]
    fn challenge() {}

    #[utoipa::path(post, path = "/v1/attest", summary = "Evidence in, EAR token out",
        request_body = AttestRequest,
        responses(
            (status = 200, description = "token", body = Token),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 403, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 408, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 413, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 503, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn attest() {}

    #[utoipa::path(get, path = "/.well-known/jwks.json", summary = "Token verification keys",
        responses((status = 200, description = "JWK set", body = Object)))]
    fn jwks() {}

    #[utoipa::path(get, path = "/v1/policies", security(("adminToken" = [])),
        summary = "Every policy: id, mandatory, SHA-256 of its Rego, when stored",
        responses(
            (status = 200, description = "the policies, by id", body = Vec<PolicySummary>),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn list_policies() {}

    #[utoipa::path(put, path = "/v1/policies/{id}", security(("adminToken" = [])),
        summary = "Store a Rego policy (package scute, rule trust_vector, optional deny)",
        params(("id" = String, Path)),
        request_body(content = String, content_type = "text/plain"),
        responses(
            (status = 204, description = "stored"),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn put_policy() {}

    #[utoipa::path(get, path = "/v1/policies/{id}", security(("adminToken" = [])),
        summary = "A stored Rego policy",
        params(("id" = String, Path)),
        responses(
            (status = 200, description = "Rego text", body = String, content_type = "text/plain"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn get_policy() {}

    #[utoipa::path(delete, path = "/v1/policies/{id}", security(("adminToken" = [])),
        summary = "Delete a stored policy",
        params(("id" = String, Path)),
        responses(
            (status = 204, description = "deleted"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn delete_policy() {}

    #[utoipa::path(put, path = "/v1/reference-values/{name}", security(("adminToken" = [])),
        summary = "Store a set of reference values",
        params(("name" = String, Path)),
        request_body(content = Vec<Object>),
        responses(
            (status = 204, description = "stored"),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 403, description = "reference_values_signed_only (require_signed_reference_values)", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "reference_values_refused: a default-policy setting (docs/tcb-baselines.md) of the wrong form or with more than one value; nothing stored", body = Problem, content_type = "application/problem+json")))]
    fn put_reference_values() {}

    #[utoipa::path(get, path = "/v1/reference-values/{name}", security(("adminToken" = [])),
        summary = "A stored set of reference values",
        params(("name" = String, Path)),
        responses(
            (status = 200, description = "values", body = Vec<Object>),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn get_reference_values() {}

    #[utoipa::path(delete, path = "/v1/reference-values/{name}", security(("adminToken" = [])),
        summary = "Delete a stored set of reference values",
        params(("name" = String, Path)),
        responses(
            (status = 204, description = "deleted"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn delete_reference_values() {}

    #[utoipa::path(post, path = "/v1/reference-values/import", security(("adminToken" = [])),
        summary = "Import signed reference values (a DSSE envelope or a signed CoRIM), verified against reference_value_signers",
        request_body(content = Vec<u8>, content_type = "application/octet-stream"),
        responses(
            (status = 200, description = "stored: {\"stored\": [names], \"provenance\": {format, signer, signer_key_sha256, document_digest, not_before, not_after}, \"already_stored\": bool}", body = Object),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 413, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "reference_values_refused: nothing stored", body = Problem, content_type = "application/problem+json")))]
    fn import_reference_values() {}

    #[utoipa::path(get, path = "/v1/reference-values", security(("adminToken" = [])),
        summary = "Every reference value in force with its provenance, and every stored signed document",
        responses(
            (status = 200, description = "{\"reference_values\": {name: [{value, source, document_digest?, not_before?, not_after?}]}, \"documents\": [...]}", body = Object),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn list_reference_values() {}

    #[utoipa::path(delete, path = "/v1/reference-values/documents/{digest}", security(("adminToken" = [])),
        summary = "Delete a signed reference-value document (its values stop counting)",
        params(("digest" = String, Path, description = "sha256:<hex> of the document")),
        responses(
            (status = 204, description = "deleted"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn delete_reference_document() {}

    #[utoipa::path(post, path = "/v1/collateral", security(("adminToken" = [])),
        summary = "Import a collateral set (files of a collateral directory, base64)",
        params(("update" = Option<String>, Query, description = "DCAP: which of Intel's TCB evaluation data sets this is, standard (the default) or early"),
            ("dry_run" = Option<bool>, Query, description = "true: verify as import does and store nothing; the answer lists every platform of the set's TEE and FMSPC seen within platform_retention_days with its status and the one it would get (DryRun)")),
        request_body = CollateralImport,
        responses(
            (status = 200, description = "stored, with its FMSPC and CA", body = Object),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn import_collateral() {}

    #[utoipa::path(get, path = "/v1/platforms", security(("adminToken" = [])),
        summary = "The platforms attested within platform_retention_days (TEE, FMSPC or chip, TCB level, last verdict, last seen), most recently seen first",
        params(("tee" = Option<String>, Query, description = "sgx, tdx, snp or csv"),
            ("limit" = Option<u64>, Query, description = "at most this many (1 to 10000, default 1000)")),
        responses(
            (status = 200, description = "the platforms, and how many there are in all", body = Platforms),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn list_platforms() {}

    #[utoipa::path(post, path = "/kbs/v0/auth",
        summary = "KBS 0.4.0 Request: a session cookie and a Challenge (nonce)",
        responses(
            (status = 200, description = "Challenge; Set-Cookie kbs-session-id"),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn kbs_auth() {}

    #[utoipa::path(post, path = "/kbs/v0/attest",
        summary = "KBS Attestation (tee-pubkey, tee-evidence) for the session",
        responses(
            (status = 200, description = "EAR token; the session is attested"),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "refused (session, nonce, evidence, binding or policy): kbs-types ErrorInformation, the problem kind in `type`")))]
    fn kbs_attest() {}

    #[utoipa::path(get, path = "/kbs/v0/resource/{repository}/{kind}/{tag}",
        summary = "The resource as a JWE to the attested tee-pubkey, if the resource policy allows",
        params(("repository" = String, Path), ("kind" = String, Path), ("tag" = String, Path)),
        responses(
            (status = 200, description = "JWE (JSON serialization)"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 403, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn kbs_get_resource() {}

    #[utoipa::path(post, path = "/kbs/v0/resource/{repository}/{kind}/{tag}", security(("adminToken" = [])),
        summary = "Store a resource (sealed at rest)",
        params(("repository" = String, Path), ("kind" = String, Path), ("tag" = String, Path)),
        responses(
            (status = 200, description = "stored"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 413, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn kbs_put_resource() {}

    #[utoipa::path(post, path = "/kbs/v0/resource-policy", security(("adminToken" = [])),
        summary = "Set the Rego resource policy",
        responses(
            (status = 200, description = "stored"),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn kbs_resource_policy() {}

    #[utoipa::path(post, path = "/kbs/v0/attestation-policy", security(("adminToken" = [])),
        summary = "Set a KBS attestation policy",
        responses(
            (status = 200, description = "stored"),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn kbs_attestation_policy() {}

    #[utoipa::path(get, path = "/sgx/certification/v4/tcb",
        summary = "SGX TCB Info JSON exactly as Intel signed it",
        params(("fmspc" = Option<String>, Query), ("update" = Option<String>, Query)),
        responses(
            (status = 200, description = "as Intel PCS and PCCS answer",
                headers(("TCB-Info-Issuer-Chain" = String, description = "percent-encoded PEM issuer chain"))),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn sgx_tcb() {}

    #[utoipa::path(get, path = "/tdx/certification/v4/tcb",
        summary = "TDX TCB Info JSON exactly as Intel signed it",
        params(("fmspc" = Option<String>, Query), ("update" = Option<String>, Query)),
        responses(
            (status = 200, description = "as Intel PCS and PCCS answer",
                headers(("TCB-Info-Issuer-Chain" = String, description = "percent-encoded PEM issuer chain"))),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn tdx_tcb() {}

    #[utoipa::path(get, path = "/sgx/certification/v4/qe/identity", summary = "SGX QE Identity",
        params(("update" = Option<String>, Query)),
        responses(
            (status = 200, description = "as Intel PCS and PCCS answer",
                headers(("SGX-Enclave-Identity-Issuer-Chain" = String, description = "percent-encoded PEM issuer chain"))),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn sgx_qe_identity() {}

    #[utoipa::path(get, path = "/tdx/certification/v4/qe/identity", summary = "TDX QE Identity",
        params(("update" = Option<String>, Query)),
        responses(
            (status = 200, description = "as Intel PCS and PCCS answer",
                headers(("SGX-Enclave-Identity-Issuer-Chain" = String, description = "percent-encoded PEM issuer chain"))),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn tdx_qe_identity() {}

    #[utoipa::path(get, path = "/sgx/certification/v4/qve/identity", summary = "QvE Identity",
        params(("update" = Option<String>, Query)),
        responses(
            (status = 200, description = "as Intel PCS and PCCS answer",
                headers(("SGX-Enclave-Identity-Issuer-Chain" = String, description = "percent-encoded PEM issuer chain"))),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn qve_identity() {}

    #[utoipa::path(get, path = "/sgx/certification/v4/pckcrl",
        summary = "PCK CRL: hex text, or DER with encoding=der",
        params(("ca" = Option<String>, Query), ("encoding" = Option<String>, Query)),
        responses(
            (status = 200, description = "as Intel PCS and PCCS answer",
                headers(("SGX-PCK-CRL-Issuer-Chain" = String, description = "percent-encoded PEM issuer chain"))),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn pck_crl() {}

    #[utoipa::path(get, path = "/sgx/certification/v4/rootcacrl",
        summary = "Intel SGX Root CA CRL as hex text",
        responses(
            (status = 200, description = "as Intel PCS and PCCS answer"),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn root_ca_crl() {}

    #[utoipa::path(get, path = "/sgx/certification/v4/pckcert",
        summary = "The PCK certificate of a registered platform by Intel's selection rule",
        params(("qeid" = Option<String>, Query), ("cpusvn" = Option<String>, Query),
            ("pcesvn" = Option<String>, Query), ("pceid" = Option<String>, Query),
            ("encrypted_ppid" = Option<String>, Query)),
        responses(
            (status = 200, description = "as Intel PCS and PCCS answer",
                headers(("SGX-PCK-Certificate-Issuer-Chain" = String, description = "percent-encoded PEM issuer chain"))),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn pck_cert() {}

    #[utoipa::path(put, path = "/sgx/certification/v4/platformcollateral", security(("adminToken" = [])),
        summary = "Import PCCS platform collateral JSON (platforms, PCK certificates, TCB Infos, identities, CRLs); verified before stored",
        request_body(content = Object),
        responses(
            (status = 200, description = "imported"),
            (status = 400, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "RFC 7807 problem", body = Problem, content_type = "application/problem+json")))]
    fn platform_collateral() {}

    #[utoipa::path(get, path = "/healthz", summary = "Liveness",
        responses((status = 200, description = "ok", body = Object)))]
    fn healthz() {}

    #[utoipa::path(get, path = "/metrics",
        summary = "Counters and aggregates (no FMSPC; the metrics_listen listener has the per-set lines)",
        responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain; version=0.0.4")))]
    fn metrics() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(
            title = "Scute attestation service",
            description = "Challenge, evidence, Rego policy, reference values, EAR tokens (ES256 JWT)."
        ),
        paths(
            challenge, attest, jwks, list_policies, put_policy, get_policy, delete_policy, put_reference_values,
            get_reference_values, delete_reference_values, import_reference_values,
            list_reference_values, delete_reference_document, import_collateral, list_platforms,
            kbs_auth, kbs_attest,
            kbs_get_resource, kbs_put_resource, kbs_resource_policy, kbs_attestation_policy,
            sgx_tcb, tdx_tcb, sgx_qe_identity, tdx_qe_identity, qve_identity, pck_crl,
            root_ca_crl, pck_cert, platform_collateral, healthz, metrics
        ),
        components(schemas(Problem, Challenge, AttestRequest, Token, PolicySummary, Platforms, Platform, DryRun, DryRunPlatform)),
        modifiers(&AdminToken)
    )]
    pub(super) struct Document;
}

pub(crate) fn document() -> Value {
    // The document is made of literals; serialising it cannot fail.
    serde_json::to_value(routes::Document::openapi()).unwrap_or(Value::Null)
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Follows a `$ref` within `root`.
    fn resolved<'a>(root: &'a Value, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => root
                .pointer(r.trim_start_matches('#'))
                .unwrap_or(&Value::Null),
            None => v,
        }
    }

    /// The document before utoipa, with each path item's parameters moved into its
    /// operations (where utoipa writes them; OpenAPI reads both the same).
    fn previous() -> Value {
        let mut doc: Value =
            serde_json::from_str(include_str!("../../testdata/openapi-before-utoipa.json"))
                .unwrap();
        for item in doc["paths"].as_object_mut().unwrap().values_mut() {
            let item = item.as_object_mut().unwrap();
            if let Some(params) = item.remove("parameters") {
                for op in item.values_mut() {
                    op["parameters"] = params.clone();
                }
            }
        }
        doc
    }

    /// Everything `old` says, `new` says too (it may say more): every key, every required
    /// field, every enum value, every parameter by name; a type may only widen to allow null.
    fn covers(roots: (&Value, &Value), old: &Value, new: &Value, at: &str, gaps: &mut Vec<String>) {
        let (old, new) = (resolved(roots.0, old), resolved(roots.1, new));
        match old {
            Value::Object(fields) => {
                for (key, value) in fields {
                    let at = format!("{at}/{key}");
                    let Some(theirs) = new.get(key) else {
                        // An empty list (no parameters) says nothing.
                        if value.as_array().is_none_or(|a| !a.is_empty()) {
                            gaps.push(format!("{at}: missing"));
                        }
                        continue;
                    };
                    match (key.as_str(), value) {
                        ("type", Value::String(t)) => {
                            let widened = theirs.as_array().is_some_and(|a| {
                                a.contains(value) && a.iter().all(|x| x == value || x == "null")
                            });
                            if theirs != value && !widened {
                                gaps.push(format!("{at}: {t} became {theirs}"));
                            }
                        }
                        ("version", _) => {}
                        _ => covers(roots, value, theirs, &at, gaps),
                    }
                }
            }
            Value::Array(items) => {
                let named = |v: &Value| v.get("name").cloned();
                for item in items {
                    let found = new.as_array().is_some_and(|theirs| {
                        theirs.iter().any(|t| match named(item) {
                            Some(name) => {
                                named(t) == Some(name.clone()) && {
                                    let mut g = Vec::new();
                                    covers(roots, item, t, at, &mut g);
                                    g.is_empty()
                                }
                            }
                            None => {
                                let mut g = Vec::new();
                                covers(roots, item, t, at, &mut g);
                                g.is_empty()
                            }
                        })
                    });
                    if !found {
                        gaps.push(format!("{at}: {item} not found in {new}"));
                    }
                }
            }
            _ if old == new => {}
            _ => gaps.push(format!("{at}: {old} became {new}")),
        }
    }

    /// The derived document says everything the hand-written one said: every path, method,
    /// parameter, body, answer, header, schema field, requirement and security rule.
    #[test]
    fn the_derived_document_covers_the_hand_written_one() {
        let (old, new) = (previous(), document());
        let mut gaps = Vec::new();
        covers((&old, &new), &old, &new, "", &mut gaps);
        assert!(gaps.is_empty(), "{gaps:#?}");
        assert_eq!(new["openapi"], "3.1.0");
        assert_eq!(new["info"]["version"], env!("CARGO_PKG_VERSION"));
    }

    /// The check above can fail: a document missing one answer, or narrowing a type, does not
    /// cover the old one.
    #[test]
    fn a_lost_answer_or_field_is_a_gap() {
        let old = previous();
        let mut new = document();
        new["paths"]["/v1/attest"]["post"]["responses"]
            .as_object_mut()
            .unwrap()
            .remove("413");
        new["components"]["schemas"]["Evidence"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("vcek");
        let mut gaps = Vec::new();
        covers((&old, &new), &old, &new, "", &mut gaps);
        assert!(gaps.iter().any(|g| g.contains("413")), "{gaps:#?}");
        assert!(gaps.iter().any(|g| g.contains("vcek")), "{gaps:#?}");
    }
}
