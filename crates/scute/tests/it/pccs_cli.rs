//! `scute serve` as a PCCS over a real socket, and the verifier that needs nothing copied by
//! hand: `scute collateral fetch` and `scute verify --pccs`.

use scute_test::ChildServer;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(name)
}

fn serve(data: &Path, extra: &[&str]) -> (ChildServer, String) {
    let mut command = scute();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra);
    let server = ChildServer::serve(command);
    let url = server.addr.clone();
    (server, url)
}

fn verify_time(name: &str) -> String {
    let exp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case(name).join("expected.json")).unwrap()).unwrap();
    exp["verify_time"].as_str().unwrap().to_string()
}

#[test]
fn fetch_and_verify_through_a_scute_pccs_and_its_downstream() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let name = "dcapqvl-tdx-v4";
    let import = scute()
        .args(["collateral", "import"])
        .arg(case(name))
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let (_first, first_url) = serve(&data, &[]);
    // A second service with an empty store, filling from the first.
    let (_second, second_url) = serve(&dir.path().join("data2"), &["--upstream", &first_url]);

    for url in [&first_url, &second_url] {
        let out = dir.path().join(format!(
            "fetched-{}",
            url.len() + url.chars().last().unwrap() as usize
        ));
        let fetch = scute()
            .args(["collateral", "fetch", "--pccs", url, "--quote"])
            .arg(case(name).join("quote.bin"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            fetch.status.success(),
            "{}",
            String::from_utf8_lossy(&fetch.stderr)
        );
        assert_eq!(
            std::fs::read(out.join("tcb_info.json")).unwrap(),
            std::fs::read(case(name).join("tcb_info.json")).unwrap()
        );

        let verify = scute()
            .args([
                "verify",
                "--json",
                "--pccs",
                url,
                "--at",
                &verify_time(name),
                "--quote",
            ])
            .arg(case(name).join("quote.bin"))
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
        assert_eq!(json["verified"], true, "{json}");
        assert_eq!(verify.status.code(), Some(0));
    }

    // A server that has nothing for this platform: the verifier says so and exits 1... or 2
    // when it cannot reach the collateral at all.
    let (_empty, empty_url) = serve(&dir.path().join("data3"), &[]);
    let fetch = scute()
        .args(["collateral", "fetch", "--pccs", &empty_url, "--quote"])
        .arg(case(name).join("quote.bin"))
        .arg("--out")
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert!(!fetch.status.success());
    assert!(
        String::from_utf8_lossy(&fetch.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&fetch.stderr)
    );
}

/// `scute ratls serve` with the simulated TEE on a free port; its address.
fn ratls_serve(sim: &Path) -> (ChildServer, String) {
    let mut command = scute();
    command
        .args(["ratls", "serve", "--listen", "127.0.0.1:0", "--tee", "sim"])
        .arg("--sim-dir")
        .arg(sim);
    let server = ChildServer::ratls(command);
    let addr = server.addr.clone();
    (server, addr)
}

fn ratls_connect(addr: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = scute()
        .args(["ratls", "connect", addr, "--json"])
        .args(extra)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

#[test]
fn ratls_connect_judges_the_peer_by_collateral_fetched_from_a_pccs() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    let (_ratls, addr) = ratls_serve(&sim);
    let root = sim.join("root_ca.pem");
    let root = root.to_str().unwrap();

    let data = dir.path().join("data");
    let import = scute()
        .args(["collateral", "import"])
        .arg(sim.join("collateral"))
        .arg("--data-dir")
        .arg(&data)
        .args(["--trust-root", root])
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let (_pccs, pccs_url) = serve(&data, &["--trust-root", root]);

    let (code, json) = ratls_connect(&addr, &["--pccs", &pccs_url, "--trust-root", root]);
    assert_eq!(json["accepted"], true, "{json}");
    assert_eq!(code, 0);
    assert_eq!(json["tee"], "tdx");

    // The PCCS really is the source: one that has nothing for the platform gets the peer
    // rejected, although its certificate carries endorsements of its own.
    let (_empty, empty_url) = serve(&dir.path().join("empty"), &["--trust-root", root]);
    let (code, json) = ratls_connect(&addr, &["--pccs", &empty_url, "--trust-root", root]);
    assert_eq!(json["accepted"], false, "{json}");
    assert_eq!(code, 1);
    assert!(
        json["error"].as_str().unwrap().contains("no collateral"),
        "{json}"
    );

    // Collateral that does not chain to the root the client trusts (here Intel's, the
    // default) is refused before any quote is judged by it.
    let (code, json) = ratls_connect(&addr, &["--pccs", &pccs_url]);
    assert_eq!(json["accepted"], false, "{json}");
    assert_eq!(code, 1);
    assert!(
        json["error"].as_str().unwrap().contains("does not verify"),
        "{json}"
    );
}

#[test]
fn a_pccs_with_a_private_ca_is_reached_with_cacert_and_refused_without() {
    let dir = tempfile::tempdir().unwrap();
    let name = "dcapqvl-sgx-v3";
    let data = dir.path().join("data");
    let import = scute()
        .args(["collateral", "import"])
        .arg(case(name))
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (_server, url) = serve(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(url.starts_with("https://"), "{url}");
    // The certificate names localhost, not the loopback address the server printed.
    let url = url.replace("127.0.0.1", "localhost");

    let verify = |extra: &[&str]| {
        let out = scute()
            .args([
                "verify",
                "--json",
                "--pccs",
                &url,
                "--at",
                &verify_time(name),
            ])
            .args(extra)
            .arg("--quote")
            .arg(case(name).join("quote.bin"))
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), json)
    };
    let (code, json) = verify(&["--cacert", cert.to_str().unwrap()]);
    assert_eq!(json["verified"], true, "{json}");
    assert_eq!(code, 0);

    // Without the private CA the server is not trusted: nothing fetched, exit 2.
    let (code, json) = verify(&[]);
    assert_eq!(json["verified"], false, "{json}");
    assert_eq!(code, 2);
}

/// `scute collateral import --update early` stores the directory as Intel's early TCB
/// evaluation data set, beside the standard one of the same platform (the default kind);
/// any other kind is a usage error that stores nothing.
#[test]
fn collateral_import_update_early_stores_the_early_set_beside_the_standard_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let import = |name: &str, extra: &[&str]| {
        scute()
            .args(["collateral", "import"])
            .arg(case(name))
            .arg("--data-dir")
            .arg(&data)
            .args(extra)
            .output()
            .unwrap()
    };
    let bad = import("dcapqvl-sgx-v3", &["--update", "late"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(!data.join("scute.db").exists());

    // Evaluation data number 17 as the early set, 16 as the standard one.
    let early = import("dcapqvl-sgx-v3", &["--update", "early"]);
    assert!(
        early.status.success(),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    let said = String::from_utf8_lossy(&early.stdout);
    assert!(
        said.contains("sgx collateral (update=early) for FMSPC 00a067110000"),
        "{said}"
    );
    let standard = import("automata-dcaprs-sgx-v3", &[]);
    assert!(
        standard.status.success(),
        "{}",
        String::from_utf8_lossy(&standard.stderr)
    );
    let said = String::from_utf8_lossy(&standard.stdout);
    assert!(
        said.contains("imported sgx collateral for FMSPC 00a067110000 (processor CA)"),
        "{said}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(scute_server::Store::open(&data)).unwrap();
    let tcb_of = |update: &str| {
        let (json, _) = runtime
            .block_on(store.collateral("00a067110000", "processor", "sgx", update))
            .unwrap()
            .unwrap();
        let files: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&json).unwrap();
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&files["tcb_info.json"])
            .unwrap()
    };
    assert_eq!(
        tcb_of("early"),
        std::fs::read(case("dcapqvl-sgx-v3").join("tcb_info.json")).unwrap()
    );
    assert_eq!(
        tcb_of("standard"),
        std::fs::read(case("automata-dcaprs-sgx-v3").join("tcb_info.json")).unwrap()
    );
}
