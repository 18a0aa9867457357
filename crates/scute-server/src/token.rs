//! Attestation results as EAR (draft-ietf-rats-ear-03) JWTs signed ES256, and the JWKS that
//! verifies them. The signing key is generated on first start and kept sealed in the store.

use crate::secrets::Sealer;
use crate::store::Store;
use crate::ServerError;
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub const EAR_PROFILE: &str = "tag:ietf.org,2026:rats/ear#03";
const KEY_NAME: &str = "token-signing-key";

pub struct Signer {
    key: EncodingKey,
    kid: String,
    jwk: Value,
}

impl Signer {
    pub async fn load_or_create(store: &Store, sealer: &Sealer) -> Result<Self, ServerError> {
        let pkcs8 = match store.secret(KEY_NAME).await? {
            Some(sealed) => sealer.open_sealed(KEY_NAME, &sealed)?,
            None => {
                let doc = EcdsaKeyPair::generate_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &SystemRandom::new(),
                )
                .map_err(|e| ServerError::Secret {
                    name: KEY_NAME.into(),
                    reason: e.to_string(),
                })?;
                store
                    .put_secret(KEY_NAME, &sealer.seal(KEY_NAME, doc.as_ref())?)
                    .await?;
                doc.as_ref().to_vec()
            }
        };
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).map_err(|e| {
                ServerError::Secret {
                    name: KEY_NAME.into(),
                    reason: e.to_string(),
                }
            })?;
        let point = pair.public_key().as_ref();
        let (x, y) =
            point
                .get(1..33)
                .zip(point.get(33..65))
                .ok_or_else(|| ServerError::Secret {
                    name: KEY_NAME.into(),
                    reason: "public key is not an uncompressed P-256 point".into(),
                })?;
        let kid = URL_SAFE_NO_PAD.encode(&digest(&SHA256, point).as_ref()[..12]);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        });
        Ok(Self {
            key: EncodingKey::from_ec_der(&pkcs8),
            kid,
            jwk,
        })
    }

    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    pub fn sign(&self, claims: &Value) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
    }
}

/// Verifies EAR tokens presented as bearer credentials: this service's own key, and the keys
/// of the other issuers whose JWKS files the operator configured (never a key the token names
/// for itself).
pub struct Verifier {
    keys: Vec<(Option<String>, jsonwebtoken::DecodingKey)>,
}

impl Verifier {
    pub fn new(signer: &Signer, trusted_jwks: &[std::path::PathBuf]) -> Result<Self, ServerError> {
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

    /// The claims of a token signed ES256 by a trusted key and not expired.
    pub fn verify(&self, token: &str) -> Result<Value, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("token: {e}"))?;
        if header.alg != Algorithm::ES256 {
            return Err(format!("token algorithm {:?} is not ES256", header.alg));
        }
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        let mut last = "no trusted key signed this token".to_string();
        for (kid, key) in &self.keys {
            if header.kid.is_some() && kid.is_some() && header.kid != *kid {
                continue;
            }
            match jsonwebtoken::decode::<Value>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last = format!("token: {e}"),
            }
        }
        Err(last)
    }
}
