//! Attestation results as EAR (draft-ietf-rats-ear-03) JWTs signed ES256, and the JWKS that
//! verifies them. The signing key is generated on first start and kept sealed in the store.

use crate::domain::ear::Ear;
use crate::error::ServerError;
use crate::secrets::Sealer;
use crate::store::Store;
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub use crate::domain::ear::EAR_PROFILE;
const KEY_NAME: &str = "token-signing-key";

/// One ES256 key of the service.
struct SigningKey {
    key: EncodingKey,
    kid: String,
    jwk: Value,
}

fn secret_err(reason: impl std::fmt::Display) -> ServerError {
    ServerError::Secret {
        name: KEY_NAME.into(),
        reason: reason.to_string(),
    }
}

impl SigningKey {
    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, ServerError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(secret_err)?;
        let point = pair.public_key().as_ref();
        let (x, y) = point
            .get(1..33)
            .zip(point.get(33..65))
            .ok_or_else(|| secret_err("public key is not an uncompressed P-256 point"))?;
        let kid = URL_SAFE_NO_PAD.encode(&digest(&SHA256, point).as_ref()[..12]);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        });
        Ok(Self {
            key: EncodingKey::from_ec_der(pkcs8),
            kid,
            jwk,
        })
    }

    fn generate() -> Result<(Self, Vec<u8>), ServerError> {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(secret_err)?;
        Ok((Self::from_pkcs8(doc.as_ref())?, doc.as_ref().to_vec()))
    }
}

/// How long after its retirement a key stays published, beyond the token lifetime: replicas
/// learn of a rotation within seconds and may sign with the old key until then.
const RETIRED_MARGIN_SECS: i64 = 60;

/// The active signing key, and every key whose tokens may still be unexpired (published in the
/// JWKS). All in the store, sealed, so every replica signs with the same key and publishes the
/// same set.
pub(crate) struct Signer {
    active: SigningKey,
    published: Vec<Value>,
}

impl Signer {
    pub(crate) async fn load_or_create(
        store: &Store,
        sealer: &Sealer,
        token_lifetime_secs: u64,
        now: i64,
    ) -> Result<Self, ServerError> {
        if store.signing_keys(i64::MIN).await?.is_empty() {
            // A store from before rotation keeps its key; a new one gets a fresh key. Replicas
            // starting at once may each add one: all are published, and every replica picks
            // the same active one below.
            let (kid, sealed) = match store.secret(KEY_NAME).await? {
                Some(sealed) => {
                    let key = SigningKey::from_pkcs8(&sealer.open_sealed(KEY_NAME, &sealed)?)?;
                    (key.kid, sealed)
                }
                None => {
                    let (key, pkcs8) = SigningKey::generate()?;
                    (key.kid, sealer.seal(KEY_NAME, &pkcs8)?)
                }
            };
            store.add_first_signing_key(&kid, &sealed, now).await?;
        }
        let cutoff = now - token_lifetime_secs as i64 - RETIRED_MARGIN_SECS;
        let rows = store.signing_keys(cutoff).await?;
        let mut published = Vec::new();
        let mut active: Option<(i64, SigningKey)> = None;
        for row in rows {
            let key = SigningKey::from_pkcs8(&sealer.open_sealed(KEY_NAME, &row.sealed)?)?;
            if key.kid != row.kid {
                return Err(secret_err(format!(
                    "stored key {} has kid {}",
                    row.kid, key.kid
                )));
            }
            published.push(key.jwk.clone());
            if row.retired.is_none() {
                // Newest first; equal instants broken by kid, so every replica agrees.
                let newer = active.as_ref().is_none_or(|(created, current)| {
                    (row.created, std::cmp::Reverse(&row.kid))
                        > (*created, std::cmp::Reverse(&current.kid))
                });
                if newer {
                    active = Some((row.created, key));
                }
            }
        }
        let (_, active) = active.ok_or_else(|| secret_err("no active signing key in the store"))?;
        Ok(Self { active, published })
    }

    /// A new active key; the old ones are retired now and stay published until their tokens
    /// have expired. Returns the new key's kid.
    pub(crate) async fn rotate(
        store: &Store,
        sealer: &Sealer,
        now: i64,
    ) -> Result<String, ServerError> {
        let (key, pkcs8) = SigningKey::generate()?;
        store
            .rotate_signing_key(&key.kid, &sealer.seal(KEY_NAME, &pkcs8)?, now)
            .await?;
        Ok(key.kid)
    }

    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": self.published })
    }

    /// An EAR's claims as a JWT signed with the active key. The caller makes them JSON (through
    /// `serde_json::to_value`, so members come in the order serde_json's map keeps, as they
    /// always have in this service's tokens) and may keep what it signed.
    pub(crate) fn sign_claims(
        &self,
        claims: &Value,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.active.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.active.key)
    }
}

/// Why a bearer token is refused (the problem detail of a 401 `token_invalid`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    /// Undecodable, badly signed, expired, or not an EAR.
    #[error("token: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("token algorithm {0:?} is not ES256")]
    Algorithm(Algorithm),
    #[error("no trusted key signed this token")]
    NoTrustedKey,
}

/// Verifies EAR tokens presented as bearer credentials: this service's own key, and the keys
/// of the other issuers whose JWKS files the operator configured (never a key the token names
/// for itself).
pub(crate) struct Verifier {
    keys: Vec<(Option<String>, jsonwebtoken::DecodingKey)>,
}

impl Verifier {
    pub(crate) fn new(
        signer: &Signer,
        trusted_jwks: &[std::path::PathBuf],
    ) -> Result<Self, ServerError> {
        let mut keys = Vec::new();
        let mut add_set = |origin: &str, set: &Value| -> Result<(), ServerError> {
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(set.clone())
                .map_err(|e| ServerError::Config(format!("JWKS {origin}: {e}")))?;
            for jwk in &set.keys {
                let key = jsonwebtoken::DecodingKey::from_jwk(jwk)
                    .map_err(|e| ServerError::Config(format!("JWKS {origin}: {e}")))?;
                keys.push((jwk.common.key_id.clone(), key));
            }
            Ok(())
        };
        add_set("of this service", &signer.jwks())?;
        for path in trusted_jwks {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ServerError::Config(format!("JWKS {}: {e}", path.display())))?;
            let set: Value = serde_json::from_str(&text)
                .map_err(|e| ServerError::Config(format!("JWKS {}: {e}", path.display())))?;
            add_set(&path.display().to_string(), &set)?;
        }
        Ok(Self { keys })
    }

    /// The EAR of a token signed ES256 by a trusted key and not expired.
    pub(crate) fn verify(&self, token: &str) -> Result<Ear, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(TokenError::Invalid)?;
        if header.alg != Algorithm::ES256 {
            return Err(TokenError::Algorithm(header.alg));
        }
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        let mut last = TokenError::NoTrustedKey;
        for (kid, key) in &self.keys {
            if header.kid.is_some() && kid.is_some() && header.kid != *kid {
                continue;
            }
            match jsonwebtoken::decode::<Ear>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last = TokenError::Invalid(e),
            }
        }
        Err(last)
    }
}
