//! SGX quotes from inside a library OS: Gramine's `/dev/attestation` pseudo-files
//! (attestation_type, user_report_data, quote) and Occlum's `/dev/attestation_report_data`
//! and `/dev/attestation_quote`.

use crate::error::io;
use crate::files::{read_bounded, read_text, write};
use crate::{checked_quote, Attester, AttesterError, Evidence};
use scute_quote::TeeType;
use std::path::{Path, PathBuf};

/// The library-OS protocol both use: write the report data to one file, read the quote from
/// another.
fn quote_through_files(
    report_data_path: &Path,
    quote_path: &Path,
    report_data: &[u8; 64],
) -> Result<Evidence, AttesterError> {
    write(report_data_path, report_data)?;
    let bytes = read_bounded(quote_path).map_err(io("reading", quote_path))?;
    let (tee, quote) = checked_quote(bytes, report_data)?;
    Ok(Evidence {
        tee,
        quote,
        cc_eventlog: None,
    })
}

pub struct Gramine {
    root: PathBuf,
}

impl Gramine {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn is_present(&self) -> bool {
        self.root.join("quote").exists()
    }
}

impl Attester for Gramine {
    fn name(&self) -> &'static str {
        "sgx (gramine)"
    }

    fn tee(&self) -> TeeType {
        TeeType::Sgx
    }

    fn collect(&self, report_data: &[u8; 64]) -> Result<Evidence, AttesterError> {
        if !self.root.is_dir() {
            return Err(AttesterError::NotAvailable {
                backend: "Gramine /dev/attestation",
                path: self.root.clone(),
            });
        }
        let kind = read_text(&self.root.join("attestation_type"))?;
        if kind != "dcap" {
            return Err(AttesterError::UnsupportedAttestationType(kind));
        }
        quote_through_files(
            &self.root.join("user_report_data"),
            &self.root.join("quote"),
            report_data,
        )
    }
}

pub struct Occlum {
    dev: PathBuf,
}

impl Occlum {
    pub fn new(dev: PathBuf) -> Self {
        Self { dev }
    }

    pub fn is_present(&self) -> bool {
        self.dev.join("attestation_quote").exists()
    }
}

impl Attester for Occlum {
    fn name(&self) -> &'static str {
        "sgx (occlum)"
    }

    fn tee(&self) -> TeeType {
        TeeType::Sgx
    }

    fn collect(&self, report_data: &[u8; 64]) -> Result<Evidence, AttesterError> {
        if !self.is_present() {
            return Err(AttesterError::NotAvailable {
                backend: "Occlum",
                path: self.dev.join("attestation_quote"),
            });
        }
        quote_through_files(
            &self.dev.join("attestation_report_data"),
            &self.dev.join("attestation_quote"),
            report_data,
        )
    }
}
