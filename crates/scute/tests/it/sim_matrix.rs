//! The simulated TEE against two verifiers: for SGX v3, TDX v4 and TDX v5, every platform and
//! QE TCB status, debug, revoked PCK, expired and not-yet-valid collateral, wrong FMSPC, wrong
//! root, and one tampered field per signed region. scute-dcap must reach the verdict the case
//! was made for, and the dcap-qvl crate, an independent implementation, must agree.

use scute_dcap::{verify, Collateral, TrustAnchor, VerifyOptions};
use scute_sim::{case, CaseSpec, SimCase, Tamper, Tee, TCB_STATUSES};
use scute_test::dcap_qvl::dcap_qvl_collateral;

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
    // The warm path (collateral verified once, each quote twice, the second time with its QE
    // report signature remembered) reaches exactly the cold verdict.
    let verdict = |r: &Result<scute_dcap::VerifiedQuote, scute_dcap::DcapError>| match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => e.kind().to_string(),
    };
    match scute_dcap::verify_collateral(&collateral(&c), &anchor) {
        Ok(warm) => {
            for round in ["first", "second"] {
                let again = warm.verify_quote(&c.quote, exp.verify_time, VerifyOptions::default());
                assert_eq!(
                    verdict(&again),
                    verdict(&ours),
                    "{label}: warm, {round} time"
                );
            }
        }
        Err(e) => assert_eq!(e.kind(), verdict(&ours), "{label}: collateral"),
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

/// TDX module identities and QVL's TD relaunch rule: a TD launched on an out-of-date module,
/// on a platform whose running module (TEE_TCB_SVN2, TDX 1.5) is current, only needs a relaunch.
#[test]
fn tdx_module_status_and_td_relaunch() {
    use scute_sim::{CollateralOptions, Simulator, Workload};
    let sim = Simulator::new(3, NOW).unwrap();
    let anchor = TrustAnchor::from_certificate(sim.root_ca_pem().as_bytes()).unwrap();
    let collateral_with = |platform: &str, module: &str, qe: &str| {
        let mut o = CollateralOptions::valid_at(Tee::Tdx, NOW);
        o.tcb_status = platform.into();
        o.module_tcb_status = module.into();
        o.qe_tcb_status = qe.into();
        let files = sim.collateral(&o).unwrap();
        Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone()))
            .unwrap()
    };
    let launch_svn = scute_sim::Platform::simulated(3).tee_tcb_svn;
    let mut running = launch_svn;
    running[0] += 1; // the module was updated in place since the TD launched
    let status = |version: u16, svn2: Option<[u8; 16]>, c: &Collateral| {
        let mut w = Workload::new(Tee::Tdx, version, [0; 64]);
        w.tee_tcb_svn2 = svn2;
        let quote = sim.quote(&w).unwrap().encode();
        verify(&quote, c, &anchor, NOW, VerifyOptions::default())
            .map(|v| (v.tcb_status().name(), v.advisory_ids().to_vec()))
    };

    let outdated_module = collateral_with("UpToDate", "OutOfDate", "UpToDate");
    let (s, advisories) = status(4, None, &outdated_module).unwrap();
    assert_eq!(s, "OutOfDate");
    assert!(
        advisories.contains(&"INTEL-SA-99004".to_string()),
        "the module level's advisory: {advisories:?}"
    );
    // dcap-qvl agrees on the module's effect.
    let quote = sim
        .quote(&Workload::new(Tee::Tdx, 4, [0; 64]))
        .unwrap()
        .encode();
    let qvl = dcap_qvl::verify::QuoteVerifier::new(root_der_of(&sim));
    assert_eq!(
        qvl.verify(&quote, &dcap_qvl_collateral(&outdated_module), NOW as u64)
            .unwrap()
            .status,
        "OutOfDate"
    );

    assert_eq!(
        status(5, None, &outdated_module).unwrap().0,
        "OutOfDate",
        "still running the old module"
    );
    assert_eq!(
        status(5, Some(running), &outdated_module).unwrap().0,
        "TDRelaunchAdvised"
    );
    // QVL 2026 (TcbLevelCheck.cpp, TDRelaunchCheck.cpp) evaluates the current TCB as a whole
    // and advises a relaunch whenever it is not out of date: here the current TCB sits on a
    // ConfigurationNeeded level (below the newest, whose late-microcode SVN is higher), which
    // a relaunch would reach. (QVL before 2026 also demanded the newest level's SVNs.)
    let with_config = collateral_with("ConfigurationNeeded", "OutOfDate", "UpToDate");
    assert_eq!(
        status(5, Some(running), &with_config).unwrap().0,
        "TDRelaunchAdvisedConfigurationNeeded"
    );
    let mut current = running;
    current[2] += 1;
    assert_eq!(
        status(5, Some(current), &with_config).unwrap().0,
        "TDRelaunchAdvisedConfigurationNeeded"
    );
    // The launch and current verdicts are both kept.
    let mut w = Workload::new(Tee::Tdx, 5, [0; 64]);
    w.tee_tcb_svn2 = Some(running);
    let quote = sim.quote(&w).unwrap().encode();
    let v = verify(
        &quote,
        &outdated_module,
        &anchor,
        NOW,
        VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(v.launch().status.name(), "OutOfDate");
    let current_tcb = v.current().expect("a TD 1.5 body has a current TCB");
    assert_eq!(current_tcb.status.name(), "UpToDate");
    assert!(current_tcb.advisory_ids.is_empty());
    assert!(v
        .launch()
        .advisory_ids
        .contains(&"INTEL-SA-99004".to_string()));
    // A current TCB that is itself out of date (the platform's level is) gets no advice.
    let outdated_platform = collateral_with("OutOfDate", "OutOfDate", "UpToDate");
    assert_eq!(
        status(5, Some(running), &outdated_platform).unwrap().0,
        "OutOfDate"
    );
    // A module downgraded under the TD (the host drives TD-preserving updates): launched on an
    // up-to-date module, running an out-of-date one now. QVL would return the launch status
    // (UpToDate); Scute's verdict is never better than the current TCB's.
    let up_to_date = collateral_with("UpToDate", "UpToDate", "UpToDate");
    let mut downgraded = launch_svn;
    downgraded[0] = 1; // the simulator's oldest module level, OutOfDate
    for body in [3u16, 4] {
        let mut w = Workload::new(Tee::Tdx, 5, [0; 64]);
        w.tee_tcb_svn2 = Some(downgraded);
        let quote = sim
            .quote_td_body(&w, &scute_sim::LaunchMeasurements::default(), body)
            .unwrap()
            .encode();
        let v = verify(&quote, &up_to_date, &anchor, NOW, VerifyOptions::default()).unwrap();
        assert_eq!(v.launch().status.name(), "UpToDate");
        assert_eq!(v.current().unwrap().status.name(), "OutOfDate");
        assert_eq!(v.tcb_status().name(), "OutOfDate", "body type {body}");
    }
    // A current module SVN no TCB level covers fails the quote, as QVL's does.
    let mut unknown_major = running;
    unknown_major[1] = 0x7f;
    assert_eq!(
        status(5, Some(unknown_major), &outdated_module)
            .unwrap_err()
            .kind(),
        "tcb_not_supported"
    );
    let old_qe = collateral_with("UpToDate", "OutOfDate", "OutOfDate");
    assert_eq!(
        status(5, Some(running), &old_qe).unwrap().0,
        "OutOfDate",
        "no relaunch advice while the QE is out of date"
    );
    let revoked = collateral_with("UpToDate", "Revoked", "UpToDate");
    assert_eq!(status(4, None, &revoked).unwrap_err().kind(), "tcb_revoked");
    assert_eq!(
        status(
            5,
            Some(running),
            &collateral_with("UpToDate", "UpToDate", "UpToDate")
        )
        .unwrap()
        .0,
        "UpToDate"
    );
}

fn root_der_of(sim: &scute_sim::Simulator) -> Vec<u8> {
    let pem = sim.root_ca_pem();
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .contents
}
