//! Issue 24: Intel's early and standard TCB evaluation data sets (PCS v4 `update=`), over real
//! sockets. Both kinds are imported (`POST /v1/collateral?update=early`) or filled from an
//! upstream that is asked with the same `update=`, stored side by side, served by the PCCS
//! routes byte for byte by the request's `update=`, refreshed each with its own `update=`; the
//! appraisal uses the kind `collateral_update` names and never the other one.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use reqwest::StatusCode;
use scute_server::{CollateralUpdate, Config, Store};
use scute_sim::{Simulator, Tee, Workload};
use scute_test::{tdx_collateral_set, TestService};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const VECTORS: &str = "../../../shared/vectors";
/// Intel's SGX sets of FMSPC 00a067110000 (Processor CA): tcbEvaluationDataNumber 16 and 17.
/// Here the older one plays the standard set and the newer one the early set, as after a TCB
/// recovery's embargo lift.
const STANDARD_CASE: &str = "automata-dcaprs-sgx-v3";
const EARLY_CASE: &str = "dcapqvl-sgx-v3";
const SGX_FMSPC: &str = "00a067110000";
/// The simulator's platform.
const SIM_FMSPC: &str = "5c07e0000000";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(VECTORS)
        .join(name)
}

fn files(name: &str) -> BTreeMap<String, Vec<u8>> {
    scute_dcap::Collateral::FILE_NAMES
        .iter()
        .filter_map(|n| {
            std::fs::read(case(name).join(n))
                .ok()
                .map(|b| (n.to_string(), b))
        })
        .collect()
}

fn eval_number(tcb_info: &[u8]) -> u64 {
    let v: Value = serde_json::from_slice(tcb_info).unwrap();
    v["tcbInfo"]["tcbEvaluationDataNumber"].as_u64().unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

async fn problem(r: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], format!("urn:scute:problem:{kind}"), "{body}");
    body
}

/// `POST /v1/collateral` (with `query`, e.g. `?update=early`) as the admin.
async fn post_collateral(
    service: &TestService,
    query: &str,
    set: &BTreeMap<String, Vec<u8>>,
) -> reqwest::Response {
    service.post_collateral(query, set).await
}

/// A PCCS-compatible upstream holding one set per `update=` kind, recording every request
/// (path and query) it is sent. TCB Info and QE Identity are answered from the set the
/// request's `update=` names (standard when absent; 404 when the upstream has no such set),
/// the CRLs from either set (they are not update-specific).
struct Upstream {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Upstream {
    async fn start(sets: BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>) -> Self {
        use axum::extract::Query;
        use axum::http::Uri;
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::{IntoResponse, Response};
        use axum::routing::get;
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let recorded = seen.clone();
        let sets = Arc::new(sets);
        let enc = |b: &[u8]| {
            percent_encoding::utf8_percent_encode(
                std::str::from_utf8(b).unwrap(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string()
        };
        let answer = move |header: &'static str, chain: &'static str, body: &'static str| {
            let (sets, seen) = (sets.clone(), recorded.clone());
            move |uri: Uri, Query(q): Query<BTreeMap<String, String>>| {
                let (sets, seen) = (sets.clone(), seen.clone());
                async move {
                    seen.lock().unwrap().push(uri.to_string());
                    let kind = q.get("update").map(String::as_str).unwrap_or("standard");
                    let set = if body.ends_with("crl.der") {
                        sets.values().next()
                    } else {
                        sets.get(kind)
                    };
                    let Some(set) = set else {
                        return StatusCode::NOT_FOUND.into_response();
                    };
                    let mut h = HeaderMap::new();
                    if !chain.is_empty() {
                        h.insert(header, enc(&set[chain]).parse().unwrap());
                    }
                    let bytes = if body == "root_ca_crl.der" {
                        hex::encode(&set[body]).into_bytes()
                    } else {
                        set[body].clone()
                    };
                    let r: Response = (h, bytes).into_response();
                    r
                }
            }
        };
        let tcb = answer(
            "tcb-info-issuer-chain",
            "tcb_info_issuer_chain.pem",
            "tcb_info.json",
        );
        let qe = answer(
            "sgx-enclave-identity-issuer-chain",
            "qe_identity_issuer_chain.pem",
            "qe_identity.json",
        );
        let app = axum::Router::new()
            .route("/sgx/certification/v4/tcb", get(tcb.clone()))
            .route("/tdx/certification/v4/tcb", get(tcb))
            .route("/sgx/certification/v4/qe/identity", get(qe.clone()))
            .route("/tdx/certification/v4/qe/identity", get(qe))
            .route(
                "/sgx/certification/v4/pckcrl",
                get(answer(
                    "sgx-pck-crl-issuer-chain",
                    "pck_crl_issuer_chain.pem",
                    "pck_crl.der",
                )),
            )
            .route(
                "/sgx/certification/v4/rootcacrl",
                get(answer("x-unused", "", "root_ca_crl.der")),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, seen }
    }

    /// The requests for `route` (e.g. `/tcb`, `/qe/identity`) it was sent.
    fn asked(&self, route: &str) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|u| u.contains(&format!("/certification/v4{route}")))
            .cloned()
            .collect()
    }
}

#[tokio::test]
async fn early_and_standard_sets_are_imported_and_served_side_by_side() {
    let service = TestService::builder().start().await;
    let (standard, early) = (files(STANDARD_CASE), files(EARLY_CASE));
    assert_ne!(standard["tcb_info.json"], early["tcb_info.json"]);

    // Admin only, and only the two kinds.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/collateral?update=early", service.url))
        .json(&json!({"files": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    problem(
        post_collateral(&service, "?update=late", &early).await,
        400,
        "bad_field",
    )
    .await;

    let r = post_collateral(&service, "", &standard).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"fmspc": SGX_FMSPC, "ca": "processor", "tee": "sgx"})
    );
    // The early set has the higher evaluation data number; stored under its own key, it is
    // no rollback of the standard one and replaces nothing.
    let r = post_collateral(&service, "?update=early", &early).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    let tcb = |update: &str| {
        format!(
            "{}/sgx/certification/v4/tcb?fmspc={}{update}",
            service.url,
            SGX_FMSPC.to_uppercase()
        )
    };
    for (update, want) in [
        ("&update=early", &early),
        ("", &standard),
        ("&update=standard", &standard),
    ] {
        let r = get(&tcb(update)).await;
        assert_eq!(r.status(), 200, "{update}");
        let chain: Vec<u8> =
            percent_encoding::percent_decode(r.headers()["tcb-info-issuer-chain"].as_bytes())
                .collect();
        assert_eq!(chain, want["tcb_info_issuer_chain.pem"], "{update}");
        let body = r.bytes().await.unwrap();
        assert_eq!(body.as_ref(), want["tcb_info.json"].as_slice(), "{update}");
    }
    assert_eq!(
        eval_number(&get(&tcb("&update=early")).await.bytes().await.unwrap()),
        17
    );
    assert_eq!(eval_number(&get(&tcb("")).await.bytes().await.unwrap()), 16);
    let qe = |update: &str| format!("{}/sgx/certification/v4/qe/identity{update}", service.url);
    for (update, want) in [("?update=early", &early), ("", &standard)] {
        let r = get(&qe(update)).await;
        assert_eq!(r.status(), 200, "{update}");
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            want["qe_identity.json"].as_slice(),
            "{update}"
        );
    }
    // Any other value is still a bad parameter.
    problem(get(&tcb("&update=late")).await, 400, "pccs_bad_parameter").await;

    // Both kinds survive a restart (they are in the store, not only in the index).
    let service = service.restart().await;
    let r = get(&format!(
        "{}/sgx/certification/v4/tcb?fmspc={SGX_FMSPC}&update=early",
        service.url
    ))
    .await;
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        early["tcb_info.json"].as_slice()
    );
    service.stop().await;
}

#[tokio::test]
async fn update_early_is_not_cached_while_only_the_standard_set_is_held() {
    let service = TestService::builder()
        .import(files(STANDARD_CASE))
        .start()
        .await;
    let u = &service.url;
    let body = problem(
        get(&format!(
            "{u}/sgx/certification/v4/tcb?fmspc={SGX_FMSPC}&update=early"
        ))
        .await,
        404,
        "pccs_not_cached",
    )
    .await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(SGX_FMSPC) && detail.contains("update=early"),
        "{detail}"
    );
    problem(
        get(&format!(
            "{u}/sgx/certification/v4/qe/identity?update=early"
        ))
        .await,
        404,
        "pccs_not_cached",
    )
    .await;
    // The standard set is there all along.
    let r = get(&format!("{u}/sgx/certification/v4/tcb?fmspc={SGX_FMSPC}")).await;
    assert_eq!(r.status(), 200);
    // CRLs belong to no kind.
    let r = get(&format!("{u}/sgx/certification/v4/pckcrl?ca=processor")).await;
    assert_eq!(r.status(), 200);
    service.stop().await;
}

#[tokio::test]
async fn an_upstream_fill_of_update_early_asks_for_it_and_stores_it_as_early() {
    let upstream = Upstream::start(BTreeMap::from([
        ("standard", files(STANDARD_CASE)),
        ("early", files(EARLY_CASE)),
    ]))
    .await;
    let service = TestService::builder()
        .start_with(|c| c.pccs_url = Some(upstream.url.clone()))
        .await;
    let tcb = |update: &str| {
        format!(
            "{}/sgx/certification/v4/tcb?fmspc={SGX_FMSPC}{update}",
            service.url
        )
    };
    let r = get(&tcb("&update=early")).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = get(&tcb("&update=early")).await;
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        files(EARLY_CASE)["tcb_info.json"].as_slice()
    );
    // The upstream was asked for the early TCB Info and QE Identity, and only for those.
    let asked = upstream.asked("/tcb");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains("update=early"), "{asked:?}");
    let asked = upstream.asked("/qe/identity");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains("update=early"), "{asked:?}");
    // Stored as the early set of the platform, and as nothing else.
    let store = Store::open(&service.data_dir()).await.unwrap();
    let sets = store.collateral_sets().await.unwrap();
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(
        (
            sets[0].fmspc.as_str(),
            sets[0].ca.as_str(),
            sets[0].tee.as_str(),
            sets[0].update.as_str()
        ),
        (SGX_FMSPC, "processor", "sgx", "early")
    );
    let r = get(&format!(
        "{}/sgx/certification/v4/qe/identity?update=early",
        service.url
    ))
    .await;
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        files(EARLY_CASE)["qe_identity.json"].as_slice()
    );

    // The standard route is a miss of its own: filled with the upstream's standard set, asked
    // without update=early.
    let r = get(&tcb("")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        files(STANDARD_CASE)["tcb_info.json"].as_slice()
    );
    let asked = upstream.asked("/tcb");
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(!asked[1].contains("update="), "{asked:?}");
    let mut kinds: Vec<String> = store
        .collateral_sets()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.update)
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["early", "standard"]);
    // And the early set is still what update=early serves.
    let r = get(&tcb("&update=early")).await;
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        files(EARLY_CASE)["tcb_info.json"].as_slice()
    );
    service.stop().await;
}

/// An upstream without an early set: update=early is refused the way a miss is (no standard
/// set served instead), while the standard set fills.
#[tokio::test]
async fn an_upstream_without_the_early_set_leaves_update_early_unanswered() {
    let upstream = Upstream::start(BTreeMap::from([("standard", files(STANDARD_CASE))])).await;
    let service = TestService::builder()
        .start_with(|c| c.pccs_url = Some(upstream.url.clone()))
        .await;
    let r = get(&format!(
        "{}/sgx/certification/v4/tcb?fmspc={SGX_FMSPC}&update=early",
        service.url
    ))
    .await;
    problem(r, 502, "upstream_unavailable").await;
    assert!(upstream.asked("/tcb")[0].contains("update=early"));
    let store = Store::open(&service.data_dir()).await.unwrap();
    assert!(store.collateral_sets().await.unwrap().is_empty());
    service.stop().await;
}

/// The quote-verifying side: a TDX attestation against the simulator, with a standard set whose
/// platform level is UpToDate and an early set where it is OutOfDate.
struct Attester {
    service: TestService,
    sim: Simulator,
}

impl Attester {
    /// (status, body, tcb_status claimed by the token when one was issued).
    async fn attest(&self) -> (StatusCode, Value, Option<String>) {
        let http = &self.service.http;
        let r = http
            .post(format!("{}/v1/challenge", self.service.url))
            .send()
            .await
            .unwrap();
        let nonce = r.json::<Value>().await.unwrap()["nonce"]
            .as_str()
            .unwrap()
            .to_string();
        let runtime = json!({ "nonce": nonce });
        let quote = self
            .sim
            .quote(&Workload::new(
                Tee::Tdx,
                4,
                scute_test::report_data(&runtime),
            ))
            .unwrap()
            .encode();
        let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
        let r = http
            .post(format!("{}/v1/attest", self.service.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        // The claims only (the token's signature is checked by the api tests).
        let tcb_status = body["token"].as_str().map(|t| {
            let payload = t.split('.').nth(1).unwrap();
            let claims: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
            claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"]["tcb_status"]
                .as_str()
                .unwrap()
                .to_string()
        });
        (status, body, tcb_status)
    }
}

#[tokio::test]
async fn appraisal_uses_the_configured_kind() {
    let sim = Simulator::new(24, now()).unwrap();
    let service = TestService::builder()
        .trust_intel(&sim)
        .import(tdx_collateral_set(&sim, "UpToDate", 3600))
        .start()
        .await;
    let r = post_collateral(
        &service,
        "?update=early",
        &tdx_collateral_set(&sim, "OutOfDate", 3600),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let a = Attester { service, sim };
    // Default (standard).
    let (status, body, tcb) = a.attest().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(tcb.as_deref(), Some("UpToDate"));

    let Attester { service, sim } = a;
    let service = service
        .restart_with(|c| c.collateral_update = CollateralUpdate::Early)
        .await;
    let a = Attester { service, sim };
    let (status, body, tcb) = a.attest().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(tcb.as_deref(), Some("OutOfDate"));

    // Back to standard: the standard set again (neither replaced the other).
    let Attester { service, sim } = a;
    let service = service
        .restart_with(|c| c.collateral_update = CollateralUpdate::Standard)
        .await;
    let a = Attester { service, sim };
    let (_, body, tcb) = a.attest().await;
    assert_eq!(tcb.as_deref(), Some("UpToDate"), "{body}");
    a.service.stop().await;
}

#[tokio::test]
async fn the_configured_kind_missing_without_an_upstream_is_a_miss() {
    // Only the standard set, early configured.
    let sim = Simulator::new(25, now()).unwrap();
    let service = TestService::builder()
        .trust_intel(&sim)
        .import(tdx_collateral_set(&sim, "UpToDate", 3600))
        .start_with(|c| c.collateral_update = CollateralUpdate::Early)
        .await;
    let a = Attester { service, sim };
    let (status, body, tcb) = a.attest().await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["type"], "urn:scute:problem:collateral_missing",
        "{body}"
    );
    assert!(tcb.is_none());
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(SIM_FMSPC) && detail.contains("early"),
        "{detail}"
    );

    // Only the early set, standard (the default) configured.
    let sim = Simulator::new(26, now()).unwrap();
    let service = TestService::builder().trust_intel(&sim).start().await;
    let r = post_collateral(
        &service,
        "?update=early",
        &tdx_collateral_set(&sim, "OutOfDate", 3600),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let a = Attester { service, sim };
    let (status, body, _) = a.attest().await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["type"], "urn:scute:problem:collateral_missing",
        "{body}"
    );
    a.service.stop().await;
}

#[tokio::test]
async fn an_attestation_with_early_configured_fills_the_early_set_from_the_upstream() {
    let sim = Simulator::new(27, now()).unwrap();
    let upstream = Upstream::start(BTreeMap::from([
        ("standard", tdx_collateral_set(&sim, "UpToDate", 3600)),
        ("early", tdx_collateral_set(&sim, "OutOfDate", 3600)),
    ]))
    .await;
    let service = TestService::builder()
        .trust_intel(&sim)
        .start_with(|c| {
            c.pccs_url = Some(upstream.url.clone());
            c.collateral_update = CollateralUpdate::Early;
        })
        .await;
    let data_dir = service.data_dir();
    let a = Attester { service, sim };
    let (status, body, tcb) = a.attest().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(tcb.as_deref(), Some("OutOfDate"));
    let asked = upstream.asked("/tcb");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].starts_with(&format!(
            "/tdx/certification/v4/tcb?fmspc={SIM_FMSPC}&update=early"
        )),
        "{asked:?}"
    );
    let store = Store::open(&data_dir).await.unwrap();
    assert!(store
        .collateral(SIM_FMSPC, "platform", "tdx", "early")
        .await
        .unwrap()
        .is_some());
    assert!(store
        .collateral(SIM_FMSPC, "platform", "tdx", "standard")
        .await
        .unwrap()
        .is_none());
    a.service.stop().await;
}

/// The background refresh asks the upstream for each stored set with that set's own
/// `update=`, and each answer replaces the set of its kind only.
#[tokio::test]
async fn a_refresh_renews_each_kind_with_its_own_update() {
    let sim = Simulator::new(28, now()).unwrap();
    // Newer than the stored sets (issued half an hour later), so neither is a rollback.
    let (fresh_standard, fresh_early) = (
        tdx_collateral_set(&sim, "UpToDate", 1800),
        tdx_collateral_set(&sim, "OutOfDate", 1800),
    );
    let upstream = Upstream::start(BTreeMap::from([
        ("standard", fresh_standard.clone()),
        ("early", fresh_early.clone()),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let root = dir.path().join("sim-root.pem");
    std::fs::write(&root, sim.root_ca_pem()).unwrap();
    let base = Config {
        data_dir: data.clone(),
        trust_roots: vec![root],
        ..Config::default()
    };
    scute_server::import_collateral_as(
        &base,
        &tdx_collateral_set(&sim, "UpToDate", 3600),
        CollateralUpdate::Standard,
    )
    .await
    .unwrap();
    scute_server::import_collateral_as(
        &base,
        &tdx_collateral_set(&sim, "OutOfDate", 3600),
        CollateralUpdate::Early,
    )
    .await
    .unwrap();
    let service = TestService::builder_in(dir)
        .trust_intel(&sim)
        .start_then(
            |c| c.pccs_url = Some(upstream.url.clone()),
            async |running| running.refresh_due(i64::MAX / 2).await,
        )
        .await;
    let mut asked = upstream.asked("/tcb");
    asked.sort();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked.iter().any(|u| u.ends_with("&update=early")),
        "{asked:?}"
    );
    assert!(asked.iter().any(|u| !u.contains("update=")), "{asked:?}");
    for (update, want) in [("&update=early", &fresh_early), ("", &fresh_standard)] {
        let r = get(&format!(
            "{}/tdx/certification/v4/tcb?fmspc={SIM_FMSPC}{update}",
            service.url
        ))
        .await;
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            want["tcb_info.json"].as_slice(),
            "{update}"
        );
    }
    service.stop().await;
}

/// Intel's early data is never older than its standard data: an early set whose evaluation
/// data number is below the stored standard set's is a rollback (409), whoever brings it, and
/// nothing is stored; at or above it, it is stored.
#[tokio::test]
async fn an_early_set_older_than_the_stored_standard_set_is_a_rollback() {
    let service = TestService::builder().start().await;
    let (older, newer) = (files(STANDARD_CASE), files(EARLY_CASE));
    assert!(eval_number(&older["tcb_info.json"]) < eval_number(&newer["tcb_info.json"]));
    let r = post_collateral(&service, "", &newer).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = problem(
        post_collateral(&service, "?update=early", &older).await,
        409,
        "collateral_rollback",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("standard"),
        "{body}"
    );
    let early_route = format!(
        "{}/sgx/certification/v4/tcb?fmspc={SGX_FMSPC}&update=early",
        service.url
    );
    assert_eq!(get(&early_route).await.status(), StatusCode::NOT_FOUND);
    let r = post_collateral(&service, "?update=early", &newer).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let r = get(&early_route).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        eval_number(&r.bytes().await.unwrap()),
        eval_number(&newer["tcb_info.json"])
    );
}
