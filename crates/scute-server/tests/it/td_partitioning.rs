//! A TDX quote v5 with body type 4 (TD 1.5 extended, TD partitioning; Intel QVL
//! `TDReport15Ex`) through `/v1/attest` on a real server: accepted end to end with its extension
//! fields in the token's claims; the same quote with one extension byte changed after signing,
//! or naming a service TD only in the extension, is not accepted.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use scute_quote::{Body, Quote};
use scute_server::PROBLEM_TYPE_PREFIX;
use scute_sim::{LaunchMeasurements, Simulator, Tee, Workload};
use scute_test::TestService;
use serde_json::{json, Value};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn challenge(s: &TestService) -> String {
    let r = s
        .http
        .post(format!("{}/v1/challenge", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["nonce"].as_str().unwrap().to_string()
}

/// Attests a type-4 quote bound to a fresh nonce, after `tweak` changes it (and `resign`
/// signs it again, as the QE would have).
async fn attest_type4(
    s: &TestService,
    sim: &Simulator,
    tweak: impl FnOnce(&mut Quote),
    resign: bool,
) -> (StatusCode, Value) {
    let nonce = challenge(s).await;
    let runtime = json!({ "nonce": nonce });
    let workload = Workload::new(Tee::Tdx, 5, scute_test::report_data(&runtime));
    let mut quote = sim
        .quote_td_body(&workload, &LaunchMeasurements::default(), 4)
        .unwrap();
    tweak(&mut quote);
    if resign {
        sim.resign(&mut quote).unwrap();
    }
    let bytes = quote.encode();
    assert_eq!(u16::from_le_bytes([bytes[48], bytes[49]]), 4);
    let body = json!({
        "tee": "tdx",
        "evidence": { "quote": STANDARD.encode(bytes) },
        "runtime_data": runtime,
    });
    let r = s
        .http
        .post(format!("{}/v1/attest", s.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn token_claims(s: &TestService, token: &str) -> Value {
    let jwks: Value = s
        .http
        .get(format!("{}/.well-known/jwks.json", s.url))
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
        .claims
}

fn ex(quote: &mut Quote) -> &mut scute_quote::TdReport15Ex {
    match &mut quote.body {
        Body::Td15Ex(ex) => ex,
        other => panic!("body type {}", other.body_type()),
    }
}

#[tokio::test]
async fn a_type_4_quote_is_attested_end_to_end_with_its_extension_claims() {
    let sim = Simulator::new(1, now()).unwrap();
    let s = TestService::builder()
        .trust_intel(&sim)
        .import_sim(&sim, Tee::Tdx)
        .start()
        .await;
    let (status, body) = attest_type4(&s, &sim, |_| {}, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = token_claims(&s, body["token"].as_str().unwrap()).await;
    let sub = &claims["submods"]["cpu0"];
    let evidence = &sub["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["tee"], "tdx");
    assert_eq!(evidence["quote_version"], 5);
    assert_eq!(evidence["tcb_status"], "UpToDate");
    let report = &evidence["report"];
    assert_eq!(report["kind"], "TD15Ex", "{report}");
    let mut quote = sim
        .quote_td_body(
            &Workload::new(Tee::Tdx, 5, [0; 64]),
            &LaunchMeasurements::default(),
            4,
        )
        .unwrap();
    let td_id = hex::encode(ex(&mut quote).td_id);
    assert_eq!(report["td_id"], td_id);
    assert_eq!(report["vmid"], 0);
    for field in [
        "dev_info",
        "init_service_td_hash",
        "init_service_td_attributes",
        "init_cpu_svn",
        "init_tee_tcb_svn",
        "init_tee_fmspc",
        "cur_service_td_hash",
        "cur_service_td_attributes",
    ] {
        let value = report[field].as_str().unwrap_or_else(|| panic!("{field}"));
        assert!(value.bytes().all(|b| b == b'0'), "{field}: {value}");
    }
    assert_eq!(
        evidence["measurements"]["mr_td"],
        hex::encode(quote.body.td10().unwrap().mr_td)
    );
    assert_eq!(sub["ear_trustworthiness_vector"]["hardware"], 2);
    s.stop().await;
}

#[tokio::test]
async fn a_type_4_quote_changed_in_its_extension_or_bound_to_a_service_td_is_refused() {
    let sim = Simulator::new(1, now()).unwrap();
    let s = TestService::builder()
        .trust_intel(&sim)
        .import_sim(&sim, Tee::Tdx)
        .start()
        .await;
    // One byte of the extension changed after signing: the quote signature fails.
    let (status, body) =
        attest_type4(&s, &sim, |q| ex(q).cur_service_td_attributes[7] ^= 1, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["type"],
        format!("{PROBLEM_TYPE_PREFIX}evidence_rejected"),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("quote_signature:"),
        "{body}"
    );
    // A genuine, signed quote whose service TD binding shows only in the extension.
    let (status, body) =
        attest_type4(&s, &sim, |q| ex(q).init_service_td_hash = [0x5a; 48], true).await;
    assert!(
        status.is_client_error(),
        "a service-TD-bound TD was accepted: {status} {body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("service TD"),
        "{body}"
    );
    s.stop().await;
}
