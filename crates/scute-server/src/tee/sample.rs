//! Confidential Containers' `sample` TEE: no hardware vouches for anything, so it is refused
//! unless `allow_sample_tee`, and its verdict carries nothing a policy could mistake for a
//! verified claim.

use super::claims::{Claims, NoMeasurements, SampleClaims};
use super::{adapter_refused, bind, regularize, Binding, Evidence, Verified, Verifiers};
use crate::problem::{Kind, Problem};
use scute_verify::{Family, Options, Roots};

pub(crate) fn verify(
    verifiers: &Verifiers,
    binding: Binding<'_>,
    evidence: &Evidence,
    now: i64,
) -> Result<Verified, Problem> {
    if !verifiers.allow_sample_tee {
        return Err(Problem::new(
            Kind::EvidenceRejected,
            "the sample TEE proves nothing and is refused (allow_sample_tee = false)",
        ));
    }
    // The sample attester's report data, regularized to 64 bytes (longer is cut, as before).
    let adapter = scute_verify::adapter(Family::Sample);
    let decoded = adapter
        .decode(&regularize::<64>(&evidence.bytes))
        .map_err(adapter_refused)?;
    let verified = adapter
        .verify(
            &decoded,
            None,
            &Roots::Vendor,
            now,
            None,
            &Options::default(),
        )
        .map_err(adapter_refused)?;
    bind(verified.report(), binding)?;
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
