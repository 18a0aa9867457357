//! Signed CoRIM on arbitrary bytes, two ways, with one fixed signer: the bytes as a whole
//! document (never panics, never verifies: nothing here is signed by that key), and the bytes
//! as a CoRIM payload that the harness signs as a COSE_Sign1, so the CoRIM/CoMID decoder and the
//! profile mapping behind the signature check are reached. Oracle: whatever is accepted is
//! non-empty, names only non-empty value lists, and carries the signer's name.
#![no_main]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use ciborium::Value;
use coset::{iana, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use libfuzzer_sys::fuzz_target;
use scute_fuzz::seed;
use scute_refvalues::{corim, Signer};
use std::sync::OnceLock;

const NOW: i64 = 1_750_000_000;

fn key() -> &'static (EcdsaKeyPair, Vec<Signer>) {
    static KEY: OnceLock<(EcdsaKeyPair, Vec<Signer>)> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
        let signers = vec![Signer {
            name: "fuzz".into(),
            spki,
        }];
        (pair, signers)
    })
}

fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).unwrap();
    out
}

/// A CoRIM in Scute's profile with an MRTD digest: the seed the payload path mutates.
fn seed_corim() -> Vec<u8> {
    let int = |i: i64| Value::Integer(i.into());
    let tag = |t: u64, v: Value| Value::Tag(t, Box::new(v));
    let measurement = Value::Map(vec![
        (int(0), Value::Text("mr_td".into())),
        (
            int(1),
            Value::Map(vec![(
                int(2),
                Value::Array(vec![Value::Array(vec![
                    int(7),
                    Value::Bytes(vec![0xaa; 48]),
                ])]),
            )]),
        ),
    ]);
    let triple = Value::Array(vec![
        Value::Map(vec![(
            int(0),
            Value::Map(vec![(int(1), Value::Text("Intel".into()))]),
        )]),
        Value::Array(vec![measurement]),
    ]);
    let comid = Value::Map(vec![
        (int(1), Value::Map(vec![(int(0), Value::Text("c".into()))])),
        (
            int(4),
            Value::Map(vec![(int(0), Value::Array(vec![triple]))]),
        ),
    ]);
    cbor(&tag(
        501,
        Value::Map(vec![
            (int(0), Value::Text("corim".into())),
            (
                int(1),
                Value::Array(vec![tag(506, Value::Bytes(cbor(&comid)))]),
            ),
            (
                int(3),
                tag(32, Value::Text("urn:scute:corim:reference-values".into())),
            ),
        ]),
    ))
}

fuzz_target!(
    init: seed([("scute-profile".to_string(), seed_corim())]),
    |data: &[u8]| {
        let (pair, signers) = key();
        assert!(
            corim::verify(data, signers, NOW).is_err(),
            "bytes the harness never signed verified"
        );
        let signed = CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES256)
                    .content_type("application/rim+cbor".to_string())
                    .build(),
            )
            .payload(data.to_vec())
            .create_signature(b"", |tbs| pair.sign(&SystemRandom::new(), tbs).unwrap().as_ref().to_vec())
            .build()
            .to_tagged_vec()
            .unwrap();
        if let Ok(values) = corim::verify(&signed, signers, NOW) {
            assert!(!values.values.is_empty());
            assert!(values.values.values().all(|list| !list.is_empty()));
            assert_eq!(values.provenance.signer, "fuzz");
        }
    }
);
