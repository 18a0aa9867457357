//! `scute verify --tee snp` as other tools call it: the JSON shape and exit codes of the DCAP
//! contract, on every SEV-SNP report vector at an instant inside its windows, and refusals.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

fn scute(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_str(stdout.trim()).unwrap_or(Value::Null),
    )
}

fn verify(case_dir: &std::path::Path, report: &std::path::Path, at: &str) -> (i32, Value) {
    verify_with(case_dir, report, at, &[])
}

fn verify_with(
    case_dir: &std::path::Path,
    report: &std::path::Path,
    at: &str,
    extra: &[&str],
) -> (i32, Value) {
    let mut args = vec![
        "verify",
        "--tee",
        "snp",
        "--quote",
        report.to_str().unwrap(),
        "--collateral",
        case_dir.to_str().unwrap(),
        "--at",
        at,
        "--json",
    ];
    args.extend_from_slice(extra);
    scute(&args)
}

const KEYS: [&str; 12] = [
    "verified",
    "tee",
    "quote_version",
    "tcb_status",
    "advisory_ids",
    "platform_tcb_status",
    "qe_tcb_status",
    "fmspc",
    "report",
    "debug",
    "collateral_expires",
    "error",
];

#[test]
fn every_snp_report_vector_verifies_with_the_dcap_json_shape() {
    for (case, at) in [
        ("snp-virtee-milan-vcek", "2024-01-01T00:00:00Z"),
        ("snp-trustee-milan-vcek", "2024-01-01T00:00:00Z"),
        ("snp-gosevguest-milan-vcek", "2024-01-01T00:00:00Z"),
        ("snp-trustee-milan-vlek", "2025-06-01T00:00:00Z"),
    ] {
        let dir = vectors_dir().join(case);
        let debug = case == "snp-gosevguest-milan-vcek";
        let (code, out) = verify_with(&dir, &dir.join("report.bin"), at, &[][..]);
        // The one debug rule: a debug guest is refused unless --allow-debug.
        if debug {
            assert_eq!(code, 1, "{case}: {out}");
            assert_eq!(out["error"]["kind"], "debug_not_allowed", "{case}");
            assert_eq!(out["verified"], false);
            assert!(out["report"].is_null());
        } else {
            assert_eq!(code, 0, "{case}: {out}");
        }
        let (code, out) = verify_with(&dir, &dir.join("report.bin"), at, &["--allow-debug"]);
        assert_eq!(code, 0, "{case}: {out}");
        let keys: Vec<&str> = out
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = KEYS.to_vec();
        expected.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, expected, "{case}");
        assert_eq!(out["verified"], true);
        assert_eq!(out["tee"], "snp");
        assert!(out["error"].is_null());
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let f = &exp["report_fields"];
        assert_eq!(out["report"]["measurement"], f["measurement"], "{case}");
        assert_eq!(out["report"]["report_data"], f["report_data"]);
        assert_eq!(out["report"]["policy"]["raw"], f["policy"]);
        assert_eq!(out["quote_version"], f["version"]);
        assert_eq!(out["debug"], debug);
    }
}

#[test]
fn refusals_exit_1_with_a_kind_and_missing_collateral_exits_2() {
    let dir = vectors_dir().join("snp-trustee-milan-vlek");
    // The VLEK expired on 2025-12-10: judged now (an explicit instant after it) it fails.
    let (code, out) = verify(&dir, &dir.join("report.bin"), "2026-12-02T00:00:00Z");
    assert_eq!(code, 1);
    assert_eq!(out["verified"], false);
    assert_eq!(out["error"]["kind"], "collateral_expired");
    assert!(out["report"].is_null());

    // A changed byte in the signed report.
    let tmp = tempfile::tempdir().unwrap();
    let src = vectors_dir().join("snp-virtee-milan-vcek");
    let mut report = std::fs::read(src.join("report.bin")).unwrap();
    report[0x90] ^= 1;
    let bad = tmp.path().join("report.bin");
    std::fs::write(&bad, &report).unwrap();
    let (code, out) = verify(&src, &bad, "2024-01-01T00:00:00Z");
    assert_eq!(code, 1);
    assert_eq!(out["error"]["kind"], "report_signature");

    // The report with another chip's VCEK.
    std::fs::write(
        tmp.path().join("report.bin"),
        std::fs::read(src.join("report.bin")).unwrap(),
    )
    .unwrap();
    std::fs::copy(
        vectors_dir().join("snp-trustee-milan-vcek/vcek.der"),
        tmp.path().join("vcek.der"),
    )
    .unwrap();
    let (code, out) = verify(
        tmp.path(),
        &tmp.path().join("report.bin"),
        "2024-01-01T00:00:00Z",
    );
    assert_eq!(code, 1);
    assert_eq!(out["error"]["kind"], "report_signature");

    // No VCEK at all: cannot run.
    let empty = tempfile::tempdir().unwrap();
    let (code, out) = verify(empty.path(), &bad, "2024-01-01T00:00:00Z");
    assert_eq!(code, 2);
    assert_eq!(out["error"]["kind"], "cannot_run");
}

#[test]
fn the_dcap_contract_is_unchanged_without_tee() {
    let dir = vectors_dir().join("dcapqvl-tdx-v4");
    let exp: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let (code, out) = scute(&[
        "verify",
        "--quote",
        dir.join("quote.bin").to_str().unwrap(),
        "--collateral",
        dir.to_str().unwrap(),
        "--at",
        exp["verify_time"].as_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["tee"], "tdx");
    assert!(out.get("debug").is_none());
}

#[test]
fn collateral_import_files_a_verified_vcek_and_refuses_an_expired_vlek() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let import = |case: &str| {
        Command::new(env!("CARGO_BIN_EXE_scute"))
            .args(["collateral", "import"])
            .arg(vectors_dir().join(case))
            .arg("--data-dir")
            .arg(&data_dir)
            .output()
            .unwrap()
    };
    // Verified at the wall clock: the Milan VCEK is valid until 2030.
    let out = import("snp-virtee-milan-vcek");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported SEV-SNP snp-vcek/"));
    // The VLEK expired on 2025-12-10: not stored.
    let out = import("snp-trustee-milan-vlek");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("collateral_expired"));
}

#[test]
fn quote_tee_snp_without_configfs_tsm_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(["quote", "--tee", "snp", "--report-data", "00", "--out"])
        .arg(tmp.path().join("r.bin"))
        .arg("--tsm-root")
        .arg(tmp.path().join("tsm"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("configfs-tsm"), "{err}");
    assert!(!tmp.path().join("r.bin").exists());
}

/// `--allow-debug` is honoured for SEV-SNP as for DCAP and CSV (one rule, one code path): a
/// genuinely signed report of a guest whose policy sets DEBUG is refused, exit 1, unless the
/// flag is given; the same guest without DEBUG verifies either way.
#[test]
fn a_debug_snp_guest_is_refused_without_allow_debug() {
    use scute_sim::amd::{guest_report, AmdPki, VekKind};
    use scute_snp::{policy, Product, TcbVersion};
    const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    let tcb = TcbVersion([3, 0, 0, 0, 0, 0, 8, 0x73]);
    let chip = [0xc4; 64];
    let pki = AmdPki::new(Product::Milan, START).unwrap();
    let vek = pki
        .issue_vek(&pki.vek_spec(VekKind::Vcek, tcb, chip.to_vec()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vcek.der"), &vek.der).unwrap();
    std::fs::write(
        dir.path().join("ask_ark_chain.pem"),
        pki.cert_chain_pem(VekKind::Vcek),
    )
    .unwrap();
    let ark = dir.path().join("ark.pem");
    std::fs::write(&ark, pki.ark_pem()).unwrap();
    let at = "2026-01-02T00:00:00Z";
    let ark_args = ["--ark", ark.to_str().unwrap()];
    for debug in [false, true] {
        let mut report = guest_report(Product::Milan, tcb, chip, [7; 64]);
        if debug {
            report.policy |= policy::DEBUG;
        }
        vek.sign(&mut report).unwrap();
        let path = dir.path().join(format!("report-{debug}.bin"));
        std::fs::write(&path, report.encode()).unwrap();

        let (code, out) = verify_with(dir.path(), &path, at, &ark_args);
        if debug {
            assert_eq!(code, 1, "{out}");
            assert_eq!(out["verified"], false);
            assert_eq!(out["error"]["kind"], "debug_not_allowed", "{out}");
            assert!(out["report"].is_null() && out["debug"].is_null(), "{out}");
        } else {
            assert_eq!(code, 0, "{out}");
            assert_eq!(out["debug"], false);
        }
        let mut allowed = ark_args.to_vec();
        allowed.push("--allow-debug");
        let (code, out) = verify_with(dir.path(), &path, at, &allowed);
        assert_eq!(code, 0, "{out}");
        assert_eq!(out["debug"], debug);
        // Text output: the same exit statuses.
        let text = Command::new(env!("CARGO_BIN_EXE_scute"))
            .args(["verify", "--tee", "snp", "--quote", path.to_str().unwrap()])
            .args(["--collateral", dir.path().to_str().unwrap(), "--at", at])
            .args(ark_args)
            .output()
            .unwrap();
        assert_eq!(text.status.code(), Some(if debug { 1 } else { 0 }));
        if debug {
            let stdout = String::from_utf8(text.stdout).unwrap();
            assert!(stdout.contains("--allow-debug"), "{stdout}");
        }
    }
}

/// `--report-data` is honoured for SEV-SNP as for every TEE: the report's own report data
/// passes, any other value is refused (exit 1, `report_data_mismatch`, nothing decoded shown).
#[test]
fn report_data_is_compared_for_snp() {
    let dir = vectors_dir().join("snp-virtee-milan-vcek");
    let at = "2024-01-01T00:00:00Z";
    let (code, out) = verify(&dir, &dir.join("report.bin"), at);
    assert_eq!(code, 0, "{out}");
    let own = out["report"]["report_data"].as_str().unwrap().to_string();
    let (code, out) = verify_with(&dir, &dir.join("report.bin"), at, &["--report-data", &own]);
    assert_eq!(code, 0, "{out}");
    // The attacker's view: a report over other data must not vouch for this request.
    let mut other = hex::decode(&own).unwrap();
    other[63] ^= 1;
    let (code, out) = verify_with(
        &dir,
        &dir.join("report.bin"),
        at,
        &["--report-data", &hex::encode(other)],
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"]["kind"], "report_data_mismatch");
    assert!(out["report"].is_null() && out["debug"].is_null(), "{out}");
    // Not 64 bytes: the command cannot run.
    let (code, out) = verify_with(&dir, &dir.join("report.bin"), at, &["--report-data", "00"]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out["error"]["kind"], "cannot_run");
}

/// A flag the TEE cannot honour is refused (exit 2) rather than silently ignored: `--root-ca`
/// (SEV-SNP roots are added to with `--ark`), and DCAP's own flags.
#[test]
fn flags_snp_cannot_honour_are_refused() {
    let dir = vectors_dir().join("snp-virtee-milan-vcek");
    let root = dir.join("vcek.der");
    for extra in [
        &["--root-ca", root.to_str().unwrap()][..],
        &["--allow-service-td"][..],
        &["--dangerous-allow-sept-ve"][..],
        &["--cacert", root.to_str().unwrap()][..],
    ] {
        let (code, out) = verify_with(&dir, &dir.join("report.bin"), "2024-01-01T00:00:00Z", extra);
        assert_eq!(code, 2, "{extra:?}: {out}");
        assert_eq!(out["error"]["kind"], "cannot_run", "{extra:?}");
        assert_eq!(out["verified"], false);
    }
    // Without --json: exit 2 and a message naming the flag.
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(["verify", "--tee", "snp", "--quote"])
        .arg(dir.join("report.bin"))
        .arg("--collateral")
        .arg(&dir)
        .arg("--root-ca")
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--root-ca"));
}

/// The KBS evidence JSON (sev's serde form) verifies as the raw report does.
#[test]
fn the_kbs_evidence_json_form_verifies_like_the_raw_report() {
    let dir = vectors_dir().join("snp-virtee-milan-vcek");
    let raw = std::fs::read(dir.join("report.bin")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("evidence.json");
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw);
    std::fs::write(
        &path,
        serde_json::json!({ "attestation_report": b64 }).to_string(),
    )
    .unwrap();
    let (code, from_json) = verify(&dir, &path, "2024-01-01T00:00:00Z");
    assert_eq!(code, 0, "{from_json}");
    let (_, from_raw) = verify(&dir, &dir.join("report.bin"), "2024-01-01T00:00:00Z");
    assert_eq!(from_json, from_raw);
}

/// The text verdict says which TCB the guest was launched on and which the platform runs now
/// (issue 24: launch and current for SEV-SNP), as the report's own fields give them.
#[test]
fn the_text_verdict_names_the_launch_and_current_tcb() {
    let dir = vectors_dir().join("snp-virtee-milan-vcek");
    let report = dir.join("report.bin");
    let (code, json) = verify(&dir, &report, "2024-01-01T00:00:00Z");
    assert_eq!(code, 0, "{json}");
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(["verify", "--tee", "snp", "--quote"])
        .arg(&report)
        .arg("--collateral")
        .arg(&dir)
        .args(["--at", "2024-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let raw = |name: &str| json["report"][name]["raw"].as_str().unwrap().to_string();
    let line = format!(
        "launch TCB {}, current TCB {}",
        raw("launch_tcb").trim_start_matches("0x"),
        raw("current_tcb").trim_start_matches("0x")
    );
    assert!(text.contains(&line), "{line:?} not in:\n{text}");
}
