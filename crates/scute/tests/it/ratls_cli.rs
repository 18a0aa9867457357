//! `scute ratls serve`, `connect` and `inspect` as processes: an attested handshake over
//! loopback with the simulated TEE, rejections with exit 1, usage errors with exit 2, and the
//! public certificates of other implementations read.

use scute_test::ChildServer;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

fn vectors() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    assert!(d.is_dir(), "test vectors not found at {}", d.display());
    d
}

fn serve(sim: &std::path::Path) -> (ChildServer, String) {
    let mut command = scute();
    command.args([
        "ratls",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tee",
        "sim",
        "--sim-dir",
        sim.to_str().unwrap(),
    ]);
    let server = ChildServer::ratls(command);
    let addr = server.addr.clone();
    (server, addr)
}

fn connect(addr: &str, sim: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let collateral = sim.join("collateral");
    let root = sim.join("root_ca.pem");
    let mut args = vec![
        "ratls",
        "connect",
        addr,
        "--collateral",
        collateral.to_str().unwrap(),
        "--trust-root",
        root.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = scute().args(&args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn serve_and_connect_complete_an_attested_handshake() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let (_server, addr) = serve(&sim);
    let (code, out) = connect(&addr, &sim, &["--json"]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["accepted"], true);
    assert_eq!(v["tee"], "tdx");
    assert_eq!(v["format"], "dice");
    assert_eq!(v["tcb_status"], "UpToDate");
    let mr_td = v["report"]["mr_td"].as_str().unwrap().to_string();
    // Pinning the right measurement is accepted; a wrong one is rejected, naming it.
    let (code, _) = connect(&addr, &sim, &["--expect", &format!("mr_td={mr_td}")]);
    assert_eq!(code, 0);
    let (code, out) = connect(&addr, &sim, &["--expect", "rtmr3=ab"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("REJECTED") && out.contains("rtmr3"),
        "{out}"
    );
    // Usage errors.
    assert_eq!(connect(&addr, &sim, &["--expect", "mr_nothing=00"]).0, 2);
    assert_eq!(connect(&addr, &sim, &["--allow-tcb", "Fine"]).0, 2);
    // Without --collateral, the collateral the certificate carries is used, authenticated
    // against the trusted root: accepted under the simulator's root, not under Intel's.
    let root = sim.join("root_ca.pem");
    let out = scute()
        .args([
            "ratls",
            "connect",
            &addr,
            "--trust-root",
            root.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = scute().args(["ratls", "connect", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("untrusted_root")
            || String::from_utf8_lossy(&out.stdout).contains("root")
    );
}

#[test]
fn inspect_reads_every_public_certificate() {
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("ratls-") {
            continue;
        }
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let cert = if dir.join("cert.pem").is_file() {
            dir.join("cert.pem")
        } else {
            dir.join("cert.der")
        };
        let out = scute()
            .args(["ratls", "inspect", cert.to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        let v: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name}: {e}"));
        for key in ["formats", "key_bound", "verified", "tee", "report", "error"] {
            assert!(v.get(key).is_some(), "{name}: {key}");
        }
        let bound = exp["summary"]["key_bound_by_some_extension"]
            .as_bool()
            .unwrap();
        assert_eq!(v["key_bound"], bound, "{name}");
        assert_eq!(v["verified"], Value::Null, "{name}: no collateral given");
        // Nothing verified the quote, so the answer is no even for a bound key.
        assert_eq!(out.status.code(), Some(1), "{name}");
    }
}

#[test]
fn inspect_verifies_the_quote_given_collateral() {
    let v = vectors();
    let cert = v.join("ratls-dstack-tempcert-selfsigned/cert.der");
    let coll = v.join("dcapqvl-tdx-v4");
    let out = scute()
        .args([
            "ratls",
            "inspect",
            cert.to_str().unwrap(),
            "--collateral",
            coll.to_str().unwrap(),
            "--at",
            "2025-06-19T10:32:27Z",
            "--json",
        ])
        .output()
        .unwrap();
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["tee"], "tdx");
    assert_eq!(got["key_bound"], true);
    // The same verdict the vectors give that collateral for a dstack quote of this FMSPC.
    assert_eq!(got["verified"], false);
    assert!(
        got["error"]
            .as_str()
            .unwrap()
            .starts_with("tcb_not_supported"),
        "{got}"
    );
    assert_eq!(out.status.code(), Some(1));
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"not a certificate").unwrap();
    let out = scute()
        .args(["ratls", "inspect", junk.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
