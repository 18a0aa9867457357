//! RA-TLS applies scute-dcap's one debug rule: a TD whose only debug-grade attribute is a TUD
//! profiling bit is a debug peer, refused by default and reported as debug when allowed.

use scute_dcap::{verify_collateral, Collateral, DcapError, TrustAnchor};
use scute_quote::{td_attributes, Body};
use scute_ratls::{issue, verify_peer, CollateralSource, Expectations, IssueOptions, KeyAlgorithm};
use scute_ratls::{AttestedIdentity, RaTlsError};
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
use std::sync::Arc;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn source(sim: &Simulator) -> CollateralSource {
    let files = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, now()))
        .unwrap();
    let c = Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone()))
        .unwrap();
    let anchor = TrustAnchor::from_certificate(sim.root_ca_pem().as_bytes()).unwrap();
    CollateralSource::Verified(Arc::new(verify_collateral(&c, &anchor).unwrap()))
}

/// An RA-TLS certificate whose genuine quote carries these TD attributes.
fn identity(sim: &Simulator, attributes: u64) -> AttestedIdentity {
    issue(
        KeyAlgorithm::P256,
        IssueOptions::default(),
        (now() - 3600, now() + 3600),
        |rd| {
            let mut quote = sim.quote(&Workload::new(Tee::Tdx, 4, *rd))?;
            if let Body::Td10(td) = &mut quote.body {
                td.td_attributes = attributes.to_le_bytes();
            }
            sim.resign(&mut quote)?;
            Ok::<_, scute_sim::SimError>(quote.encode())
        },
    )
    .unwrap()
}

#[test]
fn a_profiling_td_is_a_debug_peer() {
    let sim = Simulator::new(5, now()).unwrap();
    let source = source(&sim);
    let sound = identity(&sim, td_attributes::SEPT_VE_DISABLE);
    let peer = verify_peer(&sound.cert_der, &source, &Expectations::default(), now()).unwrap();
    assert!(!peer.debug);

    for bit in [
        td_attributes::DEBUG,
        td_attributes::HGS_PLUS_PROF,
        td_attributes::PERF_PROF,
        td_attributes::PMT_PROF,
    ] {
        let profiled = identity(&sim, td_attributes::SEPT_VE_DISABLE | bit);
        let refused = verify_peer(&profiled.cert_der, &source, &Expectations::default(), now());
        assert!(
            matches!(refused, Err(RaTlsError::Quote(DcapError::Debug("TD")))),
            "bit {bit:#x}: {refused:?}"
        );
        let allow = Expectations {
            allow_debug: true,
            ..Expectations::default()
        };
        let peer = verify_peer(&profiled.cert_der, &source, &allow, now()).unwrap();
        assert!(peer.debug, "bit {bit:#x}");
    }
}
