//! `scute verify --json`'s TCB explanation keys (issue 24): `tcb_date`, `newest_tcb_date`,
//! `tcb_evaluation_data_number`, `days_behind`, on real DCAP vectors. Expected values are read
//! from each vector's own tcb_info.json and expected.json, not from the verifier.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const EXPLANATION: [&str; 4] = [
    "tcb_date",
    "newest_tcb_date",
    "tcb_evaluation_data_number",
    "days_behind",
];

fn dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(case)
}

fn json(case: &str, file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir(case).join(file)).unwrap()).unwrap()
}

/// `scute verify --json` on a vector at `at`: exit code and the parsed output.
fn verify_json(case: &str, at: &str) -> (i32, Value) {
    let d = dir(case);
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(["verify", "--quote"])
        .arg(d.join("quote.bin"))
        .arg("--collateral")
        .arg(&d)
        .args(["--json", "--at", at])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (out.status.code().unwrap(), value)
}

fn verify_time(case: &str) -> String {
    json(case, "expected.json")["verify_time"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn newest_level_date(case: &str) -> String {
    json(case, "tcb_info.json")["tcbInfo"]["tcbLevels"][0]["tcbDate"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The TCB Info level whose status and advisories are the oracle's (expected.json) for the
/// platform; there must be exactly one.
fn oracle_matched_date(case: &str) -> String {
    let platform = json(case, "expected.json")["result"]["platform_status"].clone();
    let info = json(case, "tcb_info.json");
    let dates: Vec<&str> = info["tcbInfo"]["tcbLevels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["tcbStatus"] == platform["status"]
                && l.get("advisoryIDs")
                    .cloned()
                    .unwrap_or(Value::Array(vec![]))
                    == platform["advisory_ids"]
        })
        .map(|l| l["tcbDate"].as_str().unwrap())
        .collect();
    assert_eq!(dates.len(), 1, "{case}: the matched level is ambiguous");
    dates[0].to_owned()
}

fn unix(text: &str) -> i64 {
    OffsetDateTime::parse(text, &Rfc3339)
        .unwrap()
        .unix_timestamp()
}

#[test]
fn an_out_of_date_platform_reports_its_dates_and_days_behind() {
    let case = "automata-dcaprs-tdx-v4";
    let at = verify_time(case);
    let (code, out) = verify_json(case, &at);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["tcb_status"], "OutOfDate");
    let newest = newest_level_date(case);
    let matched = oracle_matched_date(case);
    assert_ne!(matched, newest);
    assert_eq!(out["tcb_date"], matched.as_str());
    assert_eq!(out["newest_tcb_date"], newest.as_str());
    assert_eq!(
        out["tcb_evaluation_data_number"],
        json(case, "tcb_info.json")["tcbInfo"]["tcbEvaluationDataNumber"]
    );
    let days = (unix(&at) - unix(&newest)).div_euclid(86_400);
    assert!(days > 0);
    assert_eq!(out["days_behind"], days);
    // A day later by --at is a day more behind (the instant judged, not the wall clock).
    let later = OffsetDateTime::parse(&at, &Rfc3339).unwrap() + time::Duration::days(1);
    let (code, out) = verify_json(case, &later.format(&Rfc3339).unwrap());
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["days_behind"], days + 1);
}

#[test]
fn an_up_to_date_platform_has_null_days_behind() {
    let case = "dcapqvl-tdx-v4";
    let (code, out) = verify_json(case, &verify_time(case));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["tcb_status"], "UpToDate");
    let newest = newest_level_date(case);
    assert_eq!(out["tcb_date"], oracle_matched_date(case).as_str());
    assert_eq!(out["newest_tcb_date"], newest.as_str());
    assert_eq!(
        out["tcb_evaluation_data_number"],
        json(case, "tcb_info.json")["tcbInfo"]["tcbEvaluationDataNumber"]
    );
    assert!(out.get("days_behind").is_some(), "{out}");
    assert_eq!(out["days_behind"], Value::Null);
}

#[test]
fn a_rejected_quote_has_the_four_keys_null() {
    // dcap-qvl and Scute both reject it: no TCB level matches.
    let case = "dcapqvl-tdx-v5-outdated";
    let (code, out) = verify_json(case, &verify_time(case));
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["verified"], false);
    for key in EXPLANATION {
        assert!(out.get(key).is_some(), "missing {key}: {out}");
        assert_eq!(out[key], Value::Null, "{key}");
    }
}
