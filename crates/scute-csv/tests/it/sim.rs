//! The same verifier on simulated chips: V1 and V2, raw and Trustee's form, and the cheats an
//! attacker would try with keys of their own (another root, another chip's HSK, the default
//! distinguishing ID, a debug guest).

use scute_csv::{verify, CsvError, Evidence, HskCek, MacCheck, TrustRoots};
use scute_sim::{CsvReportSpec, HygonSim};

fn sim() -> HygonSim {
    HygonSim::new(b"scute-csv tests", "SIMCHIP0001").unwrap()
}

fn spec(version: u8) -> CsvReportSpec {
    let mut spec = CsvReportSpec {
        version,
        ..CsvReportSpec::default()
    };
    spec.report_data[..5].copy_from_slice(b"hello");
    spec.rtmr = [[1; 32], [2; 32], [3; 32], [4; 32]];
    spec
}

#[test]
fn simulated_raw_reports_v1_and_v2_verify_under_the_simulated_root_only() {
    let sim = sim();
    let roots = TrustRoots::new(vec![sim.root()]);
    for version in [1, 2] {
        let s = spec(version);
        let bytes = sim.report(&s).unwrap().encode();
        let evidence = Evidence::decode(&bytes).unwrap();
        let v = verify(
            &evidence,
            Some(&sim.hsk_cek()),
            &roots,
            Some(&s.report_data),
        )
        .unwrap();
        assert_eq!(v.version(), version);
        assert_eq!(v.mac(), MacCheck::Verified);
        assert_eq!(v.fields().measure, s.measure);
        assert_eq!(v.fields().report_data, s.report_data);
        assert_eq!(v.chip_serial(), "SIMCHIP0001");
        assert!(!v.is_debug());
        assert!(!v.pek_oca_signed());
        match version {
            1 => assert!(v.rtmrs().is_none()),
            _ => assert_eq!(v.rtmrs().unwrap()[1..], s.rtmr[..]),
        }
        // Hygon's root does not vouch for the simulator.
        assert_eq!(
            verify(&evidence, Some(&sim.hsk_cek()), &TrustRoots::hygon(), None).unwrap_err(),
            CsvError::UntrustedRoot { item: "HSK" }
        );
    }
}

#[test]
fn v2_signs_every_rtmr_and_macs_its_signer_block() {
    let sim = sim();
    let roots = TrustRoots::new(vec![sim.root()]);
    let bytes = sim.report(&spec(2)).unwrap().encode();
    let check =
        |b: &[u8]| verify(&Evidence::decode(b)?, Some(&sim.hsk_cek()), &roots, None).map(|_| ());
    check(&bytes).unwrap();
    // rtmr_version, rtmr0..4, reserved1: all under the signature.
    for at in [0xBC, 0xC0, 0xD0, 0xF0, 0x110, 0x130, 0x150, 0x170, 0x3FF] {
        let mut t = bytes.clone();
        t[at] ^= 1;
        assert_eq!(
            check(&t),
            Err(CsvError::Signature { item: "report" }),
            "byte {at:#x}"
        );
    }
    let mut t = bytes.clone();
    let mac_at = scute_csv::TEE_INFO_V2_LEN + scute_csv::SIGNER_LEN - 1;
    t[mac_at] ^= 1;
    assert_eq!(check(&t), Err(CsvError::Mac));
}

#[test]
fn trustee_form_v1_and_v2_verify_with_the_mac_not_checked() {
    let sim = sim();
    let roots = TrustRoots::new(vec![sim.root()]);
    for version in [1, 2] {
        let s = spec(version);
        let json = sim.trustee_evidence(&s, true, None).unwrap();
        let evidence = Evidence::decode(json.to_string().as_bytes()).unwrap();
        // HSK/CEK travel in the evidence here.
        let v = verify(&evidence, None, &roots, Some(&s.report_data)).unwrap();
        assert_eq!(v.mac(), MacCheck::NotChecked);
        assert!(v.report_data_bound());
        assert_eq!(v.report_json()["mac_checked"], false);
        assert_eq!(
            verify(&evidence, None, &roots, None).unwrap_err(),
            CsvError::ReportDataRequired
        );
    }
}

#[test]
fn a_report_signed_under_the_default_distinguishing_id_is_rejected() {
    let sim = sim();
    let roots = TrustRoots::new(vec![sim.root()]);
    for version in [1, 2] {
        let s = CsvReportSpec {
            sign_with_default_id: true,
            ..spec(version)
        };
        let evidence = Evidence::decode(&sim.report(&s).unwrap().encode()).unwrap();
        assert_eq!(
            verify(&evidence, Some(&sim.hsk_cek()), &roots, None).unwrap_err(),
            CsvError::Signature { item: "report" }
        );
    }
}

#[test]
fn another_chips_or_an_untrusted_hsk_does_not_certify_the_cek() {
    let sim = sim();
    let other = HygonSim::new(b"an attacker's own PKI", "SIMCHIP0001").unwrap();
    let roots = TrustRoots::new(vec![sim.root()]);
    let evidence = Evidence::decode(&sim.report(&spec(1)).unwrap().encode()).unwrap();
    // The attacker's whole chain: its HSK is signed by an untrusted root.
    assert_eq!(
        verify(&evidence, Some(&other.hsk_cek()), &roots, None).unwrap_err(),
        CsvError::UntrustedRoot { item: "HSK" }
    );
    // The genuine HSK with the attacker's CEK.
    let mixed = HskCek {
        hsk: sim.hsk_cert.clone(),
        cek: other.cek_cert.clone(),
    };
    assert!(matches!(
        verify(&evidence, Some(&mixed), &roots, None).unwrap_err(),
        CsvError::IssuerId { item: "CEK" } | CsvError::Signature { item: "CEK" }
    ));
    // Trusting both roots: the attacker's chain is genuine for its own chip, not this PEK.
    let both = TrustRoots::new(vec![sim.root(), other.root()]);
    assert_eq!(
        verify(&evidence, Some(&other.hsk_cek()), &both, None).unwrap_err(),
        CsvError::Signature { item: "PEK" }
    );
}

#[test]
fn a_debug_guest_verifies_and_says_so() {
    let sim = sim();
    let roots = TrustRoots::new(vec![sim.root()]);
    let s = CsvReportSpec {
        policy: 0x0401_0026, // NODBG clear
        ..spec(1)
    };
    let evidence = Evidence::decode(&sim.report(&s).unwrap().encode()).unwrap();
    let v = verify(&evidence, Some(&sim.hsk_cek()), &roots, None).unwrap();
    assert!(v.is_debug());
    assert_eq!(v.report_json()["policy"]["nodbg"], false);
}

/// A chain the caller passes proves the PEK, not the serial the (MAC-only) signer block names:
/// the serial is proven only when the caller says it looked the chain up by that serial. With
/// a genuine chip's chain and a report whose signer block names another chip, the report still
/// verifies (the MAC key comes from the chain's PEK) but the serial stays claimed.
#[test]
fn a_supplied_chain_proves_the_serial_only_when_looked_up_by_it() {
    use scute_tee::{ChipSerial, PlatformId, VerifiedReport as _};
    let sim = sim();
    let roots = TrustRoots::new(vec![sim.root()]);
    let s = spec(2);
    let bytes = sim.report(&s).unwrap().encode();
    let evidence = Evidence::decode(&bytes).unwrap();
    let v = verify(
        &evidence,
        Some(&sim.hsk_cek()),
        &roots,
        Some(&s.report_data),
    )
    .unwrap();
    assert!(!v.chip_serial_verified());
    assert_eq!(
        v.platform(),
        PlatformId::ChipSerial(ChipSerial::Claimed("SIMCHIP0001".into()))
    );
    let v = v.serial_looked_up();
    assert!(v.chip_serial_verified());
    assert_eq!(
        v.platform(),
        PlatformId::ChipSerial(ChipSerial::Verified("SIMCHIP0001".into()))
    );
}
