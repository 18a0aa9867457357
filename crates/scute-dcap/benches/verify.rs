//! Quote verification throughput on one core. `verify/cold/<case>`: collateral decoded and
//! checked on every call; `verify/warm/<case>`: collateral checked once, then quotes only.
//! Baselines measured in the same run: `verify/dcap-qvl/<case>` (the dcap-qvl crate, one-shot)
//! and `verify/floor/p256-signature` (one ECDSA-P256 verification with aws-lc-rs; a warm quote
//! needs one: its QE report signature is remembered under the PCK key after the first).
// A measuring harness stops at the first broken assumption: it may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scute_dcap::{verify, verify_collateral, Collateral, TrustAnchor, VerifyOptions};
use std::hint::black_box;
use std::path::PathBuf;

use scute_test::dcap_qvl::dcap_qvl_collateral;

struct Case {
    name: &'static str,
    quote: Vec<u8>,
    collateral: Collateral,
    at: i64,
}

fn load(name: &'static str) -> Case {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(name);
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).expect("expected.json"))
            .expect("json");
    Case {
        name,
        quote: std::fs::read(dir.join("quote.bin")).expect("quote.bin"),
        collateral: Collateral::from_files(|f| std::fs::read(dir.join(f)).ok())
            .expect("collateral"),
        at: expected["verify_time_unix"]
            .as_i64()
            .expect("verify_time_unix"),
    }
}

fn bench(c: &mut Criterion) {
    let anchor = TrustAnchor::intel_sgx_root();
    let options = VerifyOptions::default();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    for case in [load("dcapqvl-sgx-v3"), load("dcapqvl-tdx-v4")] {
        verify(&case.quote, &case.collateral, &anchor, case.at, options)
            .expect("the case verifies");
        group.bench_function(BenchmarkId::new("cold", case.name), |b| {
            b.iter(|| {
                verify(
                    black_box(&case.quote),
                    &case.collateral,
                    &anchor,
                    case.at,
                    options,
                )
            })
        });
        let warm = verify_collateral(&case.collateral, &anchor).expect("collateral verifies");
        group.bench_function(BenchmarkId::new("warm", case.name), |b| {
            b.iter(|| warm.verify_quote(black_box(&case.quote), case.at, options))
        });
        let qvl_collateral = dcap_qvl_collateral(&case.collateral);
        let qvl = dcap_qvl::verify::QuoteVerifier::new_prod();
        qvl.verify(&case.quote, &qvl_collateral, case.at as u64)
            .expect("dcap-qvl verifies it too");
        group.bench_function(BenchmarkId::new("dcap-qvl", case.name), |b| {
            b.iter(|| qvl.verify(black_box(&case.quote), &qvl_collateral, case.at as u64))
        });
    }
    // One P-256 signature check: the QE report signature of the SGX case, with ring.
    let case = load("dcapqvl-sgx-v3");
    let quote = scute_quote::Quote::decode(&case.quote).expect("quote");
    let pem = quote
        .signature
        .certification_data
        .pck_chain_pem()
        .expect("chain")
        .to_vec();
    let leaf = x509_parser::pem::Pem::iter_from_buffer(&pem)
        .next()
        .expect("a block")
        .expect("pem");
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf.contents).expect("cert");
    let key = cert.public_key().subject_public_key.data.to_vec();
    let message = quote.signature.qe_report.to_bytes();
    let sig = quote.signature.qe_report_signature;
    group.bench_function("floor/p256-signature", |b| {
        b.iter(|| {
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                &key,
            )
            .verify(black_box(&message), &sig)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
