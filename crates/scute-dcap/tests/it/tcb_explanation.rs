//! The TCB explanation a verified quote carries (`tcb_date`, `newest_tcb_date`,
//! `tcb_evaluation_data_number`, `days_behind`), on real vectors. The expected values come
//! from each vector's own tcb_info.json and expected.json (dcap-qvl's verdict), read here with
//! serde_json, never from the verifier under test.

use scute_dcap::{verify, Collateral, TrustAnchor, VerifiedQuote, VerifyOptions};
use serde_json::Value;
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(case)
}

fn json(case: &str, file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir(case).join(file)).unwrap()).unwrap()
}

fn unix(text: &str) -> i64 {
    OffsetDateTime::parse(text, &Rfc3339)
        .unwrap()
        .unix_timestamp()
}

/// The vector's quote verified at its expected.json `verify_time`.
fn verified(case: &str) -> (VerifiedQuote, i64) {
    let d = dir(case);
    let collateral = Collateral::from_files(|name| std::fs::read(d.join(name)).ok()).unwrap();
    let quote = std::fs::read(d.join("quote.bin")).unwrap();
    let at = json(case, "expected.json")["verify_time_unix"]
        .as_i64()
        .unwrap();
    let v = verify(
        &quote,
        &collateral,
        &TrustAnchor::intel_sgx_root(),
        at,
        VerifyOptions::default(),
    )
    .unwrap();
    (v, at)
}

/// The one TCB Info level whose status and advisories are those the oracle reports for the
/// platform (expected.json `platform_status`).
fn oracle_matched_level(case: &str) -> Value {
    let expected = json(case, "expected.json");
    let platform = &expected["result"]["platform_status"];
    let info = json(case, "tcb_info.json");
    let candidates: Vec<&Value> = info["tcbInfo"]["tcbLevels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["tcbStatus"] == platform["status"]
                && l["advisoryIDs"].as_array().map_or(&[][..], Vec::as_slice)
                    == platform["advisory_ids"].as_array().unwrap().as_slice()
        })
        .collect();
    assert_eq!(
        candidates.len(),
        1,
        "{case}: the matched level is ambiguous"
    );
    candidates[0].clone()
}

#[test]
fn an_out_of_date_tdx_platform_says_how_far_behind_it_is() {
    let case = "automata-dcaprs-tdx-v4";
    let (v, at) = verified(case);
    assert_eq!(v.tcb_status().name(), "OutOfDate");
    let info = json(case, "tcb_info.json")["tcbInfo"].clone();
    let newest = info["tcbLevels"][0]["tcbDate"].as_str().unwrap();
    let matched = oracle_matched_level(case);
    let matched_date = matched["tcbDate"].as_str().unwrap();
    assert_eq!(v.tcb_date(), matched_date);
    assert_eq!(v.newest_tcb_date(), newest);
    assert_ne!(
        matched_date, newest,
        "the vector's platform is behind the newest level"
    );
    assert_eq!(
        u64::from(v.tcb_evaluation_data_number()),
        info["tcbEvaluationDataNumber"].as_u64().unwrap()
    );
    // Superseded when the earliest level dated after the platform's was published, among the
    // TCB Info's, its TDX module identities' and the QE identity's levels.
    let qe = json(case, "qe_identity.json");
    let mut dates: Vec<&Value> = info["tcbLevels"].as_array().unwrap().iter().collect();
    for module in info["tdxModuleIdentities"].as_array().into_iter().flatten() {
        dates.extend(module["tcbLevels"].as_array().unwrap());
    }
    dates.extend(qe["enclaveIdentity"]["tcbLevels"].as_array().unwrap());
    let superseded = dates
        .iter()
        .map(|l| unix(l["tcbDate"].as_str().unwrap()))
        .filter(|&t| t > unix(matched_date))
        .min()
        .unwrap();
    assert_eq!(v.superseded_at().map(unix), Some(superseded));
    let days = (at - superseded).div_euclid(86_400);
    assert!(days > 0);
    assert_eq!(v.days_behind(), Some(u32::try_from(days).unwrap()));
}

#[test]
fn an_up_to_date_platform_is_not_behind() {
    let case = "dcapqvl-tdx-v4";
    let (v, _) = verified(case);
    assert_eq!(v.tcb_status().name(), "UpToDate");
    let info = json(case, "tcb_info.json")["tcbInfo"].clone();
    let newest = info["tcbLevels"][0]["tcbDate"].as_str().unwrap();
    assert_eq!(
        v.tcb_date(),
        oracle_matched_level(case)["tcbDate"].as_str().unwrap()
    );
    assert_eq!(v.newest_tcb_date(), newest);
    assert_eq!(
        u64::from(v.tcb_evaluation_data_number()),
        info["tcbEvaluationDataNumber"].as_u64().unwrap()
    );
    assert_eq!(v.days_behind(), None);
}

/// Not UpToDate for a configuration reason while at the newest TCB date: no newer level
/// supersedes the platform's, so there are no days behind (documented in docs/verify.md).
#[test]
fn a_configuration_status_at_the_newest_date_is_not_behind() {
    let case = "dcapqvl-sgx-v3";
    let (v, _) = verified(case);
    assert_eq!(v.tcb_status().name(), "ConfigurationAndSWHardeningNeeded");
    let info = json(case, "tcb_info.json")["tcbInfo"].clone();
    let newest = info["tcbLevels"][0]["tcbDate"].as_str().unwrap();
    assert_eq!(
        v.tcb_date(),
        oracle_matched_level(case)["tcbDate"].as_str().unwrap()
    );
    assert_eq!(v.tcb_date(), newest);
    assert_eq!(v.newest_tcb_date(), newest);
    assert_eq!(v.days_behind(), None);
}

/// The evaluation data number is the lower of TCB Info's and QE Identity's (QvE's
/// `tcb_eval_ref_num`): a current TCB Info beside an old QE Identity is as old as the latter.
/// Intel's own QVL sample pairs TCB Info 3 with QE Identity 0.
#[test]
fn the_evaluation_data_number_is_the_older_of_tcb_info_and_qe_identity() {
    let case = "intelqvl-sample-sgx-v3";
    let d = dir(case);
    let collateral = Collateral::from_files(|name| std::fs::read(d.join(name)).ok()).unwrap();
    let anchor =
        TrustAnchor::from_certificate(&std::fs::read(d.join("trusted_root_ca.der")).unwrap())
            .unwrap();
    let at = json(case, "expected.json")["verify_time_unix"]
        .as_i64()
        .unwrap();
    let quote = std::fs::read(d.join("quote.bin")).unwrap();
    let v = verify(&quote, &collateral, &anchor, at, VerifyOptions::default()).unwrap();
    let tcb_info = json(case, "tcb_info.json")["tcbInfo"]["tcbEvaluationDataNumber"]
        .as_u64()
        .unwrap();
    let qe = json(case, "qe_identity.json")["enclaveIdentity"]["tcbEvaluationDataNumber"]
        .as_u64()
        .unwrap();
    assert_ne!(tcb_info, qe, "the sample's two numbers differ");
    assert_eq!(u64::from(v.tcb_evaluation_data_number()), tcb_info.min(qe));
}
