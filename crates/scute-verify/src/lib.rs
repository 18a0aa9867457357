//! Verification of any TEE's evidence through one API, for the CLI (`scute verify`) and the
//! server: decode the wire evidence, say which endorsements it needs and how they are keyed,
//! verify with given endorsements, roots and instant, and return the typed verified report.
//! Pure: files and network are the caller's (endorsements arrive through [`Files`]).
//!
//! `registry.rs` is the one file naming every TEE; each TEE's adapter is one file under
//! `adapter/`. `docs/adding-a-tee.md` says what a new TEE adds.
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod adapter;
mod registry;

pub use registry::{adapter, EndorsementService, Family, Service, TeeError};
pub use scute_tee::InitDataSlot;
pub use scute_tee::{Tee, UnixTime, VerifiedReport};

use scute_tee::EndorsementKey;
use serde_json::{Map, Value};
use std::any::Any;
use std::sync::Arc;

/// Endorsement files by name (a collateral directory, or a store answering the same names).
pub trait Files {
    /// The file's bytes; `Ok(None)` when it does not exist; `Err` (a message) when it cannot be
    /// read.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String>;
    /// Where the files are, for messages (a directory's path).
    fn location(&self) -> String;
}

/// Which trust roots to verify against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Roots {
    /// The vendor's pinned roots.
    #[default]
    Vendor,
    /// This root certificate (PEM or DER) instead of the vendor's (`--root-ca`).
    Replace(Vec<u8>),
    /// This root certificate besides the vendor's (`--ark`).
    Add(Vec<u8>),
    /// The TEE's own trust-roots value, as a service configured it (`scute_snp::TrustRoots`,
    /// `scute_csv::TrustRoots`): the vendor's and the operator's roots, parsed once at start.
    Given(GivenRoots),
}

/// A TEE's own trust-roots value (see [`Roots::Given`]); an adapter given another TEE's roots
/// cannot run. Equal only to itself (the same allocation).
#[derive(Clone)]
pub struct GivenRoots(Arc<dyn Any + Send + Sync>);

impl GivenRoots {
    pub fn new<T: Any + Send + Sync>(roots: T) -> Self {
        Self(Arc::new(roots))
    }
    pub(crate) fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl std::fmt::Debug for GivenRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GivenRoots(..)")
    }
}

impl PartialEq for GivenRoots {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for GivenRoots {}

/// How a TEE's roots can be changed; `None` from [`Adapter::roots_flag`]: they cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootsFlag {
    /// `--root-ca`: replaces the vendor root (DCAP, CSV).
    Replace,
    /// `--ark`: adds a root (SEV-SNP).
    Add,
}

/// Relaxations only some TEEs know (DCAP's TD attributes); others ignore them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    pub allow_service_td: bool,
    pub dangerous_allow_sept_ve: bool,
}

/// Decoded evidence; only its own adapter reads inside.
pub struct Evidence {
    family: Family,
    inner: Box<dyn Any + Send + Sync>,
}

impl Evidence {
    pub(crate) fn new<T: Any + Send + Sync>(family: Family, inner: T) -> Self {
        Self {
            family,
            inner: Box::new(inner),
        }
    }
    pub(crate) fn get<T: Any>(&self) -> Option<&T> {
        self.inner.downcast_ref()
    }
    pub fn family(&self) -> Family {
        self.family
    }
    /// The TEE crate's own decoded evidence (`scute_dcap::QuoteEvidence`,
    /// `scute_snp::Evidence`, `scute_csv::Evidence`), for a caller that looks up endorsements
    /// or checks bindings before verifying (a service: nothing unbound may cost a fetch).
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.get()
    }
}

/// Endorsements for one TEE (DCAP collateral, a VCEK/VLEK and its chain, HSK/CEK).
pub struct Endorsements {
    inner: Box<dyn Any + Send + Sync>,
}

impl Endorsements {
    /// Endorsements of the TEE's own type (`scute_dcap::Collateral`, `scute_snp::Endorsements`,
    /// `scute_csv::HskCek`), e.g. fetched from a collateral service; for DCAP also an
    /// `Arc<scute_dcap::VerifiedCollateral>` (a service's warm cache: verified once against its
    /// anchor, then each quote is checked against it without verifying the collateral again).
    pub fn new<T: Any + Send + Sync>(inner: T) -> Self {
        Self {
            inner: Box::new(inner),
        }
    }
    pub(crate) fn get<T: Any>(&self) -> Option<&T> {
        self.inner.downcast_ref()
    }
}

/// A verified report of some TEE: the seam's view ([`VerifiedReport`]) and its adapter's.
pub trait VerifiedAny: VerifiedReport + Any + Send + Sync {
    fn as_any(&self) -> &dyn Any;
}

impl<T: VerifiedReport + Any + Send + Sync> VerifiedAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A verified report. Only an adapter's `verify` makes one.
pub struct Verified {
    family: Family,
    inner: Box<dyn VerifiedAny>,
}

impl Verified {
    pub(crate) fn new<T: VerifiedAny>(family: Family, inner: T) -> Self {
        Self {
            family,
            inner: Box::new(inner),
        }
    }
    pub(crate) fn get<T: Any>(&self) -> Option<&T> {
        self.inner.as_any().downcast_ref()
    }
    pub fn report(&self) -> &dyn VerifiedAny {
        &*self.inner
    }
    pub fn family(&self) -> Family {
        self.family
    }
    /// The TEE crate's own proof type (`scute_dcap::VerifiedQuote`,
    /// `scute_snp::VerifiedReport`, `scute_csv::VerifiedReport`), for claims that read more
    /// than [`VerifiedReport`] exposes.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.get()
    }
}

/// Why evidence is not verified, or could not be judged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TEE's verifier refused it.
    #[error(transparent)]
    Tee(#[from] TeeError),
    /// An endorsement file is not what its name says: the collateral is bad, so the evidence is
    /// not verified (kind `collateral_decode`).
    #[error("{file}: {source}")]
    Collateral {
        file: &'static str,
        source: TeeError,
    },
    /// The report data is not the expected value.
    #[error("report_data does not match the expected value")]
    ReportDataMismatch,
    /// A verified debug guest, refused by the TEE's one debug rule; names the guest kind.
    #[error("debug {0} not allowed")]
    Debug(&'static str),
    /// Inputs that could not be read or used (exit 2 in the CLI).
    #[error("{0}")]
    CannotRun(String),
}

impl Error {
    /// The stable kind the JSON contract shows.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Tee(e) => e.kind(),
            Error::Collateral { .. } => "collateral_decode",
            Error::ReportDataMismatch => "report_data_mismatch",
            Error::Debug(_) => "debug_not_allowed",
            Error::CannotRun(_) => "cannot_run",
        }
    }

    /// The one hint table: what to do about this failure.
    pub fn hint(&self) -> &'static str {
        match self {
            Error::Tee(e) => e.hint(),
            Error::Collateral { .. } => adapter::csv::COLLATERAL_DECODE_HINT,
            Error::ReportDataMismatch => {
                "the evidence was made for other report data: it does not vouch for this request"
            }
            Error::Debug(_) => DEBUG_HINT,
            Error::CannotRun(_) => "check the paths and flags given",
        }
    }
}

/// The hint of a refused debug guest.
pub const DEBUG_HINT: &str = "debug TEEs are rejected; --allow-debug accepts them for testing only";

/// One TEE family's verifier (DCAP covers SGX and TDX). Implemented once per adapter file.
pub trait Adapter: Send + Sync {
    /// The TEEs this adapter verifies.
    fn tees(&self) -> &'static [Tee];
    /// How its roots can be changed, if at all.
    fn roots_flag(&self) -> Option<RootsFlag>;
    /// Wire bytes (raw, or the KBS JSON form where the TEE has one) → evidence.
    fn decode(&self, bytes: &[u8]) -> Result<Evidence, Error>;
    /// The TEE and report version the bytes claim, for a refusal's output (unverified).
    fn identify(&self, bytes: &[u8]) -> (Option<Tee>, Option<u32>);
    /// The endorsement the evidence needs from outside, keyed; `None`: none or its own.
    fn endorsement_key(&self, evidence: &Evidence) -> Result<Option<EndorsementKey>, Error>;
    /// The endorsements in `files` under the TEE's file names (`None`: none there).
    fn endorsements(&self, files: &dyn Files) -> Result<Option<Endorsements>, Error>;
    /// Authenticity at `at`; debug is not judged here ([`Adapter::debug`]).
    fn verify(
        &self,
        evidence: &Evidence,
        endorsements: Option<&Endorsements>,
        roots: &Roots,
        at: UnixTime,
        expected_report_data: Option<&[u8; 64]>,
        options: &Options,
    ) -> Result<Verified, Error>;
    /// The TEE's one debug rule: `Some(guest kind)` when the verified report counts as debug.
    fn debug(&self, verified: &Verified) -> Option<&'static str>;
    /// The decoded report as JSON (`report` of the CLI contract, claims' `report`).
    fn report_json(&self, verified: &Verified) -> Value;
    /// This TEE's own top-level members of the CLI contract (null-valued when not verified).
    fn output_fields(&self, verified: Option<&Verified>) -> Map<String, Value>;
    /// Human-readable lines about a verified report (after the `VERIFIED:` headline's first).
    fn describe(&self, verified: &Verified, at: UnixTime) -> Vec<String>;
}

/// The whole verdict, one way for every TEE: verify, then the report data (when expected),
/// then the TEE's one debug rule (after verification, so a forged debug bit never decides a
/// refusal's kind).
#[allow(clippy::too_many_arguments)]
pub fn verify(
    adapter: &dyn Adapter,
    evidence: &Evidence,
    endorsements: Option<&Endorsements>,
    roots: &Roots,
    at: UnixTime,
    expected_report_data: Option<&[u8; 64]>,
    allow_debug: bool,
    options: &Options,
) -> Result<Verified, Error> {
    let verified = adapter.verify(
        evidence,
        endorsements,
        roots,
        at,
        expected_report_data,
        options,
    )?;
    if let Some(expected) = expected_report_data {
        if verified.report().report_data() != expected {
            return Err(Error::ReportDataMismatch);
        }
    }
    match adapter.debug(&verified) {
        Some(what) if !allow_debug => Err(Error::Debug(what)),
        _ => Ok(verified),
    }
}
