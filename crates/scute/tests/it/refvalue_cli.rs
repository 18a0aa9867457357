//! `scute reference-value put|get|list|delete|import` and `scute token verify` as processes
//! against `scute serve` with a configured reference-value signer: the import's exact exit
//! status (0 stored, 1 refused, 2 usage or unreachable), the admin round trip, and the token
//! naming the reference values it matched and where they came from.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use scute_refvalues::dsse::{envelope_for, statement_for};
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

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn signer(cn: &str) -> (EcdsaKeyPair, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der()).unwrap();
    (pair, cert.pem())
}

fn signed(key: &EcdsaKeyPair, values: Value, dir: &Path, name: &str) -> String {
    let document = envelope_for(
        &statement_for(&values, None, None),
        |m| key.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec(),
        "k",
    );
    let path = dir.join(name);
    std::fs::write(&path, document).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn import_exits_0_1_2_and_the_token_names_the_signed_values_it_matched() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let data = tmp.path().join("data");
    let sim_dir = sim.to_str().unwrap();
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
    assert!(out.status.success(), "{}", text(&out));
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
    assert!(out.status.success(), "{}", text(&out));
    let (key, cert) = signer("Release Team");
    let cert_path = tmp.path().join("release.pem");
    std::fs::write(&cert_path, cert).unwrap();
    let config = tmp.path().join("scute.toml");
    std::fs::write(
        &config,
        format!(
            "reference_value_signers = [{:?}]\n",
            cert_path.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut command = scute();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .arg("--trust-root")
        .arg(&root);
    let server = ChildServer::serve(command);
    let url = server.addr.clone();
    let token_file = data.join("admin-token");
    let token_file = token_file.to_str().unwrap();
    let decoded = scute_quote::Quote::decode(&std::fs::read(&quote).unwrap()).unwrap();
    let mr_td = hex::encode(decoded.body.td10().unwrap().mr_td);
    let import = |file: &str, server: &str| {
        run(&[
            "reference-value",
            "import",
            file,
            "--server",
            server,
            "--admin-token-file",
            token_file,
        ])
    };

    // Refused (exit 1, the reason on stderr): a document signed by a key not configured.
    let (stranger, _) = signer("Release Team");
    let forged = signed(
        &stranger,
        json!({"mr_td": [mr_td]}),
        tmp.path(),
        "forged.json",
    );
    let out = import(&forged, &url);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reference_values_refused"), "{stderr}");
    assert!(stderr.contains("signature"), "{stderr}");
    // Could not run (exit 2): no such file, an unreachable server, a usage error.
    let good = signed(&key, json!({"mr_td": [mr_td]}), tmp.path(), "good.json");
    let missing = tmp.path().join("missing.json");
    assert_eq!(
        import(missing.to_str().unwrap(), &url).status.code(),
        Some(2)
    );
    assert_eq!(import(&good, "http://127.0.0.1:1").status.code(), Some(2));
    assert_eq!(run(&["reference-value", "import"]).status.code(), Some(2));
    let listed = run(&[
        "reference-value",
        "list",
        "--server",
        &url,
        "--admin-token-file",
        token_file,
    ]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        listed["documents"],
        json!([]),
        "nothing stored by a refusal"
    );

    // Stored (exit 0): the answer names the values and the signer.
    let out = import(&good, &url);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["stored"], json!(["mr_td"]));
    assert_eq!(answer["provenance"]["signer"], "Release Team");

    // The token says which reference values matched and where they came from.
    let out = run(&[
        "attest",
        "--server",
        &url,
        "--tee",
        "sim",
        "--sim-dir",
        sim_dir,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8(out.stdout).unwrap();
    let out = run(&["token", "verify", token.trim(), "--server", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("VALID token: status affirming"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "reference value mr_td matched \"{mr_td}\" from signed:Release Team (document {})",
            answer["provenance"]["document_digest"].as_str().unwrap()
        )),
        "{printed}"
    );
}

#[test]
fn put_get_list_delete_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut command = scute();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data);
    let server = ChildServer::serve(command);
    let url = server.addr.clone();
    let token_file = data.join("admin-token");
    let token_file = token_file.to_str().unwrap();
    let admin = |args: &[&str]| {
        let mut all = vec!["reference-value"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--server", &url, "--admin-token-file", token_file]);
        run(&all)
    };
    let out = admin(&["put", "rtmr1", "--value", "aa", "--value", "bb"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let numbers = tmp.path().join("ids.json");
    std::fs::write(&numbers, "[1, 2]").unwrap();
    let out = admin(&["put", "isv_prod_id", "--file", numbers.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = admin(&["get", "rtmr1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!(["aa", "bb"])
    );
    let out = admin(&["get", "isv_prod_id"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!([1, 2])
    );
    let out = admin(&["list"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list["reference_values"]["rtmr1"],
        json!([{"value": "aa", "source": "admin"}, {"value": "bb", "source": "admin"}])
    );

    let out = admin(&["delete", "rtmr1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Gone: the service refuses (404), exit 1 with its kind on stderr.
    let out = admin(&["get", "rtmr1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_found"));
    // A name the service does not take is refused, not sent somewhere else.
    let out = admin(&["put", "../policies/default", "--value", "aa"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // --value and --file together, or neither: usage (2).
    let out = admin(&[
        "put",
        "x",
        "--value",
        "aa",
        "--file",
        numbers.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = admin(&["put", "x"]);
    assert_eq!(out.status.code(), Some(2));
    // A wrong admin token: refused (1).
    let wrong = tmp.path().join("wrong-token");
    std::fs::write(&wrong, "nope").unwrap();
    let out = run(&[
        "reference-value",
        "list",
        "--server",
        &url,
        "--admin-token-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn config_check_reads_each_signer_file_as_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("not-a-key.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (_, cert) = signer("Release Team");
    let good = tmp.path().join("release.pem");
    std::fs::write(&good, cert).unwrap();
    for (signer_file, code) in [(&bad, 1), (&good, 0)] {
        let config = tmp.path().join("scute.toml");
        std::fs::write(
            &config,
            format!(
                "reference_value_signers = [{:?}]\n",
                signer_file.to_str().unwrap()
            ),
        )
        .unwrap();
        let out = run(&["config", "check", "--config", config.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out));
        if code == 1 {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("reference_value_signers"), "{stderr}");
            assert!(stderr.contains(bad.to_str().unwrap()), "{stderr}");
        }
    }
}
