//! Key broker session cookies that prove themselves, as the `/v1` challenge nonces do
//! (`nonce.rs`): `POST /kbs/v0/auth` writes nothing, and everything `/attest` needs of the
//! challenge travels in the `kbs-session-id` cookie, under a MAC of a key every replica shares
//! through the store:
//!
//! version (1) ‖ nonce (32 random bytes) ‖ expiry (big-endian seconds, 8) ‖ TEE (1) ‖
//! hash algorithm (1) ‖ HMAC-SHA256 of all of it (32), unpadded base64url.
//!
//! The challenge nonce the client binds into its evidence is the standard base64 of the 32
//! random bytes, so the cookie carries it and no row is needed to remember it. The store learns
//! of a session only when its attestation succeeds: one row, keyed by SHA-256 of the cookie,
//! inserted at most once (that insert is the challenge's single use, on any replica).

use crate::error::ServerError;
use crate::secrets::Sealer;
use crate::store::Store;
use crate::tee::Tee;
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::hmac;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use scute_kbs::HashAlgorithm;

const KEY_NAME: &str = "kbs-cookie-hmac-key";
/// Keeps the MAC from meaning anything outside this use of the key.
const LABEL: &[u8] = b"scute kbs session cookie v1\0";
const VERSION: u8 = 1;
const NONCE_LEN: usize = 32;
const BODY_LEN: usize = 1 + NONCE_LEN + 8 + 1 + 1;
const COOKIE_LEN: usize = BODY_LEN + 32;

/// The one-byte codes of the hash algorithm in a cookie (the TEE's is `Tee::code`, kept by
/// `scute-tee` with the TEE). Fixed forever: a cookie issued before must open after an upgrade
/// (and on an older replica), so no code is ever reused.
const HASHES: [(u8, HashAlgorithm); 3] = [
    (1, HashAlgorithm::Sha256),
    (2, HashAlgorithm::Sha384),
    (3, HashAlgorithm::Sha512),
];

/// What a genuine cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionChallenge {
    pub tee: Tee,
    pub hash: HashAlgorithm,
    /// The challenge nonce as sent in `/auth`'s answer (standard base64).
    pub nonce: String,
    /// When the challenge may no longer be attested.
    pub expires: i64,
    /// SHA-256 of the cookie's bytes, hex: the key of the attested session in the store (a
    /// database reader learns no cookie from it).
    pub id_sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieError {
    /// Not made under this service's key (forged, altered, truncated, another version).
    Unknown,
}

pub(crate) struct SessionCookies {
    key: hmac::Key,
    lifetime: i64,
}

impl SessionCookies {
    pub(crate) fn new(key_bytes: &[u8], lifetime_secs: u64) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key_bytes),
            lifetime: i64::try_from(lifetime_secs).unwrap_or(i64::MAX),
        }
    }

    /// The MAC key from the store (made there on first start), so a cookie issued by one
    /// replica is accepted by every other and outlives a restart.
    pub(crate) async fn load_or_create(
        store: &Store,
        sealer: &Sealer,
        lifetime_secs: u64,
    ) -> Result<Self, ServerError> {
        let key = crate::domain::nonce::shared_key(store, sealer, KEY_NAME).await?;
        Ok(Self::new(&key, lifetime_secs))
    }

    pub(crate) fn lifetime(&self) -> i64 {
        self.lifetime
    }

    fn mac(&self, body: &[u8]) -> hmac::Tag {
        hmac::sign(&self.key, &[LABEL, body].concat())
    }

    /// A fresh challenge for `tee` and `hash`: (cookie value, nonce, expiry).
    pub(crate) fn issue(&self, tee: Tee, hash: HashAlgorithm, now: i64) -> (String, String, i64) {
        let expires = now.saturating_add(self.lifetime);
        let nonce = crate::secrets::random_bytes::<NONCE_LEN>();
        let tee_code = tee.code();
        let hash_code = HASHES
            .iter()
            .find(|(_, h)| *h == hash)
            .map_or(0, |(c, _)| *c);
        let mut cookie = Vec::with_capacity(COOKIE_LEN);
        cookie.push(VERSION);
        cookie.extend_from_slice(&nonce);
        cookie.extend_from_slice(&expires.to_be_bytes());
        cookie.push(tee_code);
        cookie.push(hash_code);
        let tag = self.mac(&cookie);
        cookie.extend_from_slice(tag.as_ref());
        (
            URL_SAFE_NO_PAD.encode(&cookie),
            STANDARD.encode(nonce),
            expires,
        )
    }

    /// Reads a cookie made by this service's key. Expiry is the caller's to judge: a challenge
    /// expires at `expires`, an attested session when its stored row says.
    pub(crate) fn open(&self, value: &str) -> Result<SessionChallenge, CookieError> {
        let cookie = URL_SAFE_NO_PAD
            .decode(value.trim())
            .map_err(|_| CookieError::Unknown)?;
        if cookie.len() != COOKIE_LEN {
            return Err(CookieError::Unknown);
        }
        let (body, tag) = cookie.split_at(BODY_LEN);
        // Constant time: the MAC is compared by aws-lc-rs, not here.
        hmac::verify(&self.key, &[LABEL, body].concat(), tag).map_err(|_| CookieError::Unknown)?;
        let (&version, rest) = body.split_first().ok_or(CookieError::Unknown)?;
        let (nonce, rest) = rest
            .split_at_checked(NONCE_LEN)
            .ok_or(CookieError::Unknown)?;
        let (expiry, rest) = rest.split_at_checked(8).ok_or(CookieError::Unknown)?;
        let [tee_code, hash_code] = rest else {
            return Err(CookieError::Unknown);
        };
        if version != VERSION {
            return Err(CookieError::Unknown);
        }
        let tee = Tee::from_code(*tee_code).ok_or(CookieError::Unknown)?;
        let hash = HASHES
            .iter()
            .find(|(c, _)| c == hash_code)
            .map(|(_, h)| *h)
            .ok_or(CookieError::Unknown)?;
        let expires = i64::from_be_bytes(expiry.try_into().map_err(|_| CookieError::Unknown)?);
        Ok(SessionChallenge {
            tee,
            hash,
            nonce: STANDARD.encode(nonce),
            expires,
            id_sha256: hex::encode(digest(&SHA256, &cookie)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_carries_its_challenge_under_the_key() {
        let cookies = SessionCookies::new(&[1; 32], 300);
        let (cookie, nonce, expires) = cookies.issue(Tee::Snp, HashAlgorithm::Sha512, 1000);
        assert_eq!(expires, 1300);
        let opened = cookies.open(&cookie).unwrap();
        assert_eq!(opened.tee, Tee::Snp);
        assert_eq!(opened.hash, HashAlgorithm::Sha512);
        assert_eq!(opened.nonce, nonce);
        assert_eq!(opened.expires, 1300);
        assert_eq!(STANDARD.decode(&nonce).unwrap().len(), 32);
        // Every TEE and algorithm survives the trip.
        for tee in Tee::ALL {
            for (_, hash) in HASHES {
                let (c, _, _) = cookies.issue(tee, hash, 0);
                let o = cookies.open(&c).unwrap();
                assert_eq!((o.tee, o.hash), (tee, hash));
            }
        }
    }

    #[test]
    fn cookies_written_by_the_format_open() {
        // A cookie built byte by byte as the module's format says (as every earlier version
        // of this service wrote it), not by `issue`: the TEE codes are the format's.
        let key = [1u8; 32];
        let cookies = SessionCookies::new(&key, 300);
        for (code, tee) in [
            (1u8, Tee::Tdx),
            (2, Tee::Sgx),
            (3, Tee::Snp),
            (4, Tee::Csv),
            (5, Tee::Sample),
        ] {
            let mut body = vec![1u8];
            body.extend_from_slice(&[0x42; 32]);
            body.extend_from_slice(&1234i64.to_be_bytes());
            body.extend_from_slice(&[code, 2]);
            let tag = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, &key),
                &[LABEL, &body].concat(),
            );
            body.extend_from_slice(tag.as_ref());
            let opened = cookies.open(&URL_SAFE_NO_PAD.encode(&body)).unwrap();
            assert_eq!(opened.tee, tee);
            assert_eq!(opened.hash, HashAlgorithm::Sha384);
            assert_eq!(opened.expires, 1234);
            assert_eq!(opened.nonce, STANDARD.encode([0x42; 32]));
        }
    }

    #[test]
    fn altered_or_foreign_cookies_are_unknown() {
        let cookies = SessionCookies::new(&[1; 32], 300);
        let (cookie, _, _) = cookies.issue(Tee::Tdx, HashAlgorithm::Sha384, 1000);
        let bytes = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
        // Any flipped bit: the TEE byte, the expiry, the nonce, the MAC.
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert_eq!(
                cookies.open(&URL_SAFE_NO_PAD.encode(&bad)),
                Err(CookieError::Unknown),
                "byte {i}"
            );
        }
        assert_eq!(
            SessionCookies::new(&[2; 32], 300).open(&cookie),
            Err(CookieError::Unknown)
        );
        for junk in ["", "AAAA", "not base64!", &cookie[..cookie.len() - 2]] {
            assert_eq!(cookies.open(junk), Err(CookieError::Unknown), "{junk:?}");
        }
    }

    #[test]
    fn cookies_and_their_session_keys_are_distinct() {
        let cookies = SessionCookies::new(&[1; 32], 300);
        let ids: std::collections::HashSet<String> = (0..1000)
            .map(|_| {
                let (c, _, _) = cookies.issue(Tee::Tdx, HashAlgorithm::Sha384, 0);
                cookies.open(&c).unwrap().id_sha256
            })
            .collect();
        assert_eq!(ids.len(), 1000);
    }
}
