//! The TEE adapters of the service: per TEE, what verifying its evidence needs from the
//! service (trust roots, stored and fetched endorsements) around the pure verification of its
//! crate, and the bindings every TEE checks the same way (report data, init-data). The
//! pipeline hands evidence and what it must bind to [`Verifiers::verify`], and gets back
//! [`Verified`] evidence; nothing here knows about HTTP or policies.

pub(crate) mod claims;
pub(crate) mod csv;
pub(crate) mod dcap;
pub(crate) mod eventlog;
pub(crate) mod sample;
pub(crate) mod snp;

use crate::collateral::CollateralCache;
use crate::problem::Problem;
use crate::store::Store;
pub use claims::Claims;
use scute_dcap::TrustAnchor;

/// The TEEs the pipeline can appraise, as front doors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tee {
    Sgx,
    Tdx,
    /// AMD SEV-SNP.
    Snp,
    /// Hygon CSV (`tee::csv`).
    Csv,
    /// Confidential Containers' `sample` TEE: nothing to verify; refused unless configured.
    Sample,
}

impl Tee {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sgx" => Some(Self::Sgx),
            "tdx" => Some(Self::Tdx),
            "snp" => Some(Self::Snp),
            "csv" => Some(Self::Csv),
            "sample" => Some(Self::Sample),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sgx => "sgx",
            Self::Tdx => "tdx",
            Self::Snp => "snp",
            Self::Csv => "csv",
            Self::Sample => "sample",
        }
    }
}

/// Evidence as decoded from a front door's wire format (bytes, not base64).
pub enum Evidence {
    /// An SGX or TDX quote, and for TDX optionally the CCEL event log.
    Dcap {
        tee: Tee,
        quote: Vec<u8>,
        cc_eventlog: Option<Vec<u8>>,
    },
    /// An SEV-SNP report and what endorses it.
    Snp(snp::SnpEvidence),
    /// A Hygon CSV report: raw, or the CoCo attester's evidence JSON (text); and an event log.
    Csv {
        evidence: Vec<u8>,
        cc_eventlog: Option<Vec<u8>>,
    },
    /// The `sample` TEE's claim of its report data (nothing vouches for it).
    Sample { report_data: Vec<u8> },
}

/// What the evidence must bind, as the front door computed it.
#[derive(Clone, Copy)]
pub(crate) struct Binding<'a> {
    /// What the evidence's report data must be, all 64 bytes (the front door's binding rule).
    pub(crate) report_data: &'a [u8; 64],
    /// The init-data digest the TEE's init-data field must carry, when init-data was sent.
    pub(crate) init_data: Option<&'a [u8]>,
}

/// Verified evidence in the one shape the rest of the pipeline consumes.
pub(crate) struct Verified {
    pub(crate) claims: Claims,
    pub(crate) tcb_status: String,
    /// The instant after which the verdict is no longer vouched for (collateral expiry).
    pub(crate) expires: i64,
}

/// Everything verification needs from the service: the trust roots of each TEE, the stored and
/// fetched endorsements, and the warm caches of verified ones.
pub(crate) struct Verifiers {
    pub(crate) store: Store,
    /// Intel's root first, then `trust_roots`.
    pub(crate) anchors: Vec<TrustAnchor>,
    pub(crate) collateral: CollateralCache,
    /// Which platform (FMSPC, CA) a quote's PCK chain names, by the chain's bytes.
    pub(crate) platforms: scute_dcap::PlatformCache,
    /// The ARKs SEV-SNP chains may end in: AMD's pinned roots and `snp_trust_roots`.
    pub(crate) snp_roots: scute_snp::TrustRoots,
    /// Where VCEKs missing from evidence and store are fetched (`snp_kds_url`).
    pub(crate) snp_kds: Option<snp::Kds>,
    pub(crate) csv_roots: scute_csv::TrustRoots,
    /// Where HSK/CEKs missing from evidence and store are fetched (`csv_kds_url`).
    pub(crate) csv_kds: Option<csv::HygonKds>,
    /// `allow_sample_tee`.
    pub(crate) allow_sample_tee: bool,
    /// How long a verdict stands when nothing in the evidence expires (CSV, sample).
    pub(crate) token_lifetime_secs: i64,
}

impl Verifiers {
    /// Authenticity, the report-data binding and the init-data binding, per TEE.
    pub(crate) async fn verify(
        &self,
        evidence: &Evidence,
        binding: Binding<'_>,
        now: i64,
    ) -> Result<Verified, Problem> {
        match evidence {
            Evidence::Dcap {
                tee,
                quote,
                cc_eventlog,
            } => dcap::verify(self, binding, *tee, quote, cc_eventlog.as_deref(), now).await,
            Evidence::Snp(evidence) => snp::verify_bound(self, binding, evidence, now).await,
            Evidence::Csv {
                evidence,
                cc_eventlog,
            } => csv::verify(self, binding, evidence, cc_eventlog.as_deref(), now).await,
            Evidence::Sample { report_data } => sample::verify(self, binding, report_data, now),
        }
    }
}
