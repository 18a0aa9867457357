//! The service end to end: a real server on a loopback socket, a real SQLite store in a temp
//! directory, quotes from the simulated TEE. Every error path has its status and problem type.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use scute_server::{Config, PROBLEM_TYPE_PREFIX};
use scute_sim::{Simulator, Tee, Workload};
use scute_test::{collateral_files, TestService};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

const NOW_SLACK: i64 = 0;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + NOW_SLACK
}

struct Harness {
    service: TestService,
    sim: Simulator,
}

impl std::ops::Deref for Harness {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.service
    }
}

/// Every harness here limits request bodies to 64 KiB, whatever else it changes.
fn with_small_bodies(tweak: impl FnOnce(&mut Config)) -> impl FnOnce(&mut Config) {
    move |c| {
        c.max_body_bytes = 64 * 1024;
        tweak(c)
    }
}

impl Harness {
    /// A server trusting the simulator's root, with its TDX and (optionally) no collateral.
    async fn start(import: bool, tweak: impl FnOnce(&mut Config)) -> Self {
        let sim = Simulator::new(1, now()).unwrap();
        let mut builder = TestService::builder().trust_intel(&sim);
        if import {
            builder = builder.import_sim(&sim, Tee::Tdx);
        }
        let service = builder.start_with(with_small_bodies(tweak)).await;
        Self { service, sim }
    }

    /// Starts again on a directory a stopped harness left.
    async fn boot(dir: tempfile::TempDir, sim: Simulator, tweak: impl FnOnce(&mut Config)) -> Self {
        let service = TestService::builder_in(dir)
            .trust_intel(&sim)
            .start_with(with_small_bodies(tweak))
            .await;
        Self { service, sim }
    }

    async fn stop(self) -> (tempfile::TempDir, Simulator) {
        let sim = Simulator::from_state(&self.sim.to_state()).unwrap();
        (self.service.stop().await, sim)
    }

    async fn challenge(&self) -> String {
        let r = self
            .http
            .post(format!("{}/v1/challenge", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
        v["nonce"].as_str().unwrap().to_string()
    }

    fn quote_for(&self, runtime_data: &Value, tweak: impl FnOnce(&mut Workload)) -> Vec<u8> {
        let report_data = scute_test::report_data(runtime_data);
        let mut w = Workload::new(Tee::Tdx, 4, report_data);
        tweak(&mut w);
        self.sim.quote(&w).unwrap().encode()
    }

    async fn post_attest(&self, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/v1/attest", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A full, honest attestation; returns (status, body, nonce).
    async fn attest(
        &self,
        extra: Value,
        policy: Option<&str>,
        tweak: impl FnOnce(&mut Workload),
    ) -> (StatusCode, Value, String) {
        let nonce = self.challenge().await;
        let mut runtime = json!({ "nonce": nonce });
        if let Value::Object(m) = extra {
            runtime.as_object_mut().unwrap().extend(m);
        }
        let quote = self.quote_for(&runtime, tweak);
        let mut body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
        if let Some(p) = policy {
            body["policy_ids"] = json!([p]);
        }
        let (status, v) = self.post_attest(&body).await;
        (status, v, nonce)
    }

    async fn jwks(&self) -> Value {
        self.http
            .get(format!("{}/.well-known/jwks.json", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn verify_token(&self, token: &str) -> Value {
        let jwks = self.jwks().await;
        let key = &jwks["keys"][0];
        let decoding =
            DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
                .unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(token, &decoding, &validation)
            .unwrap()
            .claims
    }

    async fn admin_put(
        &self,
        path: &str,
        body: String,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.put(format!("{}{path}", self.url)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

fn assert_problem(status: StatusCode, body: &Value, want_status: StatusCode, kind: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(
        body["type"],
        format!("{PROBLEM_TYPE_PREFIX}{kind}"),
        "{body}"
    );
    assert_eq!(body["status"], want_status.as_u16());
}

#[tokio::test]
async fn a_good_attestation_yields_a_token_the_jwks_verifies() {
    let h = Harness::start(true, |_| {}).await;
    let (status, body, nonce) = h
        .attest(
            json!({"tee-pubkey": {"kty": "EC", "x": "abc"}}),
            None,
            |_| {},
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = h.verify_token(body["token"].as_str().unwrap()).await;
    assert_eq!(claims["eat_profile"], scute_server::EAR_PROFILE);
    assert_eq!(claims["eat_nonce"], nonce);
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    let sub = &claims["submods"]["cpu0"];
    let evidence = &sub["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["tcb_status"], "UpToDate");
    assert_eq!(evidence["tee"], "tdx");
    assert_eq!(evidence["runtime_data"]["tee-pubkey"]["x"], "abc");
    let quote = scute_quote::Quote::decode(&h.quote_for(&json!({"nonce": nonce}), |_| {})).unwrap();
    assert_eq!(
        evidence["measurements"]["mr_td"],
        hex::encode(quote.body.td10().unwrap().mr_td)
    );
    assert_eq!(sub["ear_trustworthiness_vector"]["hardware"], 2);
    // No reference values yet: executables unrecognised, so the status is a warning.
    assert_eq!(sub["ear_trustworthiness_vector"]["executables"], 33);
    assert_eq!(sub["ear_status"], "warning");
    assert_eq!(sub["ear_appraisal_policy_ids"], json!(["default"]));
}

#[tokio::test]
async fn reference_values_make_executables_affirming() {
    let h = Harness::start(true, |_| {}).await;
    let probe = scute_quote::Quote::decode(&h.quote_for(&json!({"nonce": "x"}), |_| {})).unwrap();
    let mr_td = hex::encode(probe.body.td10().unwrap().mr_td);
    let (s, _) = h
        .admin_put(
            "/v1/reference-values/mr_td",
            json!([mr_td, "00"]).to_string(),
            Some(&h.admin),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (status, body, _) = h.attest(json!({}), None, |_| {}).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = h.verify_token(body["token"].as_str().unwrap()).await;
    assert_eq!(
        claims["submods"]["cpu0"]["ear_trustworthiness_vector"]["executables"],
        2
    );
    assert_eq!(claims["ear_status"], "affirming");
    // A different TD: unrecognised.
    h.admin_put(
        "/v1/reference-values/mr_td",
        json!(["00"]).to_string(),
        Some(&h.admin),
    )
    .await;
    let (_, body, _) = h.attest(json!({}), None, |_| {}).await;
    let claims = h.verify_token(body["token"].as_str().unwrap()).await;
    assert_eq!(
        claims["submods"]["cpu0"]["ear_trustworthiness_vector"]["executables"],
        33
    );
    let r = h
        .http
        .get(format!("{}/v1/reference-values/mr_td", h.url))
        .bearer_auth(&h.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!(["00"]));
}

#[tokio::test]
async fn a_debug_td_is_contraindicated() {
    let h = Harness::start(true, |_| {}).await;
    let (status, body, _) = h.attest(json!({}), None, |w| w.debug = true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = h.verify_token(body["token"].as_str().unwrap()).await;
    assert_eq!(claims["ear_status"], "contraindicated");
    assert_eq!(
        claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"]["debug"],
        true
    );
}

#[tokio::test]
async fn nonces_are_single_use_known_and_fresh() {
    let h = Harness::start(true, |_| {}).await;
    let nonce = h.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(h.quote_for(&runtime, |_| {})) }, "runtime_data": runtime });
    assert_eq!(h.post_attest(&body).await.0, StatusCode::OK);
    let (s, b) = h.post_attest(&body).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "nonce_replayed");

    let forged = json!({ "nonce": STANDARD.encode([9u8; 32]) });
    let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(h.quote_for(&forged, |_| {})) }, "runtime_data": forged });
    let (s, b) = h.post_attest(&body).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "nonce_unknown");
}

#[tokio::test]
async fn an_expired_nonce_is_refused() {
    let h = Harness::start(true, |c| c.nonce_lifetime_secs = 1).await;
    let nonce = h.challenge().await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let runtime = json!({ "nonce": nonce });
    let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(h.quote_for(&runtime, |_| {})) }, "runtime_data": runtime });
    let (s, b) = h.post_attest(&body).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "nonce_expired");
}

#[tokio::test]
async fn report_data_must_bind_the_runtime_data() {
    let h = Harness::start(true, |_| {}).await;
    let nonce = h.challenge().await;
    let runtime = json!({ "nonce": nonce, "tee-pubkey": "mine" });
    let quote = h.quote_for(
        &json!({ "nonce": nonce, "tee-pubkey": "someone else's" }),
        |_| {},
    );
    let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
    let (s, b) = h.post_attest(&body).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "report_data_mismatch",
    );
}

#[tokio::test]
async fn evidence_from_an_untrusted_root_is_rejected() {
    let h = Harness::start(true, |_| {}).await;
    let nonce = h.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let rd = scute_test::report_data(&runtime);
    // Another simulated machine (another root) with the same FMSPC.
    let stranger = Simulator::new(2, now())
        .unwrap()
        .quote(&Workload::new(Tee::Tdx, 4, rd))
        .unwrap()
        .encode();
    let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(stranger) }, "runtime_data": runtime });
    let (s, b) = h.post_attest(&body).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "evidence_rejected");
    assert!(
        b["detail"].as_str().unwrap().contains("untrusted_root"),
        "{b}"
    );
}

#[tokio::test]
async fn policies_can_deny_and_bad_policies_are_refused_at_upload() {
    let h = Harness::start(true, |_| {}).await;
    let deny = "package scute\nimport rego.v1\ntrust_vector := {\"hardware\": 2}\ndeny contains \"no TDs today\" if input.tee == \"tdx\"\n";
    let (s, _) = h
        .admin_put("/v1/policies/strict", deny.into(), Some(&h.admin))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b, _) = h.attest(json!({}), Some("strict"), |_| {}).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "policy_denied");
    assert!(b["detail"].as_str().unwrap().contains("no TDs today"));
    let (s, b, _) = h.attest(json!({}), Some("nope"), |_| {}).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "policy_not_found");
    let (s, b) = h
        .admin_put(
            "/v1/policies/broken",
            "package scute\ntrust_vector := {".into(),
            Some(&h.admin),
        )
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "policy_invalid");
    let (s, b) = h
        .admin_put(
            "/v1/policies/elsewhere",
            "package other\nx := 1\n".into(),
            Some(&h.admin),
        )
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "policy_invalid");
    let r = h
        .http
        .get(format!("{}/v1/policies/strict", h.url))
        .bearer_auth(&h.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), deny);
    let r = h
        .http
        .delete(format!("{}/v1/policies/strict", h.url))
        .bearer_auth(&h.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _, _) = h.attest(json!({}), Some("strict"), |_| {}).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_requests_are_4xx_naming_the_field() {
    let h = Harness::start(true, |_| {}).await;
    let r = h
        .http
        .post(format!("{}/v1/attest", h.url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_problem(
        s,
        &r.json().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    let (s, b) = h
        .post_attest(
            &json!({"tee": "tdx", "evidence": {"quote": "%%%"}, "runtime_data": {"nonce": "AA=="}}),
        )
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "malformed_base64");
    assert!(b["detail"].as_str().unwrap().contains("evidence.quote"));
    let (s, b) = h
        .post_attest(&json!({"tee": "tdx", "evidence": {"quote": "AAAA"}, "runtime_data": {}}))
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "bad_field");
    assert!(b["detail"].as_str().unwrap().contains("runtime_data.nonce"));
    let (s, b) = h.post_attest(&json!({"tee": "sev", "evidence": {"quote": "AAAA"}, "runtime_data": {"nonce": "AA=="}})).await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "bad_field");
    // Hostile quote bytes after a valid nonce: a 4xx, never a 5xx.
    let nonce = h.challenge().await;
    let (s, b) = h.post_attest(&json!({"tee": "tdx", "evidence": {"quote": STANDARD.encode([3u8; 700])}, "runtime_data": {"nonce": nonce}})).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "evidence_rejected");
    let huge = "A".repeat(100 * 1024);
    let r = h
        .http
        .post(format!("{}/v1/attest", h.url))
        .body(huge)
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_problem(
        s,
        &r.json().await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let r = h
        .http
        .get(format!("{}/v1/nothing", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_collateral_names_the_fmspc_and_admin_import_fixes_it() {
    let h = Harness::start(false, |_| {}).await;
    let (s, b, _) = h.attest(json!({}), None, |_| {}).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "collateral_missing",
    );
    assert!(
        b["detail"].as_str().unwrap().contains("5c07e0000000"),
        "{b}"
    );
    let files: BTreeMap<String, String> = collateral_files(&h.sim, Tee::Tdx)
        .into_iter()
        .map(|(n, b)| (n, STANDARD.encode(b)))
        .collect();
    let body = json!({ "files": files }).to_string();
    let r = h
        .http
        .post(format!("{}/v1/collateral", h.url))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = h
        .http
        .post(format!("{}/v1/collateral", h.url))
        .bearer_auth(&h.admin)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"fmspc": "5c07e0000000", "ca": "platform", "tee": "tdx"})
    );
    let (s, b, _) = h.attest(json!({}), None, |_| {}).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Collateral signed by a root the service does not trust is refused at import.
    let stranger = Simulator::new(5, now()).unwrap();
    let files: BTreeMap<String, String> = collateral_files(&stranger, Tee::Tdx)
        .into_iter()
        .map(|(n, b)| (n, STANDARD.encode(b)))
        .collect();
    let r = h
        .http
        .post(format!("{}/v1/collateral", h.url))
        .bearer_auth(&h.admin)
        .json(&json!({"files": files}))
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_problem(
        s,
        &r.json().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "collateral_rejected",
    );
}

#[tokio::test]
async fn admin_calls_need_the_admin_token() {
    let h = Harness::start(true, |_| {}).await;
    let (s, b) = h
        .admin_put(
            "/v1/policies/p",
            "package scute\ntrust_vector := {}\n".into(),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, b) = h
        .admin_put(
            "/v1/policies/p",
            "package scute\ntrust_vector := {}\n".into(),
            Some("not-the-token"),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = h
        .http
        .get(format!("{}/v1/reference-values/x", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = h
        .http
        .delete(format!("{}/v1/policies/p", h.url))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The token file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(h.dir().join("data/admin-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = std::fs::read(h.dir().join("data/master.key")).unwrap();
    let db = std::fs::read(h.dir().join("data/scute.db")).unwrap();
    assert!(
        !db.windows(h.admin.len()).any(|w| w == h.admin.as_bytes()),
        "the admin token is not stored in clear"
    );
    assert_eq!(key.len(), 32);
}

#[tokio::test]
async fn a_restart_keeps_policies_reference_values_collateral_and_keys() {
    let h = Harness::start(true, |_| {}).await;
    let policy = "package scute\nimport rego.v1\ntrust_vector := {\"hardware\": 33}\n";
    h.admin_put("/v1/policies/kept", policy.into(), Some(&h.admin))
        .await;
    h.admin_put(
        "/v1/reference-values/mr_td",
        json!(["ab"]).to_string(),
        Some(&h.admin),
    )
    .await;
    let jwks = h.jwks().await;
    let admin = h.admin.clone();
    let (dir, sim) = h.stop().await;
    let h = Harness::boot(dir, sim, |_| {}).await;
    assert_eq!(h.admin, admin);
    assert_eq!(h.jwks().await, jwks, "same signing key");
    let r = h
        .http
        .get(format!("{}/v1/reference-values/mr_td", h.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!(["ab"]));
    let (s, b, _) = h.attest(json!({}), Some("kept"), |_| {}).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let claims = h.verify_token(b["token"].as_str().unwrap()).await;
    // The stored policy is applied on top of the default one and its warning wins.
    let sub = &claims["submods"]["cpu0"];
    assert_eq!(sub["ear_trustworthiness_vector"]["hardware"], 33);
    assert_eq!(sub["ear_appraisal_policy_ids"], json!(["default", "kept"]));
}

#[tokio::test]
async fn concurrent_attestations_all_succeed() {
    let h = std::sync::Arc::new(Harness::start(true, |_| {}).await);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.attest(json!({"client": i}), None, |_| {}).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let metrics = h
        .http
        .get(format!("{}/metrics", h.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("scute_attestations_total{tcb_status=\"UpToDate\",result=\"warning\"} 24"),
        "{metrics}"
    );
    assert!(metrics.contains("scute_attestation_seconds_count 24"));
}

#[tokio::test]
async fn the_event_log_must_replay_to_the_quote() {
    let h = Harness::start(true, |_| {}).await;
    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    let area = std::fs::read(vectors.join("eventlog-tdx-trustee-gke/ccel.bin")).unwrap();
    let log = scute_eventlog::parse(&area, scute_eventlog::ParseOptions::default()).unwrap();
    // Clients send the events, not the padding of the 256 KiB CCEL area.
    let ccel = area[..log.parsed_len].to_vec();
    let replay = log.replay().unwrap();
    let mut rtmrs = [[0u8; 48]; 4];
    for (slot, register) in rtmrs.iter_mut().zip(&replay.registers) {
        slot.copy_from_slice(&register.value);
    }
    let attest_with_log = |rtmrs: [[u8; 48]; 4]| {
        let h = &h;
        let ccel = ccel.clone();
        async move {
            let nonce = h.challenge().await;
            let runtime = json!({ "nonce": nonce });
            let quote = h.quote_for(&runtime, |w| w.rtmrs = Some(rtmrs));
            let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote), "cc_eventlog": STANDARD.encode(&ccel) }, "runtime_data": runtime });
            h.post_attest(&body).await
        }
    };
    let (s, b) = attest_with_log(rtmrs).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let claims = h.verify_token(b["token"].as_str().unwrap()).await;
    let events = claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"]["event_log"]
        ["events"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        events.iter().any(|e| e["text"] == ".cmdline"),
        "decoded events are claims a policy can use"
    );
    rtmrs[1][0] ^= 1;
    let (s, b) = attest_with_log(rtmrs).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "eventlog_mismatch");
    assert!(b["detail"].as_str().unwrap().contains("rtmr1"));
}

#[tokio::test]
async fn health_metrics_and_openapi_are_served() {
    let h = Harness::start(true, |_| {}).await;
    let r = h
        .http
        .get(format!("{}/healthz", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    let doc: Value = h
        .http
        .get(format!("{}/v1/openapi.json", h.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/challenge",
        "/v1/attest",
        "/.well-known/jwks.json",
        "/v1/policies/{id}",
        "/v1/reference-values/{name}",
        "/v1/collateral",
        "/kbs/v0/auth",
        "/kbs/v0/attest",
        "/kbs/v0/resource/{repository}/{kind}/{tag}",
        "/kbs/v0/resource-policy",
        "/kbs/v0/attestation-policy",
        "/sgx/certification/v4/tcb",
        "/tdx/certification/v4/tcb",
        "/sgx/certification/v4/qe/identity",
        "/tdx/certification/v4/qe/identity",
        "/sgx/certification/v4/qve/identity",
        "/sgx/certification/v4/pckcrl",
        "/sgx/certification/v4/rootcacrl",
        "/sgx/certification/v4/pckcert",
        "/sgx/certification/v4/platformcollateral",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    h.challenge().await;
    let metrics = h
        .http
        .get(format!("{}/metrics", h.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("scute_http_requests_total{route=\"/v1/challenge\",status=\"200\"} 1"),
        "{metrics}"
    );
}

/// The served document describes the served answers: a challenge, a token and a problem
/// carry every field their schema requires and no field it does not name, and a request with
/// a field the AttestRequest schema does not name is answered with a Problem the document
/// lists for that status.
#[tokio::test]
async fn the_openapi_schemas_describe_the_served_answers() {
    let h = Harness::start(true, |_| {}).await;
    let doc: Value = h
        .http
        .get(format!("{}/v1/openapi.json", h.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    let fits = |name: &str, answer: &Value| {
        let s = schema(name);
        let properties = s["properties"].as_object().unwrap();
        let fields = answer.as_object().unwrap();
        for required in s["required"].as_array().unwrap() {
            assert!(
                fields.contains_key(required.as_str().unwrap()),
                "{name}: {required} missing from {answer}"
            );
        }
        for field in fields.keys() {
            assert!(
                properties.contains_key(field),
                "{name} does not name {field} of {answer}"
            );
        }
    };
    let r = h
        .http
        .post(format!("{}/v1/challenge", h.url))
        .send()
        .await
        .unwrap();
    fits("Challenge", &r.json().await.unwrap());
    let (status, body, _) = h.attest(json!({}), Some("default"), |_| {}).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    fits("Token", &body);
    let r = h
        .http
        .post(format!("{}/v1/attest", h.url))
        .json(&json!({"tee": "tdx", "evidence": {"quote": "AA=="}, "runtime_data": {"nonce": "x"}, "extra": 1}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16().to_string();
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let problem: Value = r.json().await.unwrap();
    fits("Problem", &problem);
    let answer = &doc["paths"]["/v1/attest"]["post"]["responses"][&status];
    assert_eq!(
        answer["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem",
        "{status}"
    );
    // A field the schema does not name is refused by the parser (the schema names them all).
    assert!(schema("AttestRequest")["properties"].get("extra").is_none());
}

#[tokio::test]
async fn sgx_and_tdx_collateral_for_one_fmspc_live_side_by_side() {
    // Intel publishes an SGX and a TDX TCB Info for the same FMSPC; importing one must not
    // replace the other.
    let h = Harness::start(true, |_| {}).await;
    let files: BTreeMap<String, String> = collateral_files(&h.sim, Tee::Sgx)
        .into_iter()
        .map(|(n, b)| (n, STANDARD.encode(b)))
        .collect();
    let r = h
        .http
        .post(format!("{}/v1/collateral", h.url))
        .bearer_auth(&h.admin)
        .json(&json!({"files": files}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"fmspc": "5c07e0000000", "ca": "platform", "tee": "sgx"})
    );

    let nonce = h.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let rd = scute_test::report_data(&runtime);
    let quote = h
        .sim
        .quote(&Workload::new(Tee::Sgx, 3, rd))
        .unwrap()
        .encode();
    let body = json!({ "tee": "sgx", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
    let (s, b) = h.post_attest(&body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let claims = h.verify_token(b["token"].as_str().unwrap()).await;
    let evidence = &claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["tee"], "sgx");
    assert!(evidence["measurements"]["mr_enclave"].is_string());
    // The token expires no later than the collateral behind it.
    let expires = time::OffsetDateTime::parse(
        evidence["collateral_expires"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(claims["exp"].as_i64().unwrap() <= expires.unix_timestamp());
    // And TDX still works with its own set.
    let (s, b, _) = h.attest(json!({}), None, |_| {}).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn tokens_do_not_outlive_the_collateral() {
    let h = Harness::start(true, |c| c.token_lifetime_secs = 365 * 24 * 3600).await;
    let (s, b, _) = h.attest(json!({}), None, |_| {}).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let claims = h.verify_token(b["token"].as_str().unwrap()).await;
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(
        lifetime <= 30 * 24 * 3600,
        "capped by the 30-day collateral: {lifetime}"
    );
}

#[tokio::test]
async fn a_narrow_policy_named_by_the_attester_cannot_hide_a_debug_td() {
    let h = Harness::start(true, |_| {}).await;
    // A policy that only speaks to executables, and affirms them.
    let narrow = "package scute\nimport rego.v1\ntrust_vector := {\"executables\": 2}\n";
    let (s, b) = h
        .admin_put("/v1/policies/narrow", narrow.into(), Some(&h.admin))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (status, body, _) = h
        .attest(json!({}), Some("narrow"), |w| w.debug = true)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = h.verify_token(body["token"].as_str().unwrap()).await;
    assert_eq!(claims["ear_status"], "contraindicated");
    let sub = &claims["submods"]["cpu0"];
    assert_eq!(sub["ear_status"], "contraindicated");
    assert_eq!(sub["ear_trustworthiness_vector"]["hardware"], 96);
    assert_eq!(
        sub["ear_appraisal_policy_ids"],
        json!(["default", "narrow"])
    );
}

#[tokio::test]
async fn configured_mandatory_policies_always_apply_and_cannot_be_deleted() {
    let h = Harness::start(true, |_| {}).await;
    let site = "package scute\nimport rego.v1\ntrust_vector := {\"configuration\": 40}\n";
    h.admin_put("/v1/policies/site", site.into(), Some(&h.admin))
        .await;
    let (dir, sim) = h.stop().await;
    let h = Harness::boot(dir, sim, |c| {
        c.mandatory_policies = vec!["default".into(), "site".into()];
    })
    .await;
    let (status, body, _) = h.attest(json!({}), None, |_| {}).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = h.verify_token(body["token"].as_str().unwrap()).await;
    let sub = &claims["submods"]["cpu0"];
    assert_eq!(sub["ear_appraisal_policy_ids"], json!(["default", "site"]));
    assert_eq!(sub["ear_trustworthiness_vector"]["configuration"], 40);
    let r = h
        .http
        .delete(format!("{}/v1/policies/site", h.url))
        .bearer_auth(&h.admin)
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert_problem(
        status,
        &r.json().await.unwrap(),
        StatusCode::CONFLICT,
        "policy_mandatory",
    );

    // A mandatory policy that does not exist stops the service from starting.
    let (dir, _) = h.stop().await;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        mandatory_policies: vec!["default".into(), "absent".into()],
        ..Config::default()
    };
    assert!(matches!(
        scute_server::start(config).await,
        Err(scute_server::ServerError::Config(_))
    ));
}

#[tokio::test]
async fn seventeen_policy_ids_are_refused() {
    let h = Harness::start(true, |_| {}).await;
    let nonce = h.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let quote = STANDARD.encode(h.quote_for(&runtime, |_| {}));
    let ids: Vec<String> = (0..17).map(|_| "default".to_string()).collect();
    let body = json!({ "tee": "tdx", "evidence": { "quote": quote }, "runtime_data": runtime, "policy_ids": ids });
    let (s, b) = h.post_attest(&body).await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "bad_field");
    // Sixteen is allowed (and repeats collapse), and the nonce was not spent by the refusal.
    let ids: Vec<String> = (0..16).map(|_| "default".to_string()).collect();
    let body = json!({ "tee": "tdx", "evidence": { "quote": quote }, "runtime_data": runtime, "policy_ids": ids });
    let (s, b) = h.post_attest(&body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let claims = h.verify_token(b["token"].as_str().unwrap()).await;
    assert_eq!(
        claims["submods"]["cpu0"]["ear_appraisal_policy_ids"],
        json!(["default"])
    );
}

/// Reads until the server closes the connection; panics if it is still open after `limit`.
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    limit: std::time::Duration,
) -> (String, std::time::Duration) {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

async fn raw_connect(h: &Harness, sent: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(h.url.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(sent.as_bytes()).await.unwrap();
    stream
}

const SECOND: std::time::Duration = std::time::Duration::from_secs(1);

#[tokio::test]
async fn a_connection_stalled_in_its_headers_is_closed_in_time() {
    let h = Harness::start(false, |c| {
        c.header_read_timeout_secs = 1;
        c.idle_timeout_secs = 30;
    })
    .await;
    let mut stream = raw_connect(&h, "POST /v1/challenge HTTP/1.1\r\nHost: x\r\n").await;
    let (_, took) = read_until_closed(&mut stream, 5 * SECOND).await;
    assert!(took >= SECOND * 9 / 10 && took < 3 * SECOND, "{took:?}");
}

#[tokio::test]
async fn a_connection_stalled_in_its_body_is_answered_408_and_closed_in_time() {
    let h = Harness::start(false, |c| {
        c.body_read_timeout_secs = 1;
        c.idle_timeout_secs = 30;
    })
    .await;
    let mut stream = raw_connect(
        &h,
        "POST /v1/attest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"tee\":",
    )
    .await;
    let (answer, took) = read_until_closed(&mut stream, 5 * SECOND).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("urn:scute:problem:body_timeout"),
        "{answer}"
    );
    assert!(took >= SECOND * 9 / 10 && took < 3 * SECOND, "{took:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_in_time() {
    let h = Harness::start(false, |c| {
        c.header_read_timeout_secs = 30;
        c.idle_timeout_secs = 1;
    })
    .await;
    let mut stream = raw_connect(&h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (answer, took) = read_until_closed(&mut stream, 5 * SECOND).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took >= SECOND * 9 / 10 && took < 3 * SECOND, "{took:?}");
}

#[tokio::test]
async fn connections_over_the_cap_are_answered_503_and_closed() {
    let h = Harness::start(false, |c| c.max_connections = 2).await;
    let first = raw_connect(&h, "").await;
    let _second = raw_connect(&h, "").await;
    // Let the accept loop take both before the third arrives.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut third = raw_connect(&h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (answer, _) = read_until_closed(&mut third, 5 * SECOND).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("urn:scute:problem:overloaded"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    // A freed slot serves again.
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_flood_leaves_no_state_behind() {
    const CHALLENGES: usize = 10_000;
    const CLIENTS: usize = 16;
    let h = Harness::start(true, |_| {}).await;
    let first = h.challenge().await;
    let rss_before = rss_kib();
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, url) = (h.http.clone(), h.url.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..CHALLENGES / CLIENTS {
                let r = http
                    .post(format!("{url}/v1/challenge"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                r.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    eprintln!(
        "{CHALLENGES} challenges in {:?}; test process RSS {:?} KiB before, {:?} KiB after",
        started.elapsed(),
        rss_before,
        rss_kib()
    );
    // Nothing is remembered per challenge: the only nonce table is the spent one, still empty.
    let store = scute_server::Store::open(&h.dir().join("data"))
        .await
        .unwrap();
    assert_eq!(store.spent_nonce_count().await.unwrap(), 0);
    // And the flood did not push out earlier challenges.
    let runtime = json!({ "nonce": first });
    let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(h.quote_for(&runtime, |_| {})) }, "runtime_data": runtime });
    let (s, b) = h.post_attest(&body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(store.spent_nonce_count().await.unwrap(), 1);
}

#[tokio::test]
async fn nonces_and_their_spending_survive_a_restart() {
    let h = Harness::start(true, |_| {}).await;
    let spent = h.challenge().await;
    let unspent = h.challenge().await;
    let body_for = |h: &Harness, nonce: &str| {
        let runtime = json!({ "nonce": nonce });
        json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(h.quote_for(&runtime, |_| {})) }, "runtime_data": runtime })
    };
    let spent_body = body_for(&h, &spent);
    assert_eq!(h.post_attest(&spent_body).await.0, StatusCode::OK);
    let (dir, sim) = h.stop().await;
    let h = Harness::boot(dir, sim, |_| {}).await;
    let (s, b) = h.post_attest(&body_for(&h, &unspent)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = h.post_attest(&spent_body).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "nonce_replayed");
}

#[tokio::test]
async fn a_nonce_with_a_forged_expiry_is_unknown() {
    let h = Harness::start(true, |_| {}).await;
    let mut nonce = STANDARD.decode(h.challenge().await).unwrap();
    // Bytes 16..24 are the expiry: push it a day later.
    let expiry = i64::from_be_bytes(nonce[16..24].try_into().unwrap()) + 86_400;
    nonce[16..24].copy_from_slice(&expiry.to_be_bytes());
    let runtime = json!({ "nonce": STANDARD.encode(&nonce) });
    let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(h.quote_for(&runtime, |_| {})) }, "runtime_data": runtime });
    let (s, b) = h.post_attest(&body).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "nonce_unknown");
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn database_files_are_private_even_if_they_were_not() {
    let h = Harness::start(true, |_| {}).await;
    let (status, body, _) = h.attest(json!({}), None, |_| {}).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = h.dir().join("data");
    for name in ["scute.db", "scute.db-wal", "scute.db-shm"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    let (dir, sim) = h.stop().await;
    // Files left readable by an older version or a careless copy are closed again at start.
    let data = dir.path().join("data");
    for name in ["scute.db", "scute.db-wal", "scute.db-shm"] {
        let path = data.join(name);
        if path.exists() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let h = Harness::boot(dir, sim, |_| {}).await;
    let data = h.dir().join("data");
    for name in ["scute.db", "scute.db-wal", "scute.db-shm"] {
        let path = data.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    assert_eq!(mode(&data.join("scute.db")), 0o600);
}

#[tokio::test]
async fn a_data_directory_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    for bits in [0o770, 0o702, 0o777] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(bits)).unwrap();
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: data.clone(),
            ..Config::default()
        };
        match scute_server::start(config).await {
            Err(scute_server::ServerError::DataDirWritableByOthers { mode, .. }) => {
                assert_eq!(mode, bits)
            }
            Err(e) => panic!("{bits:o}: {e}"),
            Ok(_) => panic!("{bits:o}: started"),
        }
        // Refused before anything was written into it.
        assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0, "{bits:o}");
    }
}

/// Code identity is code (docs/service.md "Code identity"): MRCONFIGID is the host's choice (the
/// Confidential Containers init-data digest), RTMRs any guest can extend with what an honest
/// boot logs. Registered alone, or beside a wrong MRTD, they never make `executables` affirming.
#[tokio::test]
async fn a_td_with_a_registered_mrconfigid_but_another_mrtd_is_not_affirming() {
    let h = Harness::start(true, |_| {}).await;
    let config_id = [0xcf; 48];
    let probe = scute_quote::Quote::decode(
        &h.quote_for(&json!({"nonce": "x"}), |w| w.mr_config_id = Some(config_id)),
    )
    .unwrap();
    let td = probe.body.td10().unwrap();
    let put = |name: &'static str, values: Value| {
        let h = &h;
        async move {
            let (s, body) = h
                .admin_put(
                    &format!("/v1/reference-values/{name}"),
                    values.to_string(),
                    Some(&h.admin),
                )
                .await;
            assert!(s.is_success(), "{s} {body}");
        }
    };
    let vector = |status: StatusCode, body: Value| {
        let h = &h;
        async move {
            assert_eq!(status, StatusCode::OK, "{body}");
            let claims = h.verify_token(body["token"].as_str().unwrap()).await;
            claims["submods"]["cpu0"]["ear_trustworthiness_vector"].clone()
        }
    };
    let attest = || h.attest(json!({}), None, |w| w.mr_config_id = Some(config_id));

    // Only the host-chosen MRCONFIGID registered: any TD launched with it would pass.
    put("mr_config_id", json!([hex::encode(config_id)])).await;
    let (status, body, _) = attest().await;
    let v = vector(status, body).await;
    assert_eq!(v["executables"], 33, "{v}");
    assert_eq!(v["configuration"], 2, "{v}");

    // Beside an MRTD of other code.
    put("mr_td", json!([hex::encode([0x11; 48])])).await;
    let (status, body, _) = attest().await;
    let v = vector(status, body).await;
    assert_eq!(v["executables"], 33, "{v}");

    // Every RTMR registered, the MRTD reference removed: still not code identity.
    let r = h
        .http
        .delete(format!("{}/v1/reference-values/mr_td", h.url))
        .bearer_auth(&h.admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    for (i, name) in ["rtmr0", "rtmr1", "rtmr2", "rtmr3"].into_iter().enumerate() {
        put(name, json!([hex::encode(td.rtmr[i])])).await;
    }
    let (status, body, _) = attest().await;
    let v = vector(status, body).await;
    assert_eq!(v["executables"], 33, "{v}");

    // The TD's own MRTD: now its code is known, and the matching MRCONFIGID and RTMRs hold.
    put("mr_td", json!([hex::encode(td.mr_td)])).await;
    let (status, body, _) = attest().await;
    let v = vector(status, body).await;
    assert_eq!(v["executables"], 2, "{v}");
    assert_eq!(v["configuration"], 2, "{v}");

    // The right code launched with another init-data: configuration is contraindicated.
    let (status, body, _) = h
        .attest(json!({}), None, |w| w.mr_config_id = Some([0xee; 48]))
        .await;
    let v = vector(status, body).await;
    assert_eq!(
        (v["executables"].as_i64(), v["configuration"].as_i64()),
        (Some(2), Some(96)),
        "{v}"
    );
}

/// No refused attestation writes to the store: the nonce is checked (ours, unexpired) first and
/// spent only when the evidence verified, so a flood of free challenges with garbage evidence
/// leaves no rows; the token still goes to one request per nonce.
#[tokio::test]
async fn a_refused_attestation_writes_nothing_and_a_nonce_still_gives_one_token() {
    let h = Harness::start(true, |_| {}).await;
    let spent = || async {
        scute_server::Store::open(&h.dir().join("data"))
            .await
            .unwrap()
            .spent_nonce_count()
            .await
            .unwrap()
    };
    for _ in 0..20 {
        let nonce = h.challenge().await;
        let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode([7u8; 700]) }, "runtime_data": { "nonce": nonce } });
        let (status, v) = h.post_attest(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    assert_eq!(spent().await, 0);
    let nonce = h.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let quote = h.quote_for(&runtime, |_| {});
    let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(&quote) }, "runtime_data": runtime });
    let (first, second) = tokio::join!(h.post_attest(&body), h.post_attest(&body));
    let statuses = [first.0, second.0];
    assert!(statuses.contains(&StatusCode::OK), "{first:?} {second:?}");
    assert!(
        statuses.contains(&StatusCode::UNPROCESSABLE_ENTITY),
        "{first:?} {second:?}"
    );
    let refused = if first.0 == StatusCode::OK {
        second.1
    } else {
        first.1
    };
    assert!(refused["type"]
        .as_str()
        .unwrap()
        .ends_with("nonce_replayed"));
    assert_eq!(spent().await, 1);
}

/// One admin rule for every door: the token as `Authorization: Bearer` or as PccsAdminTool's
/// `admin-token` header, on the service's own admin API as on the PCCS upload; anything else
/// is a 401 (the two doors used to accept different headers).
#[tokio::test]
async fn every_admin_route_takes_the_token_in_either_header() {
    let h = Harness::start(false, |_| {}).await;
    let put = |header: &'static str, value: String| {
        h.http
            .put(format!("{}/v1/reference-values/mr_td", h.url))
            .header(header, value)
            .json(&json!(["00"]))
            .send()
    };
    let r = put("admin-token", h.admin.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = put("authorization", format!("Bearer {}", h.admin))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for (header, value) in [
        ("admin-token", "0".repeat(64)),
        ("authorization", format!("Basic {}", h.admin)),
        ("authorization", format!("Bearer {}x", h.admin)),
        ("x-admin-token", h.admin.clone()),
    ] {
        let r = put(header, value).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
    // The PCCS upload takes the Bearer form too (a malformed body is judged only once admitted).
    let r = h
        .http
        .put(format!("{}/sgx/certification/v4/platformcollateral", h.url))
        .bearer_auth(&h.admin)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// `/v1/attest` takes the `sample` TEE exactly where the key broker does: refused as an
/// unsupported TEE unless `allow_sample_tee`, and when allowed, bound to the runtime data and
/// never affirming (nothing vouches for sample evidence). The key broker's side is in kbs.rs.
#[tokio::test]
async fn the_sample_tee_is_refused_unless_allowed_and_then_never_affirming() {
    let sample_body = |nonce: &str, report_data: &[u8]| json!({ "tee": "sample", "evidence": { "quote": STANDARD.encode(report_data) }, "runtime_data": { "nonce": nonce } });
    let off = Harness::start(true, |_| {}).await;
    let nonce = off.challenge().await;
    let rd = scute_test::report_data(&json!({ "nonce": nonce }));
    let (s, b) = off.post_attest(&sample_body(&nonce, &rd)).await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "bad_field");

    let on = Harness::start(true, |c| c.allow_sample_tee = true).await;
    let nonce = on.challenge().await;
    let rd = scute_test::report_data(&json!({ "nonce": nonce }));
    let (s, b) = on.post_attest(&sample_body(&nonce, &rd)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let claims = on.verify_token(b["token"].as_str().unwrap()).await;
    assert_ne!(claims["ear_status"], "affirming", "{claims}");
    // Debug by the sample TEE's one rule, so contraindicated, as on the key broker.
    assert_eq!(
        claims["submods"]["cpu0"]["ear_status"], "contraindicated",
        "{claims}"
    );

    // Allowed is not unbound: report data of another runtime is refused.
    let nonce = on.challenge().await;
    let other = scute_test::report_data(&json!({ "nonce": "someone else's" }));
    let (s, b) = on.post_attest(&sample_body(&nonce, &other)).await;
    assert!(s.is_client_error(), "{s} {b}");
}
