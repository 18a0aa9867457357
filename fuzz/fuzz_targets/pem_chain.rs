//! PEM certificate-chain decoding as collateral verification meets it: one issuer chain of a
//! genuine set (TCB Info, QE Identity or PCK CRL, chosen by the first byte) replaced by hostile
//! text, under `verify_collateral`; and the same text as a trust root. Never panics; an
//! accepted chain is made of certificates Intel signed (same to-be-signed bytes and signature
//! as genuine ones), and with the genuine windows the genuine quote's verdict does not change.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_dcap::{verify_collateral, TrustAnchor};
use scute_fuzz::{dcap_cases, seed, signed_parts, DcapCase};
use std::collections::HashSet;
use std::sync::OnceLock;

struct Fixture {
    anchor: TrustAnchor,
    cases: Vec<DcapCase>,
    genuine: HashSet<(Vec<u8>, Vec<u8>)>,
}

const SLOTS: u8 = 3;

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let cases = dcap_cases();
        let genuine = cases
            .iter()
            .flat_map(|c| {
                let k = &c.collateral;
                [
                    &k.tcb_info_issuer_chain,
                    &k.qe_identity_issuer_chain,
                    &k.pck_crl_issuer_chain,
                ]
                .into_iter()
                .flat_map(|pem| signed_parts(pem))
                .collect::<Vec<_>>()
            })
            .collect();
        Fixture {
            anchor: TrustAnchor::intel_sgx_root(),
            cases,
            genuine,
        }
    })
}

fuzz_target!(
    init: {
        let f = fixture();
        assert!(!f.cases.is_empty(), "no DCAP vectors under ../shared/vectors");
        let mut seeds = Vec::new();
        for (i, case) in f.cases.iter().enumerate() {
            let k = &case.collateral;
            let chains = [&k.tcb_info_issuer_chain, &k.qe_identity_issuer_chain, &k.pck_crl_issuer_chain];
            for (slot, chain) in (0u8..).zip(chains) {
                let mut seed = vec![u8::try_from(i).expect("few DCAP cases") * SLOTS + slot];
                seed.extend_from_slice(chain);
                seeds.push((format!("{}-{slot}", case.name), seed));
            }
        }
        seed(seeds);
    },
    |data: &[u8]| {
        let Some((&selector, pem)) = data.split_first() else {
            return;
        };
        let f = fixture();
        // The same text as a configured trust root (`--root`): decoding alone must hold up.
        let _ = TrustAnchor::from_certificate(pem);
        let Some(case) = f.cases.get(usize::from(selector / SLOTS) % f.cases.len()) else {
            return;
        };
        let mut collateral = case.collateral.clone();
        match selector % SLOTS {
            0 => collateral.tcb_info_issuer_chain = pem.to_vec(),
            1 => collateral.qe_identity_issuer_chain = pem.to_vec(),
            _ => collateral.pck_crl_issuer_chain = pem.to_vec(),
        }
        let Ok(verified) = verify_collateral(&collateral, &f.anchor) else {
            return;
        };
        for part in signed_parts(pem) {
            assert!(
                f.genuine.contains(&part),
                "{}: an accepted chain holds a certificate Intel did not sign",
                case.name
            );
        }
        // A re-issued genuine certificate may bring other dates; judge the verdict when the
        // windows are the genuine ones.
        if verified.joint_validity() != case.verified.joint_validity() {
            return;
        }
        assert_eq!(
            case.verdict(&verified),
            case.verdict(&case.verified),
            "{}: an accepted chain changed the verdict",
            case.name
        );
    }
);
