//! SEV-SNP through configfs-tsm (provider `sev_guest`) on a tree a fake-kernel thread animates:
//! the report in outblob (signed by the simulated firmware's VCEK), the certificate table in
//! auxblob; the evidence verifies with scute-snp under the simulated ARK.

use scute_attester::{AttesterError, TsmReport};
use scute_sim::amd::{guest_report, AmdPki, Vek, VekKind};
use scute_snp::{CertTable, Collateral, Product, TcbVersion, TrustRoots};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const START: i64 = 1_790_000_000;
const TCB: TcbVersion = TcbVersion([3, 0, 0, 0, 0, 0, 8, 0x73]);

fn pki() -> &'static AmdPki {
    static PKI: OnceLock<AmdPki> = OnceLock::new();
    PKI.get_or_init(|| AmdPki::new(Product::Milan, START).unwrap())
}

fn vcek() -> &'static Vek {
    static VCEK: OnceLock<Vek> = OnceLock::new();
    VCEK.get_or_init(|| {
        pki()
            .issue_vek(&pki().vek_spec(VekKind::Vcek, TCB, vec![0x42; 64]))
            .unwrap()
    })
}

fn ders(pem: &str) -> Vec<Vec<u8>> {
    pem.split("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN"))
        .map(|b| {
            let text: String = b.lines().filter(|l| !l.starts_with("-----")).collect();
            base64_decode(&text)
        })
        .collect()
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| ALPHABET.contains(c)) {
        acc = (acc << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn write_atomic(path: &Path, bytes: &[u8]) {
    let tmp = path.with_file_name(format!(
        ".tmp-{}",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[derive(Clone, Copy, PartialEq)]
enum Kernel {
    Honest,
    TdxProvider,
    OtherReportData,
}

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
        let chain = ders(&pki().cert_chain_pem(VekKind::Vcek));
        let table = CertTable {
            vcek: Some(vcek().der.clone()),
            ask: Some(chain[0].clone()),
            ark: Some(chain[1].clone()),
            ..CertTable::default()
        }
        .encode();
        let thread = std::thread::spawn(move || {
            let (mut created, mut answered) = (HashSet::<PathBuf>::new(), HashSet::new());
            while !flag.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                    let entry = entry.path();
                    if created.insert(entry.clone()) {
                        let provider = if kernel == Kernel::TdxProvider {
                            "tdx_guest"
                        } else {
                            "sev_guest"
                        };
                        write_atomic(&entry.join("generation"), b"0\n");
                        write_atomic(&entry.join("provider"), format!("{provider}\n").as_bytes());
                        continue;
                    }
                    let Ok(inblob) = std::fs::read(entry.join("inblob")) else {
                        continue;
                    };
                    if inblob.len() != 64 || !answered.insert(entry.clone()) {
                        continue;
                    }
                    let mut report_data: [u8; 64] = inblob.try_into().unwrap();
                    if kernel == Kernel::OtherReportData {
                        report_data[0] ^= 1;
                    }
                    let mut report = guest_report(Product::Milan, TCB, [0x42; 64], report_data);
                    vcek().sign(&mut report).unwrap();
                    write_atomic(&entry.join("generation"), b"1\n");
                    write_atomic(&entry.join("auxblob"), &table);
                    write_atomic(&entry.join("outblob"), &report.encode());
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

    fn attester(&self) -> TsmReport {
        let mut tsm = TsmReport::new(self.dir.path().join("report"), None);
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

#[test]
fn snp_through_configfs_tsm_yields_a_report_and_certificates_that_verify() {
    let fake = FakeTsm::start(Kernel::Honest);
    let evidence = fake.attester().collect_snp(&[7; 64]).unwrap();
    let vek = evidence.certs.vcek.clone().unwrap();
    let chain = evidence.certs.chain_pem().unwrap();
    let roots = TrustRoots::amd()
        .with_ark(pki().ark_pem().as_bytes())
        .unwrap();
    let verified = scute_snp::verify(
        &evidence.report,
        &Collateral {
            vek: &vek,
            chain: Some(chain.as_bytes()),
            crl: None,
        },
        &roots,
        START + 60,
    )
    .unwrap();
    assert_eq!(verified.report().report_data, [7; 64]);
    // The entry is gone afterwards.
    assert_eq!(
        std::fs::read_dir(fake.dir.path().join("report"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn snp_collection_refuses_another_provider_and_other_report_data() {
    let fake = FakeTsm::start(Kernel::TdxProvider);
    assert!(matches!(
        fake.attester().collect_snp(&[7; 64]),
        Err(AttesterError::WrongProvider(p)) if p == "tdx_guest"
    ));
    let fake = FakeTsm::start(Kernel::OtherReportData);
    assert!(matches!(
        fake.attester().collect_snp(&[7; 64]),
        Err(AttesterError::ReportDataMismatch)
    ));
}

#[test]
fn the_certificate_table_round_trips_and_rejects_entries_outside_it() {
    let table = CertTable {
        vcek: Some(vec![1, 2, 3]),
        ark: Some(vec![4]),
        ..CertTable::default()
    };
    let bytes = table.encode();
    assert_eq!(CertTable::decode(&bytes).unwrap(), table);
    assert_eq!(CertTable::decode(&[]).unwrap(), CertTable::default());
    let mut bad = bytes.clone();
    bad[16] = 0xff; // the first entry's offset
    assert!(CertTable::decode(&bad).is_err());
    assert!(CertTable::decode(&bytes[..30]).is_err());
}
