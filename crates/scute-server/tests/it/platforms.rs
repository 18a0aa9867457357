//! Issue 24: the platforms table (`GET /v1/platforms`) and the collateral dry run (`POST
//! /v1/collateral?dry_run=true`), over real sockets. A fleet of simulated TDX platforms of one
//! model at three TCB levels is attested; a TCB recovery's collateral (a newer UpToDate level)
//! is tried without storing it, and the dry run names exactly the platforms it would make
//! OutOfDate, which an import and a new attestation then confirm.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::StatusCode;
use scute_server::{PlatformRow, Store};
use scute_sim::{FleetLevel, Simulator, Tee, Workload};
use scute_test::{tdx_collateral_set, TestService};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const DAY: i64 = 86_400;
/// The simulator's platform model.
const SIM_FMSPC: &str = "5c07e0000000";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn unix(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

async fn post_collateral(
    service: &TestService,
    query: &str,
    set: &BTreeMap<String, Vec<u8>>,
) -> reqwest::Response {
    service.post_collateral(query, set).await
}

async fn platforms(service: &TestService, query: &str) -> Value {
    let r = service
        .http
        .get(format!("{}/v1/platforms{query}", service.url))
        .bearer_auth(&service.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Attests `sim`'s TDX quote; the EAR status of the token it got.
async fn attest(service: &TestService, sim: &Simulator) -> String {
    let r = service.attest_tdx(sim).await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["ear_status"].as_str().unwrap().to_string()
}

/// The row of the platform whose PCESVN is `pce_svn` (the fleet's levels differ in it).
fn by_pce_svn(list: &[Value], pce_svn: u16) -> &Value {
    let found: Vec<&Value> = list
        .iter()
        .filter(|p| p["tcb"]["pce_svn"] == json!(pce_svn))
        .collect();
    assert_eq!(found.len(), 1, "{list:?}");
    found[0]
}

/// The store's collateral, as a test compares it before and after a dry run.
async fn stored_sets(service: &TestService) -> Vec<(String, String, String, String, i64)> {
    let store = Store::open(&service.data_dir()).await.unwrap();
    store
        .collateral_sets()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.fmspc, s.tee, s.update, s.files_json, s.updated))
        .collect()
}

#[tokio::test]
async fn a_dry_run_names_the_fleet_platforms_a_tcb_recovery_makes_out_of_date() {
    let sim = Simulator::new(2405, now()).unwrap();
    let newer = sim.fleet_platform(FleetLevel::Newer).unwrap();
    let older = sim.fleet_platform(FleetLevel::Older).unwrap();
    let pce = sim.platform().pce_svn;
    let service = TestService::builder()
        .trust_intel(&sim)
        .import(tdx_collateral_set(&sim, "UpToDate", 2 * 3600))
        .start()
        .await;

    // The fleet attests under the stored set: the middle and newer levels are UpToDate, the
    // older one matches only the oldest level.
    let mut ear = BTreeMap::new();
    for (name, platform) in [("sim", &sim), ("newer", &newer), ("older", &older)] {
        ear.insert(name, attest(&service, platform).await);
    }
    let started = now();

    // The table: 401 without the admin token.
    let r = reqwest::Client::new()
        .get(format!("{}/v1/platforms", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let table = platforms(&service, "").await;
    assert_eq!(table["total"], 3, "{table}");
    let list = table["platforms"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    for p in list {
        assert_eq!(p["tee"], "tdx");
        assert_eq!(p["platform"], SIM_FMSPC);
        assert_eq!(p["attestations"], 1);
        assert_eq!(p["tcb_evaluation_data_number"], 17);
        assert!((unix(p["last_seen"].as_str().unwrap()) - started).abs() < 60);
        // No evidence in the table.
        assert!(p.get("quote").is_none() && p.get("report_data").is_none());
    }
    let (mid, new, old) = (
        by_pce_svn(list, pce),
        by_pce_svn(list, pce + 1),
        by_pce_svn(list, pce - 1),
    );
    assert_eq!(mid["tcb_status"], "UpToDate");
    assert_eq!(mid["ear_status"], ear["sim"]);
    assert_eq!(mid["days_behind"], Value::Null);
    assert_eq!(new["tcb_status"], "UpToDate");
    assert_eq!(new["ear_status"], ear["newer"]);
    assert_eq!(old["tcb_status"], "OutOfDate");
    assert_eq!(old["ear_status"], ear["older"]);
    // The older level's date, and the days since the level that superseded it.
    assert_eq!(old["tcb_date"], "2020-01-01T00:00:00Z");
    let superseded = unix(old["superseded_at"].as_str().unwrap());
    assert!(superseded > unix("2020-01-01T00:00:00Z"));
    assert_eq!(old["days_behind"], json!((now() - superseded) / DAY));
    assert!(!old["advisory_ids"].as_array().unwrap().is_empty());
    // The PlatformTcb is what the table keeps of the TCB.
    assert_eq!(mid["tcb"]["tee"], "tdx");
    assert_eq!(mid["tcb"]["tee_tcb_svn"][2], sim.tee_tcb_svn()[2]);

    // The recovery: a set with a newer UpToDate level above the middle one.
    let recovery = tdx_collateral_set(&sim, "OutOfDate", 3600);
    let before = stored_sets(&service).await;
    let r = post_collateral(&service, "?dry_run=true", &recovery).await;
    assert_eq!(r.status(), StatusCode::OK);
    let dry: Value = r.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        dry["sets"],
        json!([{ "fmspc": SIM_FMSPC, "ca": "platform", "tee": "tdx" }])
    );
    assert_eq!(
        (dry["changed"].clone(), dry["unchanged"].clone()),
        (json!(1), json!(2)),
        "{dry}"
    );
    let listed = dry["platforms"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let changed: Vec<&Value> = listed.iter().filter(|p| p["changed"] == true).collect();
    assert_eq!(changed.len(), 1);
    let c = changed[0];
    assert_eq!(c["tcb"]["pce_svn"], pce);
    assert_eq!(
        (c["status"].as_str(), c["new_status"].as_str()),
        (Some("UpToDate"), Some("OutOfDate"))
    );
    assert_eq!(c["new_tcb_date"], "2026-02-01T00:00:00Z");
    let new_superseded = unix("2026-08-01T00:00:00Z");
    assert_eq!(
        c["new_days_behind"],
        json!((now() - new_superseded).max(0) / DAY)
    );
    assert!(!c["new_advisory_ids"].as_array().unwrap().is_empty());
    let n = by_pce_svn(listed, pce + 1);
    assert_eq!(
        (n["status"].as_str(), n["new_status"].as_str()),
        (Some("UpToDate"), Some("UpToDate"))
    );
    assert_eq!(n["new_days_behind"], Value::Null);
    let o = by_pce_svn(listed, pce - 1);
    assert_eq!(
        (o["status"].as_str(), o["new_status"].as_str()),
        (Some("OutOfDate"), Some("OutOfDate"))
    );
    // Nothing stored: the collateral and the table are as they were.
    assert_eq!(stored_sets(&service).await, before);
    assert_eq!(platforms(&service, "").await["total"], 3);
    // The verdicts still come from the stored set.
    attest(&service, &sim).await;
    assert_eq!(
        by_pce_svn(
            platforms(&service, "").await["platforms"]
                .as_array()
                .unwrap(),
            pce
        )["tcb_status"],
        "UpToDate"
    );

    // What the dry run said is what verification does once the set is imported.
    let r = post_collateral(&service, "", &recovery).await;
    assert_eq!(r.status(), StatusCode::OK);
    for platform in [&sim, &newer, &older] {
        attest(&service, platform).await;
    }
    let table = platforms(&service, "").await;
    let list = table["platforms"].as_array().unwrap();
    for p in listed {
        let now_row = by_pce_svn(
            list,
            u16::try_from(p["tcb"]["pce_svn"].as_u64().unwrap()).unwrap(),
        );
        assert_eq!(now_row["tcb_status"], p["new_status"], "{table}");
        assert_eq!(now_row["tcb_date"], p["new_tcb_date"], "{table}");
    }
    // Filters: ?tee= and ?limit=.
    assert_eq!(platforms(&service, "?tee=snp").await["total"], 0);
    let page = platforms(&service, "?tee=tdx&limit=1").await;
    assert_eq!(
        (
            page["total"].clone(),
            page["platforms"].as_array().unwrap().len()
        ),
        (json!(3), 1)
    );
    service.stop().await;
}

#[tokio::test]
async fn a_dry_run_refuses_what_import_refuses_and_stores_nothing() {
    let sim = Simulator::new(2406, now()).unwrap();
    let service = TestService::builder()
        .trust_intel(&sim)
        .import(tdx_collateral_set(&sim, "UpToDate", 3600))
        .start()
        .await;
    attest(&service, &sim).await;
    let before = stored_sets(&service).await;

    // Admin only.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/collateral?dry_run=true", service.url))
        .json(&json!({"files": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Only true or false.
    let r = post_collateral(
        &service,
        "?dry_run=maybe",
        &tdx_collateral_set(&sim, "OutOfDate", 60),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "urn:scute:problem:bad_field");

    // A tampered TCB Info: the same refusal as import's.
    let mut tampered = tdx_collateral_set(&sim, "OutOfDate", 60);
    let text = String::from_utf8(tampered["tcb_info.json"].clone()).unwrap();
    tampered.insert(
        "tcb_info.json".into(),
        text.replace("\"OutOfDate\"", "\"UpToDate\"").into_bytes(),
    );
    let dry = post_collateral(&service, "?dry_run=true", &tampered).await;
    let (dry_status, dry_body) = (dry.status(), dry.json::<Value>().await.unwrap());
    let real = post_collateral(&service, "", &tampered).await;
    let (real_status, real_body) = (real.status(), real.json::<Value>().await.unwrap());
    assert!(dry_status.is_client_error(), "{dry_body}");
    assert_eq!(
        (dry_status, &dry_body["type"]),
        (real_status, &real_body["type"])
    );
    assert_eq!(dry_body["type"], "urn:scute:problem:collateral_rejected");
    // A rollback to an older set: refused by both.
    let old = tdx_collateral_set(&sim, "OutOfDate", 5 * 3600);
    let dry = post_collateral(&service, "?dry_run=true", &old).await;
    let (dry_status, dry_body) = (dry.status(), dry.json::<Value>().await.unwrap());
    assert_eq!(
        dry_body["type"], "urn:scute:problem:collateral_rollback",
        "{dry_body}"
    );
    let real = post_collateral(&service, "", &old).await;
    assert_eq!(real.status(), dry_status);
    assert_eq!(stored_sets(&service).await, before);

    // dry_run=false is an import.
    let r = post_collateral(
        &service,
        "?dry_run=false",
        &tdx_collateral_set(&sim, "OutOfDate", 60),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(stored_sets(&service).await, before);
    // A limit past 10000 is refused.
    let r = service
        .http
        .get(format!("{}/v1/platforms?limit=10001", service.url))
        .bearer_auth(&service.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    service.stop().await;
}

#[tokio::test]
async fn the_table_is_bounded_and_old_platforms_are_neither_listed_nor_judged() {
    let sim = Simulator::new(2407, now()).unwrap();
    let fleet = [
        sim.fleet_platform(FleetLevel::Older).unwrap(),
        sim.fleet_platform(FleetLevel::Newer).unwrap(),
    ];
    let service = TestService::builder()
        .trust_intel(&sim)
        .import(tdx_collateral_set(&sim, "UpToDate", 3600))
        .start_with(|c| c.platforms_max = 2)
        .await;
    // Three platforms, a second apart: the least recently seen leaves the table of two.
    attest(&service, &sim).await;
    for platform in &fleet {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        attest(&service, platform).await;
    }
    let table = platforms(&service, "").await;
    assert_eq!(table["total"], 2, "{table}");
    let pces: Vec<u64> = table["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tcb"]["pce_svn"].as_u64().unwrap())
        .collect();
    let pce = u64::from(sim.platform().pce_svn);
    // Newest last_seen first: the newer level, then the older one; the first one is gone.
    assert_eq!(pces, [pce + 1, pce - 1]);

    // Rows past platform_retention_days (90): one seen 91 days ago is not listed and not
    // judged by a dry run; one seen 89 days ago is (with room for both in the table).
    let service = service.restart_with(|c| c.platforms_max = 10).await;
    let store = Store::open(&service.data_dir()).await.unwrap();
    let (rows, _) = store.platforms(0, None, None, 10).await.unwrap();
    let template = rows[0].clone();
    for (days, pce_svn) in [(91, 1), (89, 2)] {
        let mut tcb: Value = serde_json::from_str(&template.tcb).unwrap();
        tcb["pce_svn"] = json!(pce_svn);
        let seen = now() - days * DAY;
        let row = PlatformRow {
            tcb: tcb.to_string(),
            first_seen: seen,
            last_seen: seen,
            ..template.clone()
        };
        // A cap high enough to keep both; no purge (oldest 0).
        store.record_platform(&row, 10, 0).await.unwrap();
    }
    let table = platforms(&service, "").await;
    let pces: Vec<u64> = table["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tcb"]["pce_svn"].as_u64().unwrap())
        .collect();
    assert_eq!(pces, [pce + 1, pce - 1, 2], "{table}");
    assert_eq!(table["total"], 3);
    let r = post_collateral(
        &service,
        "?dry_run=true",
        &tdx_collateral_set(&sim, "OutOfDate", 60),
    )
    .await;
    let dry: Value = r.json().await.unwrap();
    let judged: Vec<u64> = dry["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tcb"]["pce_svn"].as_u64().unwrap())
        .collect();
    assert_eq!(judged.len(), 3, "{dry}");
    assert!(!judged.contains(&1), "{dry}");
    // The next record purges the old row.
    attest(&service, &sim).await;
    let (rows, total) = store.platforms(0, None, None, 10).await.unwrap();
    assert_eq!(total, 4, "{rows:?}");
    assert!(rows.iter().all(|r| r.last_seen > now() - 90 * DAY));
    service.stop().await;
}

/// A row is written once a minute unless its verdict changed: repeated attestations of one
/// platform are counted at the next write, a refused attestation (a policy's denial) writes
/// nothing, and a store that cannot record a platform fails no attestation.
#[tokio::test]
async fn rows_are_written_when_the_verdict_changes_and_a_failed_write_fails_nothing() {
    let sim = Simulator::new(2409, now()).unwrap();
    let service = TestService::builder()
        .trust_intel(&sim)
        .import(tdx_collateral_set(&sim, "UpToDate", 3600))
        .start()
        .await;
    let row = |table: &Value| table["platforms"][0].clone();
    let first = attest(&service, &sim).await;
    let written = row(&platforms(&service, "").await);
    assert_eq!(written["attestations"], 1);
    attest(&service, &sim).await;
    attest(&service, &sim).await;
    // Same verdict within the minute: not written again.
    assert_eq!(row(&platforms(&service, "").await), written);

    // A policy that denies TDs: the attestation is refused, and a refused request writes
    // nothing to the store (the row is as the first attestation left it).
    let deny = "package scute\nimport rego.v1\ntrust_vector := {\"hardware\": 2}\ndeny contains \"no TDs today\" if input.tee == \"tdx\"\n";
    let r = service
        .http
        .put(format!("{}/v1/policies/strict", service.url))
        .bearer_auth(&service.admin)
        .body(deny)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let service = service
        .restart_with(|c| c.mandatory_policies = vec!["default".into(), "strict".into()])
        .await;
    let r = service.attest_tdx(&sim).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "urn:scute:problem:policy_denied", "{body}");
    let table = platforms(&service, "").await;
    assert_eq!(table["total"], 1, "{table}");
    assert_eq!(row(&table), written);
    assert_eq!(written["ear_status"], json!(first));

    // The table gone from under the service: the write fails, the attestation does not, and
    // the failure is counted.
    // (A restart from the base configuration: the default policy only.)
    let service = service.restart().await;
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        service.data_dir().join("scute.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DROP TABLE platforms")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(attest(&service, &sim).await, first);
    let metrics = service
        .http
        .get(format!("{}/metrics", service.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("scute_platform_record_failures_total 1\n"),
        "{metrics}"
    );
    service.stop().await;
}

/// The attestation `sim` sends for `nonce`.
fn attest_body(sim: &Simulator, nonce: &str) -> Value {
    let runtime = json!({ "nonce": nonce });
    let quote = sim
        .quote(&Workload::new(
            Tee::Tdx,
            4,
            scute_test::report_data(&runtime),
        ))
        .unwrap()
        .encode();
    json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime })
}

/// One challenge is one row at most: the same nonce replayed with other genuine evidence (other
/// platforms, each of which would be a row of its own) is refused as replayed and writes
/// nothing; only the first, successful attestation is in the table.
#[tokio::test]
async fn a_replayed_challenge_writes_no_platform_rows() {
    let sim = Simulator::new(2410, now()).unwrap();
    let fleet = [
        sim.fleet_platform(FleetLevel::Newer).unwrap(),
        sim.fleet_platform(FleetLevel::Older).unwrap(),
    ];
    let service = TestService::builder()
        .trust_intel(&sim)
        .import(tdx_collateral_set(&sim, "UpToDate", 3600))
        .start()
        .await;
    let r = service
        .http
        .post(format!("{}/v1/challenge", service.url))
        .send()
        .await
        .unwrap();
    let nonce = r.json::<Value>().await.unwrap()["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let post = |body: Value| {
        let service = &service;
        async move {
            let r = service
                .http
                .post(format!("{}/v1/attest", service.url))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = post(attest_body(&sim, &nonce)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in 0..3 {
        for platform in &fleet {
            let (status, body) = post(attest_body(platform, &nonce)).await;
            assert_eq!(body["type"], "urn:scute:problem:nonce_replayed", "{body}");
            assert!(status.is_client_error(), "{status}");
        }
    }
    let table = platforms(&service, "").await;
    assert_eq!(table["total"], 1, "{table}");
    let row = &table["platforms"][0];
    assert_eq!(row["tcb"]["pce_svn"], json!(sim.platform().pce_svn));
    assert_eq!(row["attestations"], 1);
    // The evidence was genuine: with challenges of their own, the fleet's platforms are rows.
    for platform in &fleet {
        attest(&service, platform).await;
    }
    assert_eq!(platforms(&service, "").await["total"], 3);
    service.stop().await;
}

/// A command-line dry run reads the store as it is: on a store an older release left (here at
/// migration 7), it migrates nothing and says the store must be upgraded first, even for a
/// set it would have refused; a current store is judged.
#[tokio::test]
async fn a_dry_run_never_migrates_the_store() {
    let dir = tempfile::tempdir().unwrap();
    Store::connect_until(None, dir.path(), 7).await.unwrap();
    let config = scute_server::Config {
        data_dir: dir.path().into(),
        ..scute_server::Config::default()
    };
    let sim = Simulator::new(77, now()).unwrap();
    let set = tdx_collateral_set(&sim, "UpToDate", 60);
    let err =
        scute_server::dry_run_collateral(&config, &set, scute_server::CollateralUpdate::Standard)
            .await
            .unwrap_err();
    assert!(err.contains("not been migrated"), "{err}");
    let versions = Store::connect_until(None, dir.path(), 7)
        .await
        .unwrap()
        .schema_versions()
        .await
        .unwrap();
    assert!(!versions.contains(&8), "{versions:?}");
    Store::open(dir.path()).await.unwrap();
    let err =
        scute_server::dry_run_collateral(&config, &set, scute_server::CollateralUpdate::Standard)
            .await
            .unwrap_err();
    // Now current, the store is read; the simulated set's root is not trusted by this config.
    assert!(!err.contains("not been migrated"), "{err}");
}
