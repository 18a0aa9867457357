//! `scute sim case` then `scute verify`, as a newcomer runs them: the verdict and exit code
//! match the expected.json the simulator wrote.

use serde_json::Value;
use std::process::Command;

fn scute(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn make_and_verify(extra: &[&str]) -> (Value, i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let mut args = vec!["sim", "case", "--out", out];
    args.extend(extra);
    let (code, _) = scute(&args);
    assert_eq!(code, 0, "sim case {extra:?}");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("expected.json")).unwrap()).unwrap();
    let quote = dir.path().join("quote.bin");
    let root = dir.path().join("root_ca.pem");
    let (code, stdout) = scute(&[
        "verify",
        "--quote",
        quote.to_str().unwrap(),
        "--collateral",
        out,
        "--root-ca",
        root.to_str().unwrap(),
        "--json",
    ]);
    (expected, code, serde_json::from_str(&stdout).unwrap())
}

#[test]
fn simulated_cases_verify_as_expected_through_the_cli() {
    let cases: [&[&str]; 7] = [
        &[],
        &["--tee", "sgx"],
        &[
            "--tee",
            "tdx",
            "--quote-version",
            "5",
            "--tcb-status",
            "SWHardeningNeeded",
        ],
        &[
            "--tee",
            "sgx",
            "--qe-tcb-status",
            "OutOfDate",
            "--report-data",
            "00ff",
        ],
        &["--debug"],
        &["--revoke-pck"],
        &["--tcb-status", "Revoked"],
    ];
    for extra in cases {
        let (expected, code, got) = make_and_verify(extra);
        let result = &expected["result"];
        assert_eq!(got["verified"], result["ok"], "{extra:?}: {got}");
        assert_eq!(code, if result["ok"] == true { 0 } else { 1 }, "{extra:?}");
        if result["ok"] == true {
            assert_eq!(got["tcb_status"], result["tcb_status"], "{extra:?}");
            assert_eq!(got["advisory_ids"], result["advisory_ids"], "{extra:?}");
            assert_eq!(got["report"], result["report"], "{extra:?}");
        } else {
            assert_eq!(got["error"]["kind"], result["error_kind"], "{extra:?}");
        }
    }
}

#[test]
fn report_data_lands_in_the_quote() {
    let (expected, code, got) = make_and_verify(&["--tee", "sgx", "--report-data", "48656c6c6f"]);
    assert_eq!(code, 0);
    let report_data = got["report"]["report_data"].as_str().unwrap();
    assert!(report_data.starts_with("48656c6c6f000000"), "{report_data}");
    assert_eq!(expected["result"]["report"]["report_data"], report_data);
}

#[test]
fn bad_arguments_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    assert_eq!(
        scute(&["sim", "case", "--out", out, "--tcb-status", "Fine"]).0,
        2
    );
    assert_eq!(
        scute(&["sim", "case", "--out", out, "--quote-version", "6"]).0,
        2
    );
    assert_eq!(
        scute(&[
            "sim",
            "case",
            "--out",
            out,
            "--tee",
            "sgx",
            "--quote-version",
            "4"
        ])
        .0,
        2
    );
    assert_eq!(
        scute(&["sim", "case", "--out", out, "--report-data", "zz"]).0,
        2
    );
}

/// `--td-body-type 4` makes a v5 quote of body type 4 (TD 1.5 extended, TD partitioning) that
/// `scute verify` verifies, its JSON report carrying the extension fields; 2 and 3 name their
/// bodies too. Without the flag a v5 quote stays type 3.
#[test]
fn td_body_type_4_makes_a_v5_type_4_quote_that_verifies() {
    let (expected, code, got) = make_and_verify(&["--td-body-type", "4"]);
    assert_eq!(code, 0, "{got}");
    assert_eq!(got["verified"], true);
    assert_eq!(got["quote_version"], 5);
    assert_eq!(got["tcb_status"], expected["result"]["tcb_status"]);
    assert_eq!(got["report"], expected["result"]["report"]);
    assert_eq!(got["report"]["kind"], "TD15Ex");
    for field in [
        "vmid",
        "td_id",
        "dev_info",
        "init_service_td_hash",
        "init_service_td_attributes",
        "init_cpu_svn",
        "init_tee_tcb_svn",
        "init_tee_fmspc",
        "cur_service_td_hash",
        "cur_service_td_attributes",
        "tee_tcb_svn2",
        "mr_service_td",
    ] {
        assert!(!got["report"][field].is_null(), "{field}: {got}");
    }
    for (flag, kind) in [("2", "TD10"), ("3", "TD15")] {
        let (_, code, got) = make_and_verify(&["--quote-version", "5", "--td-body-type", flag]);
        assert_eq!(code, 0, "{got}");
        assert_eq!(got["quote_version"], 5);
        assert_eq!(got["report"]["kind"], kind);
    }
    let (_, _, got) = make_and_verify(&["--quote-version", "5"]);
    assert_eq!(got["report"]["kind"], "TD15");
}

#[test]
fn td_body_type_needs_a_tdx_v5_quote() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for extra in [
        &["--td-body-type", "1"][..],
        &["--td-body-type", "5"],
        &["--td-body-type", "4", "--quote-version", "4"],
        &["--td-body-type", "4", "--tee", "sgx"],
    ] {
        let mut args = vec!["sim", "case", "--out", out];
        args.extend(extra);
        assert_eq!(scute(&args).0, 2, "{extra:?}");
    }
}

/// `--tcb-status TDRelaunchAdvised[ConfigurationNeeded]` makes a TD 1.5 quote launched on an
/// out-of-date TDX module while the platform runs the current one (TEE_TCB_SVN2): `scute
/// verify --json` gives QVL's status with the launch and current TCBs beside it, for body
/// types 3 and 4. Quotes without a current TCB keep both keys null.
#[test]
fn td_relaunch_statuses_make_td_preserving_cases_with_launch_and_current_verdicts() {
    for (status, extra, current) in [
        ("TDRelaunchAdvised", &[][..], "UpToDate"),
        (
            "TDRelaunchAdvised",
            &["--td-body-type", "4"][..],
            "UpToDate",
        ),
        (
            "TDRelaunchAdvisedConfigurationNeeded",
            &[][..],
            "ConfigurationNeeded",
        ),
    ] {
        let mut args = vec!["--tcb-status", status];
        args.extend(extra);
        let (expected, code, got) = make_and_verify(&args);
        assert_eq!(code, 0, "{got}");
        assert_eq!(expected["result"]["tcb_status"], status);
        assert_eq!(got["tcb_status"], status, "{got}");
        assert_eq!(got["quote_version"], 5);
        assert_eq!(got["advisory_ids"], expected["result"]["advisory_ids"]);
        let launch = if status.ends_with("ConfigurationNeeded") {
            "OutOfDateConfigurationNeeded"
        } else {
            "OutOfDate"
        };
        assert_eq!(got["launch_tcb_status"], launch, "{got}");
        assert_eq!(got["current_tcb_status"], current, "{got}");
        assert!(got["current_tcb_date"].is_string());
        assert_ne!(
            got["report"]["tee_tcb_svn"], got["report"]["tee_tcb_svn2"],
            "the module was updated under the TD"
        );
    }
    let (_, _, got) = make_and_verify(&["--tcb-status", "OutOfDate"]);
    assert_eq!(got["tcb_status"], "OutOfDate");
    assert!(got["launch_tcb_status"].is_null() && got["current_tcb_status"].is_null());
    // Only a TD 1.5 quote has a current TCB; the QE's status is never a relaunch status.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for extra in [
        &["--tcb-status", "TDRelaunchAdvised", "--tee", "sgx"][..],
        &["--tcb-status", "TDRelaunchAdvised", "--quote-version", "4"],
        &["--tcb-status", "TDRelaunchAdvised", "--td-body-type", "2"],
    ] {
        let mut args = vec!["sim", "case", "--out", out];
        args.extend(extra);
        assert_ne!(scute(&args).0, 0, "{extra:?}");
        assert!(!dir.path().join("quote.bin").exists(), "{extra:?}");
    }
    let args = [
        "sim",
        "case",
        "--out",
        out,
        "--qe-tcb-status",
        "TDRelaunchAdvised",
    ];
    assert_eq!(scute(&args).0, 2);
}
