//! The newcomer's path through the service, as processes: `scute serve`, then
//! `scute attest --tee sim` against it, then `scute token verify` accepts the token.

use scute_test::ChildServer;
use std::process::Command;

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

/// Starts `scute serve` on a free port and returns it with its URL and the admin token.
fn serve(data: &std::path::Path, root: &std::path::Path) -> (ChildServer, String, String) {
    let mut command = scute();
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--trust-root",
        root.to_str().unwrap(),
    ]);
    let server = ChildServer::serve(command);
    let mut token = String::new();
    for line in &server.said {
        // A pipe is not a terminal: the token is not printed, only where it is.
        assert!(
            !(line.len() == 64 && line.chars().all(|c| c.is_ascii_hexdigit())),
            "the admin token was written to a pipe"
        );
        if line.contains("admin token created: read it from") {
            token = std::fs::read_to_string(data.join("admin-token"))
                .unwrap()
                .trim()
                .to_string();
        }
    }
    let url = server.addr.clone();
    (server, url, token)
}

#[test]
fn serve_attest_and_verify_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let data = tmp.path().join("data");
    // The simulator's directory, its collateral imported into the service's store.
    let out = tmp.path().join("q.bin");
    let status = scute()
        .args([
            "quote",
            "--tee",
            "sim",
            "--sim-dir",
            sim.to_str().unwrap(),
            "--report-data",
            "00",
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let root = sim.join("root_ca.pem");
    let status = scute()
        .args([
            "collateral",
            "import",
            sim.join("collateral").to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--trust-root",
            root.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());

    let (_server, url, admin) = serve(&data, &root);
    assert_eq!(
        admin.len(),
        64,
        "the first start says where the admin token is"
    );
    let out = scute()
        .args([
            "attest",
            "--server",
            &url,
            "--tee",
            "sim",
            "--sim-dir",
            sim.to_str().unwrap(),
            "--runtime-data",
            r#"{"tee-pubkey":"k"}"#,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT");

    let out = scute()
        // No reference values were set, so the default policy's verdict is "warning".
        .args([
            "token",
            "verify",
            &token,
            "--server",
            &url,
            "--json",
            "--accept-status",
            "warning",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let evidence = &v["claims"]["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["tcb_status"], "UpToDate");
    assert_eq!(evidence["runtime_data"]["tee-pubkey"], "k");

    // A tampered token is refused.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let out = scute()
        .args(["token", "verify", &forged, "--server", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("INVALID"));

    // Runtime data may not carry its own nonce.
    let out = scute()
        .args([
            "attest",
            "--server",
            &url,
            "--tee",
            "sim",
            "--sim-dir",
            sim.to_str().unwrap(),
            "--runtime-data",
            r#"{"nonce":"x"}"#,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
