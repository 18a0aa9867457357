//! One test per rejection kind, on real vectors: the quote is decoded, one field is changed,
//! and it is encoded again, so each test names the field it tampers with.

use scute_dcap::{verify, Collateral, DcapError, TrustAnchor, VerifyOptions};
use scute_quote::{Body, Quote};
use std::path::PathBuf;

fn case_dir(case: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(case);
    assert!(dir.is_dir(), "test vector {} not found", dir.display());
    dir
}

struct Case {
    quote: Quote,
    collateral: Collateral,
    at: i64,
}

fn case(name: &str) -> Case {
    let dir = case_dir(name);
    let quote = Quote::decode(&std::fs::read(dir.join("quote.bin")).unwrap()).unwrap();
    let collateral = Collateral::from_files(|f| std::fs::read(dir.join(f)).ok()).unwrap();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    Case {
        quote,
        collateral,
        at: expected["verify_time_unix"].as_i64().unwrap(),
    }
}

fn run(c: &Case, quote: &Quote) -> Result<scute_dcap::VerifiedQuote, DcapError> {
    verify(
        &quote.encode(),
        &c.collateral,
        &TrustAnchor::intel_sgx_root(),
        c.at,
        VerifyOptions::default(),
    )
}

fn kind_after(name: &str, tamper: impl Fn(&mut Quote)) -> &'static str {
    let c = case(name);
    run(&c, &c.quote).expect("the untampered quote verifies");
    let mut quote = c.quote.clone();
    tamper(&mut quote);
    run(&c, &quote).unwrap_err().kind()
}

const SGX: &str = "dcapqvl-sgx-v3";
const TDX: &str = "dcapqvl-tdx-v4";

#[test]
fn tampered_header_breaks_the_quote_signature() {
    for name in [SGX, TDX] {
        assert_eq!(
            kind_after(name, |q| q.header.user_data[19] ^= 1),
            "quote_signature"
        );
    }
}

#[test]
fn tampered_body_breaks_the_quote_signature() {
    assert_eq!(
        kind_after(SGX, |q| if let Body::Sgx(r) = &mut q.body {
            r.mr_enclave[0] ^= 1
        }),
        "quote_signature"
    );
    assert_eq!(
        kind_after(TDX, |q| if let Body::Td10(r) = &mut q.body {
            r.rtmr[3][47] ^= 1
        }),
        "quote_signature"
    );
}

#[test]
fn tampered_signatures_are_rejected() {
    assert_eq!(
        kind_after(TDX, |q| q.signature.signature[5] ^= 1),
        "quote_signature"
    );
    assert_eq!(
        kind_after(SGX, |q| q.signature.qe_report_signature[5] ^= 1),
        "qe_report_signature"
    );
}

#[test]
fn a_swapped_attestation_key_is_not_bound_by_the_qe() {
    assert_eq!(
        kind_after(TDX, |q| q.signature.attestation_key[0] ^= 1),
        "qe_report_data"
    );
}

#[test]
fn tampered_qe_report_and_auth_data_are_rejected() {
    assert_eq!(
        kind_after(SGX, |q| q.signature.qe_report.isv_svn += 1),
        "qe_report_signature"
    );
    assert_eq!(
        kind_after(TDX, |q| q.signature.qe_auth_data.push(0)),
        "qe_report_data"
    );
}

#[test]
fn tampered_certification_data_is_rejected() {
    // Flip one base64 character inside the PCK leaf certificate.
    let kind = kind_after(TDX, |q| {
        let data = &mut q.signature.certification_data.data;
        let at = data.windows(5).position(|w| w == b"MIIE8").unwrap() + 200;
        data[at] = if data[at] == b'A' { b'B' } else { b'A' };
    });
    assert_eq!(kind, "certificate_invalid");
    let kind = kind_after(TDX, |q| q.signature.certification_data.cert_type = 3);
    assert_eq!(kind, "pck_chain_missing");
}

#[test]
fn a_different_root_is_not_trusted() {
    let c = case(TDX);
    let other =
        std::fs::read(case_dir("intelqvl-sample-tdx-v4").join("trusted_root_ca.der")).unwrap();
    let anchor = TrustAnchor::from_certificate(&other).unwrap();
    let err = verify(
        &c.quote.encode(),
        &c.collateral,
        &anchor,
        c.at,
        VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DcapError::UntrustedRoot { .. }), "{err:?}");
}

#[test]
fn expired_and_not_yet_valid_collateral_are_rejected() {
    let c = case(SGX);
    let v = run(&c, &c.quote).unwrap();
    let expires = v.collateral_expires();
    let verify_at = |at| {
        verify(
            &c.quote.encode(),
            &c.collateral,
            &TrustAnchor::intel_sgx_root(),
            at,
            VerifyOptions::default(),
        )
    };
    assert!(verify_at(expires).is_ok());
    assert_eq!(
        verify_at(expires + 1).unwrap_err().kind(),
        "collateral_expired"
    );
    assert_eq!(
        verify_at(c.at - 1).unwrap_err().kind(),
        "collateral_not_yet_valid"
    );
}

#[test]
fn tampered_collateral_signatures_are_rejected() {
    let mut c = case(TDX);
    let text = String::from_utf8(c.collateral.tcb_info.clone()).unwrap();
    let edited = text.replacen("\"pcesvn\":11", "\"pcesvn\":12", 1);
    assert!(edited != text, "the edit took effect");
    c.collateral.tcb_info = edited.into_bytes();
    assert!(matches!(
        run(&c, &c.quote),
        Err(DcapError::CollateralSignature { item: "TCB Info" })
    ));

    let mut c = case(TDX);
    let text = String::from_utf8(c.collateral.qe_identity.clone()).unwrap();
    let edited = text.replacen("\"isvprodid\":2", "\"isvprodid\":3", 1);
    assert!(edited != text, "the edit took effect");
    c.collateral.qe_identity = edited.into_bytes();
    assert!(matches!(
        run(&c, &c.quote),
        Err(DcapError::CollateralSignature {
            item: "QE Identity"
        })
    ));
}

#[test]
fn collateral_for_another_platform_is_rejected() {
    // A genuine v5 quote from FMSPC 90C06F000000 against genuine collateral for B0C06F000000.
    let other = case("composite-gotdxv5-v5+dcapqvl-coll");
    let c = case("dcapqvl-tdx-v5-td15ex");
    let mut collateral = c.collateral.clone();
    collateral.pck_chain = None;
    let err = verify(
        &other.quote.encode(),
        &collateral,
        &TrustAnchor::intel_sgx_root(),
        c.at,
        VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, DcapError::PlatformMismatch { field: "FMSPC", .. }),
        "{err:?}"
    );
}

#[test]
fn collateral_for_the_other_tee_is_rejected() {
    let sgx = case(SGX);
    let tdx = case(TDX);
    let err = verify(
        &sgx.quote.encode(),
        &tdx.collateral,
        &TrustAnchor::intel_sgx_root(),
        tdx.at,
        VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DcapError::TeeMismatch { .. }), "{err:?}");
}

#[test]
fn debug_and_td_attribute_policies_can_be_relaxed_explicitly() {
    let c = case("composite-aztdx-v4+dcaprs-coll");
    let bytes = c.quote.encode();
    let anchor = TrustAnchor::intel_sgx_root();
    let strict = verify(
        &bytes,
        &c.collateral,
        &anchor,
        c.at,
        VerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        strict,
        DcapError::TdAttributes("SEPT_VE_DISABLE is not set")
    );
    let relaxed = VerifyOptions {
        dangerous_allow_sept_ve: true,
        ..VerifyOptions::default()
    };
    assert_eq!(
        verify(&bytes, &c.collateral, &anchor, c.at, relaxed)
            .unwrap()
            .tcb_status()
            .name(),
        "OutOfDate"
    );
}

#[test]
fn non_up_to_date_verdicts_explain_the_shortfall() {
    let c = case("automata-dcaprs-tdx-v4");
    let v = run(&c, &c.quote).unwrap();
    assert_eq!(v.tcb_status().name(), "OutOfDate");
    assert!(!v.shortfalls().is_empty());
    assert!(v.shortfalls().iter().all(|s| s.have < s.newest));
    let c = case("composite-cos113-tdx-v4+dcaprs-coll");
    assert!(run(&c, &c.quote).unwrap().shortfalls().is_empty());
}

#[test]
fn a_root_certificate_with_the_pinned_key_but_altered_bytes_is_rejected() {
    // Found by the verify_quote fuzz target: one base64 character of the root's serial number
    // in the quote's PCK chain. The key is still Intel's, the certificate is not.
    let kind = kind_after(TDX, |q| {
        let data = &mut q.signature.certification_data.data;
        let at = data
            .windows(9)
            .position(|w| w == b"IUImUM1lq")
            .expect("the root's serial")
            + 6;
        data[at] = b'0';
    });
    // A root is the pinned certificate byte for byte, or it is not trusted.
    assert_eq!(kind, "untrusted_root");
}

#[test]
fn the_embedded_root_is_intels_production_root() {
    let c = case(TDX);
    // The root certificate that Intel's own chains carry, byte for byte.
    let pem = String::from_utf8(c.collateral.tcb_info_issuer_chain.clone()).unwrap();
    let from_chain = TrustAnchor::from_certificate(
        pem.rsplit_once("-----BEGIN")
            .map(|(_, r)| format!("-----BEGIN{r}"))
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(from_chain, TrustAnchor::intel_sgx_root());
}
