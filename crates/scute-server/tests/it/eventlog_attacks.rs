//! Event-log data attacks against /v1/attest over a real socket: a rewritten kernel command line
//! whose digest still replays to the quote is rejected, and unmeasured EV_NO_ACTION events never
//! become claims. Quotes come from the simulated TDX with RTMRs set to the untampered replay.

use aws_lc_rs::digest::{digest, SHA384};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use scute_server::PROBLEM_TYPE_PREFIX;
use scute_sim::{Simulator, Tee, Workload};
use scute_test::{now, TestService};
use serde_json::{json, Value};
use std::path::PathBuf;

struct Service {
    service: TestService,
    sim: Simulator,
}

impl std::ops::Deref for Service {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.service
    }
}

impl Service {
    async fn start() -> Self {
        let sim = Simulator::new(1, now()).unwrap();
        let service = TestService::builder()
            .trust_intel(&sim)
            .import_sim(&sim, Tee::Tdx)
            .start()
            .await;
        Self { service, sim }
    }

    /// Attests with a sim TDX quote whose RTMRs are `rtmrs`, sending `ccel` as the event log.
    async fn attest(&self, rtmrs: [[u8; 48]; 4], ccel: &[u8]) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/v1/challenge", self.url))
            .send()
            .await
            .unwrap();
        let nonce = r.json::<Value>().await.unwrap()["nonce"]
            .as_str()
            .unwrap()
            .to_string();
        let runtime = json!({ "nonce": nonce });
        let report_data = scute_test::report_data(&runtime);
        let mut workload = Workload::new(Tee::Tdx, 4, report_data);
        workload.rtmrs = Some(rtmrs);
        let quote = self.sim.quote(&workload).unwrap().encode();
        let body = json!({
            "tee": "tdx",
            "evidence": { "quote": STANDARD.encode(quote), "cc_eventlog": STANDARD.encode(ccel) },
            "runtime_data": runtime,
        });
        let r = self
            .http
            .post(format!("{}/v1/attest", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The claims of a token, its signature checked against the service's JWKS.
    async fn claims(&self, token: &str) -> Value {
        let jwks: Value = self
            .http
            .get(format!("{}/.well-known/jwks.json", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = &jwks["keys"][0];
        let decoding =
            DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
                .unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(token, &decoding, &validation)
            .unwrap()
            .claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"]
            .clone()
    }
}

/// The COS-113 log's events (no CCEL padding) and the RTMRs they replay to.
fn cos113() -> (Vec<u8>, [[u8; 48]; 4]) {
    let area = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors/eventlog-tdx-gotdxguest-cos113-quote/ccel.bin"),
    )
    .unwrap();
    let log = scute_eventlog::parse(&area, scute_eventlog::ParseOptions::default()).unwrap();
    let mut rtmrs = [[0u8; 48]; 4];
    for (slot, register) in rtmrs.iter_mut().zip(&log.replay().unwrap().registers) {
        slot.copy_from_slice(&register.value);
    }
    (area[..log.parsed_len].to_vec(), rtmrs)
}

fn events(claims: &Value) -> Vec<Value> {
    claims["event_log"]["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn claims_say_which_event_data_the_digests_prove() {
    let service = Service::start().await;
    let (ccel, rtmrs) = cos113();
    let (status, body) = service.attest(rtmrs, &ccel).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = events(&service.claims(body["token"].as_str().unwrap()).await);
    assert_eq!(events.len(), 43);
    let cmdline: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("kernel_cmdline: "))
        })
        .collect();
    assert_eq!(cmdline.len(), 1);
    assert_eq!(cmdline[0]["data_verified"], true);
    assert!(cmdline[0]["text"]
        .as_str()
        .unwrap()
        .contains("module.sig_enforce=1"));
    // The kernel image path names a file whose hash is the digest: shown, not proven.
    let image = events
        .iter()
        .find(|e| e["text"] == "/syslinux/vmlinuz.A")
        .unwrap();
    assert_eq!(image["data_verified"], false);
    assert!(events.iter().all(|e| e["data_verified"].is_boolean()));
}

#[tokio::test]
async fn a_rewritten_kernel_command_line_is_rejected_naming_the_event() {
    let service = Service::start().await;
    let (mut ccel, rtmrs) = cos113();
    let at = ccel
        .windows(20)
        .rposition(|w| w == b"module.sig_enforce=1")
        .unwrap();
    ccel[at + 19] = b'0';
    let (status, body) = service.attest(rtmrs, &ccel).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["type"],
        format!("{PROBLEM_TYPE_PREFIX}eventlog_rejected")
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("event 40 (rtmr2, EV_IPL)"), "{detail}");
}

/// A TCG_PCR_EVENT2 record with one SHA-384 digest.
fn record(index: u32, event_type: u32, digest: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&event_type.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&scute_eventlog::ALG_SHA384.to_le_bytes());
    out.extend_from_slice(digest);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}

#[tokio::test]
async fn an_injected_no_action_event_never_reaches_the_claims() {
    let service = Service::start().await;
    let (mut ccel, rtmrs) = cos113();
    // Its digest even matches its string: unmeasured is unmeasured.
    let injected = record(
        3,
        scute_eventlog::EV_NO_ACTION,
        digest(&SHA384, b"init=/bin/sh").as_ref(),
        b"kernel_cmdline: init=/bin/sh\0",
    );
    ccel.extend_from_slice(&injected);
    let (status, body) = service.attest(rtmrs, &ccel).await;
    assert_eq!(status, StatusCode::OK, "the log still replays: {body}");
    let claims = service.claims(body["token"].as_str().unwrap()).await;
    assert!(
        !claims.to_string().contains("/bin/sh"),
        "{}",
        claims["event_log"]
    );
    let events = events(&claims);
    assert_eq!(events.len(), 43);
    assert!(events.iter().all(|e| e["type"] != "EV_NO_ACTION"));
}
