//! The one file naming every TEE: which adapter verifies which TEE, how a service verifies it
//! (straight through the adapter, or through one of its endorsement services), and the
//! verifiers' errors. A new TEE adds its adapter file and one line in each list below.

use crate::adapter::{csv::CsvAdapter, dcap::DcapAdapter, sample::SampleAdapter, snp::SnpAdapter};
use crate::{Adapter, Roots};
use scute_tee::Tee;

/// A verifier family: one adapter (DCAP verifies SGX and TDX). `--tee` of `scute verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    Dcap,
    Snp,
    Csv,
    Sample,
}

impl Family {
    pub const ALL: [Family; 4] = [Family::Dcap, Family::Snp, Family::Csv, Family::Sample];

    /// The family that verifies `tee`.
    pub fn of(tee: Tee) -> Family {
        match tee {
            Tee::Sgx | Tee::Tdx => Family::Dcap,
            Tee::Snp => Family::Snp,
            Tee::Csv => Family::Csv,
            Tee::Sample => Family::Sample,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Dcap => "dcap",
            Family::Snp => "snp",
            Family::Csv => "csv",
            Family::Sample => "sample",
        }
    }

    /// What `scute verify --tee NAME` reads, for its `--help`; `None` for a family the CLI does
    /// not verify (nothing vouches for sample evidence, so there is nothing to check offline).
    pub fn cli_help(self) -> Option<&'static str> {
        match self {
            Family::Dcap => Some("An Intel SGX or TDX DCAP quote"),
            Family::Snp => {
                Some("An AMD SEV-SNP attestation report (1184 bytes, or the KBS evidence JSON)")
            }
            Family::Csv => Some("A Hygon CSV report (raw, or Trustee's evidence JSON)"),
            Family::Sample => None,
        }
    }

    /// How a service (`scute serve`) verifies this family's evidence: the server dispatches on
    /// this, so it names endorsement services, never TEEs.
    pub fn service(self) -> Service {
        match self {
            Family::Dcap => Service::Endorsed(EndorsementService::IntelCollateral),
            Family::Snp => Service::Endorsed(EndorsementService::AmdVek),
            Family::Csv => Service::Endorsed(EndorsementService::HygonHskCek),
            // Nothing vouches for it: nothing to look up.
            Family::Sample => Service::Direct(Roots::Vendor),
        }
    }
}

/// How a service verifies a family's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Service {
    /// Straight through the family's [`adapter`], against these roots, with no endorsements:
    /// the evidence needs nothing a service stores, caches or fetches (it carries what it
    /// needs, or nothing vouches for it). A TEE of this kind adds no line to the server.
    Direct(Roots),
    /// Through one of the service's endorsement services, which finds what the evidence needs
    /// (stored, cached or fetched, verified before stored) and then calls the adapter.
    Endorsed(EndorsementService),
}

/// An endorsement service: what a service looks up for evidence, from where, keyed how. The
/// server runs one per variant; a TEE needing a new one adds a variant and the server's service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndorsementService {
    /// Intel's DCAP collateral (TCB Info, QE Identity, CRLs) from a PCS or PCCS, by FMSPC and
    /// PCK CA, verified and cached warm.
    IntelCollateral,
    /// AMD's VCEK or VLEK and its chain: stored (imported), or fetched from an AMD KDS by chip
    /// and TCB.
    AmdVek,
    /// Hygon's HSK and CEK: stored (imported), or fetched from a Hygon KDS by chip serial.
    HygonHskCek,
}

/// The adapter of a family.
pub fn adapter(family: Family) -> &'static dyn Adapter {
    match family {
        Family::Dcap => &DcapAdapter,
        Family::Snp => &SnpAdapter,
        Family::Csv => &CsvAdapter,
        Family::Sample => &SampleAdapter,
    }
}

/// A TEE verifier's own error, typed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TeeError {
    #[error(transparent)]
    Dcap(#[from] scute_dcap::DcapError),
    #[error(transparent)]
    Snp(#[from] scute_snp::SnpError),
    #[error(transparent)]
    Csv(#[from] scute_csv::CsvError),
    #[error(transparent)]
    Sample(#[from] crate::adapter::sample::SampleError),
}

impl TeeError {
    pub fn kind(&self) -> &'static str {
        match self {
            TeeError::Dcap(e) => e.kind(),
            TeeError::Snp(e) => e.kind(),
            TeeError::Csv(e) => e.kind(),
            TeeError::Sample(e) => e.kind(),
        }
    }

    /// What to do about it (each adapter's table, matched on its error's variants).
    pub fn hint(&self) -> &'static str {
        match self {
            TeeError::Dcap(e) => crate::adapter::dcap::hint(e),
            TeeError::Snp(e) => crate::adapter::snp::hint(e),
            TeeError::Csv(e) => crate::adapter::csv::hint(e),
            TeeError::Sample(_) => crate::adapter::sample::HINT,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn every_tee_has_an_adapter_that_claims_it() {
        for tee in Tee::ALL {
            let family = Family::of(tee);
            assert!(adapter(family).tees().contains(&tee), "{tee}");
        }
        for family in Family::ALL {
            for tee in adapter(family).tees() {
                assert_eq!(Family::of(*tee), family);
            }
        }
    }

    #[test]
    fn the_registry_and_the_tee_enum_agree() {
        // Every TEE of `scute_tee::Tee` is verifiable and servable, and its spellings and
        // cookie code round-trip; every family is reached from a TEE.
        let mut reached = std::collections::HashSet::new();
        for tee in Tee::ALL {
            let family = Family::of(tee);
            assert!(Family::ALL.contains(&family), "{tee}");
            assert!(adapter(family).tees().contains(&tee), "{tee}");
            reached.insert(family);
            assert_eq!(tee.name().parse::<Tee>().unwrap(), tee);
            assert_eq!(Tee::from_kbs_name(tee.kbs_name()), Some(tee));
            assert_eq!(Tee::from_code(tee.code()), Some(tee));
            match family.service() {
                Service::Direct(roots) => {
                    // Nothing for a service to look up, and roots its adapter takes.
                    assert_eq!(roots, Roots::Vendor, "{tee}");
                }
                Service::Endorsed(_) => {}
            }
        }
        assert_eq!(reached.len(), Family::ALL.len(), "a family no TEE maps to");
        // Each endorsement service serves one family (the server has one adapter file each).
        let endorsed: Vec<_> = Family::ALL
            .iter()
            .filter_map(|f| match f.service() {
                Service::Endorsed(e) => Some(e),
                Service::Direct(_) => None,
            })
            .collect();
        let unique: std::collections::HashSet<_> = endorsed.iter().collect();
        assert_eq!(unique.len(), endorsed.len());
    }

    #[test]
    fn the_sample_tee_goes_straight_through_its_adapter() {
        assert_eq!(Family::Sample.service(), Service::Direct(Roots::Vendor));
        assert_eq!(
            Family::of(Tee::Snp).service(),
            Service::Endorsed(EndorsementService::AmdVek)
        );
    }

    #[test]
    fn wire_decoding_errors_are_typed() {
        let garbage = [0xAAu8; 10];
        assert!(matches!(
            adapter(Family::Dcap).decode(&garbage),
            Err(Error::Tee(TeeError::Dcap(
                scute_dcap::DcapError::QuoteDecode(_)
            )))
        ));
        assert!(matches!(
            adapter(Family::Snp).decode(&garbage),
            Err(Error::Tee(TeeError::Snp(
                scute_snp::SnpError::ReportLength { len: 10 }
            )))
        ));
        assert!(matches!(
            adapter(Family::Snp).decode(b"{\"attestation_report\": {\"version\": 2}}"),
            Err(Error::Tee(TeeError::Snp(scute_snp::SnpError::Evidence(_))))
        ));
        assert!(matches!(
            adapter(Family::Csv).decode(&garbage),
            Err(Error::Tee(TeeError::Csv(_)))
        ));
        assert!(matches!(
            adapter(Family::Csv).decode(b"{\"nope\": 1}"),
            Err(Error::Tee(TeeError::Csv(
                scute_csv::CsvError::EvidenceJson(_)
            )))
        ));
        assert!(matches!(
            adapter(Family::Sample).decode(&[0; 65]),
            Err(Error::Tee(TeeError::Sample(_)))
        ));
        for family in Family::ALL {
            let e = adapter(family).decode(&garbage[..0]);
            if let Err(e) = e {
                assert!(!e.kind().is_empty());
                assert!(!e.hint().is_empty());
            }
        }
    }

    #[test]
    fn the_sample_tee_is_never_trusted() {
        let a = adapter(Family::Sample);
        let evidence = a.decode(&[7; 64]).unwrap();
        let verified = crate::verify(
            a,
            &evidence,
            None,
            &crate::Roots::Vendor,
            0,
            Some(&[7; 64]),
            true,
            &crate::Options::default(),
        )
        .unwrap();
        assert!(verified.report().is_debug());
        assert_eq!(verified.report().tcb().status, None);
        // Without --allow-debug it is refused, and other report data is refused.
        let refuse = |rd: &[u8; 64], allow: bool| {
            crate::verify(
                a,
                &evidence,
                None,
                &crate::Roots::Vendor,
                0,
                Some(rd),
                allow,
                &crate::Options::default(),
            )
            .err()
            .map(|e| e.kind())
        };
        assert_eq!(refuse(&[7; 64], false), Some("debug_not_allowed"));
        assert_eq!(refuse(&[8; 64], true), Some("report_data_mismatch"));
    }
}
