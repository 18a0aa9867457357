//! Launch measurements chosen for a simulated machine (`scute sim machine --mr-td …`): every
//! report the machine makes afterwards carries them, `scute verify` proves them under the
//! machine's root, a service with them as reference values gives an affirming token and one
//! with another value does not; options of another TEE, bad hex and a hand-edited `machine.json`
//! are refused.

use scute_test::ChildServer;
use serde_json::{json, Value};
use std::path::Path;
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `n` bytes of `byte`, hex.
fn fill(byte: u8, n: usize) -> String {
    hex::encode(vec![byte; n])
}

fn machine(tee: &str, dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sim", "machine", "--tee", tee, "--sim-dir", s(dir)];
    args.extend(extra);
    run(&args)
}

/// `scute quote --tee sim-<tee>` from `dir`, verified by `scute verify` under the machine's
/// root only: the verified report.
fn verified_report(tee: &str, dir: &Path, tmp: &Path) -> Value {
    let quote = tmp.join(format!(
        "{}.bin",
        dir.file_name().unwrap().to_str().unwrap()
    ));
    let report_data = "1a".to_string() + &"0".repeat(126);
    ok(&run(&[
        "quote",
        "--tee",
        &format!("sim-{tee}"),
        "--sim-dir",
        s(dir),
        "--report-data",
        &report_data,
        "--out",
        s(&quote),
    ]));
    let kind = if matches!(tee, "tdx" | "sgx") {
        "dcap"
    } else {
        tee
    };
    let mut args: Vec<String> = ["verify", "--tee", kind, "--quote", s(&quote), "--json"]
        .map(String::from)
        .to_vec();
    let more: Vec<String> = match tee {
        "tdx" | "sgx" => vec![
            "--collateral".into(),
            s(&dir.join("collateral")).into(),
            "--root-ca".into(),
            s(&dir.join("root_ca.pem")).into(),
        ],
        "snp" => vec![
            "--collateral".into(),
            format!("{}.certs", quote.display()),
            "--ark".into(),
            s(&dir.join("ark.pem")).into(),
        ],
        _ => vec![
            "--collateral".into(),
            s(dir).into(),
            "--root-ca".into(),
            s(&dir.join("hrk.cert")).into(),
            "--report-data".into(),
            report_data.clone(),
        ],
    };
    args.extend(more);
    let out = scute().args(&args).output().unwrap();
    let value: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(0), "{tee}: {value} {out:?}");
    assert_eq!(value["verified"], true, "{tee}: {value}");
    value["report"].clone()
}

#[test]
fn a_tdx_machine_reports_the_chosen_mrtd_and_rtmrs() {
    let tmp = tempfile::tempdir().unwrap();
    let (chosen, default) = (tmp.path().join("chosen"), tmp.path().join("default"));
    let values: Vec<String> = (0..5).map(|i| fill(0xa0 + i, 48)).collect();
    ok(&machine(
        "tdx",
        &chosen,
        &[
            "--mr-td", &values[0], "--rtmr0", &values[1], "--rtmr1", &values[2], "--rtmr2",
            &values[3], "--rtmr3", &values[4],
        ],
    ));
    ok(&machine("tdx", &default, &[]));
    // Twice: every quote the machine makes afterwards, not only the first.
    for _ in 0..2 {
        let report = verified_report("tdx", &chosen, tmp.path());
        assert_eq!(report["mr_td"], values[0], "{report}");
        for (i, value) in values[1..].iter().enumerate() {
            assert_eq!(report[format!("rtmr{i}")], *value, "{report}");
        }
    }
    let report = verified_report("tdx", &default, tmp.path());
    assert_ne!(report["mr_td"], values[0], "{report}");
    assert_ne!(report["rtmr0"], values[1], "{report}");
    // Only what is chosen changes: RTMR0 chosen alone leaves MRTD the seed's.
    let (seeded_a, seeded_b) = (tmp.path().join("seeded-a"), tmp.path().join("seeded-b"));
    ok(&machine("tdx", &seeded_a, &["--seed", "23"]));
    ok(&machine(
        "tdx",
        &seeded_b,
        &["--seed", "23", "--rtmr0", &values[1]],
    ));
    let (a, b) = (
        verified_report("tdx", &seeded_a, tmp.path()),
        verified_report("tdx", &seeded_b, tmp.path()),
    );
    assert_eq!(a["mr_td"], b["mr_td"]);
    assert_eq!(a["rtmr1"], b["rtmr1"]);
    assert_eq!(b["rtmr0"], values[1]);
}

#[test]
fn an_sgx_machine_reports_the_chosen_enclave_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sgx");
    let (enclave, signer) = (fill(0xe1, 32), fill(0x51, 32));
    ok(&machine(
        "sgx",
        &dir,
        &[
            "--mr-enclave",
            &enclave.to_uppercase(),
            "--mr-signer",
            &signer,
            "--isv-prod-id",
            "4242",
            "--isv-svn",
            "65535",
        ],
    ));
    let report = verified_report("sgx", &dir, tmp.path());
    assert_eq!(report["mr_enclave"], enclave, "{report}");
    assert_eq!(report["mr_signer"], signer, "{report}");
    assert_eq!(report["isv_prod_id"], 4242, "{report}");
    assert_eq!(report["isv_svn"], 65535, "{report}");
    let default = tmp.path().join("default");
    ok(&machine("sgx", &default, &[]));
    let report = verified_report("sgx", &default, tmp.path());
    assert_ne!(report["mr_enclave"], enclave, "{report}");
    assert_eq!(
        report["isv_prod_id"], 1,
        "the default is unchanged: {report}"
    );
    assert_eq!(report["isv_svn"], 1, "the default is unchanged: {report}");
}

#[test]
fn snp_and_csv_machines_report_the_chosen_launch_digest() {
    let tmp = tempfile::tempdir().unwrap();
    for (tee, flag, name, len, extra) in [
        ("snp", "--measurement", "measurement", 48, None),
        ("csv", "--measure", "measure", 32, None),
        ("csv", "--measure", "measure", 32, Some("2")),
    ] {
        let dir = tmp.path().join(format!("{tee}-{}", extra.unwrap_or("1")));
        let chosen = fill(0x3c, len);
        let version: Vec<&str> = extra
            .map(|v| vec!["--csv-report-version", v])
            .unwrap_or_default();
        let mut args = vec![flag, chosen.as_str()];
        args.extend(&version);
        ok(&machine(tee, &dir, &args));
        for _ in 0..2 {
            let report = verified_report(tee, &dir, tmp.path());
            assert_eq!(report[name], chosen, "{tee}: {report}");
        }
        let default = tmp
            .path()
            .join(format!("{tee}-{}-default", extra.unwrap_or("1")));
        ok(&machine(tee, &default, &version));
        let report = verified_report(tee, &default, tmp.path());
        assert_ne!(report[name], chosen, "{tee}: {report}");
    }
}

/// An option of another TEE, bad hex or a wrong length is a usage error (exit 2), and no
/// machine is made.
#[test]
fn launch_options_of_another_tee_or_malformed_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (h32, h48) = (fill(1, 32), fill(1, 48));
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("snp", vec!["--mr-td", &h48]),
        ("sgx", vec!["--rtmr0", &h48]),
        ("tdx", vec!["--mr-enclave", &h32]),
        ("csv", vec!["--mr-signer", &h32]),
        ("tdx", vec!["--isv-prod-id", "3"]),
        ("snp", vec!["--isv-svn", "3"]),
        ("tdx", vec!["--measurement", &h48]),
        ("snp", vec!["--measure", &h32]),
        ("csv", vec!["--measurement", &h48]),
        ("tdx", vec!["--mr-td", &h32]),
        ("sgx", vec!["--mr-enclave", &h48]),
        ("snp", vec!["--measurement", "zz"]),
        ("csv", vec!["--measure", &h48]),
        ("sgx", vec!["--isv-svn", "65536"]),
        ("tdx", vec!["--rtmr3", "0x01"]),
    ];
    for (i, (tee, args)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("m{i}"));
        let out = machine(tee, &dir, args);
        assert_eq!(out.status.code(), Some(2), "{tee} {args:?}: {out:?}");
        assert!(!dir.join("tee").exists(), "{tee} {args:?}: no machine made");
    }
    let out = machine("snp", &tmp.path().join("x"), &["--mr-td", &h48]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--mr-td is for tdx machines"), "{err}");
}

/// A `machine.json` edited afterwards to carry another TEE's or a malformed measurement is
/// refused when the machine is opened, never silently ignored; one written before launch
/// measurements existed still opens.
#[test]
fn a_hand_edited_machine_json_is_refused_and_an_old_one_still_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tdx");
    ok(&machine("tdx", &dir, &["--debug"]));
    let kept: Value =
        serde_json::from_slice(&std::fs::read(dir.join("machine.json")).unwrap()).unwrap();
    assert!(
        kept.get("launch").is_none(),
        "no launch field when none is chosen: {kept}"
    );
    let quote = |dir: &Path| {
        run(&[
            "quote",
            "--tee",
            "sim-tdx",
            "--sim-dir",
            s(dir),
            "--report-data",
            "00",
            "--out",
            s(&tmp.path().join("q.bin")),
        ])
    };
    std::fs::write(dir.join("machine.json"), r#"{"debug": true}"#).unwrap();
    ok(&quote(&dir));
    for launch in [
        json!({ "measurement": fill(2, 48) }),
        json!({ "mr_td": fill(2, 32) }),
        json!({ "mr_td": "not hex" }),
        json!({ "mrtd": fill(2, 48) }),
    ] {
        std::fs::write(
            dir.join("machine.json"),
            json!({ "debug": true, "launch": launch }).to_string(),
        )
        .unwrap();
        let out = quote(&dir);
        assert_eq!(out.status.code(), Some(2), "{launch}: {out:?}");
    }
}

fn serve(data: &Path, trust: &[&Path], flag: &str) -> ChildServer {
    let mut command = scute();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data);
    for root in trust {
        command.arg(flag).arg(root);
    }
    ChildServer::serve(command)
}

fn put_reference(url: &str, data: &Path, name: &str, values: &Value) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let admin = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .put(format!("{url}/v1/reference-values/{name}"))
            .bearer_auth(admin.trim())
            .body(values.to_string())
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 204);
}

/// `scute attest` from the machine, then `scute token verify`: (exit code, claims).
fn attest(url: &str, tee: &str, dir: &Path) -> (Option<i32>, Value) {
    let out = run(&[
        "attest",
        "--server",
        url,
        "--tee",
        &format!("sim-{tee}"),
        "--sim-dir",
        s(dir),
    ]);
    ok(&out);
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = run(&["token", "verify", &token, "--server", url, "--json"]);
    let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code(), claims)
}

/// A copy of the machine in `from` (the same platform, keys and trust root) launching another
/// workload: its `machine.json` says `name` is `value`.
fn relaunch(from: &Path, to: &Path, name: &str, value: &str) {
    scute_test::copy_tree(from, to);
    let path = to.join("machine.json");
    let mut options: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    options["launch"][name] = json!(value);
    std::fs::write(&path, options.to_string()).unwrap();
}

/// The value registered ahead of time (as `scute measure` would print it) meets the one the
/// machine reports: affirming. The same trusted platform launching a workload with another
/// value is not affirming.
fn affirming_only_for_the_registered_value(tee: &str, name: &str, flag: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (good, other, data) = (
        tmp.path().join("good"),
        tmp.path().join("other"),
        tmp.path().join("data"),
    );
    let (expected, different) = (fill(0x6d, 48), fill(0x6e, 48));
    ok(&machine(tee, &good, &[flag, &expected]));
    relaunch(&good, &other, name, &different);
    let server = if tee == "tdx" {
        ok(&run(&[
            "collateral",
            "import",
            s(&good.join("collateral")),
            "--data-dir",
            s(&data),
            "--trust-root",
            s(&good.join("root_ca.pem")),
        ]));
        serve(&data, &[&good.join("root_ca.pem")], "--trust-root")
    } else {
        serve(&data, &[&good.join("ark.pem")], "--snp-trust-root")
    };
    let url = server.addr.clone();
    put_reference(&url, &data, name, &json!([expected]));

    let (code, claims) = attest(&url, tee, &good);
    assert_eq!(code, Some(0), "{claims}");
    assert_eq!(claims["claims"]["ear_status"], "affirming", "{claims}");
    let evidence = &claims["claims"]["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["measurements"][name], expected, "{claims}");

    let (code, claims) = attest(&url, tee, &other);
    assert_eq!(code, Some(1), "{claims}");
    assert_ne!(claims["claims"]["ear_status"], "affirming", "{claims}");
    let evidence = &claims["claims"]["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["measurements"][name], different, "{claims}");
}

#[test]
fn tdx_chosen_mrtd_registered_ahead_is_affirming() {
    affirming_only_for_the_registered_value("tdx", "mr_td", "--mr-td");
}

#[test]
fn snp_chosen_measurement_registered_ahead_is_affirming() {
    affirming_only_for_the_registered_value("snp", "measurement", "--measurement");
}

/// What `scute measure sgx` computes from an enclave's SIGSTRUCT is what a machine launched
/// with it reports, name for name.
#[test]
fn sgx_values_measured_from_a_sigstruct_are_what_the_machine_reports() {
    let sigstruct = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scute-measure/testdata/sgx/powersoftau-enclave.sig"
    );
    let out = run(&["measure", "sgx", "--sigstruct", sigstruct]);
    ok(&out);
    let measured: Value = serde_json::from_slice(&out.stdout).unwrap();
    let one = |name: &str| match &measured[name][0] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("enclave");
    let names = ["mr_enclave", "mr_signer", "isv_prod_id", "isv_svn"];
    let values: Vec<String> = names.iter().map(|n| one(n)).collect();
    let flags: Vec<String> = names
        .iter()
        .map(|n| format!("--{}", n.replace('_', "-")))
        .collect();
    let mut args: Vec<&str> = Vec::new();
    for (flag, value) in flags.iter().zip(&values) {
        args.extend([flag.as_str(), value.as_str()]);
    }
    ok(&machine("sgx", &dir, &args));
    let report = verified_report("sgx", &dir, tmp.path());
    for name in names {
        assert_eq!(report[name], measured[name][0], "{name}: {report}");
    }
}
