//! The verify contract every TEE crate implements, the same for all: decode wire evidence (pure),
//! say which endorsements it needs (pure), verify authenticity against trust roots, endorsements
//! and an explicit instant (pure) and return the crate's proof type.

use crate::{Tee, VerifiedReport};

/// Seconds since the Unix epoch (the instant verification is judged at).
pub type UnixTime = i64;

/// The stable snake_case kind of an error (`kind()` of each TEE crate's error enum), as CLIs
/// and APIs expose it.
pub trait ErrorKind {
    fn kind(&self) -> &'static str;
}

/// What endorses a report and how a store or fetcher finds it: the endorsement's kind (a stable
/// store prefix) and its key within that kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndorsementKey {
    pub tee: Tee,
    /// `dcap-collateral`, `snp-vcek`, `snp-vlek`, `csv-hsk-cek`.
    pub kind: &'static str,
    /// The key within the kind, as text (hex FMSPC and CA; hex chip id and TCB; chip serial).
    pub id: String,
}

/// One TEE's verifier. The rules every implementation keeps:
///
/// - `decode` accepts the forms that TEE's evidence arrives in (raw bytes; the KBS JSON form
///   where the TEE has one) and refuses, with a typed error, anything else;
/// - `verify` checks authenticity only, as of `at` (a TEE whose certificates carry no validity
///   ignores it). It never refuses a debug report: callers apply the one debug rule through
///   [`VerifiedReport::is_debug`];
/// - `expected_report_data`: a TEE that needs it to prove its fields (CSV in Trustee's form,
///   CSV V1's anonce) uses it and fails on a mismatch; callers still compare
///   [`VerifiedReport::report_data`] themselves, for every TEE.
pub trait Verifier {
    /// Decoded evidence.
    type Evidence;
    /// What endorses a report from outside the evidence (DCAP collateral, VCEK/VLEK, HSK/CEK).
    type Endorsements;
    /// The trust roots (Intel SGX Root CA, AMD ARKs, Hygon HRKs).
    type Roots;
    /// Relaxations the TEE knows (DCAP's service-TD and SEPT_VE rules); `()` where none.
    type Options: Default;
    type Verified: VerifiedReport;
    type Error: std::error::Error + ErrorKind;

    fn decode(bytes: &[u8]) -> Result<Self::Evidence, Self::Error>;

    /// The endorsement the evidence needs, keyed (`None`: it needs none, or carries its own).
    fn endorsement_key(evidence: &Self::Evidence) -> Result<Option<EndorsementKey>, Self::Error>;

    fn verify(
        evidence: &Self::Evidence,
        endorsements: Option<&Self::Endorsements>,
        roots: &Self::Roots,
        at: UnixTime,
        expected_report_data: Option<&[u8; 64]>,
        options: &Self::Options,
    ) -> Result<Self::Verified, Self::Error>;
}
