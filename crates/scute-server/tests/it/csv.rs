//! Hygon CSV end to end: a real server on a loopback socket, HSK/CEK imported by chip serial,
//! reports from the simulated Hygon PKI sent to `/v1/attest` (raw and as the CoCo attester's
//! JSON) and through the key broker exactly as the CoCo CSV attester sends them. And what an
//! attacker tries: another root, a report bound to another nonce, a debug guest, an event log
//! that does not replay to the RTMRs.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use reqwest::StatusCode;
use scute_kbs::{runtime_data_digest, FlattenedJwe, HashAlgorithm, TeeKeyPair};
use scute_server::Config;
use scute_sim::{CsvReportSpec, HygonSim};
use scute_test::TestService;
use serde_json::{json, Value};

const SECRET: &[u8] = b"csv guest's disk key";
const CHIP: &str = "SIMCSV00042";

struct Server {
    service: TestService,
    sim: HygonSim,
}

impl std::ops::Deref for Server {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.service
    }
}

impl Server {
    /// A server trusting the simulated HRK, with the chip's HSK/CEK imported when `import`.
    async fn start(import: bool) -> Self {
        Self::start_with(import, |_| {}).await
    }

    async fn start_with(import: bool, tweak: impl FnOnce(&mut Config)) -> Self {
        let sim = HygonSim::new(b"scute-server csv tests", CHIP).unwrap();
        let mut builder = TestService::builder().trust_hygon(&sim);
        if import {
            builder = builder.import_hsk_cek(&sim, CHIP);
        }
        let service = builder.start_with(tweak).await;
        Self { service, sim }
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
        v["nonce"].as_str().unwrap().to_string()
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn reference(&self, name: &str, values: Value) {
        let r = self
            .http
            .put(format!("{}/v1/reference-values/{name}", self.url))
            .bearer_auth(&self.admin)
            .json(&values)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn evidence_of(claims: &Value) -> &Value {
    &claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"]
}

/// `/v1/attest` report_data: SHA-384 of the canonical runtime data, zero-padded to 64 bytes.
fn attest_report_data(runtime: &Value) -> [u8; 64] {
    scute_server::report_data_for(runtime).unwrap()
}

/// An SM3 CCEL with one event per CC MR index 1..3, and the registers it replays to.
fn sm3_ccel() -> (Vec<u8>, [[u8; 32]; 4]) {
    use sm3::{Digest, Sm3};
    let mut log = Vec::new();
    // Spec ID header (TCG_PCR_EVENT, SHA-1 layout): index 0, EV_NO_ACTION, 20 zero bytes.
    let mut spec = b"Spec ID Event03\0".to_vec();
    spec.extend_from_slice(&0u32.to_le_bytes()); // platform class
    spec.extend_from_slice(&[0, 2, 0, 2]); // minor, major, errata, uintn size
    spec.extend_from_slice(&1u32.to_le_bytes()); // one algorithm
    spec.extend_from_slice(&0x0012u16.to_le_bytes());
    spec.extend_from_slice(&32u16.to_le_bytes());
    spec.push(0); // vendor info size
    log.extend_from_slice(&1u32.to_le_bytes()); // header index
    log.extend_from_slice(&3u32.to_le_bytes()); // EV_NO_ACTION
    log.extend_from_slice(&[0u8; 20]);
    log.extend_from_slice(&(spec.len() as u32).to_le_bytes());
    log.extend_from_slice(&spec);
    let mut registers = [[0u8; 32]; 4];
    for index in 1u32..=3 {
        let data = format!("csv event {index}").into_bytes();
        let digest: [u8; 32] = Sm3::digest(&data).into();
        log.extend_from_slice(&index.to_le_bytes());
        log.extend_from_slice(&0x0000_000du32.to_le_bytes()); // EV_IPL
        log.extend_from_slice(&1u32.to_le_bytes()); // digest count
        log.extend_from_slice(&0x0012u16.to_le_bytes());
        log.extend_from_slice(&digest);
        log.extend_from_slice(&(data.len() as u32).to_le_bytes());
        log.extend_from_slice(&data);
        let r = &mut registers[index as usize - 1];
        let mut h = Sm3::new();
        h.update(*r);
        h.update(digest);
        *r = h.finalize().into();
    }
    (log, registers)
}

#[tokio::test]
async fn a_csv_guest_gets_a_token_from_v1_attest_raw_and_json() {
    let server = Server::start(true).await;
    server
        .reference(
            "measure",
            json!([hex::encode(CsvReportSpec::default().measure)]),
        )
        .await;
    for (version, json_form) in [(1, false), (2, false), (1, true), (2, true)] {
        let nonce = server.challenge().await;
        let runtime = json!({ "nonce": nonce });
        let spec = CsvReportSpec {
            version,
            report_data: attest_report_data(&runtime),
            ..CsvReportSpec::default()
        };
        let quote = if json_form {
            server
                .sim
                .trustee_evidence(&spec, false, None)
                .unwrap()
                .to_string()
                .into_bytes()
        } else {
            server.sim.report(&spec).unwrap().encode()
        };
        let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
        let (status, v) = server.post("/v1/attest", &body).await;
        assert_eq!(status, StatusCode::OK, "v{version} json={json_form}: {v}");
        let c = claims(v["token"].as_str().unwrap());
        assert_eq!(c["ear_status"], "affirming", "{c}");
        let e = evidence_of(&c);
        assert_eq!(e["tee"], "csv");
        assert_eq!(e["quote_version"], version);
        assert_eq!(e["chip_serial"], CHIP);
        // Imported by serial: the CEK that certified the PEK is that chip's.
        assert_eq!(e["chip_serial_verified"], true);
        assert_eq!(e["debug"], false);
        assert_eq!(e["mac_checked"], !json_form);
        assert_eq!(e["report_data_bound"], true);
        assert_eq!(e["report"]["policy"]["nodbg"], true);
        assert_eq!(e["measurements"]["measure"], hex::encode(spec.measure));
    }
}

#[tokio::test]
async fn v1_attest_refuses_what_does_not_bind_or_chain() {
    let server = Server::start(true).await;
    let attest = |spec: CsvReportSpec, runtime: Value| {
        let quote = server.sim.report(&spec).unwrap().encode();
        json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime })
    };
    // Bound to another nonce's runtime data.
    let nonce = server.challenge().await;
    let other = json!({ "nonce": server.challenge().await });
    let spec = CsvReportSpec {
        report_data: attest_report_data(&other),
        ..CsvReportSpec::default()
    };
    let (status, v) = server
        .post("/v1/attest", &attest(spec, json!({ "nonce": nonce })))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["type"]
            .as_str()
            .unwrap()
            .ends_with("report_data_mismatch"),
        "{v}"
    );

    // An attacker's own PKI: under its own serial its chain ends in an untrusted root; under
    // the genuine chip's serial the imported HSK/CEK are used, which never certified its PEK.
    for (serial, want) in [("ATTACKER1", "untrusted_root"), (CHIP, "signature_invalid")] {
        let attacker = HygonSim::new(b"attacker", serial).unwrap();
        let nonce = server.challenge().await;
        let runtime = json!({ "nonce": nonce });
        let spec = CsvReportSpec {
            report_data: attest_report_data(&runtime),
            ..CsvReportSpec::default()
        };
        let quote = attacker
            .trustee_evidence(&spec, true, None)
            .unwrap()
            .to_string();
        let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
        let (status, v) = server.post("/v1/attest", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            v["detail"].as_str().unwrap().starts_with(want),
            "{serial}: {v}"
        );
    }

    // A debug guest verifies and is contraindicated by the default policy.
    let nonce = server.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let spec = CsvReportSpec {
        report_data: attest_report_data(&runtime),
        policy: 0x26,
        ..CsvReportSpec::default()
    };
    let (status, v) = server.post("/v1/attest", &attest(spec, runtime)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let c = claims(v["token"].as_str().unwrap());
    assert_eq!(c["ear_status"], "contraindicated");
    assert_eq!(evidence_of(&c)["debug"], true);
}

#[tokio::test]
async fn the_chip_needs_its_hsk_cek_and_v2_binds_the_event_log() {
    let server = Server::start(false).await;
    let nonce = server.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let (log, registers) = sm3_ccel();
    let spec = CsvReportSpec {
        version: 2,
        report_data: attest_report_data(&runtime),
        rtmr: registers,
        ..CsvReportSpec::default()
    };
    // Raw report, no HSK/CEK imported for the chip: refused.
    let quote = server.sim.report(&spec).unwrap().encode();
    let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(&quote), "cc_eventlog": STANDARD.encode(&log) }, "runtime_data": runtime });
    let (status, v) = server.post("/v1/attest", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["type"].as_str().unwrap().ends_with("collateral_missing"),
        "{v}"
    );

    // The attester's JSON with HSK/CEK included, the log inside it: replayed to rtmr1..4.
    let nonce = server.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let spec = CsvReportSpec {
        report_data: attest_report_data(&runtime),
        ..spec
    };
    let quote = server
        .sim
        .trustee_evidence(&spec, true, Some(&log))
        .unwrap()
        .to_string();
    let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(&quote) }, "runtime_data": runtime });
    let (status, v) = server.post("/v1/attest", &body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let c = claims(v["token"].as_str().unwrap());
    let events = evidence_of(&c)["event_log"]["events"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(events, 3);
    assert_eq!(
        evidence_of(&c)["report"]["rtmr1"],
        hex::encode(registers[0])
    );
    // The chain came with the evidence, so nothing proves the serial the signer block names:
    // it is not published as `chip_serial`.
    assert_eq!(evidence_of(&c)["chip_serial_verified"], false);
    assert!(evidence_of(&c).get("chip_serial").is_none());
    assert!(evidence_of(&c)["report"].get("chip_serial").is_none());
    assert_eq!(evidence_of(&c)["claimed_chip_serial"], CHIP);

    // A log that does not replay to the RTMRs.
    let nonce = server.challenge().await;
    let runtime = json!({ "nonce": nonce });
    let mut rtmr = registers;
    rtmr[2][0] ^= 1;
    let spec = CsvReportSpec {
        report_data: attest_report_data(&runtime),
        rtmr,
        ..spec
    };
    let quote = server
        .sim
        .trustee_evidence(&spec, true, Some(&log))
        .unwrap()
        .to_string();
    let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(&quote) }, "runtime_data": runtime });
    let (status, v) = server.post("/v1/attest", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["type"].as_str().unwrap().ends_with("eventlog_mismatch"),
        "{v}"
    );
}

#[tokio::test]
async fn a_csv_guest_gets_its_secret_from_the_key_broker() {
    let server = Server::start(true).await;
    server
        .reference(
            "measure",
            json!([hex::encode(CsvReportSpec::default().measure)]),
        )
        .await;
    let r = server
        .http
        .post(format!("{}/kbs/v0/resource/default/key/disk", server.url))
        .bearer_auth(&server.admin)
        .body(SECRET.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    for (debug, want) in [(false, StatusCode::OK), (true, StatusCode::FORBIDDEN)] {
        let guest = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let key = TeeKeyPair::generate().unwrap();
        let auth = json!({ "version": "0.4.0", "tee": "csv", "extra-params": "" });
        let r = guest
            .post(format!("{}/kbs/v0/auth", server.url))
            .json(&auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let challenge: kbs_types::Challenge = r.json().await.unwrap();
        let digest = runtime_data_digest(
            HashAlgorithm::Sha384,
            &challenge.nonce,
            &key.public_jwk(),
            "",
        )
        .unwrap();
        // The attester: report_data is the digest zero-padded to 64 bytes.
        let mut report_data = [0u8; 64];
        report_data[..48].copy_from_slice(&digest);
        let spec = CsvReportSpec {
            version: 2,
            report_data,
            policy: if debug {
                0x26
            } else {
                CsvReportSpec::default().policy
            },
            ..CsvReportSpec::default()
        };
        let evidence = server.sim.trustee_evidence(&spec, false, None).unwrap();
        let body = json!({
            "runtime-data": { "nonce": challenge.nonce, "tee-pubkey": key.public_jwk() },
            "tee-evidence": { "primary_evidence": evidence, "additional_evidence": "" },
        });
        let r = guest
            .post(format!("{}/kbs/v0/attest", server.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = guest
            .get(format!("{}/kbs/v0/resource/default/key/disk", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "debug = {debug}");
        if want == StatusCode::OK {
            let jwe: FlattenedJwe = r.json().await.unwrap();
            assert_eq!(key.decrypt(&jwe).unwrap(), SECRET);
        }
    }

    // Evidence bound to another session's nonce is refused, and nothing is released.
    let guest = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let key = TeeKeyPair::generate().unwrap();
    let auth = json!({ "version": "0.4.0", "tee": "csv", "extra-params": "" });
    let r = guest
        .post(format!("{}/kbs/v0/auth", server.url))
        .json(&auth)
        .send()
        .await
        .unwrap();
    let challenge: kbs_types::Challenge = r.json().await.unwrap();
    let spec = CsvReportSpec {
        report_data: [7; 64],
        ..CsvReportSpec::default()
    };
    let body = json!({
        "runtime-data": { "nonce": challenge.nonce, "tee-pubkey": key.public_jwk() },
        "tee-evidence": { "primary_evidence": server.sim.trustee_evidence(&spec, false, None).unwrap(), "additional_evidence": "" },
    });
    let r = guest
        .post(format!("{}/kbs/v0/attest", server.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = guest
        .get(format!("{}/kbs/v0/resource/default/key/disk", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// The real Hygon CSV CCEL (`eventlog-csv-trustee-sm3`) bound to a V2 report whose RTMRs hold
/// the values its expected.json computes: accepted, each event listed; one register off: refused.
#[tokio::test]
async fn the_real_csv_event_log_replays_to_a_v2_reports_rtmrs() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/eventlog-csv-trustee-sm3");
    let log = std::fs::read(dir.join("ccel.bin")).unwrap();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut rtmr = [[0u8; 32]; 4];
    for (i, r) in rtmr.iter_mut().enumerate() {
        let hex_value = expected["expected"][format!("cc_mr{}", i + 1)]
            .as_str()
            .unwrap();
        r.copy_from_slice(&hex::decode(hex_value).unwrap());
    }
    let server = Server::start(true).await;
    let events = expected["event_count_excluding_header"].as_u64().unwrap();
    for (tweak, ok) in [(false, true), (true, false)] {
        let nonce = server.challenge().await;
        let runtime = json!({ "nonce": nonce });
        let mut spec = CsvReportSpec {
            version: 2,
            report_data: attest_report_data(&runtime),
            rtmr,
            ..CsvReportSpec::default()
        };
        if tweak {
            spec.rtmr[1][31] ^= 1;
        }
        let quote = server.sim.report(&spec).unwrap().encode();
        let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(&quote), "cc_eventlog": STANDARD.encode(&log) }, "runtime_data": runtime });
        let (status, v) = server.post("/v1/attest", &body).await;
        if ok {
            assert_eq!(status, StatusCode::OK, "{v}");
            let c = claims(v["token"].as_str().unwrap());
            let listed = evidence_of(&c)["event_log"]["events"]
                .as_array()
                .unwrap()
                .len() as u64;
            assert!(listed > 0 && listed <= events, "{listed} of {events}");
        } else {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(v["detail"].as_str().unwrap().contains("rtmr2"), "{v}");
        }
    }
}

/// A KDS on loopback serving `chains` by serial; it counts its requests.
async fn kds(
    chains: Vec<(String, Vec<u8>)>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::extract::Query;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/hsk_cek",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let chains = chains.clone();
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let serial = q.get("snumber").cloned().unwrap_or_default();
                match chains.into_iter().find(|(s, _)| *s == serial) {
                    Some((_, bytes)) => (axum::http::StatusCode::OK, bytes),
                    None => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hsk_cek", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

#[tokio::test]
async fn hsk_cek_are_fetched_from_the_kds_on_a_miss_verified_and_cached() {
    let sim = HygonSim::new(b"scute-server csv tests", CHIP).unwrap();
    let attacker = HygonSim::new(b"attacker", "ATTACKER2").unwrap();
    let (url, hits) = kds(vec![
        (CHIP.to_string(), sim.hsk_cek().encode()),
        // The KDS (or whoever answers for it) sends a chain under an untrusted root.
        ("ATTACKER2".to_string(), attacker.hsk_cek().encode()),
    ])
    .await;
    let kds_url = url.clone();
    let server = Server::start_with(false, move |c| c.csv_kds_url = Some(kds_url)).await;
    for round in 0..2 {
        let nonce = server.challenge().await;
        let runtime = json!({ "nonce": nonce });
        let spec = CsvReportSpec {
            report_data: attest_report_data(&runtime),
            ..CsvReportSpec::default()
        };
        let quote = server.sim.report(&spec).unwrap().encode();
        let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
        let (status, v) = server.post("/v1/attest", &body).await;
        assert_eq!(status, StatusCode::OK, "round {round}: {v}");
    }
    // Fetched once, then served from the store.
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    for (serial, want) in [
        ("ATTACKER2", "evidence_rejected"),
        ("NOSUCHCHIP", "collateral_missing"),
    ] {
        let chip = HygonSim::new(b"attacker", serial).unwrap();
        let nonce = server.challenge().await;
        let runtime = json!({ "nonce": nonce });
        let spec = CsvReportSpec {
            report_data: attest_report_data(&runtime),
            ..CsvReportSpec::default()
        };
        let quote = chip.report(&spec).unwrap().encode();
        let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
        let (status, v) = server.post("/v1/attest", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{serial}: {v}");
        assert!(v["type"].as_str().unwrap().ends_with(want), "{serial}: {v}");
    }
}

/// A V1 report signs only its first 0xB4 bytes; the rest, the debug bit among it, is XOR-ed
/// with an anonce a debug guest's host can choose and compensate in report_data. So the
/// default policy lets a V1 chain vouch for the hardware only when `measure` is a trusted
/// reference value (which any XOR pattern would change); V2 is signed whole.
#[tokio::test]
async fn a_v1_report_vouches_for_the_hardware_only_with_a_trusted_measure() {
    let server = Server::start(true).await;
    let hardware = |version: u8| {
        let server = &server;
        async move {
            let runtime = json!({ "nonce": server.challenge().await });
            let spec = CsvReportSpec {
                version,
                report_data: attest_report_data(&runtime),
                ..CsvReportSpec::default()
            };
            let quote = server.sim.report(&spec).unwrap().encode();
            let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
            let (status, v) = server.post("/v1/attest", &body).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            let c = claims(v["token"].as_str().unwrap());
            c["submods"]["cpu0"]["ear_trustworthiness_vector"]["hardware"].clone()
        }
    };
    assert_eq!(hardware(1).await, json!(32));
    assert_eq!(hardware(2).await, json!(2));
    server
        .reference(
            "measure",
            json!([hex::encode(CsvReportSpec::default().measure)]),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(hardware(1).await, json!(2));
}

impl Server {
    /// `GET /v1/platforms?tee=csv`.
    async fn platforms(&self) -> Value {
        let r = self
            .http
            .get(format!("{}/v1/platforms?tee=csv", self.url))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// `/v1/attest` of `quote(spec)` for a fresh challenge: the token's claims.
    async fn attest_csv(&self, quote: impl Fn(&CsvReportSpec) -> Vec<u8>) -> Value {
        let runtime = json!({ "nonce": self.challenge().await });
        let spec = CsvReportSpec {
            report_data: attest_report_data(&runtime),
            ..CsvReportSpec::default()
        };
        let body = json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(quote(&spec)) }, "runtime_data": runtime });
        let (status, v) = self.post("/v1/attest", &body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        claims(v["token"].as_str().unwrap())
    }
}

/// The platforms table names a CSV chip by a proven serial only: evidence carrying its own
/// HSK/CEK (whose serial is only claimed) attests but records no row, while a raw report
/// checked against the HSK/CEK imported by the chip's serial does.
#[tokio::test]
async fn only_a_proven_chip_serial_is_recorded_as_a_platform() {
    let server = Server::start(false).await;
    let c = server
        .attest_csv(|spec| {
            server
                .sim
                .trustee_evidence(spec, true, None)
                .unwrap()
                .to_string()
                .into_bytes()
        })
        .await;
    assert_eq!(evidence_of(&c)["chip_serial_verified"], false);
    assert_eq!(evidence_of(&c)["claimed_chip_serial"], CHIP);
    let table = server.platforms().await;
    assert_eq!(table["total"], 0, "{table}");

    let server = Server::start(true).await;
    let c = server
        .attest_csv(|spec| server.sim.report(spec).unwrap().encode())
        .await;
    assert_eq!(evidence_of(&c)["chip_serial_verified"], true);
    let table = server.platforms().await;
    assert_eq!(table["total"], 1, "{table}");
    let row = &table["platforms"][0];
    assert_eq!(row["tee"], "csv");
    assert_eq!(row["platform"], CHIP);
    assert_eq!(row["attestations"], 1);
}
