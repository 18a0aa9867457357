//! Exit statuses that scripts can trust, through the real binary: `scute ratls inspect` says 0
//! only for a bound key and a verified quote, `scute token verify` only for a genuine,
//! unexpired, affirming (or explicitly accepted) token; `scute serve` warns of simulator roots.

use scute_attester::{Attester, Simulated};
use scute_ratls::{issue, IssueOptions, KeyAlgorithm};
use scute_test::ChildServer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = scute().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An RA-TLS certificate from the simulator in `sim`; `bind` false puts a quote over other
/// report data in it, so the quote verifies but does not vouch for the certificate's key.
fn sim_cert(sim: &Path, out: &Path, bind: bool) {
    let attester = Simulated::open(sim.to_path_buf(), scute_sim::Tee::Tdx).unwrap();
    let t = now();
    let identity = issue(
        KeyAlgorithm::P256,
        IssueOptions::default(),
        (t - 60, t + 3600),
        |rd| {
            let rd = if bind { *rd } else { [7u8; 64] };
            attester.collect(&rd).map(|e| e.quote)
        },
    )
    .unwrap();
    std::fs::write(out, identity.cert_der).unwrap();
}

fn inspect(cert: &Path, sim: &Path, with_collateral: bool, json: bool) -> (i32, String) {
    let (coll, root) = (sim.join("collateral"), sim.join("root_ca.pem"));
    let mut args = vec!["ratls", "inspect", cert.to_str().unwrap()];
    if with_collateral {
        args.extend(["--collateral", coll.to_str().unwrap()]);
    }
    args.extend(["--trust-root", root.to_str().unwrap()]);
    if json {
        args.push("--json");
    }
    let (code, out, _) = run(&args);
    (code, out)
}

#[test]
fn ratls_inspect_exits_0_only_for_a_bound_key_and_a_verified_quote() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let bound = tmp.path().join("bound.der");
    sim_cert(&sim, &bound, true);

    let (code, out) = inspect(&bound, &sim, true, true);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["key_bound"].clone(), v["verified"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(v["error"], Value::Null);

    // Without collateral nothing was verified, and the answer is no, saying why.
    let (code, out) = inspect(&bound, &sim, false, true);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["key_bound"], true);
    assert_eq!(v["verified"], Value::Null);
    assert!(v["error"].as_str().unwrap().contains("--collateral"), "{v}");
    let (code, out) = inspect(&bound, &sim, false, false);
    assert_eq!(code, 1);
    assert!(
        out.contains("quote: NOT verified: no --collateral"),
        "{out}"
    );

    // A quote that verifies but is over other report data does not vouch for the key.
    let unbound = tmp.path().join("unbound.der");
    sim_cert(&sim, &unbound, false);
    let (code, out) = inspect(&unbound, &sim, true, true);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["key_bound"].clone(), v["verified"].clone()),
        (false.into(), true.into())
    );

    // Collateral from another simulator: the quote is rejected (not under that root).
    let other = tmp.path().join("other");
    Simulated::open(other.clone(), scute_sim::Tee::Tdx).unwrap();
    let (code, out, _) = run(&[
        "ratls",
        "inspect",
        bound.to_str().unwrap(),
        "--collateral",
        other.join("collateral").to_str().unwrap(),
        "--trust-root",
        other.join("root_ca.pem").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verified"], false);

    // Usage errors stay 2.
    assert_eq!(
        run(&["ratls", "inspect", bound.to_str().unwrap(), "--at", "noon"]).0,
        2
    );
    assert_eq!(run(&["ratls", "inspect"]).0, 2);
}

/// `scute serve` on a free port: the server, its URL, its admin token and what it printed
/// before listening.
fn serve(data: &Path, roots: &[&Path], extra: &[&str]) -> (ChildServer, String, String, String) {
    let mut args = vec![
        "serve".to_string(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data.to_str().unwrap().into(),
    ];
    for r in roots {
        args.extend(["--trust-root".into(), r.to_str().unwrap().into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut command = scute();
    command.args(&args);
    let server = ChildServer::serve(command);
    let admin = if server
        .said
        .iter()
        .any(|line| line.contains("admin token created"))
    {
        std::fs::read_to_string(data.join("admin-token"))
            .unwrap()
            .trim()
            .to_string()
    } else {
        String::new()
    };
    let (url, said) = (server.addr.clone(), server.said_text());
    (server, url, admin, said)
}

/// A simulator directory whose collateral is in the store at `data`.
fn sim_with_store(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (sim, data) = (tmp.join("sim"), tmp.join("data"));
    Simulated::open(sim.clone(), scute_sim::Tee::Tdx).unwrap();
    let root = sim.join("root_ca.pem");
    let (code, _, err) = run(&[
        "collateral",
        "import",
        sim.join("collateral").to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--trust-root",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    (sim, data, root)
}

fn attest(url: &str, sim: &Path, policy: Option<&str>) -> String {
    let mut args = vec![
        "attest",
        "--server",
        url,
        "--tee",
        "sim",
        "--sim-dir",
        sim.to_str().unwrap(),
    ];
    if let Some(p) = policy {
        args.extend(["--policy", p]);
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

fn token_verify(token: &str, url: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["token", "verify", token, "--server", url];
    args.extend(extra);
    let (code, out, _) = run(&args);
    (code, out)
}

/// An admin PUT over HTTP, as an operator's script would do it.
fn admin_put(url: &str, admin: &str, path: &str, body: String) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .put(format!("{url}{path}"))
            .bearer_auth(admin)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "PUT {path}: {status}");
}

#[test]
fn token_verify_exits_0_only_for_an_affirming_or_accepted_status() {
    let tmp = tempfile::tempdir().unwrap();
    let (sim, data, root) = sim_with_store(tmp.path());
    let (_server, url, admin, _) = serve(&data, &[&root], &[]);

    // No reference values: the default policy cannot affirm the executables, so "warning".
    let warning = attest(&url, &sim, None);
    let (code, out) = token_verify(&warning, &url, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("VALID token: status warning"),
        "output unchanged: {out}"
    );
    let (code, json) = token_verify(&warning, &url, &["--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["valid"], true, "the JSON output is unchanged");
    let (code, accepted) = token_verify(&warning, &url, &["--accept-status", "warning"]);
    assert_eq!(code, 0, "{accepted}");
    assert_eq!(accepted, out, "accepting changes only the exit status");

    // With the TD's measurement as the reference value, the same machine is affirming.
    let mr_td = v["claims"]["submods"]["cpu0"]["ear_veraison_annotated_evidence"]["measurements"]
        ["mr_td"]
        .as_str()
        .unwrap()
        .to_string();
    admin_put(
        &url,
        &admin,
        "/v1/reference-values/mr_td",
        format!("[\"{mr_td}\"]"),
    );
    let affirming = attest(&url, &sim, None);
    let (code, out) = token_verify(&affirming, &url, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("VALID token: status affirming"), "{out}");

    // Accepting one status does not accept another.
    admin_put(
        &url,
        &admin,
        "/v1/policies/harsh",
        "package scute\ntrust_vector := {\"hardware\": 96}\n".into(),
    );
    let contraindicated = attest(&url, &sim, Some("harsh"));
    let (code, out) = token_verify(&contraindicated, &url, &["--accept-status", "warning"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("status contraindicated"), "{out}");
    let (code, _) = token_verify(
        &contraindicated,
        &url,
        &[
            "--accept-status",
            "warning",
            "--accept-status",
            "contraindicated",
        ],
    );
    assert_eq!(code, 0);

    // A forged signature is refused whatever is accepted.
    let mut forged = affirming.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (code, out) = token_verify(&forged, &url, &["--accept-status", "warning"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("INVALID"), "{out}");

    // Usage errors, and a service that cannot be reached, are 2.
    assert_eq!(
        token_verify(&affirming, &url, &["--accept-status", "fine"]).0,
        2
    );
    drop(_server);
    assert_eq!(token_verify(&affirming, &url, &[]).0, 2);
}

#[test]
fn token_verify_refuses_an_expired_token_without_grace() {
    let tmp = tempfile::tempdir().unwrap();
    let (sim, data, root) = sim_with_store(tmp.path());
    let (_server, url, _, _) = serve(&data, &[&root], &["--token-lifetime", "1"]);
    let token = attest(&url, &sim, None);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let (code, out) = token_verify(&token, &url, &["--accept-status", "warning"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("INVALID") && out.contains("xpired"),
        "{out}"
    );
}

#[test]
fn serve_warns_of_a_simulator_trust_root_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, data, root) = sim_with_store(tmp.path());
    let (server, _, _, said) = serve(&data, &[&root], &[]);
    drop(server);
    assert!(
        said.contains(&format!(
            "warning: trust root {} is a Scute simulator root",
            root.display()
        )),
        "{said}"
    );
    // The Intel SGX Root CA (the last certificate of a real chain) as a trust root: no warning.
    let chain = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors/dcapqvl-tdx-v4/tcb_info_issuer_chain.pem"),
    )
    .unwrap();
    let intel_root = x509_parser::pem::Pem::iter_from_buffer(&chain)
        .last()
        .unwrap()
        .unwrap()
        .contents;
    let intel = tmp.path().join("intel_root.der");
    std::fs::write(&intel, intel_root).unwrap();
    let (server, _, _, said) = serve(&tmp.path().join("data2"), &[&intel], &[]);
    drop(server);
    assert!(!said.contains("warning"), "{said}");
}
