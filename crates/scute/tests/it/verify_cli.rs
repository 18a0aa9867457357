//! `scute verify` as other tools call it: the exact JSON shape and exit codes, on every DCAP
//! vector at its verify_time.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    assert!(dir.is_dir(), "test vectors not found at {}", dir.display());
    dir
}

fn scute(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const KEYS: [&str; 19] = [
    "verified",
    "tee",
    "quote_version",
    "tcb_status",
    "advisory_ids",
    "platform_tcb_status",
    "qe_tcb_status",
    "fmspc",
    "report",
    "collateral_expires",
    "error",
    "tcb_date",
    "newest_tcb_date",
    "tcb_evaluation_data_number",
    "days_behind",
    "launch_tcb_status",
    "current_tcb_status",
    "current_tcb_date",
    "current_advisory_ids",
];

#[test]
fn json_verdicts_match_every_vector() {
    let mut seen = 0;
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("tcb_info.json").is_file() {
            continue;
        }
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let dir_s = dir.to_str().unwrap();
        let quote = dir.join("quote.bin");
        let mut args = vec![
            "verify",
            "--quote",
            quote.to_str().unwrap(),
            "--collateral",
            dir_s,
            "--json",
        ];
        let at = exp["verify_time"].as_str().unwrap().to_string();
        args.extend(["--at", &at]);
        let root = dir.join("trusted_root_ca.der");
        if root.is_file() {
            args.extend(["--root-ca", root.to_str().unwrap()]);
        }
        let (code, stdout, stderr) = scute(&args);
        let out: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{case}: {e}: {stdout} {stderr}"));
        for key in KEYS {
            assert!(out.get(key).is_some(), "{case}: missing {key}");
        }
        let divergent_ok = case == "intelqvl-sample-sgx-v3"; // TCB Info v2, see scute-dcap tests
        let divergent_fail = case == "intelqvl-sample-tdx-v4" || case == "gotdx-tdx-v4-spr";
        let ok = if divergent_ok {
            true
        } else if divergent_fail {
            false
        } else {
            exp["result"]["ok"].as_bool().unwrap()
        };
        assert_eq!(out["verified"], ok, "{case}: {out}");
        assert_eq!(code, if ok { 0 } else { 1 }, "{case}");
        if ok && !divergent_ok {
            let result = &exp["result"];
            assert_eq!(out["tcb_status"], result["tcb_status"], "{case}");
            assert_eq!(out["advisory_ids"], result["advisory_ids"], "{case}");
            assert_eq!(out["fmspc"], result["claims"]["fmspc"], "{case}");
            assert_eq!(
                out["qe_tcb_status"], result["qe_status"]["status"],
                "{case}"
            );
            assert_eq!(
                out["tee"],
                if exp["quote"]["tee_type"] == "0x00000081" {
                    "tdx"
                } else {
                    "sgx"
                },
                "{case}"
            );
            assert_eq!(out["quote_version"], exp["quote"]["version"], "{case}");
            for (field, want) in result["report"].as_object().unwrap() {
                assert_eq!(&out["report"][field], want, "{case}: report.{field}");
            }
            assert!(out["collateral_expires"].as_str().unwrap().ends_with('Z'));
            assert_eq!(out["error"], Value::Null);
            let tcb_info: Value =
                serde_json::from_slice(&std::fs::read(dir.join("tcb_info.json")).unwrap()).unwrap();
            let tcb_info = &tcb_info["tcbInfo"];
            // The lower of TCB Info's and QE Identity's numbers (QvE's tcb_eval_ref_num; they
            // differ in intelqvl-sample-sgx-v3: 3 and 0).
            let qe: Value =
                serde_json::from_slice(&std::fs::read(dir.join("qe_identity.json")).unwrap())
                    .unwrap();
            let lower = tcb_info["tcbEvaluationDataNumber"].as_u64().unwrap().min(
                qe["enclaveIdentity"]["tcbEvaluationDataNumber"]
                    .as_u64()
                    .unwrap(),
            );
            assert_eq!(out["tcb_evaluation_data_number"], lower, "{case}");
            assert_eq!(
                out["newest_tcb_date"], tcb_info["tcbLevels"][0]["tcbDate"],
                "{case}"
            );
        } else if !ok {
            assert_eq!(out["report"], Value::Null, "{case}");
            for key in [
                "tcb_date",
                "newest_tcb_date",
                "tcb_evaluation_data_number",
                "days_behind",
            ] {
                assert_eq!(out[key], Value::Null, "{case}: {key}");
            }
            let kind = out["error"]["kind"].as_str().unwrap();
            assert!(
                kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{case}: {kind}"
            );
            assert!(!out["error"]["message"].as_str().unwrap().is_empty());
        }
        seen += 1;
    }
    assert!(seen >= 18);
}

fn case_args(case: &str) -> (String, String) {
    let dir = vectors_dir().join(case);
    (
        dir.join("quote.bin").to_str().unwrap().into(),
        dir.to_str().unwrap().into(),
    )
}

#[test]
fn text_output_names_the_status_the_shortfall_and_the_advisories() {
    let (quote, dir) = case_args("automata-dcaprs-tdx-v4");
    let (code, out, _) = scute(&[
        "verify",
        "--quote",
        &quote,
        "--collateral",
        &dir,
        "--at",
        "2025-02-13T03:50:41Z",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("VERIFIED: TDX quote v4, TCB status OutOfDate"),
        "{out}"
    );
    assert!(
        out.contains("SGX TCB component 1: 6 (newest level: 7)"),
        "{out}"
    );
    assert!(out.contains("INTEL-SA-00960"), "{out}");
    // Why it is behind, and for how long (days counted as docs/verify.md defines them).
    assert!(
        out.contains(
            "TCB date 2023-08-09T00:00:00Z: superseded by a level of 2024-03-13T00:00:00Z \
             (337 days ago); newest level 2024-03-13T00:00:00Z"
        ),
        "{out}"
    );
}

#[test]
fn rejections_say_what_failed_and_exit_1() {
    let (quote, dir) = case_args("dcapqvl-sgx-v3");
    // Real collateral has expired by now: without --at, "now" is used.
    let (code, out, _) = scute(&["verify", "--quote", &quote, "--collateral", &dir]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("NOT VERIFIED: ") && out.contains("expired"),
        "{out}"
    );
    let (code, out, _) = scute(&[
        "verify",
        "--quote",
        &quote,
        "--collateral",
        &dir,
        "--json",
        "--at",
        "2025-06-19T10:56:11Z",
    ]);
    assert_eq!(code, 0, "{out}");
    let (quote_dbg, dir_dbg) = case_args("automata-dcaprs-sgx-v3");
    let args = [
        "verify",
        "--quote",
        &quote_dbg,
        "--collateral",
        &dir_dbg,
        "--at",
        "2024-08-26T00:35:00Z",
        "--json",
    ];
    let (code, out, _) = scute(&args);
    assert_eq!(code, 1);
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["error"]["kind"], "debug_not_allowed");
    let mut relaxed = args.to_vec();
    relaxed.push("--allow-debug");
    let (code, out, _) = scute(&relaxed);
    assert_eq!(code, 0);
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["tcb_status"], "ConfigurationAndSWHardeningNeeded");
}

#[test]
fn unreadable_input_and_usage_errors_exit_2() {
    let (quote, dir) = case_args("dcapqvl-tdx-v4");
    let (code, _, err) = scute(&[
        "verify",
        "--quote",
        "/nonexistent/quote.bin",
        "--collateral",
        &dir,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/quote.bin"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = scute(&[
        "verify",
        "--quote",
        &quote,
        "--collateral",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("tcb_info.json"), "{err}");
    let (code, out, _) = scute(&[
        "verify",
        "--quote",
        &quote,
        "--collateral",
        empty.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 2);
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["verified"], false);
    assert_eq!(out["error"]["kind"], "cannot_run");
    let (code, _, _) = scute(&["verify", "--quote", &quote]);
    assert_eq!(code, 2);
    let (code, _, _) = scute(&[
        "verify",
        "--quote",
        &quote,
        "--collateral",
        &dir,
        "--at",
        "yesterday",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn a_damaged_quote_file_is_rejected_not_crashed() {
    let (quote, dir) = case_args("dcapqvl-tdx-v4");
    let bytes = std::fs::read(&quote).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..1000]).unwrap();
    let (code, out, _) = scute(&[
        "verify",
        "--quote",
        cut.to_str().unwrap(),
        "--collateral",
        &dir,
        "--json",
        "--at",
        "2025-06-19T10:32:27Z",
    ]);
    assert_eq!(code, 1);
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["error"]["kind"], "quote_decode");
}

/// `--report-data` is honoured for DCAP as for every TEE, and `--ark` (an SEV-SNP flag) is
/// refused rather than ignored.
#[test]
fn report_data_is_compared_and_snp_flags_are_refused_for_dcap() {
    let dir = vectors_dir().join("dcapqvl-tdx-v4");
    let exp: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let quote = dir.join("quote.bin");
    let base = [
        "verify",
        "--quote",
        quote.to_str().unwrap(),
        "--collateral",
        dir.to_str().unwrap(),
        "--at",
        exp["verify_time"].as_str().unwrap(),
        "--json",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let (code, stdout, _) = scute(&args);
        (code, serde_json::from_str::<Value>(stdout.trim()).unwrap())
    };
    let (code, out) = run(&[]);
    assert_eq!(code, 0, "{out}");
    let own = out["report"]["report_data"].as_str().unwrap().to_string();
    let (code, out) = run(&["--report-data", &own]);
    assert_eq!(code, 0, "{out}");
    let mut other = hex::decode(&own).unwrap();
    other[0] ^= 0x80;
    let (code, out) = run(&["--report-data", &hex::encode(other)]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"]["kind"], "report_data_mismatch");
    assert!(out["report"].is_null(), "{out}");
    let ark = dir.join("quote.bin");
    let (code, out) = run(&["--ark", ark.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out["error"]["kind"], "cannot_run");
    assert!(out["error"]["message"].as_str().unwrap().contains("--ark"));
}
