//! Challenge nonces that prove themselves: 16 random bytes ‖ expiry (big-endian seconds) ‖
//! HMAC-SHA256 of both under a key sealed in the store. Issuing keeps no state; a spent nonce is
//! recorded in the store only until it expires, so replays are refused and memory stays flat.

use crate::error::ServerError;
use crate::secrets::Sealer;
use crate::store::Store;
use aws_lc_rs::hmac;

const RANDOM_LEN: usize = 16;
const BODY_LEN: usize = RANDOM_LEN + 8;
pub(crate) const NONCE_LEN: usize = BODY_LEN + 32;
const KEY_NAME: &str = "nonce-hmac-key";
/// Keeps the MAC from meaning anything outside this use of the key.
const LABEL: &[u8] = b"scute challenge nonce v1\0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NonceError {
    /// Not made by this service's key (or not a nonce at all).
    Unknown,
    Expired,
    Replayed,
    Store(String),
}

/// A 32-byte key every replica sharing `store` uses: read from the store (sealed under the
/// master key, the name as associated data), or generated and offered there on first start.
pub(crate) async fn shared_key(
    store: &Store,
    sealer: &Sealer,
    name: &str,
) -> Result<Vec<u8>, ServerError> {
    match store.secret(name).await? {
        Some(sealed) => sealer.open_sealed(name, &sealed),
        None => {
            // Every replica must MAC with the same key: offer one, use what was stored.
            let fresh = crate::secrets::random_bytes::<32>().to_vec();
            let (stored, _) = store
                .secret_or_insert(name, &sealer.seal(name, &fresh)?)
                .await?;
            sealer.open_sealed(name, &stored)
        }
    }
}

pub(crate) struct Nonces {
    key: hmac::Key,
    lifetime: i64,
}

impl Nonces {
    pub(crate) fn new(key_bytes: &[u8], lifetime_secs: u64) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key_bytes),
            lifetime: i64::try_from(lifetime_secs).unwrap_or(i64::MAX),
        }
    }

    /// The key from the store, generated and sealed there on first start, so nonces outlive a
    /// restart and replicas sharing the store accept each other's.
    pub(crate) async fn load_or_create(
        store: &Store,
        sealer: &Sealer,
        lifetime_secs: u64,
    ) -> Result<Self, ServerError> {
        let key = shared_key(store, sealer, KEY_NAME).await?;
        Ok(Self::new(&key, lifetime_secs))
    }

    fn mac(&self, body: &[u8]) -> hmac::Tag {
        hmac::sign(&self.key, &[LABEL, body].concat())
    }

    /// A fresh nonce and when it expires.
    pub(crate) fn issue(&self, now: i64) -> (Vec<u8>, i64) {
        let expires = now.saturating_add(self.lifetime);
        let mut nonce = crate::secrets::random_bytes::<RANDOM_LEN>().to_vec();
        nonce.extend_from_slice(&expires.to_be_bytes());
        let tag = self.mac(&nonce);
        nonce.extend_from_slice(tag.as_ref());
        (nonce, expires)
    }

    /// Checks that `nonce` is ours and unexpired; returns its expiry. Spends nothing.
    pub(crate) fn check(&self, nonce: &[u8], now: i64) -> Result<i64, NonceError> {
        if nonce.len() != NONCE_LEN {
            return Err(NonceError::Unknown);
        }
        let (body, tag) = nonce.split_at(BODY_LEN);
        // Constant time: the MAC is compared by aws-lc-rs, not here.
        hmac::verify(&self.key, &[LABEL, body].concat(), tag).map_err(|_| NonceError::Unknown)?;
        let expiry: [u8; 8] = body
            .get(RANDOM_LEN..)
            .and_then(|b| b.try_into().ok())
            .ok_or(NonceError::Unknown)?;
        let expires = i64::from_be_bytes(expiry);
        if now > expires {
            return Err(NonceError::Expired);
        }
        Ok(expires)
    }

    /// Checks and spends `nonce`: one atomic insert in the store, so of two concurrent spends
    /// (on any replica sharing the store) exactly one succeeds.
    pub(crate) async fn consume(
        &self,
        store: &Store,
        nonce: &[u8],
        now: i64,
    ) -> Result<(), NonceError> {
        let expires = self.check(nonce, now)?;
        let tag = nonce.get(BODY_LEN..).ok_or(NonceError::Unknown)?;
        match store.spend_nonce(tag, expires).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(NonceError::Replayed),
            Err(e) => Err(NonceError::Store(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_checks_under_its_key_until_it_expires() {
        let nonces = Nonces::new(&[1; 32], 10);
        let (n, expires) = nonces.issue(1000);
        assert_eq!(n.len(), NONCE_LEN);
        assert_eq!(expires, 1010);
        assert_eq!(nonces.check(&n, 1010), Ok(1010));
        assert_eq!(nonces.check(&n, 1011), Err(NonceError::Expired));
        // Another key, any flipped bit, a moved expiry or a wrong length is unknown.
        assert_eq!(
            Nonces::new(&[2; 32], 10).check(&n, 1000),
            Err(NonceError::Unknown)
        );
        for i in 0..n.len() {
            let mut bad = n.clone();
            bad[i] ^= 1;
            assert_eq!(
                nonces.check(&bad, 1000),
                Err(NonceError::Unknown),
                "byte {i}"
            );
        }
        assert_eq!(nonces.check(&n[..40], 1000), Err(NonceError::Unknown));
        assert_eq!(nonces.check(&[7; 32], 1000), Err(NonceError::Unknown));
    }

    #[test]
    fn nonces_are_distinct() {
        let nonces = Nonces::new(&[1; 32], 10);
        let set: std::collections::HashSet<Vec<u8>> =
            (0..1000).map(|_| nonces.issue(0).0).collect();
        assert_eq!(set.len(), 1000);
    }
}
