//! Quote v5 body type 4 (TD 1.5 extended, TD partitioning) verified as Intel's QVL verifies it
//! (intel/confidential-computing.tee.dcap.qvl): the quote signature covers header, descriptor
//! and all 885 body bytes (`Quote.cpp` @1b16a69e, `getDataToSignatureVerification`); the TCB
//! level is matched on the body's TEE_TCB_SVN (`Quote::getTeeTcbSvn`, type 4 →
//! `tdReport15Ex.teeTcbSvn`), the TDX module on MRSIGNERSEAM and SEAMATTRIBUTES, the relaunch
//! check on TEE_TCB_SVN2 (`TcbLevelCheck.cpp` @4f45190a); QVL reads none of the extension
//! fields. On the public type-4 quote and on simulated ones, with dcap-qvl as a second opinion.

use scute_dcap::{
    report_json, verify, Collateral, DcapError, ReportClaims, TrustAnchor, VerifiedQuote,
    VerifyOptions,
};
use scute_quote::{Body, Quote, TdReport15Ex};
use scute_sim::{CollateralOptions, LaunchMeasurements, Simulator, Tee, Workload};
use scute_test::dcap_qvl::dcap_qvl_collateral;
use std::path::PathBuf;

const NOW: i64 = 1_790_000_000; // 2026-09-21

struct Public {
    bytes: Vec<u8>,
    collateral: Collateral,
    at: i64,
}

fn public_type4() -> Public {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/dcapqvl-tdx-v5-td15ex");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    Public {
        bytes: std::fs::read(dir.join("quote.bin")).unwrap(),
        collateral: Collateral::from_files(|f| std::fs::read(dir.join(f)).ok()).unwrap(),
        at: expected["verify_time_unix"].as_i64().unwrap(),
    }
}

fn ex(quote: &mut Quote) -> &mut TdReport15Ex {
    match &mut quote.body {
        Body::Td15Ex(ex) => ex,
        other => panic!("body type {}", other.body_type()),
    }
}

/// Each field only a type-4 body has, with one byte flipped in the encoded quote: the quote
/// signature no longer holds (and nothing else fails first).
#[test]
fn a_flipped_byte_in_any_type_4_only_field_breaks_the_quote_signature() {
    let p = public_type4();
    let anchor = TrustAnchor::intel_sgx_root();
    let verified = verify(
        &p.bytes,
        &p.collateral,
        &anchor,
        p.at,
        VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(verified.quote().body.body_type(), 4);
    // Body offsets of vmid, td_id, dev_info, init_service_td_hash, init_service_td_attributes,
    // init_cpu_svn, init_tee_tcb_svn, init_tee_fmspc, cur_service_td_hash,
    // cur_service_td_attributes (QVL `TDReport15Ex`); the last byte of the body too.
    for offset in [648, 649, 681, 729, 777, 785, 801, 817, 829, 877, 884] {
        let mut bytes = p.bytes.clone();
        bytes[54 + offset] ^= 0x01;
        let err = verify(
            &bytes,
            &p.collateral,
            &anchor,
            p.at,
            VerifyOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, DcapError::QuoteSignature),
            "offset {offset}: {err:?}"
        );
    }
}

fn sim() -> Simulator {
    Simulator::new(3, NOW).unwrap()
}

fn sim_collateral(sim: &Simulator) -> Collateral {
    let files = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, NOW))
        .unwrap();
    Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone())).unwrap()
}

fn type4_quote(sim: &Simulator) -> Quote {
    sim.quote_td_body(
        &Workload::new(Tee::Tdx, 5, [9; 64]),
        &LaunchMeasurements::default(),
        4,
    )
    .unwrap()
}

fn verify_sim(
    sim: &Simulator,
    quote: &Quote,
    options: VerifyOptions,
) -> Result<VerifiedQuote, DcapError> {
    let anchor = TrustAnchor::from_certificate(sim.root_ca_pem().as_bytes()).unwrap();
    verify(&quote.encode(), &sim_collateral(sim), &anchor, NOW, options)
}

/// A simulated type-4 quote verifies, dcap-qvl agrees on the status, and the claims carry every
/// extension field.
#[test]
fn a_simulated_type_4_quote_verifies_and_its_claims_carry_the_extension() {
    let sim = sim();
    let quote = type4_quote(&sim);
    let verified = verify_sim(&sim, &quote, VerifyOptions::default()).unwrap();
    assert_eq!(verified.tcb_status().name(), "UpToDate");

    let qvl = dcap_qvl::verify::QuoteVerifier::new(sim.root_ca_der().to_vec());
    let theirs = qvl
        .verify(
            &quote.encode(),
            &dcap_qvl_collateral(&sim_collateral(&sim)),
            NOW as u64,
        )
        .unwrap();
    assert_eq!(theirs.status, "UpToDate");

    let Body::Td15Ex(body) = &quote.body else {
        panic!("not type 4")
    };
    let report = report_json(&verified.quote().body);
    assert_eq!(report["kind"], "TD15Ex");
    assert_eq!(report["vmid"], 0);
    assert_eq!(report["td_id"], hex::encode(body.td_id));
    for (name, value) in [
        ("dev_info", hex::encode(body.dev_info)),
        (
            "init_service_td_hash",
            hex::encode(body.init_service_td_hash),
        ),
        (
            "init_service_td_attributes",
            hex::encode(body.init_service_td_attributes),
        ),
        ("init_cpu_svn", hex::encode(body.init_cpu_svn)),
        ("init_tee_tcb_svn", hex::encode(body.init_tee_tcb_svn)),
        ("init_tee_fmspc", hex::encode(body.init_tee_fmspc)),
        ("cur_service_td_hash", hex::encode(body.cur_service_td_hash)),
        (
            "cur_service_td_attributes",
            hex::encode(body.cur_service_td_attributes),
        ),
        ("tee_tcb_svn2", hex::encode(body.base.tee_tcb_svn2)),
    ] {
        assert_eq!(report[name], value, "{name}");
    }
    assert!(matches!(
        ReportClaims::new(&verified.quote().body),
        ReportClaims::Td15Ex(_)
    ));
}

/// The TCB level is matched on TEE_TCB_SVN, as QVL does for type 4: the launch-time SVNs the
/// extension records (init_cpu_svn, init_tee_tcb_svn, init_tee_fmspc) change nothing, even
/// signed; a TEE_TCB_SVN below every level is not supported.
#[test]
fn tcb_matching_reads_tee_tcb_svn_not_the_init_fields() {
    let sim = sim();
    let plain = verify_sim(&sim, &type4_quote(&sim), VerifyOptions::default()).unwrap();
    for fill in [0x00, 0xff] {
        let mut quote = type4_quote(&sim);
        let body = ex(&mut quote);
        body.init_cpu_svn = [fill; 16];
        body.init_tee_tcb_svn = [fill; 16];
        body.init_tee_fmspc = [fill; 12];
        sim.resign(&mut quote).unwrap();
        let v = verify_sim(&sim, &quote, VerifyOptions::default()).unwrap();
        assert_eq!(v.tcb_status(), plain.tcb_status(), "fill {fill:#x}");
        assert_eq!(v.advisory_ids(), plain.advisory_ids());
        assert_eq!(v.shortfalls(), plain.shortfalls());
    }
    let mut quote = type4_quote(&sim);
    let body = ex(&mut quote);
    let init = body.base.base.tee_tcb_svn;
    body.init_tee_tcb_svn = init;
    // Below every level: keep the module version byte so the module identity still matches.
    body.base.base.tee_tcb_svn = [0; 16];
    body.base.base.tee_tcb_svn[1] = init[1];
    body.base.tee_tcb_svn2 = body.base.base.tee_tcb_svn;
    sim.resign(&mut quote).unwrap();
    let err = verify_sim(&sim, &quote, VerifyOptions::default()).unwrap_err();
    assert!(matches!(err, DcapError::TcbNotSupported { .. }), "{err:?}");
}

/// A service TD named only by the type-4 extension (init or current SERVTD hash, MRSERVICETD
/// zero) is a bound service TD: refused by default like MRSERVICETD, accepted with
/// `allow_service_td`. The attacker's quote: genuine, signed, binding hidden from the TD15 view.
#[test]
fn a_service_td_named_only_by_the_extension_is_refused_by_default() {
    let sim = sim();
    for field in ["init", "cur"] {
        let mut quote = type4_quote(&sim);
        let body = ex(&mut quote);
        match field {
            "init" => body.init_service_td_hash = [0x5a; 48],
            _ => body.cur_service_td_hash = [0x5a; 48],
        }
        assert_eq!(body.base.mr_service_td, [0; 48]);
        sim.resign(&mut quote).unwrap();
        let err = verify_sim(&sim, &quote, VerifyOptions::default()).unwrap_err();
        assert!(
            matches!(err, DcapError::TdAttributes("bound to a service TD")),
            "{field}: {err:?}"
        );
        let allowed = VerifyOptions {
            allow_service_td: true,
            ..VerifyOptions::default()
        };
        verify_sim(&sim, &quote, allowed).unwrap();
    }
}
