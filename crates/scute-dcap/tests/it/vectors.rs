//! Every DCAP case in ../shared/vectors, verified at its `verify_time` and at each `other_times`
//! instant; verdicts, TCB status, advisories and report fields must match expected.json, except
//! where the reference implementation is known to be wrong (see `divergence`).

use scute_dcap::{
    report_json, verify, verify_collateral, Collateral, DcapError, TrustAnchor, VerifyOptions,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    assert!(dir.is_dir(), "test vectors not found at {}", dir.display());
    dir
}

fn unix(text: &str) -> i64 {
    OffsetDateTime::parse(text, &Rfc3339)
        .unwrap()
        .unix_timestamp()
}

struct Case {
    name: String,
    quote: Vec<u8>,
    collateral: Collateral,
    anchor: TrustAnchor,
    expected: Value,
}

fn load(dir: &Path) -> Case {
    let collateral = Collateral::from_files(|name| std::fs::read(dir.join(name)).ok()).unwrap();
    let anchor = match std::fs::read(dir.join("trusted_root_ca.der")) {
        Ok(der) => TrustAnchor::from_certificate(&der).unwrap(),
        Err(_) => TrustAnchor::intel_sgx_root(),
    };
    Case {
        name: dir.file_name().unwrap().to_string_lossy().into(),
        quote: std::fs::read(dir.join("quote.bin")).unwrap(),
        collateral,
        anchor,
        expected: serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap())
            .unwrap(),
    }
}

fn dcap_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("tcb_info.json").is_file())
        .map(|p| load(&p))
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(cases.len() >= 18, "found only {} DCAP cases", cases.len());
    cases
}

/// Where dcap-qvl (the oracle of expected.json) is wrong or limited, the answer we hold correct:
/// `Some(Ok(status))` verified with that status, `Some(Err(kind))` rejected with that kind.
fn divergence(case: &str) -> Option<Result<&'static str, &'static str>> {
    match case {
        // TCB Info v2: dcap-qvl cannot decode it; Intel's QVL answers OK (UpToDate).
        "intelqvl-sample-sgx-v3" => Some(Ok("UpToDate")),
        // SVNs above 255: dcap-qvl cannot decode them; the QVL answers TDX_MODULE_MISMATCH.
        "intelqvl-sample-tdx-v4" => Some(Err("tdx_module_mismatch")),
        // Non-zero bytes ("extra bytes(only for testing purpose)") follow the quote: rejected at
        // decoding, before TCB matching (where dcap-qvl fails it).
        "gotdx-tdx-v4-spr" => Some(Err("quote_decode")),
        _ => None,
    }
}

/// The expected error kind for a dcap-qvl error message, where the mapping is one to one.
fn kind_for(message: &str) -> Option<&'static str> {
    Some(match message {
        "Debug mode is enabled" => "debug_not_allowed",
        "SEPT_VE_DISABLE is not enabled" => "td_attributes_not_allowed",
        "No matching TCB level found" => "tcb_not_supported",
        m if m.ends_with("issue date is in the future") => "collateral_not_yet_valid",
        m if m.ends_with("expired") || m.starts_with("CrlExpired") => "collateral_expired",
        _ => return None,
    })
}

fn check(
    case: &Case,
    at: i64,
    options: VerifyOptions,
    ok: bool,
    status: Option<&str>,
    error: Option<&str>,
    label: &str,
) {
    let result = verify(&case.quote, &case.collateral, &case.anchor, at, options);
    let name = &case.name;
    match (&result, ok) {
        (Ok(v), true) => assert_eq!(Some(v.tcb_status().name()), status, "{name} {label}"),
        (Err(e), false) => {
            if let Some(kind) = error.and_then(kind_for) {
                // Several failures can hold at once; the kind must be one a verifier may report.
                let acceptable = kind == e.kind()
                    || (kind == "collateral_expired" && e.kind() == "collateral_not_yet_valid")
                    || (kind == "collateral_not_yet_valid" && e.kind() == "collateral_expired");
                assert!(acceptable, "{name} {label}: expected {kind}, got {e:?}");
            }
        }
        (Ok(v), false) => panic!(
            "{name} {label}: verified ({}) but expected rejection {error:?}",
            v.tcb_status()
        ),
        (Err(e), true) => panic!("{name} {label}: rejected ({e}) but expected {status:?}"),
    }
}

#[test]
fn verdicts_at_verify_time_match_expected() {
    for case in dcap_cases() {
        let exp = &case.expected;
        let at = exp["verify_time_unix"].as_i64().unwrap();
        let result = &exp["result"];
        if let Some(divergent) = divergence(&case.name) {
            let got = verify(
                &case.quote,
                &case.collateral,
                &case.anchor,
                at,
                VerifyOptions::default(),
            );
            match divergent {
                Ok(status) => assert_eq!(got.unwrap().tcb_status().name(), status, "{}", case.name),
                Err(kind) => assert_eq!(got.unwrap_err().kind(), kind, "{}", case.name),
            }
            continue;
        }
        let ok = result["ok"].as_bool().unwrap();
        check(
            &case,
            at,
            VerifyOptions::default(),
            ok,
            result["tcb_status"].as_str(),
            result["error"].as_str(),
            "verify_time",
        );
        if ok {
            let v = verify(
                &case.quote,
                &case.collateral,
                &case.anchor,
                at,
                VerifyOptions::default(),
            )
            .unwrap();
            let advisories: Vec<&str> = result["advisory_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert_eq!(v.advisory_ids(), advisories.as_slice(), "{}", case.name);
            assert_report_matches(&case.name, &report_json(&v.quote().body), &result["report"]);
            let claims = &result["claims"];
            assert_eq!(hex::encode(v.pck().fmspc), claims["fmspc"], "{}", case.name);
            assert_eq!(
                v.pck().tcb.pce_svn as u64,
                claims["pce_svn"].as_u64().unwrap(),
                "{}",
                case.name
            );
            assert_eq!(
                v.qe().status.name(),
                claims["qe_tcb_status"],
                "{}",
                case.name
            );
            assert_eq!(
                v.platform().tcb_date,
                claims["platform_tcb_date"],
                "{}",
                case.name
            );
        }
        if let Some(debug) = result.get("with_allow_debug") {
            let options = VerifyOptions {
                allow_debug: true,
                ..VerifyOptions::default()
            };
            check(
                &case,
                at,
                options,
                debug["ok"].as_bool().unwrap(),
                debug["tcb_status"].as_str(),
                None,
                "with_allow_debug",
            );
            let v = verify(&case.quote, &case.collateral, &case.anchor, at, options).unwrap();
            assert!(v.is_debug(), "{}", case.name);
            assert_report_matches(&case.name, &report_json(&v.quote().body), &debug["report"]);
        }
    }
}

fn assert_report_matches(case: &str, got: &Value, expected: &Value) {
    for (field, want) in expected.as_object().unwrap() {
        assert_eq!(&got[field], want, "{case}: report.{field}");
    }
}

#[test]
fn verdicts_at_other_times_match_expected() {
    let mut checked = 0;
    for case in dcap_cases() {
        let joint = verify_collateral(&case.collateral, &case.anchor)
            .ok()
            .and_then(|c| c.joint_validity());
        for other in case.expected["other_times"].as_array().unwrap() {
            let at = unix(other["time"].as_str().unwrap());
            let label = other["label"].as_str().unwrap();
            if let Some(divergent) = divergence(&case.name) {
                let inside = joint.is_some_and(|(start, end)| (start..=end).contains(&at));
                let got = verify(
                    &case.quote,
                    &case.collateral,
                    &case.anchor,
                    at,
                    VerifyOptions::default(),
                );
                match (divergent, inside) {
                    (Ok(status), true) => assert_eq!(
                        got.unwrap().tcb_status().name(),
                        status,
                        "{} {label}",
                        case.name
                    ),
                    _ => assert!(got.is_err(), "{} {label}", case.name),
                }
            } else {
                let ok = other["ok"].as_bool().unwrap();
                check(
                    &case,
                    at,
                    VerifyOptions::default(),
                    ok,
                    other["tcb_status"].as_str(),
                    other["error"].as_str(),
                    label,
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} instants checked");
}

#[test]
fn warm_path_gives_the_one_shot_verdicts() {
    for case in dcap_cases() {
        let Ok(warm) = verify_collateral(&case.collateral, &case.anchor) else {
            continue;
        };
        let mut instants = vec![case.expected["verify_time_unix"].as_i64().unwrap()];
        instants.extend(
            case.expected["other_times"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| unix(o["time"].as_str().unwrap())),
        );
        for at in instants {
            for _ in 0..2 {
                let one_shot = verify(
                    &case.quote,
                    &case.collateral,
                    &case.anchor,
                    at,
                    VerifyOptions::default(),
                );
                let reused = warm.verify_quote(&case.quote, at, VerifyOptions::default());
                match (one_shot, reused) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a.tcb_status(), b.tcb_status());
                        assert_eq!(a.advisory_ids(), b.advisory_ids());
                    }
                    (Err(a), Err(b)) => assert_eq!(a, b, "{}", case.name),
                    (a, b) => panic!("{}: one-shot {a:?} vs warm {b:?}", case.name),
                }
            }
        }
    }
}

#[test]
fn the_pre_production_root_is_not_intel() {
    // The cc-trusted-api quote chains to Intel's SBX root: same subject, different key.
    let dir = vectors_dir().join("eventlog-tdx-cctrustedapi-ima-quote");
    let quote = std::fs::read(dir.join("quote.bin")).unwrap();
    let sample = load(&vectors_dir().join("dcapqvl-tdx-v4"));
    let err = verify(
        &quote,
        &sample.collateral,
        &TrustAnchor::intel_sgx_root(),
        sample.expected["verify_time_unix"].as_i64().unwrap(),
        VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DcapError::UntrustedRoot { .. } | DcapError::Certificate { .. }
        ),
        "{err:?}"
    );
}
