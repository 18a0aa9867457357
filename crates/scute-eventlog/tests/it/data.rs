//! Event data against its digest: every real log checks clean, and for each checked type a
//! rewrite of the decoded data (digest left alone, so replay still reaches the quote) is caught.

use aws_lc_rs::digest::{digest, SHA384};
use scute_eventlog::{
    parse, DataCheck, Detail, Event, EventLog, EventLogError, Flavor, ParseOptions, ALG_SHA384,
    EV_NO_ACTION,
};
use std::path::PathBuf;

fn vectors() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    assert!(d.is_dir(), "test vectors not found at {}", d.display());
    d
}

fn log(case: &str, file: &str) -> EventLog {
    parse(
        &std::fs::read(vectors().join(case).join(file)).unwrap(),
        ParseOptions::default(),
    )
    .unwrap()
}

const COS113: &str = "eventlog-tdx-gotdxguest-cos113-quote";

/// Every log in the vectors, with the file expected.json names (and the unpadded copy).
fn all_logs() -> Vec<(String, EventLog)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.starts_with("eventlog-") {
            continue;
        }
        let exp: serde_json::Value = serde_json::from_slice(
            &std::fs::read(vectors().join(&name).join("expected.json")).unwrap(),
        )
        .unwrap();
        let file = exp["log_file"].as_str().unwrap_or("ccel.bin").to_string();
        out.push((name.clone(), log(&name, &file)));
    }
    out.push((
        "dupe-separator unpadded".into(),
        log(
            "eventlog-tdx-goeventlog-cos113-dupe-separator",
            "ccel_unpadded.bin",
        ),
    ));
    assert_eq!(out.len(), 11);
    out
}

#[test]
fn every_real_log_has_zero_data_mismatches() {
    for (case, log) in all_logs() {
        assert_eq!(log.data_mismatches().unwrap(), [], "{case}");
        let measured = log.measured_events().unwrap();
        let verified = measured.iter().filter(|m| m.data_verified).count();
        assert!(verified >= 4, "{case}: only {verified} verified");
        assert!(
            measured.iter().all(|m| m.event.event_type != EV_NO_ACTION),
            "{case}"
        );
    }
}

fn check(log: &EventLog, event: &Event) -> DataCheck {
    event.check_data(log.flavor().unwrap()).unwrap()
}

/// The first event of `event_type` whose data matches `pick`, as (log, position).
fn find(case: &str, event_type: u32, pick: impl Fn(&Event) -> bool) -> (EventLog, usize) {
    let log = log(case, "ccel.bin");
    let at = log
        .events
        .iter()
        .position(|e| e.event_type == event_type && pick(e))
        .unwrap_or_else(|| panic!("{case}: no event {event_type:#x}"));
    (log, at)
}

/// The event checks as `good`; with one data byte changed at `at` it is a mismatch.
fn good_then_tampered(case: &str, event_type: u32, at: usize, good: DataCheck) {
    let (mut log, n) = find(case, event_type, |e| e.data.len() > at);
    assert_eq!(check(&log, &log.events[n]), good, "{case} {event_type:#x}");
    log.events[n].data[at] ^= 0x01;
    assert_eq!(
        check(&log, &log.events[n]),
        DataCheck::Mismatch,
        "{case} {event_type:#x}"
    );
    let mismatches = log.data_mismatches().unwrap();
    assert_eq!(mismatches.len(), 1);
    assert_eq!(mismatches[0].event, n);
    assert_eq!(mismatches[0].event_type, event_type);
    assert!(matches!(
        log.measured_events(),
        Err(EventLogError::EventDataMismatch(m)) if m == mismatches
    ));
}

#[test]
fn each_checked_type_catches_a_rewrite_of_its_data() {
    use DataCheck::{NotCovered, Verified};
    let ovmf = "eventlog-tdx-trustee-ovmf";
    good_then_tampered(ovmf, 0x4, 0, Verified); // EV_SEPARATOR
    good_then_tampered(ovmf, 0x8000_0007, 3, Verified); // EV_EFI_ACTION
    good_then_tampered(ovmf, 0x8000_0001, 40, Verified); // SecureBoot's name
    good_then_tampered(COS113, 0x8000_0001, 1000, Verified); // PK's data
    good_then_tampered(COS113, 0x8000_00E0, 40, Verified); // EV_EFI_VARIABLE_AUTHORITY
    good_then_tampered(COS113, 0x8000_0006, 100, Verified); // EV_EFI_GPT_EVENT
                                                            // EDK2 hashes Boot####'s data only: checked, but the name shown is not proven.
    good_then_tampered(ovmf, 0x8000_0002, 60, NotCovered);
    good_then_tampered("eventlog-tdx-trustee-alibabacloud-aael", 0x6, 20, Verified); // AAEL
    good_then_tampered("eventlog-tdx-trustee-tdshim", 0xA, 40, Verified); // td_payload_info
    good_then_tampered("eventlog-csv-trustee-sm3", 0x8000_0007, 0, Verified); // SM3
}

fn ipl(case: &str, prefix: &str) -> (EventLog, usize) {
    find(case, 0xD, |e| e.data.starts_with(prefix.as_bytes()))
}

#[test]
fn grub_strings_are_checked_after_their_prefix_in_every_grub_dialect() {
    for (case, prefix) in [
        ("eventlog-tdx-cctrustedapi-ima-quote", "grub_cmd: "),
        (COS113, "kernel_cmdline: "),
        ("eventlog-tdx-trustee-alibabacloud-aael", "grub_cmd "),
        (
            "eventlog-tdx-trustee-alibabacloud-aael",
            "grub_kernel_cmdline ",
        ),
        ("eventlog-csv-trustee-sm3", "grub_cmd "),
    ] {
        let (mut log, n) = ipl(case, prefix);
        assert_eq!(check(&log, &log.events[n]), DataCheck::Verified, "{case}");
        let last = prefix.len() + 2;
        log.events[n].data[last] ^= 0x20;
        assert_eq!(
            check(&log, &log.events[n]),
            DataCheck::Mismatch,
            "{case} {prefix:?}"
        );
    }
}

#[test]
fn bytes_anolis_grub_leaves_after_the_nul_are_neither_measured_nor_shown() {
    let (mut log, n) = ipl("eventlog-tdx-trustee-alibabacloud-aael", "grub_cmd [  ]");
    assert_eq!(log.events[n].data, b"grub_cmd [  ]\0`");
    *log.events[n].data.last_mut().unwrap() = b'X';
    assert_eq!(check(&log, &log.events[n]), DataCheck::Verified);
    assert_eq!(
        log.events[n].detail(),
        Some(Detail::Text("grub_cmd [  ]".into()))
    );
}

#[test]
fn the_sig_enforce_rewrite_replays_to_the_quote_but_is_a_data_mismatch() {
    let bytes = std::fs::read(vectors().join(COS113).join("ccel.bin")).unwrap();
    let tampered = rewrite(&bytes, b"module.sig_enforce=1", b"module.sig_enforce=0");
    let good = parse(&bytes, ParseOptions::default()).unwrap();
    let bad = parse(&tampered, ParseOptions::default()).unwrap();
    assert_eq!(bad.replay().unwrap(), good.replay().unwrap());
    let mismatches = bad.data_mismatches().unwrap();
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert_eq!(mismatches[0].event, 40);
    assert_eq!(mismatches[0].register, "rtmr2");
    assert_eq!(mismatches[0].event_type, 0xD);
    assert!(matches!(
        bad.measured_events(),
        Err(EventLogError::EventDataMismatch(_))
    ));
    // Rewriting grub's menu entries and command too: each is named.
    let mut everywhere = bytes.clone();
    while let Some(at) = everywhere
        .windows(20)
        .position(|w| w == b"module.sig_enforce=1")
    {
        everywhere[at + 19] = b'0';
    }
    let all = parse(&everywhere, ParseOptions::default())
        .unwrap()
        .data_mismatches()
        .unwrap();
    let events: Vec<usize> = all.iter().map(|m| m.event).collect();
    assert_eq!(events, [32, 33, 34, 35, 36, 38, 40]);
}

/// Rewrites the last occurrence (the kernel command line comes after grub's menu entries).
fn rewrite(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .rposition(|w| w == from)
        .expect("pattern present");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[test]
fn unmeasured_events_never_become_measured_events() {
    let mut log = log(COS113, "ccel.bin");
    let text = b"kernel_cmdline: init=/bin/sh\0".to_vec();
    log.events.push(Event {
        number: log.events.len(),
        offset: log.parsed_len,
        index: 3,
        event_type: EV_NO_ACTION,
        // Even a digest that matches its data does not make an unmeasured event count.
        digests: vec![(ALG_SHA384, sha384(b"init=/bin/sh"))],
        data: text,
    });
    let measured = log.measured_events().unwrap();
    assert_eq!(measured.len(), 43);
    assert!(measured
        .iter()
        .all(|m| !matches!(&m.detail, Some(Detail::Text(t)) if t.contains("/bin/sh"))));
}

fn sha384(bytes: &[u8]) -> Vec<u8> {
    digest(&SHA384, bytes).as_ref().to_vec()
}

fn synthetic(event_type: u32, data: &[u8], digest_of: &[u8]) -> Event {
    Event {
        number: 0,
        offset: 0,
        index: 1,
        event_type,
        digests: vec![(ALG_SHA384, sha384(digest_of))],
        data: data.to_vec(),
    }
}

#[test]
fn types_absent_from_the_vectors_follow_the_profile() {
    let check = |e: &Event| e.check_data(Flavor::Tdx).unwrap();
    let version = "1.0"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect::<Vec<u8>>();
    for event_type in [0x5, 0x8, 0xC, 0x12, 0x8000_000C] {
        assert_eq!(
            check(&synthetic(event_type, &version, &version)),
            DataCheck::Verified,
            "{event_type:#x}"
        );
        assert_eq!(
            check(&synthetic(event_type, &version, b"other")),
            DataCheck::Mismatch,
            "{event_type:#x}"
        );
    }
    // systemd-stub: a section's name event hashes the ASCII name with its NUL; the event after
    // it (the section's contents) is shown but not proven, and a rewritten name is unproven too.
    let name = ".cmdline\0"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect::<Vec<u8>>();
    assert_eq!(
        check(&synthetic(0xD, &name, b".cmdline\0")),
        DataCheck::Verified
    );
    assert_eq!(
        check(&synthetic(0xD, &name, b"section contents")),
        DataCheck::NotCovered
    );
    // Load options measured as UTF-16 with their NUL, the whole data.
    assert_eq!(check(&synthetic(0xD, &name, &name)), DataCheck::Verified);
    // Image loads, firmware blobs, handoff tables: the digest is of what they point at.
    for event_type in [0x8000_0003, 0x8000_000A, 0x8000_000B, 0x1] {
        assert_eq!(
            check(&synthetic(event_type, b"whatever", b"image")),
            DataCheck::NotCovered
        );
    }
    assert!(matches!(
        Event {
            digests: vec![],
            ..synthetic(0x4, &[0; 4], &[0; 4])
        }
        .check_data(Flavor::Tdx),
        Err(EventLogError::MissingDigest { .. })
    ));
}
