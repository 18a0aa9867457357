//! Challenge nonces: 32 random bytes, single-use, expiring. Kept in memory (a nonce outlives
//! no restart by design); used ones are remembered until they expire so a replay is named.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceError {
    Unknown,
    Expired,
    Replayed,
    /// Too many outstanding challenges.
    Full,
}

#[derive(Clone, Copy)]
struct Entry {
    expires: i64,
    used: bool,
}

pub struct Nonces {
    lifetime: i64,
    limit: usize,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    issued: std::sync::atomic::AtomicU64,
}

/// Expired entries are swept this often (in issued nonces), so memory follows the live set.
const SWEEP_EVERY: u64 = 4096;

impl Nonces {
    pub fn new(lifetime_secs: u64, limit: usize) -> Self {
        Self {
            lifetime: lifetime_secs as i64,
            limit,
            entries: Mutex::new(HashMap::new()),
            issued: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A fresh nonce and when it expires.
    pub fn issue(&self, now: i64) -> Result<([u8; 32], i64), NonceError> {
        let nonce = crate::secrets::random_bytes::<32>();
        let expires = now + self.lifetime;
        let mut entries = self.entries.lock().map_err(|_| NonceError::Full)?;
        let count = self
            .issued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if count % SWEEP_EVERY == SWEEP_EVERY - 1 {
            entries.retain(|_, e| e.expires >= now);
        }
        if entries.len() >= self.limit {
            entries.retain(|_, e| e.expires >= now);
            if entries.len() >= self.limit {
                return Err(NonceError::Full);
            }
        }
        entries.insert(
            nonce,
            Entry {
                expires,
                used: false,
            },
        );
        Ok((nonce, expires))
    }

    /// Consumes a nonce: it must have been issued, not used, and not expired.
    pub fn consume(&self, nonce: &[u8], now: i64) -> Result<(), NonceError> {
        let key: [u8; 32] = nonce.try_into().map_err(|_| NonceError::Unknown)?;
        let mut entries = self.entries.lock().map_err(|_| NonceError::Unknown)?;
        let entry = entries.get_mut(&key).ok_or(NonceError::Unknown)?;
        if entry.used {
            return Err(NonceError::Replayed);
        }
        if now > entry.expires {
            return Err(NonceError::Expired);
        }
        entry.used = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_and_expiring() {
        let nonces = Nonces::new(10, 100);
        let (n, expires) = nonces.issue(1000).unwrap();
        assert_eq!(expires, 1010);
        assert_eq!(nonces.consume(&n, 1005), Ok(()));
        assert_eq!(nonces.consume(&n, 1005), Err(NonceError::Replayed));
        let (m, _) = nonces.issue(1000).unwrap();
        assert_eq!(nonces.consume(&m, 1011), Err(NonceError::Expired));
        assert_eq!(nonces.consume(&[7; 32], 1000), Err(NonceError::Unknown));
        assert_eq!(nonces.consume(&[7; 5], 1000), Err(NonceError::Unknown));
    }

    #[test]
    fn expired_nonces_are_swept() {
        let nonces = Nonces::new(10, 1_000_000);
        for _ in 0..SWEEP_EVERY {
            nonces.issue(0).unwrap();
        }
        // The next sweep happens long after all of those expired.
        for _ in 0..SWEEP_EVERY {
            nonces.issue(1000).unwrap();
        }
        assert!(nonces.entries.lock().unwrap().len() <= SWEEP_EVERY as usize);
    }

    #[test]
    fn outstanding_challenges_are_bounded() {
        let nonces = Nonces::new(10, 2);
        nonces.issue(0).unwrap();
        nonces.issue(0).unwrap();
        assert_eq!(nonces.issue(0).unwrap_err(), NonceError::Full);
        // Expired ones make room.
        assert!(nonces.issue(100).is_ok());
    }
}
