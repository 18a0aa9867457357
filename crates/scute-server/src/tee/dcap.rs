//! SGX and TDX (Intel DCAP): the warm collateral of the quote's platform (stored, or filled
//! from the upstream when a trusted root vouches for the PCK chain), the quote verified with it,
//! TDX MRCONFIGID bound to init-data, the CCEL event log replayed against the RTMRs.

use super::claims::{Claims, DcapClaims, DcapMeasurements, EventLogClaims};
use super::{Binding, Tee, Verified, Verifiers};
use crate::problem::{Kind, Problem};
use scute_dcap::VerifyOptions;
use scute_dcap::{format_rfc3339, AttributeClaims, ReportClaims, VerifiedQuote};
use scute_quote::Quote;
use scute_tee::Hex;

pub(crate) async fn verify(
    verifiers: &Verifiers,
    binding: Binding<'_>,
    tee: Tee,
    quote_bytes: &[u8],
    cc_eventlog: Option<&[u8]>,
    now: i64,
) -> Result<Verified, Problem> {
    let quote = Quote::decode(quote_bytes)
        .map_err(|e| Problem::new(Kind::EvidenceRejected, format!("quote_decode: {e}")))?;
    if quote.tee_type().name() != tee.name() {
        return Err(Problem::new(
            Kind::BadField,
            format!(
                "tee is {:?} but the quote is {}",
                tee.name(),
                quote.tee_type().name()
            ),
        ));
    }
    if quote.report_data().as_slice() != binding.report_data.as_slice() {
        return Err(Problem::new(
            Kind::ReportDataMismatch,
            "the quote's report_data does not bind the runtime data",
        ));
    }

    // Authenticity: the warm collateral for this platform, then the quote.
    let (pck, ca) = verifiers
        .platforms
        .platform(&quote)
        .map_err(|e| Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind())))?;
    let collateral = verifiers
        .collateral
        .get(
            &verifiers.store,
            &verifiers.anchors,
            &hex::encode(pck.fmspc),
            ca.name(),
            quote.tee_type().name(),
            // Only a chain a trusted root vouches for may make us ask the upstream.
            || {
                verifiers
                    .anchors
                    .iter()
                    .any(|a| scute_dcap::authenticated_quote_platform(&quote, a).is_ok())
            },
        )
        .await?;
    // Debug TEEs pass verification here so the policy can mark them contraindicated.
    let options = VerifyOptions {
        allow_debug: true,
        ..VerifyOptions::default()
    };
    let verified = collateral
        .verify_quote(quote_bytes, now, options)
        .map_err(|e| Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind())))?;

    if let Some(digest) = binding.init_data {
        let td = verified.quote().body.td10().ok_or_else(|| {
            Problem::new(
                Kind::InitDataMismatch,
                "init-data is bound by TDX MRCONFIGID; this quote has none",
            )
        })?;
        let mut expected = digest.to_vec();
        expected.resize(48, 0);
        if td.mr_config_id.as_slice() != expected.as_slice() {
            return Err(Problem::new(
                Kind::InitDataMismatch,
                "the quote's MRCONFIGID is not the digest of the init-data sent",
            ));
        }
    }

    let log_claims = match cc_eventlog {
        Some(bytes) => Some(crate::tee::eventlog::replay_event_log(&verified, bytes)?),
        None => None,
    };
    Ok(Verified {
        claims: claims(&verified, log_claims),
        tcb_status: verified.tcb_status().name().to_string(),
        expires: verified.collateral_expires(),
    })
}

/// Claims about a verified quote and the decoded event log.
pub(crate) fn claims(verified: &VerifiedQuote, event_log: Option<EventLogClaims>) -> Claims {
    let quote = verified.quote();
    let report = ReportClaims::new(&quote.body);
    Claims::Dcap(Box::new(DcapClaims {
        tee: quote.tee_type().name(),
        quote_version: quote.header.version,
        tcb_status: verified.tcb_status().name(),
        advisory_ids: verified.advisory_ids().to_vec(),
        platform_tcb_status: verified.platform().status.name(),
        qe_tcb_status: verified.qe().status.name(),
        tcb_evaluation_data_number: verified.tcb_evaluation_data_number(),
        fmspc: Hex(verified.pck().fmspc),
        debug: verified.is_debug(),
        attributes: AttributeClaims::new(&quote.body),
        collateral_expires: format_rfc3339(verified.collateral_expires()),
        measurements: DcapMeasurements::new(&report),
        report,
        event_log,
    }))
}
