//! Collateral an RA-TLS peer supplies (the endorsements extension, 2.23.133.5.4.2): CBOR
//! decoding, then `verify_collateral` (chains, CRLs, TCB Info and QE Identity JSON read before
//! their signatures are checked). Never panics; decode → encode → decode keeps every field;
//! whatever verifies is some genuine Intel collateral, and judges the genuine quote as it does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_dcap::{verify_collateral, Collateral, TrustAnchor};
use scute_fuzz::{dcap_cases, seed, DcapCase};
use scute_ratls::endorsements;
use std::sync::OnceLock;

struct Fixture {
    anchor: TrustAnchor,
    cases: Vec<DcapCase>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        anchor: TrustAnchor::intel_sgx_root(),
        cases: dcap_cases(),
    })
}

fn fields(c: &Collateral) -> [&[u8]; 7] {
    [
        &c.tcb_info,
        &c.tcb_info_issuer_chain,
        &c.qe_identity,
        &c.qe_identity_issuer_chain,
        &c.pck_crl,
        &c.pck_crl_issuer_chain,
        &c.root_ca_crl,
    ]
}

fuzz_target!(
    init: {
        let f = fixture();
        assert!(!f.cases.is_empty(), "no DCAP vectors under ../shared/vectors");
        seed(f.cases.iter().map(|c| {
            let bytes = endorsements::encode(&c.collateral, "2025-01-01T00:00:00Z")
                .expect("genuine collateral encodes");
            // The accepting branch is reachable: every genuine set verifies once carried.
            let carried = endorsements::decode(&bytes).expect("genuine endorsements decode");
            verify_collateral(&carried, &f.anchor).expect("carried genuine collateral verifies");
            (c.name.clone(), bytes)
        }));
    },
    |data: &[u8]| {
        let Ok(carried) = endorsements::decode(data) else {
            return;
        };
        assert!(carried.pck_chain.is_none(), "the extension carries no PCK chain");
        let again = endorsements::encode(&carried, "2025-01-01T00:00:00Z")
            .expect("decoded collateral encodes");
        let round = endorsements::decode(&again).expect("encoded collateral decodes");
        assert_eq!(fields(&round), fields(&carried), "decode -> encode -> decode changed a field");

        let f = fixture();
        let Ok(verified) = verify_collateral(&carried, &f.anchor) else {
            return;
        };
        // Each signed piece must be one Intel signed: some genuine set holds the same one.
        assert!(
            f.cases.iter().any(|c| c.verified.tcb_info() == verified.tcb_info()),
            "accepted a TCB Info no genuine set holds"
        );
        assert!(
            f.cases.iter().any(|c| c.verified.qe_identity() == verified.qe_identity()),
            "accepted a QE Identity no genuine set holds"
        );
        // Collateral that authenticates to the very content of a genuine set must judge that
        // set's quote exactly as the genuine files do.
        for case in &f.cases {
            let same = case.verified.tcb_info() == verified.tcb_info()
                && case.verified.qe_identity() == verified.qe_identity()
                && case.verified.crl_numbers() == verified.crl_numbers()
                && case.verified.pck_ca() == verified.pck_ca()
                && case.verified.joint_validity() == verified.joint_validity();
            if same {
                assert_eq!(
                    case.verdict(&verified),
                    case.verdict(&case.verified),
                    "{}: carried collateral changed the verdict",
                    case.name
                );
            }
        }
    }
);
