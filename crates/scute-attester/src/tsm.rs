//! TDX quotes and SEV-SNP reports through Linux configfs-tsm (`/sys/kernel/config/tsm/report`, Linux ≥ 6.7): one
//! private report entry per request; inblob in, outblob out, provider checked, and the
//! generation counter proves nobody else wrote to the entry meanwhile (research §4.1).

use crate::error::io;
use crate::files::{read_bounded, read_text, write};
use crate::{checked_quote, Attester, AttesterError, Evidence};
use scute_quote::TeeType;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const EBUSY: i32 = 16;
static NEXT_ENTRY: AtomicU64 = AtomicU64::new(0);

pub struct TsmReport {
    root: PathBuf,
    ccel: Option<PathBuf>,
    /// How long to wait for the host to produce the quote.
    pub timeout: Duration,
}

impl TsmReport {
    pub fn new(root: PathBuf, ccel: Option<PathBuf>) -> Self {
        Self {
            root,
            ccel,
            timeout: Duration::from_secs(60),
        }
    }

    pub fn is_present(&self) -> bool {
        self.root.is_dir()
    }

    fn generation(entry: &Path) -> Result<u64, AttesterError> {
        let path = entry.join("generation");
        let text = read_text(&path)?;
        text.parse()
            .map_err(|_| AttesterError::BadGeneration { path, text })
    }

    /// Reads an attribute of a new entry. configfs creates attributes with the entry; a tree
    /// animated by another process (tests) may show them a moment later, so absence is waited
    /// out until the timeout.
    fn attribute(&self, path: &Path) -> Result<String, AttesterError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match read_text(path) {
                Err(AttesterError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                other => return other,
            }
        }
    }

    /// Reads outblob, waiting while the host is busy producing it.
    fn outblob(&self, entry: &Path) -> Result<Vec<u8>, AttesterError> {
        let path = entry.join("outblob");
        let deadline = Instant::now() + self.timeout;
        loop {
            match read_bounded(&path) {
                Ok(bytes) if !bytes.is_empty() => return Ok(bytes),
                Ok(_) => {}
                Err(e)
                    if e.raw_os_error() == Some(EBUSY)
                        || e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("reading", &path)(e)),
            }
            if Instant::now() >= deadline {
                return Err(AttesterError::Timeout {
                    seconds: self.timeout.as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Removes the report entry however collection ended. On configfs `rmdir` removes an entry
/// with its attributes; on an ordinary directory (a test tree) its files go first.
struct Entry(PathBuf);

impl Drop for Entry {
    fn drop(&mut self) {
        if std::fs::remove_dir(&self.0).is_err() {
            for name in [
                "inblob",
                "outblob",
                "auxblob",
                "provider",
                "generation",
                "privlevel",
            ] {
                let _ = std::fs::remove_file(self.0.join(name));
            }
            let _ = std::fs::remove_dir(&self.0);
        }
    }
}

impl Attester for TsmReport {
    fn name(&self) -> &'static str {
        "tdx (configfs-tsm)"
    }

    fn tee(&self) -> TeeType {
        TeeType::Tdx
    }

    fn collect(&self, report_data: &[u8; 64]) -> Result<Evidence, AttesterError> {
        if !self.is_present() {
            return Err(AttesterError::NotAvailable {
                backend: "configfs-tsm",
                path: self.root.clone(),
            });
        }
        let (outblob, _) = self.exchange("tdx_guest", report_data)?;
        let (tee, quote) = checked_quote(outblob, report_data)?;
        let cc_eventlog = match &self.ccel {
            Some(path) if path.is_file() => Some(std::fs::read(path).map_err(io("reading", path))?),
            _ => None,
        };
        Ok(Evidence {
            tee,
            quote,
            cc_eventlog,
        })
    }
}

/// SEV-SNP evidence from configfs-tsm: the report (outblob) and the host's certificate table
/// (auxblob; empty when the host supplies no certificates). Nothing here is verified.
#[derive(Debug, Clone)]
pub struct SnpEvidence {
    pub report: Vec<u8>,
    pub certs: scute_snp::CertTable,
}

impl TsmReport {
    /// An SEV-SNP report for `report_data` (provider `sev_guest`), checked to be one report
    /// that carries `report_data`, with the certificate table decoded by its GUIDs.
    pub fn collect_snp(&self, report_data: &[u8; 64]) -> Result<SnpEvidence, AttesterError> {
        if !self.is_present() {
            return Err(AttesterError::NotAvailable {
                backend: "configfs-tsm",
                path: self.root.clone(),
            });
        }
        let (report, auxblob) = self.exchange("sev_guest", report_data)?;
        let decoded = scute_snp::Report::decode(&report)?;
        if decoded.report_data != *report_data {
            return Err(AttesterError::ReportDataMismatch);
        }
        Ok(SnpEvidence {
            report,
            certs: scute_snp::CertTable::decode(&auxblob)?,
        })
    }

    /// One private report entry: provider checked, inblob written, outblob (and auxblob, empty
    /// if absent) read, the generation proving no other writer.
    fn exchange(
        &self,
        provider: &str,
        report_data: &[u8; 64],
    ) -> Result<(Vec<u8>, Vec<u8>), AttesterError> {
        let name = format!(
            "scute-{}-{}",
            std::process::id(),
            NEXT_ENTRY.fetch_add(1, Ordering::Relaxed)
        );
        let path = self.root.join(name);
        std::fs::create_dir(&path).map_err(io("creating report entry", &path))?;
        let entry = Entry(path);

        let found = self.attribute(&entry.0.join("provider"))?;
        if found != provider {
            return Err(AttesterError::WrongProvider(found));
        }
        let before = Self::generation(&entry.0)?;
        write(&entry.0.join("inblob"), report_data)?;
        let outblob = self.outblob(&entry.0)?;
        // Our one write moved the generation by exactly one; more means another writer.
        let after = Self::generation(&entry.0)?;
        if after != before + 1 {
            return Err(AttesterError::GenerationChanged {
                expected: before + 1,
                found: after,
            });
        }
        let aux = entry.0.join("auxblob");
        let auxblob = match read_bounded(&aux) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io("reading", &aux)(e)),
        };
        Ok((outblob, auxblob))
    }
}

impl TsmReport {
    /// The provider configfs-tsm reports through (`tdx_guest`, `sev_guest`, ...), read from a
    /// report entry made for the purpose and removed again; nothing is generated.
    pub fn provider(&self) -> Result<String, AttesterError> {
        let name = format!(
            "scute-{}-{}",
            std::process::id(),
            NEXT_ENTRY.fetch_add(1, Ordering::Relaxed)
        );
        let path = self.root.join(name);
        std::fs::create_dir(&path).map_err(io("creating report entry", &path))?;
        let entry = Entry(path);
        self.attribute(&entry.0.join("provider"))
    }
}

/// SEV-SNP through configfs-tsm as a guest attester: the report and the host's certificates.
pub struct TsmSnp {
    tsm: TsmReport,
}

impl TsmSnp {
    pub fn new(tsm: TsmReport) -> Self {
        Self { tsm }
    }
}

impl crate::GuestAttester for TsmSnp {
    fn name(&self) -> &'static str {
        "snp (configfs-tsm)"
    }

    fn guest_tee(&self) -> crate::GuestTee {
        crate::GuestTee::Snp
    }

    fn collect_guest(&self, report_data: &[u8; 64]) -> Result<crate::GuestEvidence, AttesterError> {
        let evidence = self.tsm.collect_snp(report_data)?;
        let certs = evidence.certs;
        let vek = match (certs.vcek, certs.vlek) {
            (Some(v), _) => Some(("VCEK", v)),
            (None, Some(v)) => Some(("VLEK", v)),
            (None, None) => None,
        };
        Ok(crate::GuestEvidence::Snp(crate::SnpGuestEvidence {
            report: evidence.report,
            vek,
            ask: certs.ask,
            ark: certs.ark,
        }))
    }
}
