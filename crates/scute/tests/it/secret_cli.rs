//! `scute secret put|get` as processes against `scute serve`: the guest side of the KBS
//! protocol with the simulated TEE, the admin upload, and each refusal's exit status.

use scute_test::ChildServer;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

fn serve(data: &std::path::Path, root: &std::path::Path) -> (ChildServer, String) {
    let mut command = scute();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--trust-root")
        .arg(root);
    let server = ChildServer::serve(command);
    let url = server.addr.clone();
    (server, url)
}

fn run(args: &[&str]) -> std::process::Output {
    scute().args(args).output().unwrap()
}

#[test]
fn a_simulated_guest_gets_its_secret_and_refusals_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let data = tmp.path().join("data");
    let sim_dir = sim.to_str().unwrap();
    // The simulated machine, its collateral in the store, the service trusting its root.
    let quote = tmp.path().join("q.bin");
    let out = run(&[
        "quote",
        "--tee",
        "sim",
        "--sim-dir",
        sim_dir,
        "--report-data",
        "00",
        "--out",
        quote.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = sim.join("root_ca.pem");
    let out = run(&[
        "collateral",
        "import",
        sim.join("collateral").to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--trust-root",
        root.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_server, url) = serve(&data, &root);
    let token_file = data.join("admin-token");

    let secret = tmp.path().join("secret.bin");
    std::fs::write(&secret, b"\x00top secret\xff").unwrap();
    let put = |resource: &str| {
        run(&[
            "secret",
            "put",
            "--kbs",
            &url,
            resource,
            secret.to_str().unwrap(),
            "--admin-token-file",
            token_file.to_str().unwrap(),
        ])
    };
    let out = put("default/key/image");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let got = tmp.path().join("got.bin");
    let get = |resource: &str| {
        run(&[
            "secret",
            "get",
            "--kbs",
            &url,
            resource,
            "--tee",
            "sim",
            "--sim-dir",
            sim_dir,
            "--out",
            got.to_str().unwrap(),
        ])
    };
    // No reference values yet: the default policy says "warning", the shipped resource policy
    // releases only to affirming results.
    let out = get("default/key/image");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy"));
    assert!(!got.exists());

    // The operator registers the workload's MRTD; now the guest is affirming.
    let bytes = std::fs::read(&quote).unwrap();
    let decoded = scute_quote::Quote::decode(&bytes).unwrap();
    let mr_td = hex::encode(decoded.body.td10().unwrap().mr_td);
    let admin = std::fs::read_to_string(&token_file).unwrap();
    let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        reqwest::Client::new()
            .put(format!("{url}/v1/reference-values/mr_td"))
            .bearer_auth(admin.trim())
            .body(format!("[\"{mr_td}\"]"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 204);
    let out = get("default/key/image");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&got).unwrap(), b"\x00top secret\xff");
    assert_eq!(
        std::fs::metadata(&got).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Without --out the secret goes to stdout, byte for byte.
    let out = run(&[
        "secret",
        "get",
        "--kbs",
        &url,
        "default/key/image",
        "--tee",
        "sim",
        "--sim-dir",
        sim_dir,
    ]);
    assert!(out.status.success());
    assert_eq!(out.stdout, b"\x00top secret\xff");
    // A missing resource is a refusal naming it.
    let out = get("default/key/missing");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing resource"));

    // A wrong admin token stores nothing; a malformed resource name is a usage error.
    std::fs::write(tmp.path().join("bad-token"), "0000").unwrap();
    let out = run(&[
        "secret",
        "put",
        "--kbs",
        &url,
        "default/key/other",
        secret.to_str().unwrap(),
        "--admin-token-file",
        tmp.path().join("bad-token").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&[
        "secret",
        "get",
        "--kbs",
        &url,
        "not-a-path",
        "--tee",
        "sim",
        "--sim-dir",
        sim_dir,
    ]);
    assert_eq!(out.status.code(), Some(2));
}
