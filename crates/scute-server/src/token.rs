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
