//! SEV-SNP through the TEE seam (`scute-tee`): the [`Snp`] verifier and what a
//! [`VerifiedReport`] exposes to the layers above.

use crate::error::{CertRole, SnpError};
use crate::evidence::Evidence;
use crate::report::{Report, SigningKey};
use crate::roots::TrustRoots;
use crate::verify::{Collateral, VerifiedReport};
use scute_tee::{
    EndorsementKey, ErrorKind, InitDataSlot, Measurement, PlatformId, Register, Role, Tcb, Tee,
    UnixTime, Verifier,
};

/// SEV-SNP has no TCB status from AMD: a verified report's endorsement key is AMD's for
/// exactly the reported TCB. This names that state for tokens, metrics and the CLI.
pub const TCB_STATUS: &str = "VekEndorsed";

/// What endorses a report from outside the evidence: its VCEK or VLEK (DER or PEM), optionally
/// the KDS cert_chain (ASK/ASVK then ARK, PEM) and the ARK's CRL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endorsements {
    pub vek: Vec<u8>,
    pub chain: Option<Vec<u8>>,
    pub crl: Option<Vec<u8>>,
}

/// The SEV-SNP verifier.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snp;

impl ErrorKind for SnpError {
    fn kind(&self) -> &'static str {
        SnpError::kind(self)
    }
}

impl Verifier for Snp {
    type Evidence = Evidence;
    type Endorsements = Endorsements;
    type Roots = TrustRoots;
    type Options = ();
    type Verified = VerifiedReport;
    type Error = SnpError;

    fn decode(bytes: &[u8]) -> Result<Evidence, SnpError> {
        let evidence = Evidence::decode(bytes)?;
        Report::decode(&evidence.report)?;
        Ok(evidence)
    }

    /// A report that carries its own VCEK/VLEK needs nothing; else the VCEK by chip id and
    /// reported TCB, or the VLEK by reported TCB.
    fn endorsement_key(evidence: &Evidence) -> Result<Option<EndorsementKey>, SnpError> {
        if evidence.vek.is_some() {
            return Ok(None);
        }
        let report = Report::decode(&evidence.report)?;
        let tcb = hex::encode(report.reported_tcb.0);
        Ok(Some(match report.signing_key() {
            SigningKey::Vlek => EndorsementKey {
                tee: Tee::Snp,
                kind: "snp-vlek",
                id: tcb,
            },
            _ => EndorsementKey {
                tee: Tee::Snp,
                kind: "snp-vcek",
                id: format!("{}/{tcb}", hex::encode(report.chip_id)),
            },
        }))
    }

    /// The given endorsements, else the ones the evidence carries; the instant decides the
    /// chain's validity.
    fn verify(
        evidence: &Evidence,
        endorsements: Option<&Endorsements>,
        roots: &TrustRoots,
        at: UnixTime,
        _expected_report_data: Option<&[u8; 64]>,
        _options: &(),
    ) -> Result<VerifiedReport, SnpError> {
        let collateral = match (endorsements, &evidence.vek) {
            (Some(e), _) => Collateral {
                vek: &e.vek,
                chain: e.chain.as_deref().or(evidence.chain.as_deref()),
                crl: e.crl.as_deref(),
            },
            (None, Some(vek)) => Collateral {
                vek,
                chain: evidence.chain.as_deref(),
                crl: None,
            },
            (None, None) => return Err(SnpError::Missing(CertRole::Vcek)),
        };
        crate::verify(&evidence.report, &collateral, roots, at)
    }
}

impl scute_tee::VerifiedReport for VerifiedReport {
    fn tee(&self) -> Tee {
        Tee::Snp
    }
    fn report_data(&self) -> &[u8; 64] {
        &self.report().report_data
    }
    fn init_data(&self) -> InitDataSlot<'_> {
        InitDataSlot::HostData(&self.report().host_data)
    }
    fn measurements(&self) -> Vec<Measurement> {
        let r = self.report();
        vec![
            Measurement::digest("measurement", Role::CodeRoot, &r.measurement),
            Measurement::digest("host_data", Role::Configuration, &r.host_data),
            Measurement::digest("family_id", Role::InstanceIdentity, &r.family_id),
            Measurement::digest("image_id", Role::InstanceIdentity, &r.image_id),
            Measurement::digest("id_key_digest", Role::Code, &r.id_key_digest),
        ]
    }
    fn is_debug(&self) -> bool {
        VerifiedReport::is_debug(self)
    }
    fn tcb(&self) -> Tcb {
        Tcb {
            status: Some(TCB_STATUS),
            ..Tcb::default()
        }
    }
    fn platform(&self) -> PlatformId {
        match (self.hwid(), self.csp_id()) {
            (Some(hwid), _) => PlatformId::ChipId(hwid.to_vec()),
            (None, Some(csp)) => PlatformId::CspId(csp.to_string()),
            (None, None) => PlatformId::None,
        }
    }
    fn event_log_registers(&self) -> Vec<Register> {
        Vec::new()
    }
    fn expires(&self) -> Option<i64> {
        Some(VerifiedReport::expires(self))
    }
}
