//! Every event-log case in ../shared/vectors: parse, replay, compare with expected.json (and
//! with the quote where there is one), and every truncation or mutation fails cleanly.

use scute_eventlog::{parse, CcelTable, Detail, EventLogError, ParseOptions};
use serde_json::Value;
use std::path::PathBuf;

fn dir(case: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(case);
    assert!(d.is_dir(), "test vectors not found at {}", d.display());
    d
}

fn expected(case: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir(case).join("expected.json")).unwrap()).unwrap()
}

fn cases() -> Vec<String> {
    let root = dir(".");
    let mut out: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("eventlog-"))
        .collect();
    out.sort();
    assert_eq!(out.len(), 10, "{out:?}");
    out
}

fn log_file(case: &str, exp: &Value) -> Vec<u8> {
    let name = exp["log_file"].as_str().unwrap_or("ccel.bin");
    std::fs::read(dir(case).join(name)).unwrap()
}

#[test]
fn every_log_replays_to_the_expected_registers() {
    for case in cases() {
        let exp = expected(&case);
        let bytes = log_file(&case, &exp);
        assert_eq!(
            bytes.len() as u64,
            exp["log_bytes"].as_u64().unwrap(),
            "{case}"
        );
        let log = parse(&bytes, ParseOptions::default()).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(
            log.parsed_len as u64,
            exp["parsed_bytes"].as_u64().unwrap(),
            "{case}"
        );
        assert_eq!(
            log.events.len() as u64,
            exp["event_count_excluding_header"].as_u64().unwrap(),
            "{case}"
        );
        let pad = exp["trailing_padding_byte"][0].as_u64().unwrap() as u8;
        assert_eq!(log.padding.map(|(b, _)| b), Some(pad), "{case}");
        let spec = &exp["spec_id"];
        assert_eq!(
            log.spec.header_index as u64,
            spec["header_mr_index"].as_u64().unwrap(),
            "{case}"
        );
        let v = &spec["spec_version"];
        assert_eq!(
            (
                log.spec.spec_version.0 as u64,
                log.spec.spec_version.1 as u64,
                log.spec.spec_version.2 as u64
            ),
            (
                v[0].as_u64().unwrap(),
                v[1].as_u64().unwrap(),
                v[2].as_u64().unwrap()
            ),
            "{case}"
        );
        for (alg, size) in spec["algorithms"].as_object().unwrap() {
            let alg = u16::from_str_radix(alg.trim_start_matches("0x"), 16).unwrap();
            assert!(
                log.spec
                    .algorithms
                    .contains(&(alg, size.as_u64().unwrap() as u16)),
                "{case}: {alg:#x}"
            );
        }
        let replay = log.replay().unwrap();
        for (name, want) in exp["expected"].as_object().unwrap() {
            let got = replay
                .register(name)
                .unwrap_or_else(|| panic!("{case}: no {name}"));
            assert_eq!(
                hex::encode(&got.value),
                want.as_str().unwrap(),
                "{case}: {name}"
            );
        }
    }
}

#[test]
fn event_type_names_agree_with_trustees_parse() {
    let mut compared = 0;
    for case in cases() {
        let path = dir(&case).join("parsed_events.json");
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let parsed: Value = serde_json::from_slice(&text).unwrap();
        let theirs = parsed["uefi_event_logs"].as_array().unwrap();
        let exp = expected(&case);
        let log = parse(&log_file(&case, &exp), ParseOptions::default()).unwrap();
        // Trustee lists the header event too.
        let ours: Vec<&str> = log.events.iter().map(|e| e.type_name()).collect();
        let theirs: Vec<&str> = theirs
            .iter()
            .map(|e| e["type_name"].as_str().unwrap())
            .collect();
        assert_eq!(
            &theirs[theirs.len() - ours.len()..],
            ours.as_slice(),
            "{case}"
        );
        compared += 1;
    }
    assert!(compared >= 6);
}

#[test]
fn the_duplicate_separator_log_replays_padded_and_unpadded_and_padding_can_be_refused() {
    let case = "eventlog-tdx-goeventlog-cos113-dupe-separator";
    let padded = std::fs::read(dir(case).join("ccel_padded.bin")).unwrap();
    let unpadded = std::fs::read(dir(case).join("ccel_unpadded.bin")).unwrap();
    let a = parse(&padded, ParseOptions::default())
        .unwrap()
        .replay()
        .unwrap();
    let b = parse(&unpadded, ParseOptions::default())
        .unwrap()
        .replay()
        .unwrap();
    assert_eq!(a, b);
    let strict = ParseOptions {
        allow_trailing_padding: false,
    };
    assert!(matches!(
        parse(&padded, strict),
        Err(EventLogError::PaddingNotAllowed { byte: 0xff, .. })
    ));
    assert_eq!(parse(&unpadded, strict).unwrap().replay().unwrap(), b);
}

fn quote_rtmrs(case: &str) -> [[u8; 48]; 4] {
    let bytes = std::fs::read(dir(case).join("quote.bin")).unwrap();
    scute_quote::Quote::decode(&bytes)
        .unwrap()
        .body
        .td10()
        .unwrap()
        .rtmr
}

#[test]
fn replay_matches_the_quote_from_the_same_boot() {
    let case = "eventlog-tdx-gotdxguest-cos113-quote";
    let replay = parse(
        &std::fs::read(dir(case).join("ccel.bin")).unwrap(),
        ParseOptions::default(),
    )
    .unwrap()
    .replay()
    .unwrap();
    assert!(replay.compare(&quote_rtmrs(case)).is_empty());
    assert_eq!(expected(case)["replay_matches_quote"], true);
}

#[test]
fn ima_continues_rtmr2_to_the_quotes_value() {
    let case = "eventlog-tdx-cctrustedapi-ima-quote";
    let exp = expected(case);
    let mut replay = parse(
        &std::fs::read(dir(case).join("ccel.bin")).unwrap(),
        ParseOptions::default(),
    )
    .unwrap()
    .replay()
    .unwrap();
    let mismatches = replay.compare(&quote_rtmrs(case));
    let names: Vec<&str> = mismatches.iter().map(|m| m.register.as_str()).collect();
    assert_eq!(names, ["rtmr2"], "only RTMR2 differs before IMA");
    assert!(
        !mismatches[0].events.is_empty(),
        "the mismatch names the events that fed RTMR2"
    );
    let ima =
        std::fs::read_to_string(dir(case).join("ima_ascii_runtime_measurements.txt")).unwrap();
    assert_eq!(replay.extend_with_ima(&ima).unwrap(), 1);
    assert!(replay.compare(&quote_rtmrs(case)).is_empty());
    assert_eq!(
        hex::encode(&replay.register("rtmr2").unwrap().value),
        exp["expected_with_ima"]["rtmr2"]
    );
    assert!(matches!(
        replay.extend_with_ima("2 zz ima-ng x y"),
        Err(EventLogError::BadImaLine { line: 1, .. })
    ));
}

#[test]
fn decoded_events_show_what_booted() {
    let case = "eventlog-tdx-trustee-alibabacloud-aael";
    let log = parse(
        &std::fs::read(dir(case).join("ccel.bin")).unwrap(),
        ParseOptions::default(),
    )
    .unwrap();
    let aael: Vec<String> = log
        .events
        .iter()
        .filter(|e| e.index == 4)
        .filter_map(|e| match e.detail() {
            Some(Detail::Tagged { text: Some(t), .. }) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(aael.len(), 2, "{aael:?}");
    let grub = parse(
        &std::fs::read(dir("eventlog-tdx-trustee-grub").join("ccel.bin")).unwrap(),
        ParseOptions::default(),
    )
    .unwrap();
    let texts = |log: &scute_eventlog::EventLog| -> Vec<String> {
        log.events
            .iter()
            .filter_map(|e| match e.detail() {
                Some(Detail::Text(t)) => Some(t),
                _ => None,
            })
            .collect()
    };
    assert!(
        texts(&grub).contains(&"MokList".to_string()),
        "shim's EV_IPL events"
    );
    let gke = parse(
        &std::fs::read(dir("eventlog-tdx-trustee-gke").join("ccel.bin")).unwrap(),
        ParseOptions::default(),
    )
    .unwrap();
    let gke_texts = texts(&gke);
    assert!(
        gke_texts.contains(&".cmdline".to_string()) && gke_texts.contains(&".linux".to_string()),
        "{gke_texts:?}"
    );
    let vars: Vec<String> = grub
        .events
        .iter()
        .filter_map(|e| match e.detail() {
            Some(Detail::Variable { name, .. }) => Some(name),
            _ => None,
        })
        .collect();
    assert!(vars.contains(&"SecureBoot".to_string()), "{vars:?}");
}

#[test]
fn the_csv_log_replays_with_sm3() {
    let case = "eventlog-csv-trustee-sm3";
    let log = parse(
        &std::fs::read(dir(case).join("ccel.bin")).unwrap(),
        ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(log.flavor().unwrap(), scute_eventlog::Flavor::Csv);
    assert!(
        log.replay().unwrap().extend_with_ima("").is_err(),
        "IMA extends TDX RTMR2 only"
    );
}

#[test]
fn ccel_acpi_tables_decode() {
    for (case, laml) in [
        ("eventlog-tdx-gotdxguest-cos113-quote", 0x40000),
        ("eventlog-tdx-goeventlog-cos113-dupe-separator", 0x10000),
    ] {
        let table =
            CcelTable::decode(&std::fs::read(dir(case).join("ccel_acpi_table.bin")).unwrap())
                .unwrap();
        assert_eq!(table.cc_type, 2, "TDX");
        assert_eq!(table.log_area_length, laml, "{case}");
        assert_eq!(table.oem_id, "INTEL");
    }
    assert!(CcelTable::decode(&[0; 56]).is_err());
}

#[test]
fn malformed_logs_are_typed_errors() {
    let bytes = std::fs::read(dir("eventlog-tdx-trustee-ovmf").join("ccel.bin")).unwrap();
    let log = parse(&bytes, ParseOptions::default()).unwrap();
    let end = log.parsed_len;
    // Every cut inside the events fails, never panics.
    for len in 0..end {
        let _ = parse(
            &bytes[..len],
            ParseOptions {
                allow_trailing_padding: false,
            },
        );
    }
    let second = log.events[1].offset;
    let mut absurd = bytes.clone();
    absurd[second + 8..second + 12].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(
        parse(&absurd, ParseOptions::default()),
        Err(EventLogError::DigestCount { count: 1000, .. })
    ));
    let mut unknown = bytes.clone();
    unknown[second + 12..second + 14].copy_from_slice(&0x0099u16.to_le_bytes());
    assert!(matches!(
        parse(&unknown, ParseOptions::default()),
        Err(EventLogError::UnknownAlgorithm { alg: 0x99, .. })
    ));
    let mut huge = bytes[..end].to_vec();
    let size_at = log.events[1].offset + 12 + 2 + 48;
    huge[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        parse(&huge, ParseOptions::default()),
        Err(EventLogError::EventTooLarge { .. })
    ));
    let mut garbage = bytes[..end].to_vec();
    garbage.extend_from_slice(&[0xff; 16]);
    garbage.push(7);
    assert!(matches!(
        parse(&garbage, ParseOptions::default()),
        Err(EventLogError::TrailingData { .. })
    ));
    let mut index = bytes.clone();
    index[second..second + 4].copy_from_slice(&9u32.to_le_bytes());
    let parsed = parse(&index, ParseOptions::default()).unwrap();
    assert!(matches!(
        parsed.replay(),
        Err(EventLogError::IndexOutOfRange { index: 9, .. })
    ));
    assert!(matches!(
        parse(b"not a log at all, not at all...", ParseOptions::default()),
        Err(EventLogError::BadHeader(_))
    ));
}

#[test]
fn random_mutations_never_panic() {
    let bytes = std::fs::read(dir("eventlog-tdx-trustee-grub").join("ccel.bin")).unwrap();
    let end = parse(&bytes, ParseOptions::default()).unwrap().parsed_len;
    let seed = &bytes[..end];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut input = seed.to_vec();
        for _ in 0..3 {
            let at = (next() as usize) % input.len();
            input[at] = next() as u8;
        }
        if next() % 4 == 0 {
            input.truncate((next() as usize) % input.len());
        }
        if let Ok(log) = parse(&input, ParseOptions::default()) {
            let _ = log.replay();
            let _ = log.measured_events();
            for e in &log.events {
                let _ = e.detail();
            }
        }
    }
}
