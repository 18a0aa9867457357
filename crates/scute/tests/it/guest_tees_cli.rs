//! Every TEE on the guest side, end to end as processes: a simulated machine of each of the four
//! TEEs (`scute sim machine`), `scute attest` and `scute secret get` against a real `scute
//! serve` that trusts the machine's root by configuration only, affirming once the workload's
//! reference value is registered, refused for a debug guest, for a machine whose root the
//! service does not trust, and for evidence carrying other report data; and `scute quote --tee
//! sim-snp|sim-csv` output verifying with `scute verify` against the machine's root only.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use scute_test::ChildServer;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

fn run(args: &[&str]) -> Output {
    scute().args(args).output().unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn serve(data: &Path, trust: &[String]) -> (ChildServer, String) {
    let mut command = scute();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(trust);
    let server = ChildServer::serve(command);
    let url = server.addr.clone();
    (server, url)
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tee {
    Tdx,
    Sgx,
    Snp,
    Csv,
}

impl Tee {
    fn name(self) -> &'static str {
        match self {
            Tee::Tdx => "tdx",
            Tee::Sgx => "sgx",
            Tee::Snp => "snp",
            Tee::Csv => "csv",
        }
    }
    fn sim(self) -> String {
        format!("sim-{}", self.name())
    }
    /// The root of the TEE's measurement chain, by reference-value name.
    fn root_measurement(self) -> &'static str {
        match self {
            Tee::Tdx => "mr_td",
            Tee::Sgx => "mr_enclave",
            Tee::Snp => "measurement",
            Tee::Csv => "measure",
        }
    }
    /// The `scute serve` flag that trusts a machine's root, and the root's file.
    fn trust(self, dir: &Path) -> [String; 2] {
        let (flag, file) = match self {
            Tee::Tdx | Tee::Sgx => ("--trust-root", "root_ca.pem"),
            Tee::Snp => ("--snp-trust-root", "ark.pem"),
            Tee::Csv => ("--csv-trust-root", "hrk.cert"),
        };
        [flag.into(), dir.join(file).to_str().unwrap().into()]
    }
}

fn machine(tee: Tee, dir: &Path, debug: bool) {
    let mut args = vec![
        "sim",
        "machine",
        "--tee",
        tee.name(),
        "--sim-dir",
        dir.to_str().unwrap(),
    ];
    if debug {
        args.push("--debug");
    }
    ok(&run(&args));
}

/// The service's store gets an Intel machine's collateral (SNP and CSV evidence carries its
/// endorsements).
fn import_collateral(tee: Tee, dir: &Path, data: &Path) {
    if matches!(tee, Tee::Tdx | Tee::Sgx) {
        ok(&run(&[
            "collateral",
            "import",
            dir.join("collateral").to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--trust-root",
            dir.join("root_ca.pem").to_str().unwrap(),
        ]));
    }
}

fn attest(url: &str, tee: Tee, dir: &Path) -> Output {
    run(&[
        "attest",
        "--server",
        url,
        "--tee",
        &tee.sim(),
        "--sim-dir",
        dir.to_str().unwrap(),
    ])
}

fn token_claims(url: &str, token: &str) -> (Option<i32>, Value) {
    let out = run(&["token", "verify", token, "--server", url, "--json"]);
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code(), value)
}

fn secret_get(url: &str, tee: Tee, dir: &Path) -> Output {
    run(&[
        "secret",
        "get",
        "--kbs",
        url,
        "default/key/guest",
        "--tee",
        &tee.sim(),
        "--sim-dir",
        dir.to_str().unwrap(),
    ])
}

fn http() -> (tokio::runtime::Runtime, reqwest::Client) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    (
        tokio::runtime::Runtime::new().unwrap(),
        reqwest::Client::new(),
    )
}

fn put_reference(url: &str, admin: &str, name: &str, values: &Value) {
    let (rt, client) = http();
    let status = rt.block_on(async {
        client
            .put(format!("{url}/v1/reference-values/{name}"))
            .bearer_auth(admin)
            .body(values.to_string())
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 204);
}

/// A `/v1/attest` body carrying evidence collected for other report data than the challenge's.
fn attest_with_other_report_data(url: &str, tee: Tee, dir: &Path, tmp: &Path) -> (u16, Value) {
    let (rt, client) = http();
    let nonce = rt.block_on(async {
        let c: Value = client
            .post(format!("{url}/v1/challenge"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        c["nonce"].as_str().unwrap().to_string()
    });
    let out_file = tmp.join(format!("other-{}.bin", tee.name()));
    ok(&run(&[
        "quote",
        "--tee",
        &tee.sim(),
        "--sim-dir",
        dir.to_str().unwrap(),
        "--report-data",
        &"ab".repeat(64),
        "--out",
        out_file.to_str().unwrap(),
    ]));
    let read = |p: PathBuf| STANDARD.encode(std::fs::read(p).unwrap());
    let evidence = match tee {
        Tee::Tdx | Tee::Sgx => json!({ "quote": read(out_file.clone()) }),
        Tee::Snp => {
            let certs = PathBuf::from(format!("{}.certs", out_file.display()));
            json!({
                "quote": read(out_file.clone()),
                "vcek": read(certs.join("vcek.der")),
                "cert_chain": read(certs.join("ask_ark_chain.pem")),
            })
        }
        Tee::Csv => json!({ "quote": read(PathBuf::from(format!("{}.json", out_file.display()))) }),
    };
    let body =
        json!({ "tee": tee.name(), "evidence": evidence, "runtime_data": { "nonce": nonce } });
    rt.block_on(async {
        let response = client
            .post(format!("{url}/v1/attest"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// The whole chain for one TEE.
fn chain(tee: Tee) {
    let tmp = tempfile::tempdir().unwrap();
    let (good, debug, stranger) = (
        tmp.path().join("good"),
        tmp.path().join("debug"),
        tmp.path().join("stranger"),
    );
    let data = tmp.path().join("data");
    // An Intel debug guest runs on the same simulated platform: a copy of the good machine
    // (its keys, PKI and collateral; the store keys collateral by FMSPC, which every simulated
    // platform shares) launched with DEBUG. An SNP or CSV one on a machine of its own, trusted
    // too. Either way the service trusts it, so only the debug rule can refuse it.
    let intel = matches!(tee, Tee::Tdx | Tee::Sgx);
    machine(tee, &good, false);
    if intel {
        scute_test::copy_tree(&good, &debug);
        let path = debug.join("machine.json");
        // A machine made with default options has no machine.json.
        let mut options: Value = std::fs::read(&path)
            .map(|bytes| serde_json::from_slice(&bytes).unwrap())
            .unwrap_or_else(|_| json!({}));
        options["debug"] = json!(true);
        std::fs::write(&path, options.to_string()).unwrap();
    } else {
        machine(tee, &debug, true);
    }
    machine(tee, &stranger, false);
    import_collateral(tee, &good, &data);
    let mut trust = tee.trust(&good).to_vec();
    if !intel {
        trust.extend(tee.trust(&debug));
    }
    let (_server, url) = serve(&data, &trust);
    let admin = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let admin = admin.trim();

    // Before any reference value: a token, but not an affirming one.
    let out = attest(&url, tee, &good);
    ok(&out);
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (code, claims) = token_claims(&url, &token);
    assert_eq!(code, Some(1), "{claims}");
    let evidence = &claims["claims"]["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["tee"], tee.name(), "{claims}");
    let root = evidence["measurements"][tee.root_measurement()].clone();
    assert!(root.is_string(), "{claims}");

    // The secret is stored; without reference values it is not released.
    let secret = tmp.path().join("secret.bin");
    std::fs::write(&secret, format!("secret of {}", tee.name())).unwrap();
    ok(&run(&[
        "secret",
        "put",
        "--kbs",
        &url,
        "default/key/guest",
        secret.to_str().unwrap(),
        "--admin-token-file",
        data.join("admin-token").to_str().unwrap(),
    ]));
    let out = secret_get(&url, tee, &good);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    // The operator registers the workload: affirming, and the secret is released.
    put_reference(&url, admin, tee.root_measurement(), &json!([root]));
    let out = attest(&url, tee, &good);
    ok(&out);
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (code, claims) = token_claims(&url, &token);
    assert_eq!(code, Some(0), "{claims}");
    assert_eq!(claims["claims"]["ear_status"], "affirming", "{claims}");
    let out = secret_get(&url, tee, &good);
    ok(&out);
    assert_eq!(out.stdout, format!("secret of {}", tee.name()).into_bytes());

    // A debug guest of the same workload, on a trusted machine: no affirming token, no secret.
    // Its evidence is genuine and verifies: a token is issued, contraindicated because debug.
    let out = attest(&url, tee, &debug);
    ok(&out);
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (code, claims) = token_claims(&url, &token);
    assert_eq!(code, Some(1), "{claims}");
    assert_eq!(
        claims["claims"]["ear_status"], "contraindicated",
        "{claims}"
    );
    let evidence = &claims["claims"]["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["debug"], true, "{claims}");
    let out = secret_get(&url, tee, &debug);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());

    // A machine whose root the service was not told to trust: refused at both doors.
    let out = attest(&url, tee, &stranger);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());
    let out = secret_get(&url, tee, &stranger);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());

    // Genuine evidence of the trusted machine, collected for other report data: refused.
    let (status, problem) = attest_with_other_report_data(&url, tee, &good, tmp.path());
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["type"], "urn:scute:problem:report_data_mismatch",
        "{problem}"
    );
}

#[test]
fn simulated_tdx_end_to_end() {
    chain(Tee::Tdx);
}

#[test]
fn simulated_sgx_end_to_end() {
    chain(Tee::Sgx);
}

#[test]
fn simulated_snp_end_to_end() {
    chain(Tee::Snp);
}

#[test]
fn simulated_csv_end_to_end() {
    chain(Tee::Csv);
}

/// `scute quote --tee sim-snp|sim-csv` writes what `scute verify` verifies against the
/// machine's own root, and against no other machine's.
#[test]
fn simulated_snp_and_csv_quotes_verify_against_their_machine_root_only() {
    let tmp = tempfile::tempdir().unwrap();
    for tee in [Tee::Snp, Tee::Csv] {
        let (dir, other) = (
            tmp.path().join(format!("{}-a", tee.name())),
            tmp.path().join(format!("{}-b", tee.name())),
        );
        machine(tee, &dir, false);
        machine(tee, &other, false);
        let out_file = tmp.path().join(format!("{}.bin", tee.name()));
        let report_data = "5c07e".to_string() + &"0".repeat(123);
        ok(&run(&[
            "quote",
            "--tee",
            &tee.sim(),
            "--sim-dir",
            dir.to_str().unwrap(),
            "--report-data",
            &report_data,
            "--out",
            out_file.to_str().unwrap(),
        ]));
        let verify = |root_dir: &Path| {
            let mut args: Vec<String> = vec![
                "verify".into(),
                "--tee".into(),
                tee.name().into(),
                "--quote".into(),
                out_file.to_str().unwrap().into(),
                "--json".into(),
            ];
            match tee {
                Tee::Snp => args.extend([
                    "--collateral".into(),
                    format!("{}.certs", out_file.display()),
                    "--ark".into(),
                    root_dir.join("ark.pem").to_str().unwrap().into(),
                ]),
                _ => args.extend([
                    "--collateral".into(),
                    dir.to_str().unwrap().into(),
                    "--root-ca".into(),
                    root_dir.join("hrk.cert").to_str().unwrap().into(),
                    // A V1 report's debug bit is proven only by the report data it binds.
                    "--report-data".into(),
                    report_data.clone(),
                ]),
            }
            let out = scute().args(&args).output().unwrap();
            let value: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            (out.status.code(), value)
        };
        let (code, value) = verify(&dir);
        assert_eq!(code, Some(0), "{tee:?}: {value}");
        assert!(
            value.to_string().contains(&report_data),
            "{tee:?}: the verified report carries the chosen report data: {value}"
        );
        let (code, value) = verify(&other);
        assert_eq!(code, Some(1), "{tee:?}: {value}");
    }
}

/// The choice of TEE is checked against the machine a directory holds, and a machine is made
/// once.
#[test]
fn a_sim_dir_serves_only_the_tee_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snp");
    machine(Tee::Snp, &dir, false);
    let out_file = tmp.path().join("q.bin");
    for tee in ["sim-csv", "sim-tdx", "sim"] {
        let out = run(&[
            "quote",
            "--tee",
            tee,
            "--sim-dir",
            dir.to_str().unwrap(),
            "--report-data",
            "00",
            "--out",
            out_file.to_str().unwrap(),
        ]);
        assert_ne!(out.status.code(), Some(0), "{tee}: {out:?}");
        assert!(!out_file.exists());
    }
    assert_eq!(std::fs::read_to_string(dir.join("tee")).unwrap(), "snp\n");
    let out = run(&[
        "sim",
        "machine",
        "--tee",
        "csv",
        "--sim-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // auto with --sim-dir uses the machine the directory holds.
    let out = run(&[
        "quote",
        "--sim-dir",
        dir.to_str().unwrap(),
        "--tsm-root",
        tmp.path().join("none").to_str().unwrap(),
        "--gramine-root",
        tmp.path().join("none").to_str().unwrap(),
        "--occlum-dev",
        tmp.path().join("none").to_str().unwrap(),
        "--csv-guest",
        tmp.path().join("none").to_str().unwrap(),
        "--report-data",
        "00",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("SEV-SNP report"));
}

/// `ratls serve` takes every --tee, and says plainly that SNP and CSV evidence has no RA-TLS
/// form yet instead of serving something else.
#[test]
fn ratls_serve_refuses_snp_and_csv_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    for tee in [Tee::Snp, Tee::Csv] {
        let dir = tmp.path().join(tee.name());
        machine(tee, &dir, false);
        let out = run(&[
            "ratls",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tee",
            &tee.sim(),
            "--sim-dir",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("RA-TLS"));
    }
}

/// A simulated SEV-SNP or CSV machine's keys are its owner's alone (whoever reads them mints
/// evidence a service trusting the machine's root accepts), and a service told to trust such a
/// root says so when it starts, as it does for the Intel simulator's root.
#[test]
fn simulated_machine_keys_are_private_and_trusting_their_roots_is_announced() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    use std::process::Stdio;
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let (snp, csv) = (tmp.path().join("sim-snp"), tmp.path().join("sim-csv"));
    machine(Tee::Snp, &snp, false);
    machine(Tee::Csv, &csv, false);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let keys: Vec<PathBuf> = std::fs::read_dir(snp.join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pk8"))
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    for key in keys.iter().chain([&csv.join("machine-seed")]) {
        assert_eq!(mode(key), 0o600, "{}", key.display());
    }
    let mut child = scute()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path().join("data"))
        .arg("--snp-trust-root")
        .arg(snp.join("ark.pem"))
        .arg("--csv-trust-root")
        .arg(csv.join("hrk.cert"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("listening on ") {
            break;
        }
        said.push_str(&line);
        said.push('\n');
    }
    let _server = Stop(child);
    assert!(
        said.contains(&format!(
            "warning: trust root {} is a Scute simulator root",
            snp.join("ark.pem").display()
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "warning: CSV trust root {} is not Hygon's HRK",
            csv.join("hrk.cert").display()
        )),
        "{said}"
    );
}
