//! The public RA-TLS certificates under ../shared/vectors/ratls-*: each decodes (quirks and
//! all), its formats are named, and the key-binding verdict matches expected.json.

use scute_ratls::inspect;
use std::path::PathBuf;

#[test]
fn every_public_ratls_certificate_decodes_and_its_binding_matches() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    assert!(
        root.is_dir(),
        "test vectors not found at {}",
        root.display()
    );
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("ratls-") {
            continue;
        }
        let exp: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let der = std::fs::read(dir.join("cert.der")).unwrap();
        let got = inspect(&der).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = exp["summary"]["key_bound_by_some_extension"]
            .as_bool()
            .unwrap();
        assert_eq!(got.key_bound(), want, "{name}: {:?}", got.evidence);
        let formats = exp["summary"]["evidence_formats"].to_string();
        if formats.contains("2.23.133.5.4.9") {
            assert!(got.formats().contains(&"dice"), "{name}");
        }
        if formats.contains("1337.6") {
            assert!(got.formats().contains(&"gramine-legacy"), "{name}");
        }
        if formats.contains("Open Enclave") {
            assert_eq!(got.formats(), ["open-enclave"], "{name}");
        }
        if formats.contains("dstack") {
            assert_eq!(got.formats(), ["dstack"], "{name}");
        }
        // The embedded quote is the one the vector extracted.
        let quote = std::fs::read(dir.join("quote.bin")).unwrap();
        assert!(
            got.evidence.iter().any(|e| e.quote == quote),
            "{name}: quote.bin is one of the evidence quotes"
        );
        seen += 1;
    }
    assert_eq!(seen, 16);
}
