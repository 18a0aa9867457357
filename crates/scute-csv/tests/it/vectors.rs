//! The two real CSV vectors give the verdicts their expected.json states: the csv-rs raw V1
//! report verifies through the whole chain with its MAC; Trustee's evidence is signed by its
//! PEK, has no HSK/CEK (so it is rejected without them) and never has its MAC checked.

use scute_csv::{
    verify, CaCert, CsvCert, CsvError, Evidence, HskCek, MacCheck, Report, RootKey, TrustRoots,
};
use serde_json::Value;
use std::path::PathBuf;

const CSVRS: &str = "csv-openanolis-csvrs-v1report-chain";
const TRUSTEE: &str = "csv-trustee-v1-evidence";

fn read(case: &str, file: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    std::fs::read(dir.join(case).join(file)).unwrap()
}

fn expected(case: &str) -> Value {
    serde_json::from_slice(&read(case, "expected.json")).unwrap()
}

fn hex_field(v: &Value, name: &str) -> String {
    v["report_v1_fields_after_anonce_unxor"][name]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn csvrs_raw_report_verifies_through_the_whole_chain_with_its_mac() {
    let evidence = Evidence::decode(&read(CSVRS, "report.cert")).unwrap();
    let chain = HskCek::decode(&read(CSVRS, "hsk_cek.cert")).unwrap();
    let v = verify(&evidence, Some(&chain), &TrustRoots::hygon(), None).unwrap();
    let want = expected(CSVRS);
    let f = v.fields();
    assert_eq!(hex::encode(f.report_data), hex_field(&want, "report_data"));
    assert_eq!(hex::encode(f.mnonce), hex_field(&want, "mnonce"));
    assert_eq!(hex::encode(f.measure), hex_field(&want, "measure"));
    assert_eq!(hex::encode(f.vm_id), hex_field(&want, "vm_id"));
    assert_eq!(
        hex::encode(f.user_pubkey_digest),
        hex_field(&want, "user_pubkey_digest")
    );
    assert_eq!(format!("{:#x}", f.policy.0), hex_field(&want, "policy"));
    assert_eq!(format!("{:#x}", f.sig_usage), hex_field(&want, "sig_usage"));
    assert_eq!(format!("{:#x}", f.sig_algo), hex_field(&want, "sig_algo"));
    assert_eq!(
        format!("{:#x}", evidence.report().tee_info.anonce()),
        hex_field(&want, "anonce")
    );
    assert_eq!(v.chip_serial(), hex_field(&want, "chip_sn"));
    assert_eq!(v.mac(), MacCheck::Verified);
    assert!(!v.report_data_bound());
    assert_eq!(v.version(), 1);
    // PEK slot 1 holds the owner's OCA signature: reported, not required.
    assert!(v.pek_oca_signed());
    // policy 0x40000001: NODBG set, so not a debug guest.
    assert!(!v.is_debug());
    assert_eq!(v.firmware(), (1, 3));
    assert!(v.rtmrs().is_none());

    // The same chain from the two separate files; and report_data bound to its value.
    let chain2 = HskCek {
        hsk: CaCert::decode(&read(CSVRS, "hsk.cert")).unwrap(),
        cek: CsvCert::decode(&read(CSVRS, "cek.cert")).unwrap(),
    };
    assert_eq!(chain, chain2);
    let rd = f.report_data;
    let bound = verify(&evidence, Some(&chain2), &TrustRoots::hygon(), Some(&rd)).unwrap();
    assert!(bound.report_data_bound());
    let mut other = rd;
    other[63] ^= 1;
    assert_eq!(
        verify(&evidence, Some(&chain), &TrustRoots::hygon(), Some(&other)).unwrap_err(),
        CsvError::ReportData
    );
    assert_eq!(&rd[..9], b"user data");
}

#[test]
fn decoders_give_back_the_bytes_they_read() {
    for (case, file) in [
        (CSVRS, "hrk.cert"),
        (CSVRS, "hsk.cert"),
        (TRUSTEE, "hrk.cert"),
    ] {
        let bytes = read(case, file);
        assert_eq!(
            CaCert::decode(&bytes).unwrap().encode(),
            bytes,
            "{case}/{file}"
        );
    }
    let cek = read(CSVRS, "cek.cert");
    assert_eq!(CsvCert::decode(&cek).unwrap().encode(), cek);
    let hsk_cek = read(CSVRS, "hsk_cek.cert");
    assert_eq!(HskCek::decode(&hsk_cek).unwrap().encode(), hsk_cek);
    let report = read(CSVRS, "report.cert");
    let decoded = Report::decode(&report).unwrap();
    assert_eq!(decoded.encode(), report);
    let pek = decoded.pek_cert();
    assert_eq!(CsvCert::decode(&pek).unwrap().encode(), pek);

    // Trustee's container: magic ‖ flags ‖ data, as its JSON holds them.
    let json: Value = serde_json::from_slice(&read(TRUSTEE, "csv_evidence.json")).unwrap();
    let wrapper = &json["attestation_report"];
    let mut container: Vec<u8> = serde_json::from_value(wrapper["magic"].clone()).unwrap();
    container.extend_from_slice(&(wrapper["flags"].as_u64().unwrap() as u32).to_le_bytes());
    container.extend(serde_json::from_value::<Vec<u8>>(wrapper["data"].clone()).unwrap());
    let Evidence::Trustee(t) = Evidence::decode(&read(TRUSTEE, "csv_evidence.json")).unwrap()
    else {
        panic!("JSON evidence decodes as Trustee's form");
    };
    assert_eq!(t.report.encode(), container);
    // And the JSON encoder gives back the evidence as Trustee wrote it.
    assert_eq!(t.to_value(), json);
}

#[test]
fn trustee_evidence_is_signed_by_its_pek_and_needs_hsk_cek_and_report_data() {
    let bytes = read(TRUSTEE, "csv_evidence.json");
    let evidence = Evidence::decode(&bytes).unwrap();
    let want = expected(TRUSTEE);
    let Evidence::Trustee(t) = &evidence else {
        panic!("JSON evidence decodes as Trustee's form");
    };
    // PEK → report: valid (independent_checks.report_signed_by_evidence_pek).
    t.report.check_signature(&t.pek).unwrap();
    assert!(t.hsk_cek.is_none());
    assert_eq!(evidence.chip_serial().unwrap(), want["serial_number"]);
    assert_eq!(t.cc_eventlog.as_ref().unwrap().len(), 77);
    let f = t.report.tee_info.fields();
    assert_eq!(hex::encode(f.measure), hex_field(&want, "measure"));
    assert_eq!(hex::encode(f.mnonce), hex_field(&want, "mnonce"));
    assert_eq!(format!("{:#x}", f.policy.0), hex_field(&want, "policy"));
    assert_eq!(
        format!("{:#x}", t.report.tee_info.anonce()),
        hex_field(&want, "anonce")
    );

    let roots = TrustRoots::hygon();
    let rd = f.report_data;
    // Without report_data bound the form is refused outright (its MAC cannot be checked).
    assert_eq!(
        verify(&evidence, None, &roots, None).unwrap_err(),
        CsvError::ReportDataRequired
    );
    // HSK/CEK are not included: rejected unless given.
    assert_eq!(
        verify(&evidence, None, &roots, Some(&rd)).unwrap_err(),
        CsvError::ChainMissing
    );
    // Another chip's HSK/CEK do not certify this chip's PEK.
    let other = HskCek::decode(&read(CSVRS, "hsk_cek.cert")).unwrap();
    assert_eq!(
        verify(&evidence, Some(&other), &roots, Some(&rd)).unwrap_err(),
        CsvError::Signature { item: "PEK" }
    );
}

#[test]
fn hrk_certificates_of_both_vectors_are_the_pinned_root() {
    for case in [CSVRS, TRUSTEE] {
        let hrk = CaCert::decode(&read(case, "hrk.cert")).unwrap();
        let root = RootKey::from_hrk(&hrk).unwrap();
        assert!(TrustRoots::hygon().contains(&root));
    }
}

/// An HRK certificate that comes with collateral is Hygon's only when it is the pinned
/// certificate byte for byte: the same key with other bytes outside the signed body (here the
/// reserved bytes after the signature, and then the unsigned reserved area before it) is not.
#[test]
fn a_supplied_hrk_must_be_the_pinned_certificate_byte_for_byte() {
    let roots = TrustRoots::hygon();
    for case in [CSVRS, TRUSTEE] {
        let genuine = read(case, "hrk.cert");
        assert_eq!(
            roots.check_hrk_certificate(&genuine).unwrap(),
            RootKey::hygon()
        );
        let cert = CaCert::decode(&genuine).unwrap();
        let mut after_signature = cert.clone();
        after_signature.reserved3[0] ^= 0x01;
        let altered = after_signature.encode();
        assert_ne!(altered, genuine);
        // Still signed by and naming Hygon's key: a key-only comparison would take it.
        let root = RootKey::from_hrk(&CaCert::decode(&altered).unwrap()).unwrap();
        assert!(roots.contains(&root));
        assert_eq!(
            roots.check_hrk_certificate(&altered),
            Err(CsvError::UntrustedRoot { item: "hrk.cert" })
        );
    }
    // Pinned by key alone (no certificate): no supplied HRK certificate matches.
    let by_key = TrustRoots::new(vec![RootKey::hygon()]);
    assert_eq!(
        by_key.check_hrk_certificate(&read(CSVRS, "hrk.cert")),
        Err(CsvError::UntrustedRoot { item: "hrk.cert" })
    );
    // A certificate pinned explicitly matches itself only.
    let sim = scute_sim::HygonSim::new(b"scute-csv hrk pinning", "SIMCHIP0001").unwrap();
    let sim_hrk = sim.hrk_cert.encode();
    let pinned = TrustRoots::new(Vec::new())
        .with_hrk_certificate(&sim_hrk)
        .unwrap();
    assert_eq!(pinned.check_hrk_certificate(&sim_hrk).unwrap(), sim.root());
    assert!(pinned
        .check_hrk_certificate(&read(CSVRS, "hrk.cert"))
        .is_err());
    // Not a CA-format certificate at all: a decoding error, not a verdict on a root.
    assert_eq!(
        roots
            .check_hrk_certificate(&read(CSVRS, "cek.cert"))
            .unwrap_err()
            .kind(),
        "report_decode"
    );
}
