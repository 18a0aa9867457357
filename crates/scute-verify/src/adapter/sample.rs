//! Confidential Containers' `sample` TEE: its evidence is a claim of report data that nothing
//! vouches for. It verifies as itself (so a caller can bind it), is always debug (so the one
//! debug rule refuses it unless allowed) and never has a TCB status.

use crate::{
    Adapter, Endorsements, Error, Evidence, Family, Files, Options, Roots, RootsFlag, TeeError,
    UnixTime, Verified,
};
use scute_tee::{
    EndorsementKey, InitDataSlot, Measurement, PlatformId, Register, Tcb, Tee, VerifiedReport,
};
use serde_json::{json, Map, Value};

pub(crate) struct SampleAdapter;

pub(crate) const HINT: &str = "the sample TEE's evidence is at most 64 bytes of report data";

/// Sample evidence that cannot be what the sample attester sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    #[error("sample report data is {0} bytes; at most 64")]
    TooLong(usize),
}

impl SampleError {
    pub fn kind(&self) -> &'static str {
        "evidence_decode"
    }
}

/// The sample TEE's report: its report data, zero-padded to 64 bytes (as the attester pads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SampleReport {
    report_data: [u8; 64],
}

impl VerifiedReport for SampleReport {
    fn tee(&self) -> Tee {
        Tee::Sample
    }
    fn report_data(&self) -> &[u8; 64] {
        &self.report_data
    }
    fn init_data(&self) -> InitDataSlot<'_> {
        InitDataSlot::None
    }
    fn measurements(&self) -> Vec<Measurement> {
        Vec::new()
    }
    /// No hardware protects it: as open to the host as a debug guest.
    fn is_debug(&self) -> bool {
        true
    }
    fn tcb(&self) -> Tcb {
        Tcb::default()
    }
    fn platform(&self) -> PlatformId {
        PlatformId::None
    }
    fn event_log_registers(&self) -> Vec<Register> {
        Vec::new()
    }
    fn expires(&self) -> Option<i64> {
        None
    }
}

impl Adapter for SampleAdapter {
    fn tees(&self) -> &'static [Tee] {
        &[Tee::Sample]
    }
    fn roots_flag(&self) -> Option<RootsFlag> {
        None
    }
    fn decode(&self, bytes: &[u8]) -> Result<Evidence, Error> {
        let mut report_data = [0u8; 64];
        report_data
            .get_mut(..bytes.len())
            .ok_or(Error::Tee(TeeError::Sample(SampleError::TooLong(
                bytes.len(),
            ))))?
            .copy_from_slice(bytes);
        Ok(Evidence::new(Family::Sample, SampleReport { report_data }))
    }
    fn identify(&self, _bytes: &[u8]) -> (Option<Tee>, Option<u32>) {
        (Some(Tee::Sample), None)
    }
    fn endorsement_key(&self, _evidence: &Evidence) -> Result<Option<EndorsementKey>, Error> {
        Ok(None)
    }
    fn endorsements(&self, _files: &dyn Files) -> Result<Option<Endorsements>, Error> {
        Ok(None)
    }
    fn verify(
        &self,
        evidence: &Evidence,
        _endorsements: Option<&Endorsements>,
        roots: &Roots,
        _at: UnixTime,
        _expected_report_data: Option<&[u8; 64]>,
        _options: &Options,
    ) -> Result<Verified, Error> {
        if *roots != Roots::Vendor {
            return Err(Error::CannotRun("the sample TEE has no trust roots".into()));
        }
        let report = evidence
            .get::<SampleReport>()
            .ok_or_else(|| Error::CannotRun("not sample evidence".into()))?;
        Ok(Verified::new(Family::Sample, report.clone()))
    }
    fn debug(&self, _verified: &Verified) -> Option<&'static str> {
        Some("sample TEE (nothing protects it)")
    }
    fn report_json(&self, verified: &Verified) -> Value {
        json!({ "report_data": hex::encode(verified.report().report_data()) })
    }
    fn output_fields(&self, verified: Option<&Verified>) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("debug".into(), json!(verified.map(|_| true)));
        out
    }
    fn describe(&self, verified: &Verified, _at: UnixTime) -> Vec<String> {
        vec![
            "VERIFIED: sample TEE evidence (nothing vouches for it)".into(),
            format!(
                "  report_data {}",
                hex::encode(verified.report().report_data())
            ),
        ]
    }
}
