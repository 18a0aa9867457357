//! `scute eventlog replay|show` on every event-log vector: the exact JSON, and exit codes
//! 0 (no quote, or it matches), 1 (mismatch), 2 (unreadable input).

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn vectors() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    assert!(d.is_dir(), "test vectors not found at {}", d.display());
    d
}

fn scute(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        err,
    )
}

#[test]
fn replay_json_reproduces_every_vector() {
    let mut seen = 0;
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("eventlog-") {
            continue;
        }
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let log = dir.join(exp["log_file"].as_str().unwrap_or("ccel.bin"));
        let (code, out, err) = scute(&["eventlog", "replay", log.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{name}: {err}");
        let got: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(got["matches_quote"], Value::Null, "{name}");
        assert_eq!(got["data_mismatches"], serde_json::json!([]), "{name}");
        for (register, value) in exp["expected"].as_object().unwrap() {
            assert_eq!(&got[register], value, "{name}: {register}");
        }
        let quote = dir.join("quote.bin");
        if quote.is_file() {
            let (code, out, _) = scute(&[
                "eventlog",
                "replay",
                log.to_str().unwrap(),
                "--quote",
                quote.to_str().unwrap(),
                "--json",
            ]);
            let got: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(got["matches_quote"], exp["replay_matches_quote"], "{name}");
            assert_eq!(
                code,
                if exp["replay_matches_quote"] == true {
                    0
                } else {
                    1
                },
                "{name}"
            );
            if let Some(with_ima) = exp.get("expected_with_ima") {
                let ima = dir.join("ima_ascii_runtime_measurements.txt");
                let (code, out, _) = scute(&[
                    "eventlog",
                    "replay",
                    log.to_str().unwrap(),
                    "--quote",
                    quote.to_str().unwrap(),
                    "--ima",
                    ima.to_str().unwrap(),
                    "--json",
                ]);
                let got: Value = serde_json::from_str(&out).unwrap();
                assert_eq!(code, 0, "{name} with IMA");
                assert_eq!(got["matches_quote"], true);
                assert_eq!(got["rtmr2"], with_ima["rtmr2"]);
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 10);
}

#[test]
fn show_lists_decoded_events_and_reads_the_acpi_table() {
    let v = vectors();
    let log = v.join("eventlog-tdx-trustee-gke/ccel.bin");
    let (code, out, _) = scute(&["eventlog", "show", log.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let got: Value = serde_json::from_str(&out).unwrap();
    let events = got["events"].as_array().unwrap();
    assert_eq!(events.len(), 35);
    assert!(events
        .iter()
        .any(|e| e["detail"]["variable"] == "SecureBoot"));
    assert!(events.iter().any(|e| e["detail"]["text"] == ".cmdline"));
    assert_eq!(events[2]["register"], "RTMR0");
    assert_eq!(
        events[2]["data_verified"], false,
        "handoff tables point outside the log"
    );
    assert_eq!(events[4]["detail"]["variable"], "SecureBoot");
    assert_eq!(events[4]["data_verified"], true);
    // The second .linux event measures the section's contents, which the log does not hold.
    let linux: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail"]["text"] == ".linux")
        .map(|e| &e["data_verified"])
        .collect();
    assert_eq!(linux, [true, false]);
    let (code, out, _) = scute(&["eventlog", "show", log.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("EV_EFI_VARIABLE_DRIVER_CONFIG") && out.contains("SecureBoot"));
    let table = v.join("eventlog-tdx-gotdxguest-cos113-quote/ccel_acpi_table.bin");
    let (code, out, _) = scute(&["eventlog", "show", table.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("TDX"), "{out}");
}

#[test]
fn unreadable_input_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, b"this is not an event log").unwrap();
    assert_eq!(scute(&["eventlog", "replay", junk.to_str().unwrap()]).0, 2);
    assert_eq!(scute(&["eventlog", "show", junk.to_str().unwrap()]).0, 2);
    assert_eq!(scute(&["eventlog", "replay", "/nonexistent/ccel.bin"]).0, 2);
    // An SGX quote has no RTMRs to compare with.
    let log = vectors().join("eventlog-tdx-trustee-gcp/ccel.bin");
    let sgx = vectors().join("dcapqvl-sgx-v3/quote.bin");
    let (code, _, err) = scute(&[
        "eventlog",
        "replay",
        log.to_str().unwrap(),
        "--quote",
        sgx.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("RTMR"), "{err}");
}

/// The attack of issue 9: the kernel command line rewritten in place, digest untouched, so the
/// registers still replay to the quote.
#[test]
fn a_rewritten_kernel_command_line_exits_1_naming_the_event() {
    let dir = vectors().join("eventlog-tdx-gotdxguest-cos113-quote");
    let mut bytes = std::fs::read(dir.join("ccel.bin")).unwrap();
    let at = bytes
        .windows(20)
        .rposition(|w| w == b"module.sig_enforce=1")
        .unwrap();
    bytes[at + 19] = b'0';
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("ccel.bin");
    std::fs::write(&log, &bytes).unwrap();
    let quote = dir.join("quote.bin");
    let args = [
        "eventlog",
        "replay",
        log.to_str().unwrap(),
        "--quote",
        quote.to_str().unwrap(),
    ];
    let (code, out, err) = scute(&[&args[..], &["--json"]].concat());
    assert_eq!(code, 1, "{err}");
    let got: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["matches_quote"], true, "the digests were left alone");
    assert_eq!(got["mismatched_registers"], serde_json::json!([]));
    assert_eq!(
        got["data_mismatches"],
        serde_json::json!([{"index": 40, "register": "rtmr2", "type": "EV_IPL"}])
    );
    let (code, out, _) = scute(&args);
    assert_eq!(code, 1);
    assert!(
        out.contains("DATA MISMATCH event 40 (rtmr2, EV_IPL)"),
        "{out}"
    );
    // Without a quote the data check still runs.
    assert_eq!(scute(&args[..3]).0, 1);
}
