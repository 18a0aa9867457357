//! The OpenAPI 3.1 description of the API, served at /v1/openapi.json.

use serde_json::{json, Value};

fn problem() -> Value {
    json!({"description": "RFC 7807 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

/// A PCCS v4 read route: query parameters, the issuer-chain header (percent-encoded PEM).
fn pccs_get(summary: &str, params: &[&str], chain_header: &str) -> Value {
    let parameters: Vec<Value> = params
        .iter()
        .map(|p| json!({"name": p, "in": "query", "required": false, "schema": {"type": "string"}}))
        .collect();
    let mut ok = json!({"description": "as Intel PCS and PCCS answer"});
    if !chain_header.is_empty() {
        ok["headers"] = json!({chain_header: {"schema": {"type": "string"}, "description": "percent-encoded PEM issuer chain"}});
    }
    json!({"get": {"summary": summary, "parameters": parameters,
        "responses": {"200": ok, "400": problem(), "404": problem()}}})
}

pub fn document() -> Value {
    let admin = json!([{"adminToken": []}]);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Scute attestation service", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Challenge, evidence, Rego policy, reference values, EAR tokens (ES256 JWT)."},
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "status", "detail"], "properties": {
                    "type": {"type": "string", "description": "urn:scute:problem:<kind>"},
                    "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
                "Challenge": {"type": "object", "required": ["nonce", "expires_at"], "properties": {
                    "nonce": {"type": "string", "contentEncoding": "base64"}, "expires_at": {"type": "string", "format": "date-time"}}},
                "AttestRequest": {"type": "object", "required": ["tee", "evidence", "runtime_data"], "properties": {
                    "tee": {"enum": ["sgx", "tdx", "snp", "csv"]},
                    "evidence": {"type": "object", "required": ["quote"], "properties": {
                        "quote": {"type": "string", "contentEncoding": "base64", "description":
                            "the DCAP quote; for snp the raw attestation report; for csv a raw report or the CoCo CSV attester's evidence JSON"},
                        "cc_eventlog": {"type": "string", "contentEncoding": "base64"},
                        "vcek": {"type": "string", "contentEncoding": "base64", "description": "snp: the VCEK or VLEK, DER or PEM"},
                        "cert_chain": {"type": "string", "contentEncoding": "base64", "description": "snp: AMD KDS cert_chain (ASK or ASVK, then ARK), PEM"}}},
                    "runtime_data": {"type": "object", "required": ["nonce"], "description":
                        "report_data must be SHA-384 of the RFC 8785 canonical JSON of this object, then 16 zero bytes"},
                    "policy_ids": {"type": "array", "maxItems": 16, "items": {"type": "string"}, "description":
                        "policies applied on top of the service's mandatory ones"}}},
                "Token": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string", "description": "EAR JWT, ES256"}}}
            }
        },
        "paths": {
            "/v1/challenge": {"post": {"summary": "A single-use nonce", "responses": {
                "200": {"description": "nonce", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Challenge"}}}}}}},
            "/v1/attest": {"post": {"summary": "Evidence in, EAR token out",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AttestRequest"}}}},
                "responses": {"200": {"description": "token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Token"}}}},
                    "400": problem(), "403": problem(), "404": problem(), "408": problem(), "413": problem(), "422": problem(), "503": problem()}}},
            "/.well-known/jwks.json": {"get": {"summary": "Token verification keys", "responses": {"200": {"description": "JWK set"}}}},
            "/v1/policies/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "put": {"security": admin, "summary": "Store a Rego policy (package scute, rule trust_vector, optional deny)",
                    "requestBody": {"content": {"text/plain": {}}}, "responses": {"204": {"description": "stored"}, "400": problem(), "401": problem()}},
                "get": {"security": admin, "responses": {"200": {"description": "Rego text"}, "401": problem(), "404": problem()}},
                "delete": {"security": admin, "responses": {"204": {"description": "deleted"}, "401": problem(), "404": problem()}}},
            "/v1/reference-values/{name}": {
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
                "put": {"security": admin, "requestBody": {"content": {"application/json": {"schema": {"type": "array"}}}},
                    "responses": {"204": {"description": "stored"}, "400": problem(), "401": problem()}},
                "get": {"security": admin, "responses": {"200": {"description": "values"}, "401": problem(), "404": problem()}},
                "delete": {"security": admin, "responses": {"204": {"description": "deleted"}, "401": problem(), "404": problem()}}},
            "/v1/collateral": {"post": {"security": admin, "summary": "Import a collateral set (files of a collateral directory, base64)",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"files": {"type": "object"}}}}}},
                "responses": {"200": {"description": "stored, with its FMSPC and CA"}, "400": problem(), "401": problem(), "422": problem()}}},
            "/kbs/v0/auth": {"post": {"summary": "KBS 0.4.0 Request: a session cookie and a Challenge (nonce)",
                "responses": {"200": {"description": "Challenge; Set-Cookie kbs-session-id"}, "400": problem()}}},
            "/kbs/v0/attest": {"post": {"summary": "KBS Attestation (tee-pubkey, tee-evidence) for the session",
                "responses": {"200": {"description": "EAR token; the session is attested"}, "400": problem(), "401": {"description": "refused (session, nonce, evidence, binding or policy): kbs-types ErrorInformation, the problem kind in `type`"}}}},
            "/kbs/v0/resource/{repository}/{kind}/{tag}": {
                "parameters": [{"name": "repository", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "kind", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "tag", "in": "path", "required": true, "schema": {"type": "string"}}],
                "get": {"summary": "The resource as a JWE to the attested tee-pubkey, if the resource policy allows",
                    "responses": {"200": {"description": "JWE (JSON serialization)"}, "401": problem(), "403": problem(), "404": problem()}},
                "post": {"security": admin, "summary": "Store a resource (sealed at rest)",
                    "responses": {"200": {"description": "stored"}, "401": problem(), "413": problem()}}},
            "/kbs/v0/resource-policy": {"post": {"security": admin, "summary": "Set the Rego resource policy",
                "responses": {"200": {"description": "stored"}, "400": problem(), "401": problem()}}},
            "/kbs/v0/attestation-policy": {"post": {"security": admin, "summary": "Set a KBS attestation policy",
                "responses": {"200": {"description": "stored"}, "400": problem(), "401": problem()}}},
            "/sgx/certification/v4/tcb": pccs_get("SGX TCB Info JSON exactly as Intel signed it", &["fmspc", "update"], "TCB-Info-Issuer-Chain"),
            "/tdx/certification/v4/tcb": pccs_get("TDX TCB Info JSON exactly as Intel signed it", &["fmspc", "update"], "TCB-Info-Issuer-Chain"),
            "/sgx/certification/v4/qe/identity": pccs_get("SGX QE Identity", &["update"], "SGX-Enclave-Identity-Issuer-Chain"),
            "/tdx/certification/v4/qe/identity": pccs_get("TDX QE Identity", &["update"], "SGX-Enclave-Identity-Issuer-Chain"),
            "/sgx/certification/v4/qve/identity": pccs_get("QvE Identity", &["update"], "SGX-Enclave-Identity-Issuer-Chain"),
            "/sgx/certification/v4/pckcrl": pccs_get("PCK CRL: hex text, or DER with encoding=der", &["ca", "encoding"], "SGX-PCK-CRL-Issuer-Chain"),
            "/sgx/certification/v4/rootcacrl": pccs_get("Intel SGX Root CA CRL as hex text", &[], ""),
            "/sgx/certification/v4/pckcert": pccs_get("The PCK certificate of a registered platform by Intel's selection rule",
                &["qeid", "cpusvn", "pcesvn", "pceid", "encrypted_ppid"], "SGX-PCK-Certificate-Issuer-Chain"),
            "/sgx/certification/v4/platformcollateral": {"put": {"security": admin,
                "summary": "Import PCCS platform collateral JSON (platforms, PCK certificates, TCB Infos, identities, CRLs); verified before stored",
                "responses": {"200": {"description": "imported"}, "400": problem(), "401": problem(), "422": problem()}}},
            "/healthz": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/metrics": {"get": {"responses": {"200": {"description": "Prometheus text"}}}}
        }
    })
}
