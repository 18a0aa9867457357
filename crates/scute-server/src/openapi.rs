//! The OpenAPI 3.1 description of the API, served at /v1/openapi.json.

use serde_json::{json, Value};

fn problem() -> Value {
    json!({"description": "RFC 7807 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
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
                    "tee": {"enum": ["sgx", "tdx", "csv"]},
                    "evidence": {"type": "object", "required": ["quote"], "properties": {
                        "quote": {"type": "string", "contentEncoding": "base64", "description":
                            "the DCAP quote; for csv a raw report or the CoCo CSV attester's evidence JSON"},
                        "cc_eventlog": {"type": "string", "contentEncoding": "base64"}}},
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
            "/healthz": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/metrics": {"get": {"responses": {"200": {"description": "Prometheus text"}}}}
        }
    })
}
