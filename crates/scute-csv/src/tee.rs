//! Hygon CSV through the TEE seam (`scute-tee`): the [`Csv`] verifier and what a
//! [`VerifiedReport`] exposes to the layers above.

use crate::evidence::HskCek;
use crate::verify::{Evidence, TrustRoots, VerifiedReport};
use crate::CsvError;
use scute_tee::{
    ChipSerial, EndorsementKey, ErrorKind, InitDataSlot, Measurement, PlatformId, Register, Role,
    Tcb, Tee, UnixTime, Verifier,
};

/// The CSV verifier.
#[derive(Debug, Clone, Copy, Default)]
pub struct Csv;

impl ErrorKind for CsvError {
    fn kind(&self) -> &'static str {
        CsvError::kind(self)
    }
}

impl Verifier for Csv {
    type Evidence = Evidence;
    type Endorsements = HskCek;
    type Roots = TrustRoots;
    type Options = ();
    type Verified = VerifiedReport;
    type Error = CsvError;

    fn decode(bytes: &[u8]) -> Result<Evidence, CsvError> {
        Evidence::decode(bytes)
    }

    /// The chip's HSK/CEK, by the serial the report names, unless the evidence carries them.
    fn endorsement_key(evidence: &Evidence) -> Result<Option<EndorsementKey>, CsvError> {
        if evidence.hsk_cek().is_some() {
            return Ok(None);
        }
        Ok(Some(EndorsementKey {
            tee: Tee::Csv,
            kind: "csv-hsk-cek",
            id: evidence.chip_serial()?,
        }))
    }

    /// CSV certificates carry no validity, so `at` changes nothing; `expected_report_data` is
    /// bound inside (Trustee's form needs it, and it pins a V1 report's anonce).
    fn verify(
        evidence: &Evidence,
        endorsements: Option<&HskCek>,
        roots: &TrustRoots,
        _at: UnixTime,
        expected_report_data: Option<&[u8; 64]>,
        _options: &(),
    ) -> Result<VerifiedReport, CsvError> {
        crate::verify(evidence, endorsements, roots, expected_report_data)
    }
}

impl scute_tee::VerifiedReport for VerifiedReport {
    fn tee(&self) -> Tee {
        Tee::Csv
    }
    fn report_data(&self) -> &[u8; 64] {
        &self.fields().report_data
    }
    fn init_data(&self) -> InitDataSlot<'_> {
        InitDataSlot::None
    }
    fn measurements(&self) -> Vec<Measurement> {
        let f = self.fields();
        let mut out = vec![
            Measurement::digest("measure", Role::CodeRoot, &f.measure),
            Measurement::digest("vm_id", Role::Code, &f.vm_id),
            Measurement::digest("vm_version", Role::Code, &f.vm_version),
            Measurement::digest("user_pubkey_digest", Role::Code, &f.user_pubkey_digest),
        ];
        if let Some(rtmrs) = self.rtmrs() {
            // rtmr0 is `measure` itself.
            for (name, value) in ["rtmr1", "rtmr2", "rtmr3", "rtmr4"]
                .into_iter()
                .zip(rtmrs.iter().skip(1))
            {
                out.push(Measurement::digest(name, Role::Code, value));
            }
        }
        out
    }
    fn is_debug(&self) -> bool {
        VerifiedReport::is_debug(self)
    }
    /// Hygon publishes no TCB evaluation.
    fn tcb(&self) -> Tcb {
        Tcb::default()
    }
    fn platform(&self) -> PlatformId {
        let serial = self.chip_serial().to_string();
        PlatformId::ChipSerial(if self.chip_serial_verified() {
            ChipSerial::Verified(serial)
        } else {
            ChipSerial::Claimed(serial)
        })
    }
    /// V2's RTMR0..4 (SM3); a V1 report has none.
    fn event_log_registers(&self) -> Vec<Register> {
        self.rtmrs()
            .map(|rtmrs| {
                (0u32..)
                    .zip(rtmrs.iter())
                    .map(|(index, value)| Register {
                        index,
                        value: value.to_vec(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    /// CSV certificates carry no validity period.
    fn expires(&self) -> Option<i64> {
        None
    }
}
