//! The whole per-quote verification path (PCK chain from the quote, X.509, SGX extension,
//! signatures, TDX and SGX TCB matching) on hostile quote bytes against real collateral: never
//! panics, and whatever verifies carries exactly a genuine quote's signed content and certificates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_dcap::{verify_collateral, Collateral, TrustAnchor, VerifiedCollateral, VerifyOptions};
use scute_quote::Quote;
use std::sync::OnceLock;

macro_rules! collateral {
    ($case:literal) => {{
        macro_rules! file {
            ($file:literal) => {
                include_bytes!(concat!("../../../shared/vectors/", $case, "/", $file)).to_vec()
            };
        }
        Collateral {
            tcb_info: file!("tcb_info.json"),
            tcb_info_issuer_chain: file!("tcb_info_issuer_chain.pem"),
            qe_identity: file!("qe_identity.json"),
            qe_identity_issuer_chain: file!("qe_identity_issuer_chain.pem"),
            pck_crl: file!("pck_crl.der"),
            pck_crl_issuer_chain: file!("pck_crl_issuer_chain.pem"),
            root_ca_crl: file!("root_ca_crl.der"),
            pck_chain: None,
        }
    }};
}

/// A real vector: its quote, its collateral verified once, and an instant where it verifies.
struct Case {
    genuine: Quote,
    collateral: VerifiedCollateral,
    at: i64,
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let anchor = TrustAnchor::intel_sgx_root();
        let case = |quote: &[u8], collateral: Collateral, at: i64| Case {
            genuine: Quote::decode(quote).expect("genuine quote"),
            collateral: verify_collateral(&collateral, &anchor).expect("the collateral verifies"),
            at,
        };
        vec![
            case(
                include_bytes!("../../../shared/vectors/dcapqvl-tdx-v4/quote.bin"),
                collateral!("dcapqvl-tdx-v4"),
                1_750_329_147,
            ),
            case(
                include_bytes!("../../../shared/vectors/dcapqvl-sgx-v3/quote.bin"),
                collateral!("dcapqvl-sgx-v3"),
                1_750_330_571,
            ),
        ]
    })
}

/// The DER of each CERTIFICATE block of a PEM bundle, in a canonical order: the verifier orders
/// chains by their names (root-first bundles are fine) and skips blocks of other labels.
fn certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    let mut ders: Vec<Vec<u8>> = x509_parser::pem::Pem::iter_from_buffer(pem)
        .filter_map(|p| p.ok())
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .collect();
    ders.sort();
    ders
}

fuzz_target!(|data: &[u8]| {
    for case in cases() {
        let Ok(verified) = case
            .collateral
            .verify_quote(data, case.at, VerifyOptions::default())
        else {
            continue;
        };
        // Certification data is not signed, so its PEM text may vary (line breaks, block order,
        // other blocks); the attested content and the certificates it holds may not.
        let genuine = &case.genuine;
        let got = verified.quote();
        assert_eq!(got.header, genuine.header);
        assert_eq!(got.body, genuine.body);
        let (a, b) = (&got.signature, &genuine.signature);
        assert_eq!(
            (
                a.signature,
                a.attestation_key,
                &a.qe_report,
                a.qe_report_signature,
                &a.qe_auth_data
            ),
            (
                b.signature,
                b.attestation_key,
                &b.qe_report,
                b.qe_report_signature,
                &b.qe_auth_data
            )
        );
        assert_eq!(
            certificates(&a.certification_data.data),
            certificates(&b.certification_data.data),
            "a verified quote carries certificates other than the genuine ones"
        );
    }
});
