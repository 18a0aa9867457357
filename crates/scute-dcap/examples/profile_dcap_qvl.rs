//! The same loop as profile_cold, through dcap-qvl: a baseline for profilers.
// A measuring harness stops at the first broken assumption: it may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::collections::BTreeMap;
use std::path::PathBuf;

fn main() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/dcapqvl-tdx-v4");
    let read = |f: &str| std::fs::read(dir.join(f)).expect("file");
    let text = |f: &str| String::from_utf8(read(f)).expect("utf-8");
    let split = |f: &str, key: &str| {
        let outer: BTreeMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_slice(&read(f)).expect("json");
        let sig: String = serde_json::from_str(outer["signature"].get()).expect("sig");
        (outer[key].get().to_string(), hex::decode(sig).expect("hex"))
    };
    let (tcb_info, tcb_info_signature) = split("tcb_info.json", "tcbInfo");
    let (qe_identity, qe_identity_signature) = split("qe_identity.json", "enclaveIdentity");
    let collateral = dcap_qvl::QuoteCollateralV3 {
        pck_crl_issuer_chain: text("pck_crl_issuer_chain.pem"),
        root_ca_crl: read("root_ca_crl.der"),
        pck_crl: read("pck_crl.der"),
        tcb_info_issuer_chain: text("tcb_info_issuer_chain.pem"),
        tcb_info,
        tcb_info_signature,
        qe_identity_issuer_chain: text("qe_identity_issuer_chain.pem"),
        qe_identity,
        qe_identity_signature,
        pck_certificate_chain: None,
    };
    let quote = read("quote.bin");
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let verifier = dcap_qvl::verify::QuoteVerifier::new_prod();
    for _ in 0..iterations {
        verifier
            .verify(&quote, &collateral, 1_750_329_147)
            .expect("verifies");
    }
}
