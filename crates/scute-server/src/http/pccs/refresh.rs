//! Background refresh: each stored set is fetched again from the upstream (with its own
//! `update=`: early or standard) before it stops being valid; a failed refresh keeps the last
//! valid set and is counted in `/metrics`.

use crate::http::state::AppState;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long before a set's end of validity it is refreshed.
const AHEAD_SECS: i64 = 24 * 3600;
/// How often the sets are looked at.
const TICK: Duration = Duration::from_secs(60);

pub(crate) async fn run(state: Arc<AppState>) {
    loop {
        refresh_due(&state, crate::clock::now()).await;
        tokio::time::sleep(TICK).await;
    }
}

/// Refreshes every set whose validity ends within `AHEAD_SECS` of `now`.
pub(crate) async fn refresh_due(state: &AppState, now: i64) {
    let Some(upstream) = &state.pccs.upstream else {
        return;
    };
    for set in state.pccs.sets() {
        if set.next_update - AHEAD_SECS > now {
            continue;
        }
        // Each kind from its own `update=` upstream: an early set is never replaced by a
        // standard one, nor the other way round.
        match super::fill(
            state,
            upstream,
            &set.tee,
            &set.fmspc,
            Some(&set.ca),
            set.update,
        )
        .await
        {
            Ok(()) => {
                state.pccs.refreshes_ok.fetch_add(1, Ordering::Relaxed);
                state.pccs.last_refresh.store(now, Ordering::Relaxed);
            }
            Err(e) => {
                state.pccs.refreshes_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    tee = set.tee.as_str(),
                    fmspc = set.fmspc.as_str(),
                    update = set.update.as_str(),
                    detail = e.detail,
                    outcome = "keeping the stored set",
                    "refresh_failed"
                );
            }
        }
    }
}
