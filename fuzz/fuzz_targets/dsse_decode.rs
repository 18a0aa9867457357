//! Signed reference values as DSSE envelopes on arbitrary bytes: the envelope decoder never
//! panics, and what it accepts was signed by the configured signer, holds at least one name of
//! the service's shape with a non-empty array, and carries the digest of exactly these bytes.
//! The same bytes are also tried as a payload the signer signed, so the in-toto statement and
//! predicate decoders behind the signature are fuzzed too.
#![no_main]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use libfuzzer_sys::fuzz_target;
use scute_refvalues::{dsse, Signer};
use std::sync::OnceLock;

/// 2026-05-28, inside any validity the corpus is likely to name.
const NOW: i64 = 1_780_000_000;

fn key() -> &'static (EcdsaKeyPair, Signer) {
    static KEY: OnceLock<(EcdsaKeyPair, Signer)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("a key");
        let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
            key.public_key(),
        )
        .expect("its SPKI");
        let signer = Signer::from_spki(spki.as_ref().to_vec(), None).expect("a signer");
        (key, signer)
    })
}

fn check(document: &[u8], signer: &Signer) {
    let Ok(verified) = dsse::verify(document, std::slice::from_ref(signer), NOW) else {
        return;
    };
    assert!(!verified.values.is_empty());
    for (name, values) in &verified.values {
        assert!(dsse::valid_name(name), "{name:?}");
        assert!(!values.is_empty());
    }
    assert_eq!(verified.provenance.signer, signer.name);
    // The digest is of the signed content (the PAE), not of the envelope: the same envelope
    // without its keyid hints, re-encoded compactly, is the same document.
    let mut twin: serde_json::Value = serde_json::from_slice(document).expect("verified JSON");
    if let Some(signatures) = twin["signatures"].as_array_mut() {
        for signature in signatures {
            if let Some(members) = signature.as_object_mut() {
                members.remove("keyid");
            }
        }
    }
    let twin = serde_json::to_vec(&twin).expect("JSON");
    let again = dsse::verify(&twin, std::slice::from_ref(signer), NOW).expect("the twin verifies");
    assert_eq!(
        again.provenance.document_digest,
        verified.provenance.document_digest
    );
    for (name, values) in &verified.values {
        for value in values {
            assert!(
                scute_refvalues::value_problem(name, value).is_none(),
                "{name}: {value}"
            );
        }
    }
    assert!(verified.provenance.not_before.is_none_or(|t| t <= NOW));
    assert!(verified.provenance.not_after.is_none_or(|t| NOW <= t));
}

fuzz_target!(
    init: {
        // A valid statement (tried as a signed payload) and a valid envelope of it.
        let statement = dsse::statement_for(
            &serde_json::json!({"mr_td": ["aa".repeat(48)], "isv_prod_id": [1]}),
            Some("2026-01-01T00:00:00Z"),
            Some("2027-01-01T00:00:00Z"),
        );
        let (key, _) = key();
        let envelope = dsse::envelope_for(
            &statement,
            |m| {
                key.sign(&SystemRandom::new(), m)
                    .map(|s| s.as_ref().to_vec())
                    .unwrap_or_default()
            },
            "seed",
        );
        scute_fuzz::seed([
            ("statement".to_string(), serde_json::to_vec(&statement).unwrap_or_default()),
            ("envelope".to_string(), envelope),
        ]);
    },
    |data: &[u8]| {
    let (key, signer) = key();
    check(data, signer);
    // The bytes as a signed payload.
    if let Ok(statement) = serde_json::from_slice::<serde_json::Value>(data) {
        let envelope = dsse::envelope_for(
            &statement,
            |m| {
                key.sign(&SystemRandom::new(), m)
                    .map(|s| s.as_ref().to_vec())
                    .unwrap_or_default()
            },
            "fuzz",
        );
        check(&envelope, signer);
    }
});
