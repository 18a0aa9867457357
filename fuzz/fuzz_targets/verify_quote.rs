//! The whole per-quote verification path (PCK chain from the quote, X.509, SGX extension,
//! signatures, TCB matching) on hostile quote bytes against real collateral: never panics, and
//! whatever verifies carries exactly the genuine quote's signed content and certificates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_dcap::{verify_collateral, Collateral, TrustAnchor, VerifiedCollateral, VerifyOptions};
use scute_quote::Quote;
use std::sync::OnceLock;

macro_rules! vector {
    ($file:literal) => {
        include_bytes!(concat!("../../../shared/vectors/dcapqvl-tdx-v4/", $file)).to_vec()
    };
}

const GENUINE: &[u8] = include_bytes!("../../../shared/vectors/dcapqvl-tdx-v4/quote.bin");
const AT: i64 = 1_750_329_147;

fn collateral() -> &'static VerifiedCollateral {
    static WARM: OnceLock<VerifiedCollateral> = OnceLock::new();
    WARM.get_or_init(|| {
        let collateral = Collateral {
            tcb_info: vector!("tcb_info.json"),
            tcb_info_issuer_chain: vector!("tcb_info_issuer_chain.pem"),
            qe_identity: vector!("qe_identity.json"),
            qe_identity_issuer_chain: vector!("qe_identity_issuer_chain.pem"),
            pck_crl: vector!("pck_crl.der"),
            pck_crl_issuer_chain: vector!("pck_crl_issuer_chain.pem"),
            root_ca_crl: vector!("root_ca_crl.der"),
            pck_chain: None,
        };
        verify_collateral(&collateral, &TrustAnchor::intel_sgx_root())
            .expect("the vector's collateral verifies")
    })
}

/// The DER of each certificate in a PEM bundle.
fn certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .filter_map(|p| p.ok())
        .map(|p| p.contents)
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(verified) = collateral().verify_quote(data, AT, VerifyOptions::default()) else {
        return;
    };
    // Certification data is not signed, so its PEM text may vary (line breaks, padding); the
    // attested content and the certificates it decodes to may not.
    let genuine = Quote::decode(GENUINE).expect("genuine quote");
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
});
