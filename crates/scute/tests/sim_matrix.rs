//! The simulated TEE against two verifiers: for SGX v3, TDX v4 and TDX v5, every platform and
//! QE TCB status, debug, revoked PCK, expired and not-yet-valid collateral, wrong FMSPC, wrong
//! root, and one tampered field per signed region. scute-dcap must reach the verdict the case
//! was made for, and the dcap-qvl crate, an independent implementation, must agree.

#[path = "../../scute-dcap/tests/support/dcap_qvl.rs"]
mod dcap_qvl_support;

use dcap_qvl_support::dcap_qvl_collateral;
use scute_dcap::{verify, Collateral, TrustAnchor, VerifyOptions};
use scute_sim::{case, CaseSpec, SimCase, Tamper, Tee, TCB_STATUSES};

const NOW: i64 = 1_790_000_000; // 2026-09-21
const DAY: i64 = 24 * 3600;
const SHAPES: [(Tee, u16); 3] = [(Tee::Sgx, 3), (Tee::Tdx, 4), (Tee::Tdx, 5)];

fn collateral(c: &SimCase) -> Collateral {
    Collateral::from_files(|name| {
        c.collateral
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.clone())
    })
    .unwrap()
}

fn root_der(c: &SimCase) -> Vec<u8> {
    let pem = &c.root_ca_pem;
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .contents
}

/// Verifies with both verifiers and checks both against the case's expected verdict.
fn check(spec: &CaseSpec, label: &str) {
    let c = case(spec).unwrap();
    let exp = &c.expected;
    let anchor = TrustAnchor::from_certificate(c.root_ca_pem.as_bytes()).unwrap();
    let ours = verify(
        &c.quote,
        &collateral(&c),
        &anchor,
        exp.verify_time,
        VerifyOptions::default(),
    );
    match (&ours, exp.ok) {
        (Ok(v), true) => {
            assert_eq!(
                Some(v.tcb_status().name().to_string()),
                exp.tcb_status,
                "{label}"
            );
            assert_eq!(v.advisory_ids(), exp.advisory_ids.as_slice(), "{label}");
        }
        (Err(e), false) => assert_eq!(Some(e.kind()), exp.error_kind, "{label}: {e}"),
        (got, _) => panic!("{label}: scute-dcap gave {got:?}, expected {exp:?}"),
    }
    let qvl = dcap_qvl::verify::QuoteVerifier::new(root_der(&c));
    let theirs = qvl.verify(
        &c.quote,
        &dcap_qvl_collateral(&collateral(&c)),
        exp.verify_time as u64,
    );
    match (&theirs, exp.ok) {
        (Ok(r), true) => {
            assert_eq!(
                Some(r.status.clone()),
                exp.tcb_status,
                "{label}: dcap-qvl status"
            );
            let mut theirs = r.advisory_ids.clone();
            let mut ours = exp.advisory_ids.clone();
            theirs.sort();
            ours.sort();
            assert_eq!(theirs, ours, "{label}: dcap-qvl advisories");
        }
        (Err(_), false) => {}
        (got, _) => panic!("{label}: dcap-qvl gave {got:?}, expected {exp:?}"),
    }
}

fn spec(tee: Tee, version: u16) -> CaseSpec {
    let mut s = CaseSpec::new(tee, NOW);
    s.quote_version = version;
    s.report_data[..4].copy_from_slice(b"sim!");
    s
}

#[test]
fn every_platform_tcb_status() {
    for (tee, version) in SHAPES {
        for status in TCB_STATUSES {
            let mut s = spec(tee, version);
            s.tcb_status = status.into();
            check(&s, &format!("{tee:?} v{version} platform {status}"));
        }
    }
}

#[test]
fn every_qe_tcb_status() {
    for (tee, version) in SHAPES {
        for status in ["UpToDate", "OutOfDate", "Revoked"] {
            for platform in ["UpToDate", "ConfigurationNeeded"] {
                let mut s = spec(tee, version);
                s.qe_tcb_status = status.into();
                s.tcb_status = platform.into();
                check(
                    &s,
                    &format!("{tee:?} v{version} QE {status} platform {platform}"),
                );
            }
        }
    }
}

#[test]
fn debug_revoked_pck_and_collateral_windows() {
    for (tee, version) in SHAPES {
        let label = format!("{tee:?} v{version}");
        let mut s = spec(tee, version);
        s.debug = true;
        check(&s, &format!("{label} debug"));
        let mut s = spec(tee, version);
        s.revoke_pck = true;
        check(&s, &format!("{label} revoked PCK"));
        let mut s = spec(tee, version);
        s.window = Some((NOW - 40 * DAY, NOW - 10 * DAY));
        check(&s, &format!("{label} expired collateral"));
        let mut s = spec(tee, version);
        s.window = Some((NOW + DAY, NOW + 30 * DAY));
        check(&s, &format!("{label} collateral not yet valid"));
        let mut s = spec(tee, version);
        s.wrong_fmspc = true;
        check(&s, &format!("{label} wrong FMSPC"));
    }
}

#[test]
fn one_tampered_field_per_signed_region() {
    for (tee, version) in SHAPES {
        for tamper in Tamper::ALL {
            let mut s = spec(tee, version);
            s.tamper = Some(tamper);
            check(&s, &format!("{tee:?} v{version} tampered {tamper:?}"));
        }
    }
}

#[test]
fn a_simulated_quote_verifies_only_under_its_own_root() {
    let c = case(&spec(Tee::Tdx, 4)).unwrap();
    let at = c.expected.verify_time;
    // Not under Intel's root: the simulator is never trusted implicitly.
    let err = verify(
        &c.quote,
        &collateral(&c),
        &TrustAnchor::intel_sgx_root(),
        at,
        VerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "untrusted_root");
    // Not under another simulator's root either.
    let mut other = spec(Tee::Tdx, 4);
    other.seed = 2;
    let other = case(&other).unwrap();
    let anchor = TrustAnchor::from_certificate(other.root_ca_pem.as_bytes()).unwrap();
    assert_eq!(
        verify(
            &c.quote,
            &collateral(&c),
            &anchor,
            at,
            VerifyOptions::default()
        )
        .unwrap_err()
        .kind(),
        "untrusted_root"
    );
    let qvl = dcap_qvl::verify::QuoteVerifier::new(root_der(&other));
    assert!(qvl
        .verify(&c.quote, &dcap_qvl_collateral(&collateral(&c)), at as u64)
        .is_err());
}

#[test]
fn the_same_seed_gives_the_same_platform_and_keys() {
    let a = case(&spec(Tee::Sgx, 3)).unwrap();
    let b = case(&spec(Tee::Sgx, 3)).unwrap();
    let (qa, qb) = (
        scute_quote::Quote::decode(&a.quote).unwrap(),
        scute_quote::Quote::decode(&b.quote).unwrap(),
    );
    assert_eq!(qa.body, qb.body);
    assert_eq!(qa.signature.attestation_key, qb.signature.attestation_key);
    let mut other = spec(Tee::Sgx, 3);
    other.seed = 9;
    let c = scute_quote::Quote::decode(&case(&other).unwrap().quote).unwrap();
    assert_ne!(qa.signature.attestation_key, c.signature.attestation_key);
}
