//! The whole per-quote verification path (PCK chain from the quote, X.509, SGX extension,
//! signatures, TCB matching) on hostile quote bytes against real collateral: never panics, and
//! a mutated quote never verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_dcap::{verify_collateral, Collateral, TrustAnchor, VerifiedCollateral, VerifyOptions};
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
        verify_collateral(&collateral, &TrustAnchor::intel_sgx_root()).expect("the vector's collateral verifies")
    })
}

fuzz_target!(|data: &[u8]| {
    let verdict = collateral().verify_quote(data, AT, VerifyOptions::default());
    if verdict.is_ok() {
        // Only the genuine quote (with at most zero padding) may verify.
        assert!(data.starts_with(GENUINE.strip_suffix(&[0]).unwrap_or(GENUINE)) || data == GENUINE);
    }
});
