//! This replica's memory of the key-broker sessions it attested itself: the attestation result
//! of each, as it signed it, so that the resource call of a guest that attested here reads
//! neither the store nor the token's text again (a signature check and two JSON conversions of
//! its own token).
//!
//! The store stays the authority: a session is remembered only after its row was inserted by
//! this replica (`ON CONFLICT DO NOTHING` won, so the row holds exactly this token), and a row
//! is never changed and only forgotten after its session expired, so what is remembered and
//! unexpired is what the store would answer. Anything not remembered here (another replica's
//! session, one from before a restart, one dropped for room) is read from the store and its
//! token verified, as before.

use crate::domain::ear::Ear;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Most sessions remembered. A guest asks for its resources within moments of attesting;
/// past this, the oldest is dropped (and read from the store if it is asked for again), so a
/// boot storm cannot grow the memory.
const MAX_REMEMBERED: usize = 1024;

/// The largest token whose session is remembered: what a guest chooses (its `tee-pubkey`, its
/// init-data) is in the claims, so the bound on memory is in bytes too (16 MiB at most here);
/// a larger session is read from the store as before.
pub(crate) const MAX_REMEMBERED_TOKEN_BYTES: usize = 16 * 1024;

/// A remembered session: when it expires and its verified attestation result.
#[derive(Clone)]
pub(crate) struct AttestedSession {
    pub expires: i64,
    pub ear: Arc<Ear>,
}

#[derive(Default)]
pub(crate) struct AttestedSessions {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, AttestedSession>,
    /// Insertion order, oldest first.
    order: VecDeque<String>,
}

impl AttestedSessions {
    /// Remembers the session `id_sha256` (the store's key) once its row is inserted.
    pub(crate) fn remember(&self, id_sha256: &str, session: AttestedSession) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.by_id.contains_key(id_sha256) {
            return;
        }
        while inner.order.len() >= MAX_REMEMBERED {
            match inner.order.pop_front() {
                Some(oldest) => {
                    inner.by_id.remove(&oldest);
                }
                None => break,
            }
        }
        inner.order.push_back(id_sha256.to_string());
        inner.by_id.insert(id_sha256.to_string(), session);
    }

    /// The session's result when it is remembered and unexpired at `now` (as the store's row
    /// is read: `expires >= now`).
    pub(crate) fn recall(&self, id_sha256: &str, now: i64) -> Option<Arc<Ear>> {
        let inner = self.inner.lock().ok()?;
        inner
            .by_id
            .get(id_sha256)
            .filter(|s| s.expires >= now)
            .map(|s| s.ear.clone())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|i| i.by_id.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ear(n: i64) -> Arc<Ear> {
        Arc::new(
            serde_json::from_value(json!({"eat_profile": "p", "iat": n, "exp": n + 1,
                "ear_verifier_id": {"developer": "d", "build": "b"},
                "submods": {"cpu0": {"ear_status": "affirming"}}}))
            .unwrap(),
        )
    }

    #[test]
    fn a_session_is_recalled_until_it_expires_and_the_memory_is_bounded() {
        let sessions = AttestedSessions::default();
        sessions.remember(
            "a",
            AttestedSession {
                expires: 100,
                ear: ear(1),
            },
        );
        assert_eq!(sessions.recall("a", 100).unwrap().iat, 1);
        assert!(sessions.recall("a", 101).is_none());
        assert!(sessions.recall("b", 0).is_none());
        // A second remember of one session changes nothing (the store's row cannot change).
        sessions.remember(
            "a",
            AttestedSession {
                expires: 200,
                ear: ear(2),
            },
        );
        assert_eq!(sessions.recall("a", 50).unwrap().iat, 1);
        assert!(sessions.recall("a", 150).is_none());
        for n in 0..MAX_REMEMBERED as i64 + 10 {
            sessions.remember(
                &format!("s{n}"),
                AttestedSession {
                    expires: 100,
                    ear: ear(n),
                },
            );
        }
        assert_eq!(sessions.len(), MAX_REMEMBERED);
        // The oldest went first.
        assert!(sessions.recall("a", 0).is_none());
        assert!(sessions.recall("s0", 0).is_none());
        let newest = format!("s{}", MAX_REMEMBERED as i64 + 9);
        assert_eq!(
            sessions.recall(&newest, 0).unwrap().iat,
            MAX_REMEMBERED as i64 + 9
        );
    }
}
