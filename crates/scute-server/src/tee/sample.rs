//! Confidential Containers' `sample` TEE: no hardware vouches for anything, so it is refused
//! unless `allow_sample_tee`, and its verdict carries nothing a policy could mistake for a
//! verified claim.

use super::claims::{Claims, NoMeasurements, SampleClaims};
use super::{Binding, Verified, Verifiers};
use crate::problem::{Kind, Problem};

pub(crate) fn verify(
    verifiers: &Verifiers,
    binding: Binding<'_>,
    report_data: &[u8],
    now: i64,
) -> Result<Verified, Problem> {
    if !verifiers.allow_sample_tee {
        return Err(Problem::new(
            Kind::EvidenceRejected,
            "the sample TEE proves nothing and is refused (allow_sample_tee = false)",
        ));
    }
    let mut padded = report_data.to_vec();
    padded.resize(64, 0);
    if padded.as_slice() != binding.report_data.as_slice() {
        return Err(Problem::new(
            Kind::ReportDataMismatch,
            "the sample evidence's report_data does not bind the runtime data",
        ));
    }
    if binding.init_data.is_some() {
        return Err(Problem::new(
            Kind::InitDataMismatch,
            "init-data cannot be bound by the sample TEE",
        ));
    }
    Ok(Verified {
        claims: Claims::Sample(SampleClaims {
            tee: "sample",
            tcb_status: "None",
            debug: true,
            measurements: NoMeasurements {},
        }),
        tcb_status: "None".into(),
        expires: now + verifiers.token_lifetime_secs,
    })
}
