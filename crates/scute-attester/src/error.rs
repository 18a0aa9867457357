//! The one error type of evidence collection: which backend, which file, what went wrong.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AttesterError {
    #[error("{backend} is not available here: {path} does not exist")]
    NotAvailable {
        backend: &'static str,
        path: PathBuf,
    },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("output path {0} has no file name")]
    NoFileName(PathBuf),
    #[error("configfs-tsm provider is {0:?}, not the one asked for")]
    WrongProvider(String),
    #[error("the TEE returned a malformed SEV-SNP report or certificate table: {0}")]
    BadSnpReport(#[from] scute_snp::SnpError),
    #[error("report generation moved from {expected} to {found}: another writer used the same report entry")]
    GenerationChanged { expected: u64, found: u64 },
    #[error("{path} is not a decimal generation counter: {text:?}")]
    BadGeneration { path: PathBuf, text: String },
    #[error("quote is larger than {limit} bytes")]
    QuoteTooLarge { limit: usize },
    #[error("the TEE returned no quote within {seconds} s")]
    Timeout { seconds: u64 },
    #[error("the TEE returned a malformed quote: {0}")]
    BadQuote(#[from] scute_quote::QuoteError),
    #[error("the quote does not carry the requested report data")]
    ReportDataMismatch,
    #[error("Gramine attestation type is {0:?}; only \"dcap\" gives a DCAP quote")]
    UnsupportedAttestationType(String),
    #[error("no TEE found (looked for: {})", probed.join(", "))]
    NoTeeFound { probed: Vec<String> },
    #[error("the simulator in {dir} was made with another seed than {asked}")]
    SeedMismatch { dir: PathBuf, asked: u64 },
    #[error("the system's random number generator failed")]
    Randomness,
    #[error("simulator: {0}")]
    Sim(#[from] scute_sim::SimError),
    #[error("{dir} holds a simulated {found} machine, not {asked}")]
    OtherSimulator {
        dir: PathBuf,
        found: &'static str,
        asked: &'static str,
    },
    #[error("{path}: {reason}")]
    BadMachine { path: PathBuf, reason: String },
    #[error("the Hygon CSV guest device {path} refused the report request: {source}")]
    CsvDevice {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CSV report the PSP answered: {0}")]
    CsvReport(String),
}

pub(crate) fn io(
    op: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> AttesterError {
    let path = path.to_path_buf();
    move |source| AttesterError::Io { op, path, source }
}
