//! Signed CoRIMs built here with coset, ciborium and aws-lc-rs keys, and a public sample from
//! veraison/corim.

use super::profile::{SCUTE_PROFILE, SNP_PROFILE};
use super::*;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P384_SHA384_FIXED_SIGNING,
};
use coset::{CoseSign1Builder, HeaderBuilder};
use serde_json::json;

const NOW: i64 = 1_750_000_000;

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}
fn text(s: &str) -> Value {
    Value::Text(s.into())
}
fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}
fn tag(t: u64, v: Value) -> Value {
    Value::Tag(t, Box::new(v))
}
fn map(entries: Vec<(Value, Value)>) -> Value {
    Value::Map(entries)
}
fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).unwrap();
    out
}
fn uri(s: &str) -> Value {
    tag(32, text(s))
}
fn time1(t: i64) -> Value {
    tag(1, int(t))
}
fn validity(not_before: Option<i64>, not_after: i64) -> Value {
    let mut v = Vec::new();
    if let Some(nb) = not_before {
        v.push((int(0), time1(nb)));
    }
    v.push((int(1), time1(not_after)));
    map(v)
}

fn key(alg: &'static EcdsaSigningAlgorithm) -> EcdsaKeyPair {
    EcdsaKeyPair::generate(alg).unwrap()
}
fn signer(name: &str, pair: &EcdsaKeyPair) -> Signer {
    Signer {
        name: name.into(),
        spki: pair.public_key().as_der().unwrap().as_ref().to_vec(),
    }
}

fn measurement(mkey: Value, mval: Vec<(Value, Value)>) -> Value {
    map(vec![(int(0), mkey), (int(1), map(mval))])
}
fn digests(list: &[(i64, &[u8])]) -> (Value, Value) {
    let list = list
        .iter()
        .map(|(alg, d)| Value::Array(vec![int(*alg), bytes(d)]))
        .collect();
    (int(2), Value::Array(list))
}
fn raw(b: &[u8]) -> (Value, Value) {
    (int(4), tag(560, bytes(b)))
}
/// A CoMID with one reference triple (an environment with a class) holding `measurements`.
fn comid(measurements: Vec<Value>) -> Value {
    let environment = map(vec![(
        int(0),
        map(vec![(int(1), text("Example")), (int(2), text("TD"))]),
    )]);
    let triple = Value::Array(vec![environment, Value::Array(measurements)]);
    map(vec![
        (int(1), map(vec![(int(0), text("comid-1"))])),
        (int(4), map(vec![(int(0), Value::Array(vec![triple]))])),
    ])
}
fn corim(profile: Option<Value>, comids: Vec<Value>, rim_validity: Option<Value>) -> Vec<u8> {
    let tags = comids.iter().map(|c| tag(506, bytes(&cbor(c)))).collect();
    let mut m = vec![(int(0), text("corim-1")), (int(1), Value::Array(tags))];
    if let Some(p) = profile {
        m.push((int(3), p));
    }
    if let Some(v) = rim_validity {
        m.push((int(4), v));
    }
    cbor(&tag(501, map(m)))
}
fn meta(signature_validity: Option<Value>) -> Value {
    let mut m = vec![(int(0), map(vec![(int(0), text("Example Signer"))]))];
    if let Some(v) = signature_validity {
        m.push((int(1), v));
    }
    map(m)
}

/// COSE_Sign1 over `payload`, ES256 or ES384 by the key's curve.
fn sign_with(
    payload: Vec<u8>,
    pair: &EcdsaKeyPair,
    alg: Option<iana::Algorithm>,
    headers: Vec<(i64, Value)>,
) -> Vec<u8> {
    let mut header = HeaderBuilder::new().content_type(CONTENT_TYPE.to_string());
    if let Some(alg) = alg {
        header = header.algorithm(alg);
    }
    for (label, value) in headers {
        header = header.value(label, value);
    }
    CoseSign1Builder::new()
        .protected(header.build())
        .payload(payload)
        .create_signature(b"", |tbs| {
            pair.sign(&SystemRandom::new(), tbs)
                .unwrap()
                .as_ref()
                .to_vec()
        })
        .build()
        .to_tagged_vec()
        .unwrap()
}
fn sign(payload: Vec<u8>, pair: &EcdsaKeyPair, meta_map: Option<Value>) -> Vec<u8> {
    let headers = meta_map
        .map(|m| vec![(HEADER_CORIM_META, bytes(&cbor(&m)))])
        .unwrap_or_default();
    sign_with(payload, pair, Some(iana::Algorithm::ES256), headers)
}

fn tdx_and_sgx_comid() -> Value {
    comid(vec![
        measurement(
            text("mr_td"),
            vec![digests(&[(7, &[0xaa; 48]), (7, &[0xab; 48])])],
        ),
        measurement(text("rtmr1"), vec![raw(&[0x11; 48])]),
        measurement(text("mr_enclave"), vec![digests(&[(1, &[0xee; 32])])]),
        measurement(text("isv_prod_id"), vec![raw(&[0x02, 0x01])]),
        measurement(text("isv_svn_min"), vec![(int(1), tag(553, int(3)))]),
    ])
}

fn unsupported_text(result: Result<SignedReferenceValues, RefValueError>) -> String {
    match result {
        Err(RefValueError::UnsupportedProfile(s)) => s,
        other => panic!("expected UnsupportedProfile, got {other:?}"),
    }
}

#[test]
fn a_signed_corim_in_scute_profile_maps_tdx_and_sgx_names() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let payload = corim(
        Some(uri(SCUTE_PROFILE)),
        vec![tdx_and_sgx_comid()],
        Some(validity(Some(NOW - 100), NOW + 1000)),
    );
    let doc = sign(payload, &pair, Some(meta(Some(validity(None, NOW + 500)))));
    let got = verify(
        &doc,
        &[
            signer("other", &key(&ECDSA_P256_SHA256_FIXED_SIGNING)),
            signer("acme", &pair),
        ],
        NOW,
    )
    .unwrap();
    let values = serde_json::to_value(&got.values).unwrap();
    assert_eq!(
        values,
        json!({
            "mr_td": ["aa".repeat(48), "ab".repeat(48)],
            "rtmr1": ["11".repeat(48)],
            "mr_enclave": ["ee".repeat(32)],
            "isv_prod_id": [0x0102],
            "isv_svn_min": [3],
        })
    );
    assert_eq!(got.provenance.format, Format::Corim);
    assert_eq!(got.provenance.signer, "acme");
    // The digest of the signed content (the Sig_structure), not of the COSE_Sign1's bytes.
    let sign1 = CoseSign1::from_tagged_slice(&doc).unwrap();
    assert_eq!(
        got.provenance.document_digest,
        crate::document_digest(&sign1.tbs_data(b""))
    );
    assert_ne!(got.provenance.document_digest, crate::document_digest(&doc));
    assert_eq!(
        got.provenance.signer_key_sha256,
        signer("acme", &pair).key_sha256()
    );
    // The narrower of rim-validity and the signature validity.
    assert_eq!(got.provenance.not_before, Some(NOW - 100));
    assert_eq!(got.provenance.not_after, Some(NOW + 500));
}

#[test]
fn the_amd_snp_profile_maps_measurement_and_host_data() {
    let pair = key(&ECDSA_P384_SHA384_FIXED_SIGNING);
    let c = comid(vec![
        measurement(int(641), vec![digests(&[(7, &[0x4a; 48])])]),
        measurement(int(642), vec![raw(&[0x0d; 32])]),
        measurement(int(3), vec![raw(&[0xfa; 16])]),
    ]);
    let payload = corim(Some(uri(SNP_PROFILE)), vec![c], None);
    let doc = sign_with(payload, &pair, Some(iana::Algorithm::ES384), vec![]);
    let got = verify(&doc, &[signer("amd-rv", &pair)], NOW).unwrap();
    assert_eq!(
        serde_json::to_value(&got.values).unwrap(),
        json!({"measurement": ["4a".repeat(48)], "host_data": ["0d".repeat(32)], "family_id": ["fa".repeat(16)]})
    );
    assert_eq!(got.provenance.not_after, None);
}

#[test]
fn a_tampered_signature_or_payload_is_refused() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let payload = corim(Some(uri(SCUTE_PROFILE)), vec![tdx_and_sgx_comid()], None);
    let mut doc = sign(payload.clone(), &pair, None);
    let signers = [signer("acme", &pair)];
    assert!(verify(&doc, &signers, NOW).is_ok());
    let last = doc.len() - 1;
    doc[last] ^= 1;
    assert!(matches!(
        verify(&doc, &signers, NOW),
        Err(RefValueError::BadSignature)
    ));

    // The attacker's CoRIM under the genuine signature and protected header.
    let genuine = CoseSign1::from_tagged_slice(&sign(payload, &pair, None)).unwrap();
    let mut forged = genuine.clone();
    let evil = comid(vec![measurement(
        text("mr_td"),
        vec![digests(&[(7, &[0x66; 48])])],
    )]);
    forged.payload = Some(corim(Some(uri(SCUTE_PROFILE)), vec![evil], None));
    let forged = forged.to_tagged_vec().unwrap();
    assert!(matches!(
        verify(&forged, &signers, NOW),
        Err(RefValueError::BadSignature)
    ));
}

#[test]
fn a_document_signed_by_someone_else_is_refused() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let payload = corim(Some(uri(SCUTE_PROFILE)), vec![tdx_and_sgx_comid()], None);
    let doc = sign(payload, &pair, None);
    let stranger = signer("stranger", &key(&ECDSA_P256_SHA256_FIXED_SIGNING));
    assert!(matches!(
        verify(&doc, &[stranger], NOW),
        Err(RefValueError::BadSignature)
    ));
    assert!(matches!(
        verify(&doc, &[], NOW),
        Err(RefValueError::BadSignature)
    ));
    // A signer whose key is not a key at all is skipped, not trusted.
    let junk = Signer {
        name: "junk".into(),
        spki: vec![0x30, 0x00],
    };
    assert!(matches!(
        verify(&doc, &[junk], NOW),
        Err(RefValueError::BadSignature)
    ));
}

#[test]
fn outside_its_validity_a_document_is_refused() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let signers = [signer("acme", &pair)];
    let payload = |v| corim(Some(uri(SCUTE_PROFILE)), vec![tdx_and_sgx_comid()], v);
    // Expired signature validity (corim-meta).
    let doc = sign(
        payload(None),
        &pair,
        Some(meta(Some(validity(None, NOW - 1)))),
    );
    assert!(matches!(
        verify(&doc, &signers, NOW),
        Err(RefValueError::NotValid { not_after: Some(na), .. }) if na == NOW - 1
    ));
    assert!(
        verify(&doc, &signers, NOW - 1).is_ok(),
        "valid up to its last second"
    );
    // Not yet valid (rim-validity).
    let doc = sign(
        payload(Some(validity(Some(NOW + 60), NOW + 600))),
        &pair,
        None,
    );
    assert!(matches!(
        verify(&doc, &signers, NOW),
        Err(RefValueError::NotValid { not_before: Some(nb), .. }) if nb == NOW + 60
    ));
    // CWT-Claims exp (RFC 9597) in the protected header.
    let cwt = map(vec![(int(1), text("acme")), (int(4), int(NOW - 10))]);
    let doc = sign_with(
        payload(None),
        &pair,
        Some(iana::Algorithm::ES256),
        vec![(HEADER_CWT_CLAIMS, cwt)],
    );
    assert!(matches!(
        verify(&doc, &signers, NOW),
        Err(RefValueError::NotValid { .. })
    ));
    // A not-after in RFC 3339 text (tag 0) counts too.
    let v = map(vec![(int(1), tag(0, text("2020-01-01T00:00:00Z")))]);
    let doc = sign(payload(Some(v)), &pair, None);
    assert!(matches!(
        verify(&doc, &signers, NOW),
        Err(RefValueError::NotValid {
            not_after: Some(1_577_836_800),
            ..
        })
    ));
}

#[test]
fn an_unprotected_validity_does_not_extend_an_expired_document() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let payload = corim(Some(uri(SCUTE_PROFILE)), vec![tdx_and_sgx_comid()], None);
    let doc = sign(payload, &pair, Some(meta(Some(validity(None, NOW - 1)))));
    let mut sign1 = CoseSign1::from_tagged_slice(&doc).unwrap();
    sign1.unprotected.rest.push((
        Label::Int(HEADER_CORIM_META),
        bytes(&cbor(&meta(Some(validity(None, NOW + 1_000_000))))),
    ));
    let doc = sign1.to_tagged_vec().unwrap();
    assert!(matches!(
        verify(&doc, &[signer("acme", &pair)], NOW),
        Err(RefValueError::NotValid { .. })
    ));
}

#[test]
fn unsigned_documents_are_refused() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let signers = [signer("acme", &pair)];
    let payload = corim(Some(uri(SCUTE_PROFILE)), vec![tdx_and_sgx_comid()], None);
    // A bare CoRIM (tag 501).
    assert!(matches!(
        verify(&payload, &signers, NOW),
        Err(RefValueError::Unsigned(_))
    ));
    // No alg.
    let doc = sign_with(payload.clone(), &pair, None, vec![]);
    assert!(matches!(
        verify(&doc, &signers, NOW),
        Err(RefValueError::Unsigned(_))
    ));
    // An algorithm Scute does not verify.
    let doc = sign_with(payload.clone(), &pair, Some(iana::Algorithm::PS256), vec![]);
    assert!(matches!(
        verify(&doc, &signers, NOW),
        Err(RefValueError::Unsigned(_))
    ));
    // alg only in the unprotected header.
    let mut sign1 = CoseSign1::from_tagged_slice(&doc).unwrap();
    sign1.protected = coset::ProtectedHeader {
        original_data: None,
        header: HeaderBuilder::new()
            .content_type(CONTENT_TYPE.to_string())
            .build(),
    };
    sign1.unprotected.alg = Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256));
    assert!(matches!(
        verify(&sign1.to_tagged_vec().unwrap(), &signers, NOW),
        Err(RefValueError::Unsigned(_))
    ));
    // A P-384 key does not verify an ES256 document, even when the bytes would parse.
    let other = key(&ECDSA_P384_SHA384_FIXED_SIGNING);
    let doc = sign(payload, &pair, None);
    assert!(matches!(
        verify(&doc, &[signer("p384", &other)], NOW),
        Err(RefValueError::BadSignature)
    ));
}

#[test]
fn profiles_scute_does_not_map_are_refused_by_name() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let signers = [signer("acme", &pair)];
    let doc = |profile| sign(corim(profile, vec![tdx_and_sgx_comid()], None), &pair, None);
    let psa = unsupported_text(verify(
        &doc(Some(uri("http://arm.com/psa/2.0.0"))),
        &signers,
        NOW,
    ));
    assert!(psa.contains("http://arm.com/psa/2.0.0"), "{psa}");
    // Intel's profile OID 2.16.840.1.113741.1.16.1, DER content bytes.
    let intel = tag(
        111,
        bytes(&[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x4d, 0x01, 0x10, 0x01]),
    );
    let intel = unsupported_text(verify(&doc(Some(intel)), &signers, NOW));
    assert!(intel.contains("2.16.840.1.113741.1.16.1"), "{intel}");
    let none = unsupported_text(verify(&doc(None), &signers, NOW));
    assert!(none.contains("no profile"), "{none}");
}

#[test]
fn measurements_scute_does_not_map_are_refused_by_name() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let signers = [signer("acme", &pair)];
    let refused = |profile: &str, m: Value| {
        let doc = sign(
            corim(Some(uri(profile)), vec![comid(vec![m])], None),
            &pair,
            None,
        );
        unsupported_text(verify(&doc, &signers, NOW))
    };
    let pcr = refused(
        SCUTE_PROFILE,
        measurement(text("pcr7"), vec![raw(&[0; 32])]),
    );
    assert!(pcr.contains("pcr7"), "{pcr}");
    let tcb = refused(
        SNP_PROFILE,
        measurement(int(647), vec![(int(1), tag(552, int(5)))]),
    );
    assert!(tcb.contains("REPORTED_TCB"), "{tcb}");
    let flags = refused(
        SCUTE_PROFILE,
        measurement(
            text("mr_td"),
            vec![digests(&[(7, &[0xaa; 48])]), (int(3), map(vec![]))],
        ),
    );
    assert!(flags.contains("flags"), "{flags}");
    let md5 = refused(
        SCUTE_PROFILE,
        measurement(text("mr_enclave"), vec![digests(&[(99, &[0; 32])])]),
    );
    assert!(md5.contains("digest algorithm"), "{md5}");
    let masked = refused(
        SCUTE_PROFILE,
        measurement(
            text("host_data"),
            vec![(int(4), tag(563, Value::Array(vec![])))],
        ),
    );
    assert!(masked.contains("masked"), "{masked}");
    let exact_svn = refused(
        SCUTE_PROFILE,
        measurement(text("isv_svn_min"), vec![(int(1), int(3))]),
    );
    assert!(exact_svn.contains("min-svn"), "{exact_svn}");

    // Beyond the measurements: other triples, per-machine environments, dependent CoRIMs.
    let endorsed = map(vec![
        (int(1), map(vec![(int(0), text("c"))])),
        (int(4), map(vec![(int(1), Value::Array(vec![]))])),
    ]);
    let doc = sign(
        corim(Some(uri(SCUTE_PROFILE)), vec![endorsed], None),
        &pair,
        None,
    );
    assert!(unsupported_text(verify(&doc, &signers, NOW)).contains("endorsed-triples"));
    let instance = map(vec![(int(1), tag(560, bytes(b"chip")))]);
    let triple = Value::Array(vec![instance, Value::Array(vec![])]);
    let c = map(vec![
        (int(1), map(vec![(int(0), text("c"))])),
        (int(4), map(vec![(int(0), Value::Array(vec![triple]))])),
    ]);
    let doc = sign(corim(Some(uri(SCUTE_PROFILE)), vec![c], None), &pair, None);
    assert!(unsupported_text(verify(&doc, &signers, NOW)).contains("instance"));
}

#[test]
fn malformed_values_and_documents_are_refused() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let signers = [signer("acme", &pair)];
    let with = |m: Value| {
        let doc = sign(
            corim(Some(uri(SCUTE_PROFILE)), vec![comid(vec![m])], None),
            &pair,
            None,
        );
        verify(&doc, &signers, NOW)
    };
    // A 32-byte digest for the 48-byte MRTD, and a digest shorter than its algorithm.
    assert!(matches!(
        with(measurement(
            text("mr_td"),
            vec![digests(&[(1, &[0xaa; 32])])]
        )),
        Err(RefValueError::Malformed { .. })
    ));
    assert!(matches!(
        with(measurement(
            text("mr_td"),
            vec![digests(&[(7, &[0xaa; 32])])]
        )),
        Err(RefValueError::Malformed { .. })
    ));
    // The same key twice in a measurement-values-map: which one counts is ambiguous.
    assert!(matches!(
        with(measurement(
            text("mr_td"),
            vec![digests(&[(7, &[0xaa; 48])]), digests(&[(7, &[0xbb; 48])])]
        )),
        Err(RefValueError::Malformed { .. })
    ));
    // Oversized, empty, and not CBOR at all.
    let big = vec![0xd2; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        verify(&big, &signers, NOW),
        Err(RefValueError::Malformed { .. })
    ));
    assert!(verify(b"", &signers, NOW).is_err());
    assert!(verify(b"\xd2\x84\x40", &signers, NOW).is_err());
    // A CoRIM whose CoMID holds no reference triple yields nothing to store.
    let empty = map(vec![
        (int(1), map(vec![(int(0), text("c"))])),
        (int(4), map(vec![(int(0), Value::Array(vec![]))])),
    ]);
    let doc = sign(
        corim(Some(uri(SCUTE_PROFILE)), vec![empty], None),
        &pair,
        None,
    );
    assert!(matches!(
        verify(&doc, &signers, NOW),
        Err(RefValueError::Empty)
    ));
}

/// veraison/corim `corim/signedcorim_test.go` at commit
/// 596270d4871a2a4e629f72513250790ce8572454 (`TestSignedCorim_FromCOSE_ok`), byte for byte:
/// a signed CoRIM (ES256, content type application/rim+cbor, kid, corim-meta with signer
/// "ACME Ltd." and not-after 1(1605181526)) holding a PSA CoMID without a profile, with the
/// placeholder signature h'deadbeef'.
const VERAISON_SIGNED_CORIM: &[u8] = &[
    0xd2, 0x84, 0x58, 0x59, 0xa4, 0x01, 0x26, 0x03, 0x74, 0x61, 0x70, 0x70, 0x6c, 0x69, 0x63, 0x61,
    0x74, 0x69, 0x6f, 0x6e, 0x2f, 0x72, 0x69, 0x6d, 0x2b, 0x63, 0x62, 0x6f, 0x72, 0x04, 0x58, 0x24,
    0x6d, 0x65, 0x72, 0x69, 0x61, 0x64, 0x6f, 0x63, 0x2e, 0x62, 0x72, 0x61, 0x6e, 0x64, 0x79, 0x62,
    0x75, 0x63, 0x6b, 0x40, 0x62, 0x75, 0x63, 0x6b, 0x6c, 0x61, 0x6e, 0x64, 0x2e, 0x65, 0x78, 0x61,
    0x6d, 0x70, 0x6c, 0x65, 0x08, 0x57, 0xa2, 0x00, 0xa1, 0x00, 0x69, 0x41, 0x43, 0x4d, 0x45, 0x20,
    0x4c, 0x74, 0x64, 0x2e, 0x01, 0xa1, 0x01, 0xc1, 0x1a, 0x5f, 0xad, 0x20, 0x56, 0xa0, 0x59, 0x01,
    0xb8, 0xa2, 0x00, 0x6d, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6f, 0x72, 0x69, 0x6d, 0x20, 0x69,
    0x64, 0x01, 0x81, 0x59, 0x01, 0xa3, 0xd9, 0x01, 0xfa, 0xa4, 0x00, 0x65, 0x65, 0x6e, 0x2d, 0x47,
    0x42, 0x01, 0xa1, 0x00, 0x50, 0x43, 0xbb, 0xe3, 0x7f, 0x2e, 0x61, 0x4b, 0x33, 0xae, 0xd3, 0x53,
    0xcf, 0xf1, 0x42, 0x8b, 0x16, 0x02, 0x81, 0xa3, 0x00, 0x69, 0x41, 0x43, 0x4d, 0x45, 0x20, 0x4c,
    0x74, 0x64, 0x2e, 0x01, 0xd8, 0x20, 0x74, 0x68, 0x74, 0x74, 0x70, 0x73, 0x3a, 0x2f, 0x2f, 0x61,
    0x63, 0x6d, 0x65, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x02, 0x83, 0x00, 0x01, 0x02,
    0x04, 0xa1, 0x00, 0x81, 0x82, 0xa1, 0x00, 0xa3, 0x00, 0xd9, 0x02, 0x58, 0x58, 0x20, 0x61, 0x63,
    0x6d, 0x65, 0x2d, 0x69, 0x6d, 0x70, 0x6c, 0x65, 0x6d, 0x65, 0x6e, 0x74, 0x61, 0x74, 0x69, 0x6f,
    0x6e, 0x2d, 0x69, 0x64, 0x2d, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x01, 0x64,
    0x41, 0x43, 0x4d, 0x45, 0x02, 0x6a, 0x52, 0x6f, 0x61, 0x64, 0x52, 0x75, 0x6e, 0x6e, 0x65, 0x72,
    0x83, 0xa2, 0x00, 0xd9, 0x02, 0x58, 0xa3, 0x01, 0x62, 0x42, 0x4c, 0x04, 0x65, 0x32, 0x2e, 0x31,
    0x2e, 0x30, 0x05, 0x58, 0x20, 0xac, 0xbb, 0x11, 0xc7, 0xe4, 0xda, 0x21, 0x72, 0x05, 0x52, 0x3c,
    0xe4, 0xce, 0x1a, 0x24, 0x5a, 0xe1, 0xa2, 0x39, 0xae, 0x3c, 0x6b, 0xfd, 0x9e, 0x78, 0x71, 0xf7,
    0xe5, 0xd8, 0xba, 0xe8, 0x6b, 0x01, 0xa1, 0x02, 0x81, 0x82, 0x01, 0x58, 0x20, 0x87, 0x42, 0x8f,
    0xc5, 0x22, 0x80, 0x3d, 0x31, 0x06, 0x5e, 0x7b, 0xce, 0x3c, 0xf0, 0x3f, 0xe4, 0x75, 0x09, 0x66,
    0x31, 0xe5, 0xe0, 0x7b, 0xbd, 0x7a, 0x0f, 0xde, 0x60, 0xc4, 0xcf, 0x25, 0xc7, 0xa2, 0x00, 0xd9,
    0x02, 0x58, 0xa3, 0x01, 0x64, 0x50, 0x52, 0x6f, 0x54, 0x04, 0x65, 0x31, 0x2e, 0x33, 0x2e, 0x35,
    0x05, 0x58, 0x20, 0xac, 0xbb, 0x11, 0xc7, 0xe4, 0xda, 0x21, 0x72, 0x05, 0x52, 0x3c, 0xe4, 0xce,
    0x1a, 0x24, 0x5a, 0xe1, 0xa2, 0x39, 0xae, 0x3c, 0x6b, 0xfd, 0x9e, 0x78, 0x71, 0xf7, 0xe5, 0xd8,
    0xba, 0xe8, 0x6b, 0x01, 0xa1, 0x02, 0x81, 0x82, 0x01, 0x58, 0x20, 0x02, 0x63, 0x82, 0x99, 0x89,
    0xb6, 0xfd, 0x95, 0x4f, 0x72, 0xba, 0xaf, 0x2f, 0xc6, 0x4b, 0xc2, 0xe2, 0xf0, 0x1d, 0x69, 0x2d,
    0x4d, 0xe7, 0x29, 0x86, 0xea, 0x80, 0x8f, 0x6e, 0x99, 0x81, 0x3f, 0xa2, 0x00, 0xd9, 0x02, 0x58,
    0xa3, 0x01, 0x64, 0x41, 0x52, 0x6f, 0x54, 0x04, 0x65, 0x30, 0x2e, 0x31, 0x2e, 0x34, 0x05, 0x58,
    0x20, 0xac, 0xbb, 0x11, 0xc7, 0xe4, 0xda, 0x21, 0x72, 0x05, 0x52, 0x3c, 0xe4, 0xce, 0x1a, 0x24,
    0x5a, 0xe1, 0xa2, 0x39, 0xae, 0x3c, 0x6b, 0xfd, 0x9e, 0x78, 0x71, 0xf7, 0xe5, 0xd8, 0xba, 0xe8,
    0x6b, 0x01, 0xa1, 0x02, 0x81, 0x82, 0x01, 0x58, 0x20, 0xa3, 0xa5, 0xe7, 0x15, 0xf0, 0xcc, 0x57,
    0x4a, 0x73, 0xc3, 0xf9, 0xbe, 0xbb, 0x6b, 0xc2, 0x4f, 0x32, 0xff, 0xd5, 0xb6, 0x7b, 0x38, 0x72,
    0x44, 0xc2, 0xc9, 0x09, 0xda, 0x77, 0x9a, 0x14, 0x78, 0x44, 0xde, 0xad, 0xbe, 0xef,
];

/// The same file's published ES256 test key (`testES256Key`, a JWK: d, x, y).
fn veraison_es256_key() -> EcdsaKeyPair {
    use base64::Engine;
    let b64 = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let d = b64("870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE");
    let mut point = vec![0x04];
    point.extend(b64("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"));
    point.extend(b64("4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"));
    EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &d, &point)
        .unwrap()
}

#[test]
fn veraison_public_signed_corim_decodes_and_is_judged() {
    let pair = veraison_es256_key();
    let signers = [signer("veraison-test", &pair)];
    // As published: its placeholder signature does not verify under the published key.
    assert!(matches!(
        verify(VERAISON_SIGNED_CORIM, &signers, 1_600_000_000),
        Err(RefValueError::BadSignature)
    ));
    // Signed for real with that key over the very same protected header and payload: the
    // signature and corim-meta now pass, and the PSA CoMID, which names no profile, is refused.
    let mut sign1 = CoseSign1::from_tagged_slice(VERAISON_SIGNED_CORIM).unwrap();
    let tbs = sign1.tbs_data(b"");
    sign1.signature = pair
        .sign(&SystemRandom::new(), &tbs)
        .unwrap()
        .as_ref()
        .to_vec();
    let resigned = sign1.to_tagged_vec().unwrap();
    let refused = unsupported_text(verify(&resigned, &signers, 1_600_000_000));
    assert!(refused.contains("no profile"), "{refused}");
    // After corim-meta's not-after (2020-11-12), it is refused as expired first.
    assert!(matches!(
        verify(&resigned, &signers, 1_700_000_000),
        Err(RefValueError::NotValid {
            not_after: Some(1_605_181_526),
            ..
        })
    ));
}

#[test]
fn the_same_signed_corim_with_another_unprotected_header_is_the_same_document() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let signers = [signer("acme", &pair)];
    let doc = sign(
        corim(Some(uri(SCUTE_PROFILE)), vec![tdx_and_sgx_comid()], None),
        &pair,
        None,
    );
    let mut twin = CoseSign1::from_tagged_slice(&doc).unwrap();
    twin.unprotected = HeaderBuilder::new()
        .key_id(b"another hint".to_vec())
        .build();
    let twin = twin.to_tagged_vec().unwrap();
    assert_ne!(twin, doc);
    assert_eq!(
        verify(&doc, &signers, NOW)
            .unwrap()
            .provenance
            .document_digest,
        verify(&twin, &signers, NOW)
            .unwrap()
            .provenance
            .document_digest
    );
}

#[test]
fn a_corim_naming_two_environments_is_refused() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let signers = [signer("acme", &pair)];
    let environment = |name: &str| {
        map(vec![(
            int(0),
            map(vec![(int(1), text("Example")), (int(2), text(name))]),
        )])
    };
    let triple = |name: &str, mr_td: u8| {
        Value::Array(vec![
            environment(name),
            Value::Array(vec![measurement(
                text("mr_td"),
                vec![digests(&[(7, &[mr_td; 48])])],
            )]),
        ])
    };
    let comid_with = |triples: Vec<Value>, id: &str| {
        map(vec![
            (int(1), map(vec![(int(0), text(id))])),
            (int(4), map(vec![(int(0), Value::Array(triples))])),
        ])
    };
    // Two environments in one CoMID, and in two CoMIDs of one CoRIM.
    for comids in [
        vec![comid_with(
            vec![triple("TD-A", 0xaa), triple("TD-B", 0xbb)],
            "c",
        )],
        vec![
            comid_with(vec![triple("TD-A", 0xaa)], "c1"),
            comid_with(vec![triple("TD-B", 0xbb)], "c2"),
        ],
    ] {
        let doc = sign(corim(Some(uri(SCUTE_PROFILE)), comids, None), &pair, None);
        let why = unsupported_text(verify(&doc, &signers, NOW));
        assert!(why.contains("more than one environment"), "{why}");
    }
    // One environment in two triples and two CoMIDs is one environment.
    let doc = sign(
        corim(
            Some(uri(SCUTE_PROFILE)),
            vec![
                comid_with(vec![triple("TD-A", 0xaa), triple("TD-A", 0xab)], "c1"),
                comid_with(vec![triple("TD-A", 0xac)], "c2"),
            ],
            None,
        ),
        &pair,
        None,
    );
    let got = verify(&doc, &signers, NOW).unwrap();
    assert_eq!(got.values["mr_td"].len(), 3);
}

#[test]
fn a_corim_map_with_a_key_twice_is_refused() {
    let pair = key(&ECDSA_P256_SHA256_FIXED_SIGNING);
    let signers = [signer("acme", &pair)];
    let comid_bytes = tag(506, bytes(&cbor(&tdx_and_sgx_comid())));
    // rim-validity twice: the first says valid now, the second expired.
    let corim_map = map(vec![
        (int(0), text("corim-1")),
        (int(1), Value::Array(vec![comid_bytes])),
        (int(3), uri(SCUTE_PROFILE)),
        (int(4), validity(None, NOW + 1000)),
        (int(4), validity(None, NOW - 1000)),
    ]);
    let doc = sign(cbor(&tag(501, corim_map)), &pair, None);
    match verify(&doc, &signers, NOW) {
        Err(RefValueError::Malformed { detail, .. }) => {
            assert!(detail.contains("corim-map has the key"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}
