//! CRL decoding (DER or PEM) as collateral verification meets it: one CRL of a genuine set
//! (the Root CA CRL or the PCK CRL, chosen by the first byte) replaced by hostile bytes, under
//! `verify_collateral`. Never panics; an accepted CRL is one its issuer signed: some genuine set
//! holds the same CRL number, and with the genuine number and windows the genuine quote's
//! verdict does not change.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_dcap::{verify_collateral, TrustAnchor};
use scute_fuzz::{dcap_cases, pem, seed, DcapCase};
use std::sync::OnceLock;

fn fixture() -> &'static (TrustAnchor, Vec<DcapCase>) {
    static FIXTURE: OnceLock<(TrustAnchor, Vec<DcapCase>)> = OnceLock::new();
    FIXTURE.get_or_init(|| (TrustAnchor::intel_sgx_root(), dcap_cases()))
}

fuzz_target!(
    init: {
        let (_, cases) = fixture();
        assert!(!cases.is_empty(), "no DCAP vectors under ../shared/vectors");
        let mut seeds = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let index = u8::try_from(i).expect("fewer than 128 DCAP cases");
            for (slot, der) in [(0u8, &case.collateral.root_ca_crl), (1, &case.collateral.pck_crl)] {
                let selector = index * 2 + slot;
                let mut raw = vec![selector];
                raw.extend_from_slice(der);
                let mut wrapped = vec![selector];
                wrapped.extend(pem("X509 CRL", der));
                seeds.push((format!("{}-{slot}-der", case.name), raw));
                seeds.push((format!("{}-{slot}-pem", case.name), wrapped));
            }
        }
        seed(seeds);
    },
    |data: &[u8]| {
        let Some((&selector, crl)) = data.split_first() else {
            return;
        };
        let (anchor, cases) = fixture();
        let Some(case) = cases.get(usize::from(selector / 2) % cases.len()) else {
            return;
        };
        let root_slot = selector % 2 == 0;
        let mut collateral = case.collateral.clone();
        if root_slot {
            collateral.root_ca_crl = crl.to_vec();
        } else {
            collateral.pck_crl = crl.to_vec();
        }
        let Ok(verified) = verify_collateral(&collateral, anchor) else {
            return;
        };
        let (pck, root) = verified.crl_numbers();
        let (genuine_pck, genuine_root) = case.verified.crl_numbers();
        let number = if root_slot { (root, genuine_root) } else { (pck, genuine_pck) };
        // Another genuine CRL of the same issuer (from another set, or a re-issue with new
        // dates) may be accepted; the verdict must be the genuine one when the CRL carries the
        // same number and leaves every validity window as it was.
        if number.0 == number.1 && verified.joint_validity() == case.verified.joint_validity() {
            assert_eq!(
                case.verdict(&verified),
                case.verdict(&case.verified),
                "{}: an accepted CRL with the genuine number changed the verdict",
                case.name
            );
        } else if number.0 != number.1 {
            let known = cases.iter().any(|c| {
                let (p, r) = c.verified.crl_numbers();
                if root_slot { r == number.0 } else { p == number.0 }
            });
            assert!(known, "{}: accepted a CRL numbered {:?}, which no genuine set holds", case.name, number.0);
        }
    }
);
