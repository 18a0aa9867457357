//! The service's path for a TEE whose evidence needs no endorsement lookup (the registry's
//! `Service::Direct`: no collateral cache, no KDS, no store): decoded and verified by its
//! registry adapter against the roots the registry gives, bound like every TEE's, and claimed
//! from what the seam exposes ([`AdapterClaims`]). A TEE of this kind adds nothing here.
//!
//! The sample TEE takes this path, with the two rules the service always had for it.

use super::claims::{AdapterClaims, Claims};
use super::{adapter_refused, bind, regularize, Binding, Evidence, Tee, Verified, Verifiers};
use crate::problem::{Kind, Problem};
use scute_verify::{Family, Options, Roots};
use std::borrow::Cow;

pub(crate) fn verify(
    verifiers: &Verifiers,
    binding: Binding<'_>,
    evidence: &Evidence,
    roots: &Roots,
    now: i64,
) -> Result<Verified, Problem> {
    let bytes = sample_rules(verifiers, evidence)?;
    let adapter = scute_verify::adapter(Family::of(evidence.tee));
    let decoded = adapter.decode(&bytes).map_err(adapter_refused)?;
    let verified = adapter
        .verify(
            &decoded,
            None,
            roots,
            now,
            Some(binding.report_data),
            &Options::default(),
        )
        .map_err(adapter_refused)?;
    bind(verified.report(), binding)?;
    let claims = AdapterClaims::new(adapter, &verified);
    Ok(Verified {
        sighting: None,
        tcb_status: claims.tcb_status.to_string(),
        claims: Claims::Adapter(claims),
        // Nothing in the evidence expires: the token's own lifetime bounds the verdict.
        expires: verified
            .report()
            .expires()
            .unwrap_or(now + verifiers.token_lifetime_secs),
    })
}

/// Confidential Containers' `sample` TEE, as the service always read it: refused unless
/// `allow_sample_tee` (the front doors refuse it first; this holds for a session begun before
/// the setting changed), and its report data regularized to 64 bytes (longer is cut, as
/// Trustee's `regularize_data`), where `scute verify` refuses more than 64.
fn sample_rules<'a>(
    verifiers: &Verifiers,
    evidence: &'a Evidence,
) -> Result<Cow<'a, [u8]>, Problem> {
    if evidence.tee != Tee::Sample {
        return Ok(Cow::Borrowed(&evidence.bytes));
    }
    if !verifiers.allow_sample_tee {
        return Err(Problem::new(
            Kind::EvidenceRejected,
            "the sample TEE proves nothing and is refused (allow_sample_tee = false)",
        ));
    }
    Ok(Cow::Owned(regularize::<64>(&evidence.bytes).to_vec()))
}
