//! `scute verify --tee csv` as other tools call it: the JSON shape and exit statuses on both
//! real CSV vectors and on simulated reports (V1, V2, Trustee's form, debug, tampered).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn vector(case: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(case);
    assert!(dir.is_dir(), "test vectors not found at {}", dir.display());
    dir
}

fn scute(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_csvrs_raw_report_verifies_with_its_chain() {
    let dir = vector("csv-openanolis-csvrs-v1report-chain");
    let report = dir.join("report.cert");
    // A V1 report's debug bit is proven only by the report_data it must carry (the fields
    // past the signed 0xB4 bytes are XOR-ed with an unsigned anonce): without --report-data
    // it counts as debug, refused unless --allow-debug.
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--collateral",
        p(&dir),
        "--json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"]["kind"], "debug_not_allowed", "{out}");
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--collateral",
        p(&dir),
        "--allow-debug",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--collateral",
        p(&dir),
        "--at",
        "2026-01-01T00:00:00Z",
        "--report-data",
        CSVRS_REPORT_DATA,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["verified"], true);
    assert_eq!(out["tee"], "csv");
    assert_eq!(out["quote_version"], 1);
    assert_eq!(out["chip_serial"], "NZA9T14052605");
    assert_eq!(out["mac_checked"], true);
    assert_eq!(out["error"], Value::Null);
    assert_eq!(
        out["report"]["measure"],
        "1178dadbf826ec7a07444ba358376d81c312cb53d703f9da83b26c1eee2ea052"
    );
    assert_eq!(out["report"]["policy"]["value"], "0x40000001");

    // hsk.cert + cek.cert without hsk_cek.cert give the same verdict.
    let tmp = tempfile::tempdir().unwrap();
    for f in ["hsk.cert", "cek.cert", "hrk.cert"] {
        std::fs::copy(dir.join(f), tmp.path().join(f)).unwrap();
    }
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--collateral",
        p(tmp.path()),
        "--report-data",
        CSVRS_REPORT_DATA,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");

    // Text output for people, same exit status.
    let (code, _) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--collateral",
        p(&dir),
        "--report-data",
        CSVRS_REPORT_DATA,
    ]);
    assert_eq!(code, 0);
}

#[test]
fn the_trustee_evidence_is_rejected_without_hsk_cek() {
    let dir = vector("csv-trustee-v1-evidence");
    let evidence = dir.join("csv_evidence.json");
    let zeros = "00".repeat(64);
    // Its MAC cannot be checked: report_data must be bound.
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&evidence),
        "--collateral",
        p(&dir),
        "--json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"]["kind"], "report_data_required");
    // HSK/CEK not included, none in the directory.
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&evidence),
        "--collateral",
        p(&dir),
        "--report-data",
        &zeros,
        "--json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["verified"], false);
    assert_eq!(out["error"]["kind"], "collateral_missing");
    assert_eq!(out["report"], Value::Null);
    // Another chip's HSK/CEK do not certify its PEK.
    let other = vector("csv-openanolis-csvrs-v1report-chain");
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&evidence),
        "--collateral",
        p(&other),
        "--report-data",
        &zeros,
        "--json",
    ]);
    assert_eq!(code, 1);
    assert_eq!(out["error"]["kind"], "signature_invalid");
}

#[test]
fn cannot_run_and_dcap_default_keep_their_contract() {
    let dir = vector("csv-openanolis-csvrs-v1report-chain");
    let report = dir.join("report.cert");
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--collateral",
        "/nonexistent",
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(out["error"]["kind"], "cannot_run");
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--report-data",
        "00",
        "--json",
    ]);
    assert_eq!(code, 2, "{out}");
    // Without --tee, a CSV report is judged as a DCAP quote (and fails to decode).
    let (code, out) = scute(&[
        "verify",
        "--quote",
        p(&report),
        "--collateral",
        p(&dir),
        "--json",
    ]);
    assert_ne!(code, 0);
    assert_ne!(out["tee"], "csv");
}

#[test]
fn simulated_reports_verify_only_under_the_simulated_root() {
    use scute_sim::{CsvReportSpec, HygonSim};
    let sim = HygonSim::new(b"scute cli", "SIMCLI01").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::write(t.join("hsk_cek.cert"), sim.hsk_cek().encode()).unwrap();
    let root = t.join("sim-hrk.cert");
    std::fs::write(&root, sim.hrk_cert.encode()).unwrap();
    let spec = CsvReportSpec {
        version: 2,
        ..CsvReportSpec::default()
    };
    let raw = t.join("v2.bin");
    std::fs::write(&raw, sim.report(&spec).unwrap().encode()).unwrap();
    let json = t.join("v1.json");
    let v1 = CsvReportSpec::default();
    std::fs::write(
        &json,
        sim.trustee_evidence(&v1, false, None).unwrap().to_string(),
    )
    .unwrap();

    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&raw),
        "--collateral",
        p(t),
        "--root-ca",
        p(&root),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["quote_version"], 2);
    assert_eq!(out["report"]["rtmr0"], hex::encode(spec.measure));
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&raw),
        "--collateral",
        p(t),
        "--json",
    ]);
    assert_eq!(code, 1);
    assert_eq!(out["error"]["kind"], "untrusted_root");
    // An hrk.cert beside the collateral must be a trusted root.
    std::fs::write(t.join("hrk.cert"), sim.hrk_cert.encode()).unwrap();
    let (_, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&raw),
        "--collateral",
        p(t),
        "--json",
    ]);
    assert_eq!(out["error"]["kind"], "untrusted_root");
    std::fs::remove_file(t.join("hrk.cert")).unwrap();

    let rd = hex::encode(v1.report_data);
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&json),
        "--collateral",
        p(t),
        "--root-ca",
        p(&root),
        "--report-data",
        &rd,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["mac_checked"], false);
    assert_eq!(out["report_data_bound"], true);

    // A debug guest: rejected unless --allow-debug.
    let debug = t.join("debug.bin");
    let spec = CsvReportSpec {
        policy: 0x0401_0026,
        ..CsvReportSpec::default()
    };
    std::fs::write(&debug, sim.report(&spec).unwrap().encode()).unwrap();
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&debug),
        "--collateral",
        p(t),
        "--root-ca",
        p(&root),
        "--json",
    ]);
    assert_eq!(code, 1);
    assert_eq!(out["error"]["kind"], "debug_not_allowed");
    let (code, out) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&debug),
        "--collateral",
        p(t),
        "--root-ca",
        p(&root),
        "--allow-debug",
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out["debug"], true);
}

#[test]
fn hsk_cek_import_verifies_before_it_stores() {
    let dir = vector("csv-openanolis-csvrs-v1report-chain");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = |file: &Path, chip: &str| {
        Command::new(env!("CARGO_BIN_EXE_scute"))
            .args([
                "collateral",
                "import-csv",
                "--chip",
                chip,
                "--data-dir",
                p(&data),
                p(file),
            ])
            .output()
            .unwrap()
            .status
            .code()
            .unwrap()
    };
    assert_eq!(run(&dir.join("hsk_cek.cert"), "NZA9T14052605"), 0);
    // A CEK that its HSK did not sign is refused.
    let mut bad = std::fs::read(dir.join("hsk_cek.cert")).unwrap();
    bad[832 + 100] ^= 1;
    let bad_path = tmp.path().join("bad.cert");
    std::fs::write(&bad_path, bad).unwrap();
    assert_eq!(run(&bad_path, "NZA9T14052605"), 1);
}

#[test]
fn scute_sim_csv_writes_what_scute_verify_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let status = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args([
            "sim",
            "csv",
            "--out",
            p(out),
            "--report-version",
            "2",
            "--report-data",
            "abcd",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let root = out.join("hrk.cert");
    let mut rd = [0u8; 64];
    rd[..2].copy_from_slice(&[0xab, 0xcd]);
    for file in ["report.bin", "evidence.json"] {
        let (code, v) = scute(&[
            "verify",
            "--tee",
            "csv",
            "--quote",
            p(&out.join(file)),
            "--collateral",
            p(out),
            "--root-ca",
            p(&root),
            "--report-data",
            &hex::encode(rd),
            "--json",
        ]);
        assert_eq!(code, 0, "{file}: {v}");
        assert_eq!(v["quote_version"], 2);
    }
}

/// Verifies the csv-rs vector's report against the collateral directory `dir`.
fn verify_csvrs_with(dir: &Path) -> (i32, Value) {
    let report = vector("csv-openanolis-csvrs-v1report-chain").join("report.cert");
    scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--collateral",
        p(dir),
        "--report-data",
        CSVRS_REPORT_DATA,
        "--json",
    ])
}

/// The report_data the csv-rs V1 vector carries ("user data", zero-padded; its expected.json).
const CSVRS_REPORT_DATA: &str = "75736572206461746100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn collateral_of_the_wrong_kind_is_not_verified_exit_1_collateral_decode() {
    let src = vector("csv-openanolis-csvrs-v1report-chain");
    // The CEK where the HSK belongs (and the HSK where the CEK belongs).
    for (as_hsk, as_cek, bad) in [
        ("cek.cert", "cek.cert", "hsk.cert"),
        ("hsk.cert", "hsk.cert", "cek.cert"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(src.join(as_hsk), tmp.path().join("hsk.cert")).unwrap();
        std::fs::copy(src.join(as_cek), tmp.path().join("cek.cert")).unwrap();
        let (code, out) = verify_csvrs_with(tmp.path());
        assert_eq!(code, 1, "{out}");
        assert_eq!(out["verified"], false);
        assert_eq!(out["error"]["kind"], "collateral_decode", "{out}");
        assert!(
            out["error"]["message"].as_str().unwrap().starts_with(bad),
            "{out}"
        );
        assert!(out["report"].is_null());
    }
    // A truncated hsk_cek.cert, and an hrk.cert that is not a CA-format certificate.
    let tmp = tempfile::tempdir().unwrap();
    let combined = std::fs::read(src.join("hsk_cek.cert")).unwrap();
    std::fs::write(
        tmp.path().join("hsk_cek.cert"),
        &combined[..combined.len() - 1],
    )
    .unwrap();
    let (code, out) = verify_csvrs_with(tmp.path());
    assert_eq!(
        (code, &out["error"]["kind"]),
        (1, &Value::from("collateral_decode")),
        "{out}"
    );
    std::fs::write(tmp.path().join("hsk_cek.cert"), &combined).unwrap();
    std::fs::copy(src.join("cek.cert"), tmp.path().join("hrk.cert")).unwrap();
    let (code, out) = verify_csvrs_with(tmp.path());
    assert_eq!(
        (code, &out["error"]["kind"]),
        (1, &Value::from("collateral_decode")),
        "{out}"
    );
    // Text output: the same exit status.
    let report = src.join("report.cert");
    let (code, _) = scute(&[
        "verify",
        "--tee",
        "csv",
        "--quote",
        p(&report),
        "--collateral",
        p(tmp.path()),
    ]);
    assert_eq!(code, 1);
}

#[test]
fn a_supplied_hrk_must_be_the_pinned_root_byte_for_byte() {
    let src = vector("csv-openanolis-csvrs-v1report-chain");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("hsk_cek.cert"), tmp.path().join("hsk_cek.cert")).unwrap();
    let genuine = std::fs::read(src.join("hrk.cert")).unwrap();
    std::fs::write(tmp.path().join("hrk.cert"), &genuine).unwrap();
    let (code, out) = verify_csvrs_with(tmp.path());
    assert_eq!(code, 0, "{out}");
    // The last 112 bytes (after the signature) are outside the signed body: Hygon's key still
    // signs the rest, but this is not the certificate pinned.
    for at in [genuine.len() - 1, genuine.len() - 112] {
        let mut altered = genuine.clone();
        altered[at] ^= 0x5a;
        std::fs::write(tmp.path().join("hrk.cert"), &altered).unwrap();
        let (code, out) = verify_csvrs_with(tmp.path());
        assert_eq!(code, 1, "{out}");
        assert_eq!(out["error"]["kind"], "untrusted_root", "{out}");
    }
}

/// Flags CSV cannot honour are refused (exit 2), not ignored: `--ark` (CSV's root is replaced
/// with `--root-ca`) and DCAP's own flags.
#[test]
fn flags_csv_cannot_honour_are_refused() {
    let dir = vector("csv-openanolis-csvrs-v1report-chain");
    let cert = dir.join("report.cert");
    for extra in [
        &["--ark", p(&cert)][..],
        &["--allow-service-td"][..],
        &["--cacert", p(&cert)][..],
    ] {
        let mut args = vec![
            "verify",
            "--tee",
            "csv",
            "--quote",
            p(&cert),
            "--collateral",
            p(&dir),
            "--json",
        ];
        args.extend_from_slice(extra);
        let (code, out) = scute(&args);
        assert_eq!(code, 2, "{extra:?}: {out}");
        assert_eq!(out["error"]["kind"], "cannot_run", "{extra:?}");
    }
}
