//! What the fuzz targets share: the real evidence under `../shared/vectors` (read at start-up,
//! never copied into the repository), the genuine verdicts the oracles compare against, and
//! seeding of a target's corpus directory from those vectors.

use scute_dcap::{verify_collateral, Collateral, DcapError, TrustAnchor, VerifiedCollateral};
use std::path::{Path, PathBuf};

/// `../shared/vectors` beside the checkout (the fuzz crate sits one level below its root).
pub fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

/// One file of a vector case.
pub fn read(case: &str, file: &str) -> Option<Vec<u8>> {
    std::fs::read(vectors().join(case).join(file)).ok()
}

/// The case directories whose name passes `keep`, sorted so indices are stable across runs.
pub fn cases(keep: impl Fn(&str) -> bool) -> Vec<String> {
    let dir = vectors();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fuzz harness: cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| keep(n))
        .collect();
    names.sort();
    names
}

/// A DCAP case whose collateral authenticates under the production Intel root.
pub struct DcapCase {
    pub name: String,
    pub collateral: Collateral,
    pub verified: VerifiedCollateral,
    pub quote: Vec<u8>,
    /// `expected.json`'s `verify_time_unix`: an instant at which the whole set is valid.
    pub at: i64,
}

impl DcapCase {
    /// The verdict the genuine collateral gives the genuine quote (the oracle's reference).
    pub fn verdict(&self, verified: &VerifiedCollateral) -> Result<String, DcapError> {
        verdict(verified, &self.quote, self.at)
    }
}

/// A quote's verdict reduced to what must not change: the TCB status, or the error.
pub fn verdict(verified: &VerifiedCollateral, quote: &[u8], at: i64) -> Result<String, DcapError> {
    let options = scute_dcap::VerifyOptions {
        allow_debug: true,
        ..Default::default()
    };
    verified
        .verify_quote(quote, at, options)
        .map(|v| format!("{:?}", v.tcb_status()))
}

/// Every DCAP case whose collateral verifies against the production root (the Intel QVL
/// samples, signed by Intel's test root, are left out).
pub fn dcap_cases() -> Vec<DcapCase> {
    let anchor = TrustAnchor::intel_sgx_root();
    cases(|n| read(n, "tcb_info.json").is_some())
        .into_iter()
        .filter_map(|name| {
            let collateral = Collateral::from_files(|f| read(&name, f)).ok()?;
            let verified = verify_collateral(&collateral, &anchor).ok()?;
            let expected: serde_json::Value =
                serde_json::from_slice(&read(&name, "expected.json")?).ok()?;
            Some(DcapCase {
                at: expected.get("verify_time_unix")?.as_i64()?,
                quote: read(&name, "quote.bin")?,
                collateral,
                verified,
                name,
            })
        })
        .collect()
}

/// Writes seeds into the corpus directory libFuzzer was given (its first directory argument),
/// so a fresh run starts from real evidence. Runs from the target's `init`, which libFuzzer calls
/// before it reads the corpus. Reproducing a single input (a file argument) writes nothing.
pub fn seed(seeds: impl IntoIterator<Item = (String, Vec<u8>)>) {
    let Some(dir) = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .find(|p| p.is_dir())
    else {
        return;
    };
    for (name, bytes) in seeds {
        let path = dir.join(format!("seed-{name}"));
        if !path.exists() {
            std::fs::write(&path, bytes)
                .unwrap_or_else(|e| panic!("fuzz harness: cannot write {}: {e}", path.display()));
        }
    }
}

/// A PEM wrapping of DER, the form collateral also arrives in.
pub fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::CRLF, der)
        .unwrap_or_else(|e| panic!("fuzz harness: cannot PEM-encode {label}: {e}"))
        .into_bytes()
}

/// The (to-be-signed bytes, signature) of every CERTIFICATE block in PEM text, as x509-parser reads
/// them: what a signature actually covers, whatever the outer encoding.
pub fn signed_parts(pem_text: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    x509_parser::pem::Pem::iter_from_buffer(pem_text)
        .filter_map(|p| p.ok())
        .filter(|p| p.label == "CERTIFICATE")
        .filter_map(|p| {
            let (_, cert) = X509Certificate::from_der(&p.contents).ok()?;
            Some((
                cert.tbs_certificate.as_ref().to_vec(),
                cert.signature_value.data.to_vec(),
            ))
        })
        .collect()
}
