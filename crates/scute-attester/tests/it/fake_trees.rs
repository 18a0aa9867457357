//! Every backend against trees the tests create: a configfs-tsm root animated by a fake kernel
//! thread (entries get attributes, inblob is answered with a quote), Gramine and Occlum device
//! files, and the simulator's directory. Quotes come from scute-sim and are verified with
//! scute-dcap, so the evidence is real.

use scute_attester::{
    detect, Attester, AttesterError, Gramine, Occlum, Paths, Simulated, TsmReport,
};
use scute_dcap::{verify, Collateral, TrustAnchor, VerifyOptions};
use scute_quote::TeeType;
use scute_sim::{Simulator, Tee, Workload};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One simulated machine for the whole file: its root is pinned by exact bytes, and a second
/// `Simulator::new` would sign a new root certificate (ECDSA signatures are randomised).
fn shared_sim() -> &'static Simulator {
    static SIM: std::sync::OnceLock<Simulator> = std::sync::OnceLock::new();
    SIM.get_or_init(|| Simulator::new(7, 1_790_000_000).unwrap())
}

fn sim_quote(tee: Tee, report_data: [u8; 64]) -> Vec<u8> {
    let sim = shared_sim();
    let version = if tee == Tee::Sgx { 3 } else { 4 };
    sim.quote(&Workload {
        tee,
        quote_version: version,
        debug: false,
        report_data,
        rtmrs: None,
        tee_tcb_svn2: None,
        mr_config_id: None,
    })
    .unwrap()
    .encode()
}

fn write_atomic(path: &Path, bytes: &[u8]) {
    let tmp = path.with_file_name(format!(
        ".tmp-{}",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[derive(Clone)]
enum Kernel {
    Honest,
    Provider(&'static str),
    ConcurrentWriter,
    Reply(Vec<u8>),
    Silent,
}

/// A configfs-tsm report root with a thread playing the kernel.
struct FakeTsm {
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeTsm {
    fn start(kernel: Kernel) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("report");
        std::fs::create_dir(&root).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // Like the kernel, act once per entry event: never re-create what the owner removes.
            let (mut created, mut answered) = (HashSet::new(), HashSet::new());
            while !flag.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                    serve(&entry.path(), &kernel, &mut created, &mut answered);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Self {
            dir,
            stop,
            thread: Some(thread),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("report")
    }

    fn attester(&self) -> TsmReport {
        let mut tsm = TsmReport::new(self.root(), Some(self.dir.path().join("CCEL")));
        tsm.timeout = Duration::from_secs(5);
        tsm
    }
}

impl Drop for FakeTsm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// What the kernel does for one report entry: attributes on creation, a quote for inblob.
fn serve(
    entry: &Path,
    kernel: &Kernel,
    created: &mut HashSet<PathBuf>,
    answered: &mut HashSet<PathBuf>,
) {
    if created.insert(entry.to_path_buf()) {
        let provider = match kernel {
            Kernel::Provider(p) => p,
            _ => "tdx_guest",
        };
        write_atomic(&entry.join("generation"), b"0\n");
        write_atomic(&entry.join("provider"), format!("{provider}\n").as_bytes());
        return;
    }
    let Ok(inblob) = std::fs::read(entry.join("inblob")) else {
        return;
    };
    if inblob.len() != 64 || !answered.insert(entry.to_path_buf()) {
        return;
    }
    let generation: &[u8] = if matches!(kernel, Kernel::ConcurrentWriter) {
        b"2\n"
    } else {
        b"1\n"
    };
    write_atomic(&entry.join("generation"), generation);
    let reply = match kernel {
        Kernel::Reply(bytes) => bytes.clone(),
        Kernel::Silent => return,
        _ => sim_quote(Tee::Tdx, inblob.try_into().unwrap()),
    };
    write_atomic(&entry.join("outblob"), &reply);
}

fn report_data(tag: u8) -> [u8; 64] {
    let mut d = [0u8; 64];
    d[0] = tag;
    d[63] = 0xaa;
    d
}

#[test]
fn tdx_through_configfs_tsm_yields_a_quote_that_verifies() {
    let fake = FakeTsm::start(Kernel::Honest);
    std::fs::write(fake.dir.path().join("CCEL"), b"fake event log").unwrap();
    let evidence = fake.attester().collect(&report_data(1)).unwrap();
    assert_eq!(evidence.tee, TeeType::Tdx);
    assert_eq!(
        evidence.cc_eventlog.as_deref(),
        Some(&b"fake event log"[..])
    );
    // The quote is real: it verifies under the simulator's root.
    let sim = shared_sim();
    let files = sim
        .collateral(&scute_sim::CollateralOptions::valid_at(
            Tee::Tdx,
            1_790_000_000,
        ))
        .unwrap();
    let collateral =
        Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone()))
            .unwrap();
    let anchor = TrustAnchor::from_certificate(sim.root_ca_pem().as_bytes()).unwrap();
    let verified = verify(
        &evidence.quote,
        &collateral,
        &anchor,
        1_790_000_000,
        VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(verified.quote().report_data(), &report_data(1));
    // The report entry is gone afterwards.
    assert_eq!(std::fs::read_dir(fake.root()).unwrap().count(), 0);
}

#[test]
fn concurrent_requests_use_separate_entries() {
    let fake = FakeTsm::start(Kernel::Honest);
    let attester = Arc::new(fake.attester());
    let handles: Vec<_> = (0..4u8)
        .map(|i| {
            let a = attester.clone();
            std::thread::spawn(move || a.collect(&report_data(10 + i)).map(|e| e.quote))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let quote = h.join().unwrap().unwrap();
        let decoded = scute_quote::Quote::decode(&quote).unwrap();
        assert_eq!(decoded.report_data()[0], 10 + i as u8);
    }
}

#[test]
fn configfs_tsm_failures_are_named() {
    let err = FakeTsm::start(Kernel::Provider("sev_guest"))
        .attester()
        .collect(&report_data(2))
        .unwrap_err();
    assert!(
        matches!(err, AttesterError::WrongProvider(ref p) if p == "sev_guest"),
        "{err}"
    );

    let err = FakeTsm::start(Kernel::ConcurrentWriter)
        .attester()
        .collect(&report_data(2))
        .unwrap_err();
    assert!(
        matches!(
            err,
            AttesterError::GenerationChanged {
                expected: 1,
                found: 2
            }
        ),
        "{err}"
    );

    let short = sim_quote(Tee::Tdx, report_data(2))[..100].to_vec();
    let err = FakeTsm::start(Kernel::Reply(short))
        .attester()
        .collect(&report_data(2))
        .unwrap_err();
    assert!(
        matches!(
            err,
            AttesterError::BadQuote(scute_quote::QuoteError::Truncated { .. })
        ),
        "{err}"
    );

    let mut huge = sim_quote(Tee::Tdx, report_data(2));
    huge.resize(40 * 1024, 0);
    let err = FakeTsm::start(Kernel::Reply(huge))
        .attester()
        .collect(&report_data(2))
        .unwrap_err();
    assert!(matches!(err, AttesterError::QuoteTooLarge { .. }), "{err}");

    let other = sim_quote(Tee::Tdx, report_data(3));
    let err = FakeTsm::start(Kernel::Reply(other))
        .attester()
        .collect(&report_data(2))
        .unwrap_err();
    assert!(matches!(err, AttesterError::ReportDataMismatch), "{err}");

    let fake = FakeTsm::start(Kernel::Silent);
    let mut attester = fake.attester();
    attester.timeout = Duration::from_millis(200);
    assert!(matches!(
        attester.collect(&report_data(2)).unwrap_err(),
        AttesterError::Timeout { .. }
    ));
    assert_eq!(
        std::fs::read_dir(fake.root()).unwrap().count(),
        0,
        "the entry is removed on failure too"
    );

    let missing = TsmReport::new(PathBuf::from("/nonexistent/tsm/report"), None);
    assert!(matches!(
        missing.collect(&report_data(2)).unwrap_err(),
        AttesterError::NotAvailable { .. }
    ));
}

fn gramine_tree(kind: &str, quote: Option<Vec<u8>>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("attestation_type"), format!("{kind}\n")).unwrap();
    if let Some(q) = quote {
        std::fs::write(dir.path().join("quote"), q).unwrap();
    }
    dir
}

#[test]
fn sgx_inside_gramine() {
    let data = report_data(4);
    let dir = gramine_tree("dcap", Some(sim_quote(Tee::Sgx, data)));
    let evidence = Gramine::new(dir.path().into()).collect(&data).unwrap();
    assert_eq!(evidence.tee, TeeType::Sgx);
    assert_eq!(
        std::fs::read(dir.path().join("user_report_data")).unwrap(),
        data
    );

    let dir = gramine_tree("epid", Some(sim_quote(Tee::Sgx, data)));
    let err = Gramine::new(dir.path().into()).collect(&data).unwrap_err();
    assert!(matches!(err, AttesterError::UnsupportedAttestationType(ref k) if k == "epid"));

    let dir = gramine_tree("dcap", None);
    assert!(matches!(
        Gramine::new(dir.path().into()).collect(&data).unwrap_err(),
        AttesterError::Io { .. }
    ));

    let dir = gramine_tree("dcap", Some(sim_quote(Tee::Sgx, data)[..47].to_vec()));
    assert!(matches!(
        Gramine::new(dir.path().into()).collect(&data).unwrap_err(),
        AttesterError::BadQuote(_)
    ));

    let dir = gramine_tree("dcap", Some(sim_quote(Tee::Sgx, report_data(5))));
    assert!(matches!(
        Gramine::new(dir.path().into()).collect(&data).unwrap_err(),
        AttesterError::ReportDataMismatch
    ));
}

#[test]
fn sgx_inside_occlum() {
    let data = report_data(6);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("attestation_quote"),
        sim_quote(Tee::Sgx, data),
    )
    .unwrap();
    let evidence = Occlum::new(dir.path().into()).collect(&data).unwrap();
    assert_eq!(evidence.tee, TeeType::Sgx);
    assert_eq!(
        std::fs::read(dir.path().join("attestation_report_data")).unwrap(),
        data
    );

    let mut huge = sim_quote(Tee::Sgx, data);
    huge.resize(33 * 1024, 0);
    std::fs::write(dir.path().join("attestation_quote"), huge).unwrap();
    assert!(matches!(
        Occlum::new(dir.path().into()).collect(&data).unwrap_err(),
        AttesterError::QuoteTooLarge { .. }
    ));

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        Occlum::new(empty.path().into()).collect(&data).unwrap_err(),
        AttesterError::NotAvailable { .. }
    ));
}

#[test]
fn the_simulator_keeps_its_pki_and_collateral_in_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sim_dir = dir.path().join("sim");
    let first = Simulated::open(sim_dir.clone(), Tee::Tdx).unwrap();
    let evidence = first.collect(&report_data(8)).unwrap();
    let collateral =
        Collateral::from_files(|n| std::fs::read(sim_dir.join("collateral").join(n)).ok()).unwrap();
    let anchor =
        TrustAnchor::from_certificate(&std::fs::read(sim_dir.join("root_ca.pem")).unwrap())
            .unwrap();
    let v = verify(
        &evidence.quote,
        &collateral,
        &anchor,
        now(),
        VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(v.tcb_status().name(), "UpToDate");
    // Opened again, it is the same machine: same root, its quotes verify the same way.
    let again = Simulated::open(sim_dir.clone(), Tee::Sgx).unwrap();
    assert_eq!(again.root_ca_pem(), first.root_ca_pem());
    let evidence = again.collect(&report_data(9)).unwrap();
    assert_eq!(
        evidence.tee,
        TeeType::Tdx,
        "the machine keeps the TEE it was created with"
    );
    verify(
        &evidence.quote,
        &collateral,
        &anchor,
        now(),
        VerifyOptions::default(),
    )
    .unwrap();
}

#[test]
fn detection_follows_the_documented_order() {
    let fake = FakeTsm::start(Kernel::Honest);
    let gramine = gramine_tree("dcap", Some(sim_quote(Tee::Sgx, report_data(1))));
    let nothing = tempfile::tempdir().unwrap();
    let absent = |name: &str| nothing.path().join(name);
    let paths = |tsm: PathBuf, gramine: PathBuf| Paths {
        tsm_report: tsm,
        ccel: absent("ccel"),
        gramine,
        occlum_dev: absent("dev"),
    };

    let found = detect(&paths(fake.root(), gramine.path().into()), None).unwrap();
    assert_eq!(found.name(), "tdx (configfs-tsm)");
    let found = detect(&paths(absent("tsm"), gramine.path().into()), None).unwrap();
    assert_eq!(found.name(), "sgx (gramine)");
    let found = detect(
        &paths(absent("tsm"), absent("gramine")),
        Some(nothing.path().join("sim")),
    )
    .unwrap();
    assert_eq!(found.name(), "tdx (simulated)");
    let err = detect(&paths(absent("tsm"), absent("gramine")), None)
        .err()
        .unwrap();
    assert!(matches!(err, AttesterError::NoTeeFound { .. }));
    assert!(err.to_string().contains("configfs-tsm"), "{err}");
}
