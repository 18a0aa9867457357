//! PEM certificate-chain decoding as collateral verification meets it: one issuer chain of a
//! genuine set (TCB Info, QE Identity or PCK CRL, chosen by the first byte) replaced by hostile
//! text, under `verify_collateral`; and the same text as a trust root. Never panics; an
//! accepted chain is made of certificates Intel signed (same to-be-signed bytes and signature
//! as genuine ones), and it changes the genuine quote's verdict only through its validity
//! windows (see the oracle below). Seeds: each set's own chains, and each set with the chains
//! of every other set (genuine Intel certificates of other periods).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_dcap::{verify_collateral, DcapError, TrustAnchor, VerifiedCollateral};
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
        let chains = |c: &DcapCase| {
            let k = &c.collateral;
            [k.tcb_info_issuer_chain.clone(), k.qe_identity_issuer_chain.clone(), k.pck_crl_issuer_chain.clone()]
        };
        for (i, case) in f.cases.iter().enumerate() {
            let selector = |slot: u8| u8::try_from(i).expect("few DCAP cases") * SLOTS + slot;
            for (slot, chain) in (0u8..).zip(chains(case)) {
                seeds.push((format!("{}-{slot}", case.name), [&[selector(slot)][..], chain.as_slice()].concat()));
            }
            // Another set's genuine chains in this set: certificates of other periods (the
            // stale-CRL set with a later QE Identity signer is how the oracle once tripped).
            for other in f.cases.iter().filter(|o| o.name != case.name) {
                for (slot, chain) in (0u8..).zip(chains(other)) {
                    if chain != chains(case)[usize::from(slot)] {
                        let name = format!("{}-{slot}-from-{}", case.name, other.name);
                        seeds.push((name, [&[selector(slot)][..], chain.as_slice()].concat()));
                    }
                }
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
        // What must hold. An accepted chain is Intel's certificates, so it can change the
        // verdict only through their validity windows (a genuine certificate of another period
        // brings other dates). The verdict is judged at the case's instant `at`:
        // - every window of both sets holds at `at`: the verdict is the genuine one, acceptance
        //   (same TCB status) and refusal (same error) alike;
        // - some window of the set with this chain does not hold: a refusal, for time or the
        //   genuine refusal itself when that comes first (a quote that does not decode is
        //   refused before any window is judged). A refusal stays a refusal; an acceptance is
        //   refused only because the windows moved. Which item a refusal for time names may
        //   differ from the genuine one's: with several items out of their windows the
        //   verifier names the first in its fixed order of steps (`check_all_valid`), and this
        //   chain may put one earlier in that order (the stale-CRL set's expired PCK CRL vs a
        //   QE Identity signer of a later period, "not yet valid"); both are refusals for time;
        // - the genuine set is out of its windows but this one is not: the windows that failed
        //   were this chain's, and a current certificate of Intel's legitimately cures a
        //   refusal for time; a refusal that came before the windows stays exactly that.
        let genuine = case.verdict(&case.verified);
        let got = case.verdict(&verified);
        let holds_at = |v: &VerifiedCollateral| {
            v.joint_validity()
                .is_some_and(|(from, to)| from <= case.at && case.at <= to)
        };
        let for_time = |r: &Result<String, DcapError>| {
            matches!(r, Err(DcapError::Expired { .. } | DcapError::NotYetValid { .. }))
        };
        match (holds_at(&case.verified), holds_at(&verified)) {
            (true, true) => assert_eq!(
                got, genuine,
                "{}: an accepted chain changed the verdict",
                case.name
            ),
            (_, false) => assert!(
                for_time(&got) || (got.is_err() && got == genuine),
                "{}: a chain out of its windows was not refused for time: {got:?} (genuine {genuine:?})",
                case.name
            ),
            (false, true) => assert!(
                for_time(&genuine) || got == genuine,
                "{}: an accepted chain changed a refusal that precedes the windows: {got:?} (genuine {genuine:?})",
                case.name
            ),
        }
    }
);
