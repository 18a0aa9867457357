//! The verifier's debug check and `VerifiedQuote::is_debug` are one rule: genuine simulated TDs
//! whose only debug-grade attribute is a TUD profiling bit are refused by default, and when
//! debug is allowed the verified quote says it is a debug TD.

use scute_dcap::{verify, Collateral, DcapError, TrustAnchor, VerifiedQuote, VerifyOptions};
use scute_quote::{td_attributes, Body};
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn verify_td(
    sim: &Simulator,
    version: u16,
    attributes: u64,
    allow_debug: bool,
) -> Result<VerifiedQuote, DcapError> {
    let mut quote = sim
        .quote(&Workload::new(Tee::Tdx, version, [7; 64]))
        .unwrap();
    match &mut quote.body {
        Body::Td10(td) => td.td_attributes = attributes.to_le_bytes(),
        Body::Td15(td) => td.base.td_attributes = attributes.to_le_bytes(),
        other => panic!("unexpected body {}", other.body_type()),
    }
    sim.resign(&mut quote).unwrap();
    let files = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, now()))
        .unwrap();
    let collateral =
        Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone()))
            .unwrap();
    let anchor = TrustAnchor::from_certificate(sim.root_ca_pem().as_bytes()).unwrap();
    let options = VerifyOptions {
        allow_debug,
        ..VerifyOptions::default()
    };
    verify(&quote.encode(), &collateral, &anchor, now(), options)
}

#[test]
fn profiling_bits_are_debug_for_the_check_and_for_is_debug() {
    let sim = Simulator::new(3, now()).unwrap();
    for version in [4, 5] {
        let sound = verify_td(&sim, version, td_attributes::SEPT_VE_DISABLE, false).unwrap();
        assert!(!sound.is_debug());
        for bit in [
            td_attributes::DEBUG,
            td_attributes::HGS_PLUS_PROF,
            td_attributes::PERF_PROF,
            td_attributes::PMT_PROF,
        ] {
            let attributes = td_attributes::SEPT_VE_DISABLE | bit;
            let refused = verify_td(&sim, version, attributes, false).unwrap_err();
            assert_eq!(refused, DcapError::Debug("TD"), "v{version} bit {bit:#x}");
            assert_eq!(refused.kind(), "debug_not_allowed");
            let allowed = verify_td(&sim, version, attributes, true).unwrap();
            assert!(allowed.is_debug(), "v{version} bit {bit:#x}");
        }
    }
}
