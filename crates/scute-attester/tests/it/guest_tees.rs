//! The guest attesters of every TEE on trees the tests make: detection of SEV-SNP behind
//! configfs-tsm and of the Hygon CSV device, and the simulated SNP, CSV and Intel machines
//! (their own roots, kept across opens, debug from `machine.json`, report data carried).

use scute_attester::{
    detect_guest, open_simulator, AttesterError, GuestEvidence, GuestTee, MachineOptions, Paths,
};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn paths(root: &Path) -> Paths {
    Paths {
        tsm_report: root.join("tsm"),
        ccel: root.join("ccel"),
        gramine: root.join("gramine"),
        occlum_dev: root.join("dev"),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn auto_finds_snp_behind_configfs_tsm_by_its_provider() {
    let tmp = tempfile::tempdir().unwrap();
    let tsm = tmp.path().join("tsm");
    std::fs::create_dir(&tsm).unwrap();
    // A fake kernel: every new report entry gets provider sev_guest.
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (tsm, stop) = (tsm.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir(&tsm).into_iter().flatten().flatten() {
                    let provider = entry.path().join("provider");
                    if !provider.exists() {
                        let _ = std::fs::write(&provider, "sev_guest\n");
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    let found = detect_guest(&paths(tmp.path()), &tmp.path().join("csv-guest"), None).unwrap();
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    assert_eq!(found.name(), "snp (configfs-tsm)");
    assert_eq!(found.guest_tee(), GuestTee::Snp);
}

#[test]
fn auto_finds_the_csv_guest_device_and_a_fake_one_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let device = tmp.path().join("csv-guest");
    std::fs::write(&device, b"").unwrap();
    let found = detect_guest(&paths(tmp.path()), &device, None).unwrap();
    assert_eq!(found.guest_tee(), GuestTee::Csv);
    let err = found.collect_guest(&[0; 64]).err().unwrap();
    assert!(matches!(err, AttesterError::CsvDevice { .. }), "{err}");
    // Nothing present and no simulator: every place looked is named.
    std::fs::remove_file(&device).unwrap();
    let err = detect_guest(&paths(tmp.path()), &device, None)
        .err()
        .unwrap();
    assert!(err.to_string().contains("CSV"), "{err}");
}

fn snp_of(evidence: GuestEvidence) -> scute_attester::SnpGuestEvidence {
    match evidence {
        GuestEvidence::Snp(e) => e,
        other => panic!("not SNP: {:?}", other.tee()),
    }
}

#[test]
fn a_simulated_snp_machine_has_its_own_root_keeps_it_and_signs_the_report_data() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let machine =
        open_simulator(a.clone(), Some(GuestTee::Snp), &MachineOptions::default()).unwrap();
    let evidence = snp_of(machine.collect_guest(&[0x42; 64]).unwrap());
    let ark = std::fs::read(a.join("ark.pem")).unwrap();
    let roots = scute_snp::TrustRoots::amd().with_ark(&ark).unwrap();
    let (_, vek) = evidence.vek.clone().unwrap();
    let chain = scute_snp::pem_chain(&[
        evidence.ask.as_deref().unwrap(),
        evidence.ark.as_deref().unwrap(),
    ]);
    let collateral = scute_snp::Collateral {
        vek: &vek,
        chain: Some(chain.as_bytes()),
        crl: None,
    };
    let verified = scute_snp::verify(&evidence.report, &collateral, &roots, now()).unwrap();
    assert_eq!(verified.report().report_data, [0x42; 64]);
    assert!(!verified.report().is_debug());
    // Reopened: the same machine.
    let again = open_simulator(a.clone(), None, &MachineOptions::default()).unwrap();
    let evidence = snp_of(again.collect_guest(&[1; 64]).unwrap());
    assert!(scute_snp::verify(&evidence.report, &collateral, &roots, now()).is_ok());
    // Another machine: another root, refused under this one.
    let debug = MachineOptions {
        debug: true,
        ..MachineOptions::default()
    };
    let other = open_simulator(b.clone(), Some(GuestTee::Snp), &debug).unwrap();
    let evidence = snp_of(other.collect_guest(&[1; 64]).unwrap());
    assert_ne!(std::fs::read(b.join("ark.pem")).unwrap(), ark);
    let (_, vek) = evidence.vek.clone().unwrap();
    let collateral = scute_snp::Collateral {
        vek: &vek,
        chain: None,
        crl: None,
    };
    assert!(scute_snp::verify(&evidence.report, &collateral, &roots, now()).is_err());
    let decoded = scute_snp::Report::decode(&evidence.report).unwrap();
    assert!(
        decoded.is_debug(),
        "machine.json's debug is the guest's policy"
    );
    // The KBS form is the sev crate's named fields, not base64 text.
    let primary = GuestEvidence::Snp(evidence).kbs_primary_json(None);
    assert!(
        primary["attestation_report"]["key_info"].is_number(),
        "{primary}"
    );
    assert_eq!(primary["cert_chain"][0]["cert_type"], "VCEK");
}

#[test]
fn a_simulated_csv_machine_verifies_under_its_hrk_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let machine =
        open_simulator(a.clone(), Some(GuestTee::Csv), &MachineOptions::default()).unwrap();
    open_simulator(b.clone(), Some(GuestTee::Csv), &MachineOptions::default()).unwrap();
    let GuestEvidence::Csv(evidence) = machine.collect_guest(&[7; 64]).unwrap() else {
        panic!("not CSV");
    };
    let root_of = |dir: &Path| {
        let cert =
            scute_csv::CaCert::decode(&std::fs::read(dir.join("hrk.cert")).unwrap()).unwrap();
        scute_csv::TrustRoots::new(vec![scute_csv::RootKey::from_hrk(&cert).unwrap()])
    };
    let decoded =
        scute_csv::TrusteeEvidence::decode(evidence.evidence.to_string().as_bytes()).unwrap();
    let chain = decoded.hsk_cek.clone().unwrap();
    assert!(scute_csv::verify_hsk_cek(&chain, &root_of(&a)).is_ok());
    assert!(scute_csv::verify_hsk_cek(&chain, &root_of(&b)).is_err());
    // A machine of one TEE is never opened as another.
    let err = open_simulator(a, Some(GuestTee::Snp), &MachineOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, AttesterError::OtherSimulator { .. }), "{err}");
}

#[test]
fn an_intel_machine_made_debug_quotes_as_a_debug_guest() {
    let tmp = tempfile::tempdir().unwrap();
    for (tee, name) in [(GuestTee::Tdx, "tdx"), (GuestTee::Sgx, "sgx")] {
        let dir = tmp.path().join(name);
        let options = MachineOptions {
            debug: true,
            ..MachineOptions::default()
        };
        let machine = open_simulator(dir.clone(), Some(tee), &options).unwrap();
        let GuestEvidence::Dcap(evidence) = machine.collect_guest(&[3; 64]).unwrap() else {
            panic!("not DCAP");
        };
        let quote = scute_quote::Quote::decode(&evidence.quote).unwrap();
        assert_eq!(quote.report_data(), &[3; 64]);
        assert!(quote.body.is_debug(), "{name}");
        assert!(dir.join("machine.json").is_file());
    }
    // A directory made the old way has no machine.json and quotes as before (not debug).
    let old = tmp.path().join("old");
    let machine = open_simulator(old.clone(), None, &MachineOptions::default()).unwrap();
    let GuestEvidence::Dcap(evidence) = machine.collect_guest(&[3; 64]).unwrap() else {
        panic!("not DCAP");
    };
    assert!(!scute_quote::Quote::decode(&evidence.quote)
        .unwrap()
        .body
        .is_debug());
    assert!(!old.join("machine.json").exists());
}
