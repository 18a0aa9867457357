//! `scute collateral import DIR --dry-run [--json]` (issue 24): a fleet of two simulated TDX
//! platforms attested by a real service, then a TCB recovery's collateral tried on its store
//! from the command line: the platform it would make OutOfDate is named, nothing is stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use scute_sim::{FleetLevel, Simulator};
use scute_test::TestService;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Writes the simulator's TDX collateral directory (its platform's level `status`, issued
/// `age` seconds ago) to `dir`.
fn write_set(sim: &Simulator, status: &str, age: i64, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in scute_test::tdx_collateral_set(sim, status, age) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

async fn attest(service: &TestService, sim: &Simulator) {
    let r = service.attest_tdx(sim).await;
    assert_eq!(r.status().as_u16(), 200);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .is_ok());
}

fn import(set: &Path, data: &Path, root: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(["collateral", "import"])
        .arg(set)
        .arg("--data-dir")
        .arg(data)
        .arg("--trust-root")
        .arg(root)
        .args(extra)
        .output()
        .unwrap()
}

async fn stored_sets(data: &Path) -> Vec<(String, String, i64)> {
    let store = scute_server::Store::open(data).await.unwrap();
    store
        .collateral_sets()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.fmspc, s.files_json, s.updated))
        .collect()
}

#[tokio::test]
async fn collateral_import_dry_run_names_what_a_recovery_changes_and_stores_nothing() {
    let sim = Simulator::new(2408, now()).unwrap();
    let newer = sim.fleet_platform(FleetLevel::Newer).unwrap();
    let work = tempfile::tempdir().unwrap();
    write_set(&sim, "UpToDate", 7200, &work.path().join("current"));
    write_set(&sim, "OutOfDate", 3600, &work.path().join("recovery"));
    let service = TestService::builder()
        .trust_intel(&sim)
        .import(
            std::fs::read_dir(work.path().join("current"))
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    let name = e.file_name().to_string_lossy().to_string();
                    (name, std::fs::read(e.path()).unwrap())
                })
                .collect(),
        )
        .start()
        .await;
    attest(&service, &sim).await;
    attest(&service, &newer).await;
    let (data, root) = (service.data_dir(), service.dir().join("sim-root.pem"));
    let _dir = service.stop().await;
    let before = stored_sets(&data).await;
    assert_eq!(before.len(), 1);

    let recovery = work.path().join("recovery");
    let out = import(&recovery, &data, &root, &["--dry-run"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pce = sim.platform().pce_svn;
    let changed: Vec<&str> = said.lines().filter(|l| l.ends_with("(changed)")).collect();
    assert_eq!(changed.len(), 1, "{said}");
    assert!(
        changed[0].starts_with("tdx FMSPC 5c07e0000000 TCB "),
        "{said}"
    );
    assert!(changed[0].contains(&format!("\"pce_svn\":{pce}")), "{said}");
    assert!(
        changed[0].ends_with(": UpToDate -> OutOfDate (changed)"),
        "{said}"
    );
    assert!(said.contains(": UpToDate -> UpToDate\n"), "{said}");
    assert!(
        said.contains("1 platform(s) would change, 1 would not"),
        "{said}"
    );
    assert_eq!(stored_sets(&data).await, before);

    let out = import(&recovery, &data, &root, &["--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        (report["changed"].clone(), report["unchanged"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(report["platforms"].as_array().unwrap().len(), 2);
    assert_eq!(report["sets"][0]["fmspc"], "5c07e0000000");
    assert_eq!(stored_sets(&data).await, before);

    // A tampered set is refused as import refuses it; --json needs --dry-run.
    let tampered = work.path().join("tampered");
    write_set(&sim, "OutOfDate", 3600, &tampered);
    let tcb = std::fs::read_to_string(tampered.join("tcb_info.json")).unwrap();
    std::fs::write(
        tampered.join("tcb_info.json"),
        tcb.replace("\"OutOfDate\"", "\"UpToDate\""),
    )
    .unwrap();
    let out = import(&tampered, &data, &root, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("collateral_rejected"));
    let out = import(&recovery, &data, &root, &["--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stored_sets(&data).await, before);

    // The import itself then stores it.
    let out = import(&recovery, &data, &root, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_ne!(stored_sets(&data).await, before);
}
