//! A TDX CCEL as claims: it must replay to the verified RTMRs, and every event whose type puts
//! the measured bytes in the log must hash to its digest. Each event says whether its decoded
//! data is proven (`data_verified`); EV_NO_ACTION events, measured by nothing, are left out.

use super::claims::EventLogClaims;
use crate::problem::{Kind, Problem};
use scute_eventlog::EventLogError;

fn log_error(e: EventLogError) -> Problem {
    Problem::new(Kind::EventlogRejected, format!("cc_eventlog: {e}"))
}

/// Replays a TDX CCEL against the verified RTMRs; a log that does not reach them, or whose data
/// is not what was measured, is rejected.
pub(crate) fn replay_event_log(
    verified: &scute_dcap::VerifiedQuote,
    bytes: &[u8],
) -> Result<EventLogClaims, Problem> {
    let td = verified
        .quote()
        .body
        .td10()
        .ok_or_else(|| Problem::new(Kind::BadField, "cc_eventlog is for TDX quotes"))?;
    let log =
        scute_eventlog::parse(bytes, scute_eventlog::ParseOptions::default()).map_err(log_error)?;
    let replay = log.replay().map_err(log_error)?;
    let mismatches = replay.compare(&td.rtmr);
    if !mismatches.is_empty() {
        let names: Vec<&str> = mismatches.iter().map(|m| m.register.as_str()).collect();
        return Err(Problem::new(
            Kind::EventlogMismatch,
            format!(
                "cc_eventlog does not replay to the quote's {}",
                names.join(", ")
            ),
        ));
    }
    Ok(EventLogClaims::new(
        log.measured_events().map_err(log_error)?,
        scute_eventlog::ALG_SHA384,
    ))
}
