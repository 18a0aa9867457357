//! DSSE envelopes (secure-systems-lab/dsse `envelope.md`, `protocol.md`): `payloadType`,
//! base64 `payload`, `signatures[]`; the signature is over PAE(type, payload). The payload is
//! an in-toto Statement v1 (in-toto/attestation `spec/v1/statement.md`) whose predicate, of
//! type [`PREDICATE_TYPE`], carries the reference values:
//!
//! ```json
//! {"_type": "https://in-toto.io/Statement/v1",
//!  "subject": [{"name": "OVMF.fd", "digest": {"sha256": "…"}}],
//!  "predicateType": "https://scute.dev/reference-values/v1",
//!  "predicate": {"reference_values": {"mr_td": ["…"]},
//!                "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z"}}
//! ```
//!
//! What is checked, in order, each failure its own [`RefValueError`]: the size; the envelope's
//! JSON shape (no unknown or repeated members); `payloadType` is in-toto's; at least one
//! signature; one of them verifies under a configured signer (the `keyid` is an unauthenticated
//! hint and is ignored: every signer is tried); the statement's type and predicate type; the
//! predicate's members (an unknown one is a claim Scute does not understand); the validity at
//! `now`; names follow the service's rule and each holds a non-empty array, of lowercase hex
//! strings of the report field's length or 16-bit integers for the names whose form Scute knows,
//! and the default policy's settings in their forms, one value each where one decides
//! ([`crate::values_problem`]); at least one name.

use crate::{Format, Provenance, RefValueError, SignedReferenceValues, Signer};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// DSSE's payload type for in-toto statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type Scute defines for reference values.
pub const PREDICATE_TYPE: &str = "https://scute.dev/reference-values/v1";

/// Largest envelope taken (the service's body limit is smaller by default).
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;
/// Most signatures an envelope may carry (each is tried against every signer).
pub const MAX_SIGNATURES: usize = 16;
/// Most reference-value names, and values per name, one document may carry.
pub const MAX_NAMES: usize = 256;
pub const MAX_VALUES_PER_NAME: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: Vec<Signature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Signature {
    sig: String,
    /// An unauthenticated hint (DSSE `envelope.md`); never used to pick or trust a key.
    #[serde(default)]
    #[allow(dead_code)]
    keyid: Option<String>,
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<Value>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Predicate {
    reference_values: BTreeMap<String, Value>,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    not_after: Option<String>,
}

/// PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as ASCII
/// decimal byte counts (DSSE `protocol.md`).
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// The service's rule for a reference-value name: 1–128 of `[A-Za-z0-9._-]`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// DSSE allows standard or URL-safe base64 (`envelope.md`).
fn base64_decode(field: &str, text: &str) -> Result<Vec<u8>, RefValueError> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|e| malformed(format!("{field} is not base64: {e}")))
}

fn malformed(detail: String) -> RefValueError {
    RefValueError::Malformed {
        format: Format::Dsse,
        detail,
    }
}

fn unix_time(field: &str, text: &str) -> Result<i64, RefValueError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| malformed(format!("predicate.{field} is not an RFC 3339 time: {e}")))
}

pub fn verify(
    document: &[u8],
    signers: &[Signer],
    now: i64,
) -> Result<SignedReferenceValues, RefValueError> {
    if document.len() > MAX_ENVELOPE_BYTES {
        return Err(malformed(format!(
            "the envelope is {} bytes; at most {MAX_ENVELOPE_BYTES}",
            document.len()
        )));
    }
    let envelope: Envelope = serde_json::from_slice(document)
        .map_err(|e| malformed(format!("not a DSSE envelope: {e}")))?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(RefValueError::UnsupportedProfile(format!(
            "payloadType {:?}; only {PAYLOAD_TYPE:?} is taken",
            envelope.payload_type
        )));
    }
    if envelope.signatures.is_empty() {
        return Err(RefValueError::Unsigned(
            "the envelope has no signature".into(),
        ));
    }
    if envelope.signatures.len() > MAX_SIGNATURES {
        return Err(malformed(format!(
            "{} signatures; at most {MAX_SIGNATURES}",
            envelope.signatures.len()
        )));
    }
    let payload = base64_decode("payload", &envelope.payload)?;
    let message = pae(&envelope.payload_type, &payload);
    let mut signed_by = None;
    for (i, signature) in envelope.signatures.iter().enumerate() {
        let sig = base64_decode(&format!("signatures[{i}].sig"), &signature.sig)?;
        if let Some(signer) = signers.iter().find(|s| s.verifies(&message, &sig)) {
            signed_by = Some(signer);
            break;
        }
    }
    let signer = signed_by.ok_or(RefValueError::BadSignature)?;

    // Only what a trusted signer signed is read from here on.
    let statement: Statement = serde_json::from_slice(&payload)
        .map_err(|e| malformed(format!("the payload is not an in-toto statement: {e}")))?;
    if statement.statement_type != STATEMENT_TYPE {
        return Err(RefValueError::UnsupportedProfile(format!(
            "statement _type {:?}; only {STATEMENT_TYPE:?} is taken",
            statement.statement_type
        )));
    }
    if statement.predicate_type != PREDICATE_TYPE {
        return Err(RefValueError::UnsupportedProfile(format!(
            "predicateType {:?}; only {PREDICATE_TYPE:?} is taken",
            statement.predicate_type
        )));
    }
    if statement.subject.is_empty() {
        return Err(malformed(
            "the statement names no subject (in-toto requires one)".into(),
        ));
    }
    let predicate: Predicate = serde_json::from_value(statement.predicate).map_err(|e| {
        if e.to_string().starts_with("unknown field") {
            RefValueError::UnsupportedProfile(format!("predicate: {e}"))
        } else {
            malformed(format!("predicate: {e}"))
        }
    })?;
    let not_before = predicate
        .not_before
        .as_deref()
        .map(|t| unix_time("not_before", t))
        .transpose()?;
    let not_after = predicate
        .not_after
        .as_deref()
        .map(|t| unix_time("not_after", t))
        .transpose()?;
    if let (Some(from), Some(to)) = (not_before, not_after) {
        if from > to {
            return Err(malformed("predicate.not_before is after not_after".into()));
        }
    }
    if not_before.is_some_and(|t| now < t) || not_after.is_some_and(|t| now > t) {
        return Err(RefValueError::NotValid {
            now,
            not_before,
            not_after,
        });
    }
    if predicate.reference_values.len() > MAX_NAMES {
        return Err(malformed(format!(
            "{} reference-value names; at most {MAX_NAMES}",
            predicate.reference_values.len()
        )));
    }
    let mut values = BTreeMap::new();
    for (name, list) in predicate.reference_values {
        if !valid_name(&name) {
            return Err(malformed(format!(
                "reference-value name {name:?} is not 1-128 of [A-Za-z0-9._-]"
            )));
        }
        let Value::Array(list) = list else {
            return Err(malformed(format!(
                "reference_values.{name} is not an array of values"
            )));
        };
        if list.is_empty() || list.len() > MAX_VALUES_PER_NAME {
            return Err(malformed(format!(
                "reference_values.{name} holds {} values; 1-{MAX_VALUES_PER_NAME}",
                list.len()
            )));
        }
        // The same forms the CoRIM profile enforces (`crate::HEX_NAMES`, `crate::U16_NAMES`):
        // a value that could never equal a measurement is a mistake to refuse, not to store.
        // The default policy's settings (`crate::SETTING_NAMES`) have the forms the admin's
        // `PUT` is held to, one value for a single-valued one.
        if let Some(problem) = crate::values_problem(&name, &list) {
            return Err(malformed(format!("reference_values.{name}: {problem}")));
        }
        values.insert(name, list);
    }
    if values.is_empty() {
        return Err(RefValueError::Empty);
    }
    Ok(SignedReferenceValues {
        values,
        provenance: Provenance {
            format: Format::Dsse,
            signer: signer.name.clone(),
            signer_key_sha256: signer.key_sha256(),
            // The signed content, not the envelope: a `keyid`, whitespace or another encoding
            // of the same signature does not make another document.
            document_digest: crate::document_digest(&message),
            not_before,
            not_after,
        },
    })
}

/// Test and tooling support: a signed envelope from a statement, the way in-toto tooling
/// writes one (standard base64, DER ECDSA over PAE).
pub fn envelope_for(statement: &Value, sign: impl Fn(&[u8]) -> Vec<u8>, keyid: &str) -> Vec<u8> {
    use base64::engine::general_purpose::STANDARD;
    let payload = serde_json::to_vec(statement).unwrap_or_default();
    let sig = sign(&pae(PAYLOAD_TYPE, &payload));
    serde_json::to_vec(&serde_json::json!({
        "payloadType": PAYLOAD_TYPE,
        "payload": STANDARD.encode(&payload),
        "signatures": [{"keyid": keyid, "sig": STANDARD.encode(sig)}],
    }))
    .unwrap_or_default()
}

/// A statement of Scute's predicate type over `values`, with optional validity (RFC 3339).
pub fn statement_for(values: &Value, not_before: Option<&str>, not_after: Option<&str>) -> Value {
    let mut predicate = serde_json::json!({ "reference_values": values });
    if let Some(t) = not_before {
        predicate["not_before"] = Value::from(t);
    }
    if let Some(t) = not_after {
        predicate["not_after"] = Value::from(t);
    }
    serde_json::json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": "reference-values", "digest": {"sha256": "00".repeat(32)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
    };
    use serde_json::json;

    const NOW: i64 = 1_780_000_000; // 2026-05-28

    fn key(alg: &'static EcdsaSigningAlgorithm) -> (EcdsaKeyPair, Signer) {
        let key = EcdsaKeyPair::generate(alg).unwrap();
        let spki = AsDer::<PublicKeyX509Der>::as_der(key.public_key())
            .unwrap()
            .as_ref()
            .to_vec();
        let signer = Signer::from_spki(spki, Some("release".into())).unwrap();
        (key, signer)
    }

    fn signing(key: &EcdsaKeyPair) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
        move |m| key.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()
    }

    fn values() -> Value {
        json!({"mr_td": ["aa".repeat(48)], "rtmr1": ["bb".repeat(48), "cc".repeat(48)]})
    }

    fn signed(key: &EcdsaKeyPair, statement: &Value) -> Vec<u8> {
        envelope_for(statement, signing(key), "k1")
    }

    #[test]
    fn a_signed_statement_is_accepted_with_its_provenance() {
        for alg in [
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &ECDSA_P384_SHA384_ASN1_SIGNING,
        ] {
            let (key, signer) = key(alg);
            let (_, other) = self::key(&ECDSA_P256_SHA256_ASN1_SIGNING);
            let signer_key = signer.key_sha256();
            let doc = signed(
                &key,
                &statement_for(
                    &values(),
                    Some("2026-01-01T00:00:00Z"),
                    Some("2027-01-01T00:00:00+00:00"),
                ),
            );
            let got = crate::verify_document(&doc, &[other, signer], NOW).unwrap();
            assert_eq!(
                serde_json::to_value(&got.values).unwrap(),
                values(),
                "values as signed"
            );
            assert_eq!(got.provenance.signer, "release");
            assert_eq!(got.provenance.format, Format::Dsse);
            // The digest of what was signed (the PAE), not of the envelope's bytes.
            let envelope: Value = serde_json::from_slice(&doc).unwrap();
            let payload = base64::engine::general_purpose::STANDARD
                .decode(envelope["payload"].as_str().unwrap())
                .unwrap();
            assert_eq!(
                got.provenance.document_digest,
                crate::document_digest(&pae(PAYLOAD_TYPE, &payload))
            );
            assert_ne!(got.provenance.document_digest, crate::document_digest(&doc));
            assert_eq!(got.provenance.signer_key_sha256, signer_key);
            assert_eq!(got.provenance.not_before, Some(1_767_225_600));
            assert_eq!(got.provenance.not_after, Some(1_798_761_600));
        }
    }

    #[test]
    fn the_same_signed_content_re_encoded_is_the_same_document() {
        let (key, signer) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let doc = signed(&key, &statement_for(&values(), None, None));
        let first = verify(&doc, std::slice::from_ref(&signer), NOW).unwrap();
        // Another keyid (an unauthenticated hint), and the envelope pretty-printed.
        let mut envelope: Value = serde_json::from_slice(&doc).unwrap();
        envelope["signatures"][0]["keyid"] = json!("someone-else");
        let twin = serde_json::to_vec_pretty(&envelope).unwrap();
        assert_ne!(twin, doc);
        let second = verify(&twin, std::slice::from_ref(&signer), NOW).unwrap();
        assert_eq!(
            first.provenance.document_digest,
            second.provenance.document_digest
        );
        // Other signed content is another document.
        let other = signed(
            &key,
            &statement_for(&json!({"rtmr2": ["dd".repeat(48)]}), None, None),
        );
        let third = verify(&other, &[signer], NOW).unwrap();
        assert_ne!(
            first.provenance.document_digest,
            third.provenance.document_digest
        );
    }

    #[test]
    fn values_of_known_names_must_have_the_form_of_what_they_are_compared_with() {
        let (key, signer) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let signers = [signer];
        for (values, why) in [
            // 47 bytes for the 48-byte MRTD.
            (json!({"mr_td": ["aa".repeat(47)]}), "48 bytes"),
            (
                json!({"mr_td": ["aa".repeat(48), "aa".repeat(49)]}),
                "48 bytes",
            ),
            // Uppercase hex never equals the report's lowercase hex.
            (json!({"mr_enclave": ["AA".repeat(32)]}), "lowercase hex"),
            (json!({"measurement": ["zz".repeat(48)]}), "lowercase hex"),
            (json!({"host_data": [7]}), "lowercase hex"),
            // Not integers: a float, a string, negative, too large.
            (json!({"isv_prod_id": [7.0]}), "integers"),
            (json!({"isv_prod_id": ["7"]}), "integers"),
            (json!({"isv_svn_min": [-1]}), "integers"),
            (json!({"isv_svn_min": [65536]}), "integers"),
        ] {
            match verify(
                &signed(&key, &statement_for(&values, None, None)),
                &signers,
                NOW,
            ) {
                Err(RefValueError::Malformed { detail, .. }) => {
                    assert!(detail.contains(why), "{values}: {detail}")
                }
                other => panic!("{values}: {other:?}"),
            }
        }
        // The right forms, and a name Scute does not know (a custom policy's) as it is.
        let good = json!({
            "mr_td": ["0a".repeat(48)],
            "isv_prod_id": [7],
            "isv_svn_min": [0, 65535],
            "my_policy_value": ["anything", 1.5],
        });
        let got = verify(
            &signed(&key, &statement_for(&good, None, None)),
            &signers,
            NOW,
        )
        .unwrap();
        assert_eq!(serde_json::to_value(&got.values).unwrap(), good);
    }

    /// The default policy's settings come signed in the forms the admin's PUT is held to: one
    /// value where one decides, each of its name's form; a bad one refuses the document.
    #[test]
    fn settings_in_a_signed_document_have_their_forms_and_one_value() {
        let (key, signer) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let signers = [signer];
        for (values, why) in [
            (json!({"tcb_grace_days": [30, 60]}), "exactly one value"),
            (
                json!({"tcb_baseline_date": ["2024-03-13", "2025-01-01"]}),
                "exactly one value",
            ),
            (
                json!({"tcb_min_evaluation_data_number": [16, 17]}),
                "exactly one value",
            ),
            (json!({"snp_min_mit_vector": [1, 3]}), "exactly one value"),
            (json!({"tcb_grace_days": [3651]}), "0-3650"),
            (json!({"tcb_grace_days": ["30"]}), "0-3650"),
            (
                json!({"tcb_min_evaluation_data_number": [-1]}),
                "0-4294967295",
            ),
            (json!({"tcb_baseline_date": ["2024-02-30"]}), "YYYY-MM-DD"),
            (
                json!({"tcb_baseline_date": ["2024-03-13T00:00:00+01:00"]}),
                "YYYY-MM-DD",
            ),
            (json!({"snp_min_mit_vector": [1.5]}), "bitmask"),
            (
                json!({"snp_min_launch_tcb": [{"bootlaoder": 3}]}),
                "SPL values",
            ),
            (json!({"snp_min_launch_tcb": [{"snp": 256}]}), "SPL values"),
        ] {
            match verify(
                &signed(&key, &statement_for(&values, None, None)),
                &signers,
                NOW,
            ) {
                Err(RefValueError::Malformed { detail, .. }) => {
                    assert!(detail.contains(why), "{values}: {detail}")
                }
                other => panic!("{values}: {other:?}"),
            }
        }
        let good = json!({
            "tcb_grace_days": [30],
            "tcb_baseline_date": ["2024-03-13T00:00:00Z"],
            "tcb_min_evaluation_data_number": [17],
            "snp_min_mit_vector": [u64::MAX],
            "snp_min_launch_tcb": [{"bootloader": 3}, {"snp": 23, "microcode": 213}],
        });
        let got = verify(
            &signed(&key, &statement_for(&good, None, None)),
            &signers,
            NOW,
        )
        .unwrap();
        assert_eq!(serde_json::to_value(&got.values).unwrap(), good);
    }

    #[test]
    fn pae_is_the_dsse_encoding() {
        // DSSE protocol.md's example.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn a_signature_from_anyone_else_or_over_other_bytes_is_refused() {
        let (key, _) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let (_, trusted) = self::key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let doc = signed(&key, &statement_for(&values(), None, None));
        assert!(matches!(
            verify(&doc, &[trusted], NOW),
            Err(RefValueError::BadSignature)
        ));
        assert!(matches!(
            verify(&doc, &[], NOW),
            Err(RefValueError::BadSignature)
        ));

        // The payload changed after signing (a value swapped for the attacker's).
        let (key, signer) = self::key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let doc = signed(&key, &statement_for(&values(), None, None));
        let mut envelope: Value = serde_json::from_slice(&doc).unwrap();
        let forged = statement_for(&json!({"mr_td": ["ee".repeat(48)]}), None, None);
        envelope["payload"] = base64::engine::general_purpose::STANDARD
            .encode(serde_json::to_vec(&forged).unwrap())
            .into();
        let forged = serde_json::to_vec(&envelope).unwrap();
        assert!(matches!(
            verify(&forged, std::slice::from_ref(&signer), NOW),
            Err(RefValueError::BadSignature)
        ));
        // A signature over the bare payload (not PAE) does not count.
        let payload = serde_json::to_vec(&statement_for(&values(), None, None)).unwrap();
        let raw = signing(&key)(&payload);
        let doc = json!({"payloadType": PAYLOAD_TYPE,
            "payload": base64::engine::general_purpose::STANDARD.encode(&payload),
            "signatures": [{"sig": base64::engine::general_purpose::STANDARD.encode(raw)}]});
        assert!(matches!(
            verify(
                &serde_json::to_vec(&doc).unwrap(),
                std::slice::from_ref(&signer),
                NOW
            ),
            Err(RefValueError::BadSignature)
        ));
        // A fixed-size (r‖s) signature is not the DER the format takes.
        let fixed = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            key.to_pkcs8v1().unwrap().as_ref(),
        )
        .unwrap();
        let doc = signed(&fixed, &statement_for(&values(), None, None));
        assert!(matches!(
            verify(&doc, &[signer], NOW),
            Err(RefValueError::BadSignature)
        ));
    }

    #[test]
    fn an_unsigned_envelope_is_refused() {
        let (_, signer) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let payload = serde_json::to_vec(&statement_for(&values(), None, None)).unwrap();
        let doc = json!({"payloadType": PAYLOAD_TYPE,
            "payload": base64::engine::general_purpose::STANDARD.encode(&payload),
            "signatures": []});
        assert!(matches!(
            verify(&serde_json::to_vec(&doc).unwrap(), &[signer], NOW),
            Err(RefValueError::Unsigned(_))
        ));
    }

    #[test]
    fn outside_its_validity_a_document_is_refused() {
        let (key, signer) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let signers = [signer];
        let expired = signed(
            &key,
            &statement_for(&values(), None, Some("2026-01-01T00:00:00Z")),
        );
        assert!(matches!(
            verify(&expired, &signers, NOW),
            Err(RefValueError::NotValid {
                not_after: Some(1_767_225_600),
                ..
            })
        ));
        let early = signed(
            &key,
            &statement_for(&values(), Some("2027-01-01T00:00:00Z"), None),
        );
        assert!(matches!(
            verify(&early, &signers, NOW),
            Err(RefValueError::NotValid { .. })
        ));
        // At its edges it is valid.
        assert!(verify(&expired, &signers, 1_767_225_600).is_ok());
        assert!(verify(&early, &signers, 1_798_761_600).is_ok());
        let inverted = signed(
            &key,
            &statement_for(
                &values(),
                Some("2027-01-01T00:00:00Z"),
                Some("2026-01-01T00:00:00Z"),
            ),
        );
        assert!(matches!(
            verify(&inverted, &signers, NOW),
            Err(RefValueError::Malformed { .. })
        ));
        let garbled = signed(&key, &statement_for(&values(), None, Some("tomorrow")));
        assert!(matches!(
            verify(&garbled, &signers, NOW),
            Err(RefValueError::Malformed { .. })
        ));
    }

    #[test]
    fn another_predicate_statement_or_payload_type_is_an_unsupported_profile() {
        let (key, signer) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let signers = [signer];
        let mut slsa = statement_for(&values(), None, None);
        slsa["predicateType"] = "https://slsa.dev/provenance/v1".into();
        let mut v01 = statement_for(&values(), None, None);
        v01["_type"] = "https://in-toto.io/Statement/v0.1".into();
        let mut extra = statement_for(&values(), None, None);
        extra["predicate"]["allow_debug"] = true.into();
        for statement in [slsa, v01, extra] {
            assert!(
                matches!(
                    verify(&signed(&key, &statement), &signers, NOW),
                    Err(RefValueError::UnsupportedProfile(_))
                ),
                "{statement}"
            );
        }
        let payload = serde_json::to_vec(&statement_for(&values(), None, None)).unwrap();
        let sig = signing(&key)(&pae("application/json", &payload));
        let doc = json!({"payloadType": "application/json",
            "payload": base64::engine::general_purpose::STANDARD.encode(&payload),
            "signatures": [{"sig": base64::engine::general_purpose::STANDARD.encode(sig)}]});
        assert!(matches!(
            verify(&serde_json::to_vec(&doc).unwrap(), &signers, NOW),
            Err(RefValueError::UnsupportedProfile(_))
        ));
    }

    #[test]
    fn names_and_values_must_have_the_services_shape() {
        let (key, signer) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let signers = [signer];
        for values in [
            json!({"mr td": ["aa"]}),
            json!({"": ["aa"]}),
            json!({"../x": ["aa"]}),
            json!({"mr_td": "aa"}),
            json!({"mr_td": []}),
            json!({"mr_td": {"a": 1}}),
        ] {
            assert!(
                matches!(
                    verify(
                        &signed(&key, &statement_for(&values, None, None)),
                        &signers,
                        NOW
                    ),
                    Err(RefValueError::Malformed { .. })
                ),
                "{values}"
            );
        }
        assert!(matches!(
            verify(
                &signed(&key, &statement_for(&json!({}), None, None)),
                &signers,
                NOW
            ),
            Err(RefValueError::Empty)
        ));
        let mut no_subject = statement_for(&values(), None, None);
        no_subject["subject"] = json!([]);
        assert!(matches!(
            verify(&signed(&key, &no_subject), &signers, NOW),
            Err(RefValueError::Malformed { .. })
        ));
    }

    #[test]
    fn malformed_envelopes_are_refused_without_a_panic() {
        let (key, signer) = key(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let signers = [signer];
        let good: Value =
            serde_json::from_slice(&signed(&key, &statement_for(&values(), None, None))).unwrap();
        let mut cases: Vec<Vec<u8>> = vec![
            b"{".to_vec(),
            b"{}".to_vec(),
            b"[]".to_vec(),
            vec![b'{'; 100_000],
            vec![b' '; MAX_ENVELOPE_BYTES + 1],
        ];
        let mut extra = good.clone();
        extra["unexpected"] = 1.into();
        let mut bad_b64 = good.clone();
        bad_b64["payload"] = "***".into();
        let mut bad_sig = good.clone();
        bad_sig["signatures"][0]["sig"] = "***".into();
        let mut many = good.clone();
        many["signatures"] = Value::Array(vec![good["signatures"][0].clone(); 17]);
        for v in [extra, bad_b64, bad_sig, many] {
            cases.push(serde_json::to_vec(&v).unwrap());
        }
        // A repeated member: the second payload must not slip past the signature of the first.
        let text = serde_json::to_string(&good).unwrap();
        cases.push(text.replacen("{", "{\"payload\":\"e30=\",", 1).into_bytes());
        for case in cases {
            assert!(
                matches!(
                    verify(&case, &signers, NOW),
                    Err(RefValueError::Malformed { .. })
                ),
                "{}",
                String::from_utf8_lossy(&case[..case.len().min(80)])
            );
        }
    }
}
