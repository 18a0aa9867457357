//! The policy input of each TEE, pinned: built from the real vectors of ../shared/vectors (and
//! the sample TEE's fixed claims) at fixed instants, serialised, and compared with the committed
//! snapshots under `testdata/policy-input/` (`SCUTE_UPDATE_SNAPSHOTS=1` rewrites them); every
//! `input.…` path the default policy reads exists in the input of the TEEs it is read for; and
//! docs/policy-input.md documents exactly the paths the inputs have.

use crate::domain::appraisal::{InitDataClaims, PolicyInput, DEFAULT_POLICY};
use crate::tee::claims::{AdapterClaims, Claims};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn vector(case: &str, file: &str) -> Vec<u8> {
    let path = crate_dir()
        .join("../../../shared/vectors")
        .join(case)
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unix(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

/// What the KBS puts beside the claims (fixed, so the snapshots are).
fn input(claims: Claims, init_data: bool) -> PolicyInput {
    PolicyInput {
        claims,
        runtime_data: json!({"nonce": "bm9uY2U", "tee-pubkey": {"kty": "EC", "crv": "P-256",
            "alg": "ES256", "x": "eA", "y": "eQ"}}),
        init_data: init_data.then(|| InitDataClaims {
            digest: scute_tee::Hex(vec![0xab; 48]),
            data: json!({"aa.toml": "url = 'http://kbs'"}),
        }),
    }
}

fn dcap(case: &str) -> Claims {
    let dir = crate_dir().join("../../../shared/vectors").join(case);
    let collateral =
        scute_dcap::Collateral::from_files(|name| std::fs::read(dir.join(name)).ok()).unwrap();
    let expected: Value = serde_json::from_slice(&vector(case, "expected.json")).unwrap();
    let at = unix(expected["verify_time"].as_str().unwrap());
    let options = scute_dcap::VerifyOptions {
        allow_debug: true,
        ..Default::default()
    };
    let verified = scute_dcap::verify(
        &vector(case, "quote.bin"),
        &collateral,
        &scute_dcap::TrustAnchor::intel_sgx_root(),
        at,
        options,
    )
    .unwrap();
    crate::tee::dcap::claims(&verified, None)
}

fn snp() -> Claims {
    let case = "snp-virtee-milan-vcek";
    let (vek, chain) = (vector(case, "vcek.der"), vector(case, "ask_ark_chain.pem"));
    let collateral = scute_snp::Collateral {
        vek: &vek,
        chain: Some(&chain),
        crl: None,
    };
    let verified = scute_snp::verify(
        &vector(case, "report.bin"),
        &collateral,
        &scute_snp::TrustRoots::amd(),
        unix("2024-01-01T00:00:00Z"),
    )
    .unwrap();
    crate::tee::snp::claims(&verified)
}

fn csv() -> Claims {
    let case = "csv-openanolis-csvrs-v1report-chain";
    let evidence = scute_csv::Evidence::decode(&vector(case, "report.cert")).unwrap();
    let chain = scute_csv::HskCek::decode(&vector(case, "hsk_cek.cert")).unwrap();
    // The chain supplied by the verifier, as from the store: the serial is proven.
    let verified = scute_csv::verify(
        &evidence,
        Some(&chain),
        &scute_csv::TrustRoots::hygon(),
        None,
    )
    .unwrap()
    .serial_looked_up();
    crate::tee::csv::claims(&verified, None)
}

/// As the service's direct path claims it (`tee/direct.rs`), from a verified sample report.
fn sample() -> Claims {
    let adapter = scute_verify::adapter(scute_verify::Family::Sample);
    let decoded = adapter.decode(&[7; 64]).unwrap();
    let verified = adapter
        .verify(
            &decoded,
            None,
            &scute_verify::Roots::Vendor,
            0,
            None,
            &scute_verify::Options::default(),
        )
        .unwrap();
    Claims::Adapter(AdapterClaims::new(adapter, &verified))
}

/// Each TEE's policy input, serialised.
fn inputs() -> Vec<(&'static str, Value)> {
    [
        ("sgx", input(dcap("dcapqvl-sgx-v3"), false)),
        ("tdx", input(dcap("dcapqvl-tdx-v4"), true)),
        ("snp", input(snp(), true)),
        ("csv", input(csv(), false)),
        ("sample", input(sample(), false)),
    ]
    .into_iter()
    .map(|(tee, input)| (tee, serde_json::to_value(&input).unwrap()))
    .collect()
}

#[test]
fn each_tees_policy_input_is_its_snapshot() {
    let update = std::env::var_os("SCUTE_UPDATE_SNAPSHOTS").is_some();
    for (tee, input) in inputs() {
        assert_eq!(input["tee"], tee);
        let path = crate_dir().join(format!("testdata/policy-input/{tee}.json"));
        if update {
            let text = serde_json::to_string_pretty(&input).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (SCUTE_UPDATE_SNAPSHOTS=1)", path.display()));
        let snapshot: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            input, snapshot,
            "{tee}: the policy input changed; if on purpose, SCUTE_UPDATE_SNAPSHOTS=1 and \
             update docs/policy-input.md"
        );
    }
}

/// The value at a dotted path (`report.reported_tcb`).
fn at<'a>(input: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(input, |v, key| v.get(key))
}

/// Every `input.…` path DEFAULT_POLICY reads, with the TEEs whose rules read it (the TEE its
/// rule is guarded by; all five when unguarded). `[name]` lookups of `measurements` are listed
/// by the names the policy gives them (configuration and identity fields).
const READ: &[(&str, &[&str])] = &[
    ("debug", &["sgx", "tdx", "snp", "csv", "sample"]),
    ("tee", &["sgx", "tdx", "snp", "csv", "sample"]),
    ("tcb_status", &["sgx", "tdx", "snp", "csv", "sample"]),
    ("measurements", &["sgx", "tdx", "snp", "csv", "sample"]),
    ("report.vmpl", &["snp"]),
    ("report.reported_tcb", &["snp"]),
    ("report.launch_tcb", &["snp"]),
    // v5 reports only (the snapshot's is v2): a report without it fails `snp_min_mit_vector`.
    ("report.current_mit_vector", &[]),
    ("tcb_evaluation_data_number", &["sgx", "tdx"]),
    ("tcb_date", &["sgx", "tdx"]),
    ("days_behind", &["sgx", "tdx"]),
    ("quote_version", &["csv"]),
    ("measurements.measure", &["csv"]),
    ("measurements.mr_td", &["tdx"]),
    ("measurements.mr_enclave", &["sgx"]),
    ("measurements.mr_signer", &["sgx"]),
    ("measurements.isv_prod_id", &["sgx"]),
    ("measurements.isv_svn", &["sgx"]),
    ("measurements.measurement", &["snp"]),
    ("measurements.mr_config_id", &["tdx"]),
    ("measurements.mr_owner_config", &["tdx"]),
    ("measurements.mr_owner", &["tdx"]),
    ("measurements.config_id", &["sgx"]),
    ("measurements.host_data", &["snp"]),
    ("measurements.family_id", &["snp"]),
    ("measurements.image_id", &["snp"]),
];

/// Every `input.a.b` path in a policy's text (a `[...]` lookup ends it).
fn paths_read(rego: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in rego.match_indices("input.") {
        let rest = &rego[i + "input.".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        out.insert(rest[..end].trim_end_matches('.').to_string());
    }
    out
}

#[test]
fn every_path_the_default_policy_reads_exists_in_the_input_of_its_tees() {
    let inputs = inputs();
    // The table covers every path the policy text names: a new one must be placed in it.
    let listed: BTreeSet<String> = READ.iter().map(|(p, _)| p.to_string()).collect();
    let read = paths_read(DEFAULT_POLICY);
    assert!(
        read.is_subset(&listed),
        "paths read but not in READ: {:?}",
        read.difference(&listed).collect::<Vec<_>>()
    );
    for (path, tees) in READ {
        if let Some(name) = path.strip_prefix("measurements.") {
            assert!(
                read.contains(*path) || DEFAULT_POLICY.contains(&format!("\"{name}\"")),
                "{path} is not read by the default policy"
            );
        }
        for tee in *tees {
            let (_, input) = inputs.iter().find(|(t, _)| t == tee).unwrap();
            assert!(
                at(input, path).is_some(),
                "input.{path} is missing for {tee}"
            );
        }
    }
}

/// The check above fails when a claim is renamed: the same inputs with `measurements.mr_td`
/// renamed, or `report.vmpl` dropped, no longer have what the policy reads.
#[test]
fn a_renamed_claim_fails_the_path_check() {
    let (_, mut tdx) = inputs().into_iter().find(|(t, _)| *t == "tdx").unwrap();
    let value = tdx["measurements"]
        .as_object_mut()
        .unwrap()
        .remove("mr_td")
        .unwrap();
    tdx["measurements"]["mrtd"] = value;
    assert!(at(&tdx, "measurements.mr_td").is_none());
    let (_, mut snp) = inputs().into_iter().find(|(t, _)| *t == "snp").unwrap();
    snp["report"].as_object_mut().unwrap().remove("vmpl");
    assert!(at(&snp, "report.vmpl").is_none());
}

/// Every leaf path of an input: objects are walked, arrays and the attester's open JSON
/// (`runtime_data`, `init_data.data`) are leaves.
fn leaf_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if !matches!(prefix, "runtime_data" | "init_data.data") => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaf_paths(v, &path, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

/// docs/policy-input.md has one table per TEE (`## <tee>`); its first column names each path
/// of that TEE's input as `` `path` ``. The documented paths must be exactly the input's.
#[test]
fn docs_policy_input_documents_exactly_the_paths_of_each_input() {
    let doc = std::fs::read_to_string(crate_dir().join("../../docs/policy-input.md")).unwrap();
    for (tee, input) in inputs() {
        let mut have = BTreeSet::new();
        leaf_paths(&input, "", &mut have);
        let section = doc
            .split("\n## ")
            .find(|s| s.starts_with(&format!("{tee}\n")) || s.starts_with(&format!("{tee} ")))
            .unwrap_or_else(|| panic!("docs/policy-input.md has no `## {tee}` section"));
        let documented: BTreeSet<String> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect();
        // Optional members (present only with an event log, init-data or a V2 report) are
        // documented with the TEE too; they need not be in the snapshot.
        let optional: BTreeSet<String> = section
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains("(optional)"))
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next().map(str::to_string))
            .collect();
        let missing: Vec<_> = have.difference(&documented).collect();
        let extra: Vec<_> = documented
            .difference(&have)
            .filter(|p| !optional.contains(*p))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{tee}: undocumented {missing:?}; documented but absent {extra:?}"
        );
    }
}

/// The snapshots' platforms are at the newest TCB date (`days_behind` null); an OutOfDate one
/// says how far behind it is. Expected values come from the vector's own tcb_info.json.
#[test]
fn dcap_claims_explain_an_out_of_date_platform() {
    let case = "automata-dcaprs-tdx-v4";
    let claims = serde_json::to_value(dcap(case)).unwrap();
    let info: Value = serde_json::from_slice(&vector(case, "tcb_info.json")).unwrap();
    let expected: Value = serde_json::from_slice(&vector(case, "expected.json")).unwrap();
    let levels = info["tcbInfo"]["tcbLevels"].as_array().unwrap();
    let newest = levels[0]["tcbDate"].as_str().unwrap();
    assert_eq!(claims["tcb_status"], "OutOfDate");
    assert_eq!(claims["newest_tcb_date"], newest);
    assert_eq!(
        claims["tcb_evaluation_data_number"],
        info["tcbInfo"]["tcbEvaluationDataNumber"]
    );
    // The matched level: the one with the oracle's platform status and advisories.
    let platform = &expected["result"]["platform_status"];
    let matched: Vec<&Value> = levels
        .iter()
        .filter(|l| {
            l["tcbStatus"] == platform["status"] && l["advisoryIDs"] == platform["advisory_ids"]
        })
        .collect();
    assert_eq!(matched.len(), 1);
    assert_eq!(claims["tcb_date"], matched[0]["tcbDate"]);
    let days = (unix(expected["verify_time"].as_str().unwrap()) - unix(newest)).div_euclid(86_400);
    assert!(days > 0);
    assert_eq!(claims["days_behind"], days);
}
