//! SGX and TDX (Intel DCAP): the warm collateral of the quote's platform (stored, or filled
//! from the upstream when a trusted root vouches for the PCK chain), the quote verified with it,
//! TDX MRCONFIGID bound to init-data, the CCEL event log replayed against the RTMRs.

use super::claims::{Claims, DcapClaims, DcapMeasurements, EventLogClaims};
use super::{adapter_refused, bind, bind_report_data, Binding, Evidence, Verified, Verifiers};
use crate::problem::{Kind, Problem};
use scute_dcap::{
    format_rfc3339, AttributeClaims, DcapError, QuoteEvidence, ReportClaims, VerifiedQuote,
};
use scute_tee::Hex;
use scute_verify::{Endorsements, Family, Options, Roots};

pub(crate) async fn verify(
    verifiers: &Verifiers,
    binding: Binding<'_>,
    evidence: &Evidence,
    now: i64,
) -> Result<Verified, Problem> {
    let tee = evidence.tee;
    let adapter = scute_verify::adapter(Family::Dcap);
    let decoded = adapter.decode(&evidence.bytes).map_err(|e| match e {
        scute_verify::Error::Tee(scute_verify::TeeError::Dcap(DcapError::QuoteDecode(e))) => {
            Problem::new(Kind::EvidenceRejected, format!("quote_decode: {e}"))
        }
        other => adapter_refused(other),
    })?;
    let quote_evidence = decoded
        .downcast_ref::<QuoteEvidence>()
        .ok_or_else(|| Problem::internal("the DCAP adapter decoded no quote"))?;
    let quote = quote_evidence.quote();
    if quote_evidence.tee() != tee {
        return Err(Problem::new(
            Kind::BadField,
            format!(
                "tee is {:?} but the quote is {}",
                tee.name(),
                quote.tee_type().name()
            ),
        ));
    }
    // Before any lookup: a quote bound to other data must not cost a collateral fetch.
    bind_report_data(tee, quote.report_data(), binding)?;

    // Authenticity: the warm collateral for this platform, then the quote.
    let (pck, ca) = verifiers
        .platforms
        .platform(quote)
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
                    .any(|a| scute_dcap::authenticated_quote_platform(quote, a).is_ok())
            },
        )
        .await?;
    // The warm path: the collateral was verified once (against the anchor it names, so the
    // roots are not consulted); the adapter checks only the quote against it. Debug TEEs pass
    // verification here so the policy can mark them contraindicated.
    let verified = adapter
        .verify(
            &decoded,
            Some(&Endorsements::new(collateral)),
            &Roots::Vendor,
            now,
            None,
            &Options::default(),
        )
        .map_err(adapter_refused)?;
    bind(verified.report(), binding)?;
    let verified = verified
        .downcast_ref::<VerifiedQuote>()
        .ok_or_else(|| Problem::internal("the DCAP adapter verified no quote"))?;

    let log_claims = match evidence.cc_eventlog.as_deref() {
        Some(bytes) => Some(crate::tee::eventlog::replay_event_log(verified, bytes)?),
        None => None,
    };
    Ok(Verified {
        sighting: crate::platforms::Sighting::dcap(verified),
        claims: claims(verified, log_claims),
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
        tcb_date: verified.tcb_date().to_owned(),
        newest_tcb_date: verified.newest_tcb_date().to_owned(),
        days_behind: verified.days_behind(),
        launch_tcb_status: verified.current().map(|_| verified.launch().status.name()),
        current_tcb_status: verified.current().map(|c| c.status.name()),
        current_tcb_date: verified.current().map(|c| c.tcb_date.clone()),
        current_advisory_ids: verified.current().map(|c| c.advisory_ids.clone()),
        fmspc: Hex(verified.pck().fmspc),
        debug: verified.is_debug(),
        attributes: AttributeClaims::new(&quote.body),
        collateral_expires: format_rfc3339(verified.collateral_expires()),
        measurements: DcapMeasurements::new(&report),
        report,
        event_log,
    }))
}
