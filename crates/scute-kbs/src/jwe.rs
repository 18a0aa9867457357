//! The KBS resource envelope: a flattened JWE (RFC 7516 §7.2.2) to the key the guest put in
//! its attested runtime data. `ECDH-ES+A256KW` for EC keys on P-256, P-384 or P-521 (the
//! ephemeral key on the recipient's own curve), `RSA-OAEP-256` for RSA keys, content always
//! `A256GCM`. Every primitive is aws-lc-rs; this module only composes them.
//!
//! Wire details follow the Confidential Containers client, which does not use a JOSE library:
//! guest-components `kbs_protocol/src/keypair.rs` (`decrypt_response`) unwraps the CEK, then
//! recomputes the AAD as `BASE64URL(serde_json(ProtectedHeader))` (`kbs-types`
//! `ProtectedHeader::generate_aad`: `alg`, `enc`, then the other members as a JSON map), and
//! ignores any `aad` member. So the protected header is emitted in exactly that serialisation
//! (`alg`, `enc`, `epk` with its members sorted), no `aad` member is sent, and a standard JOSE
//! library (which uses the protected member as received) computes the same AAD.
//! The ECDH-ES KDF is RFC 7518 §4.6.2 Concat KDF, SHA-256, AlgorithmID "ECDH-ES+A256KW",
//! empty PartyUInfo/PartyVInfo, keydatalen 256 (guest-components `crypto/src/rust/ec.rs`,
//! `crypto/src/native/ec.rs`), whatever the curve; `epk` is `{"crv", "kty": "EC", "x", "y"}`
//! with each coordinate at the curve's full length (32, 48, 66 bytes), which is what the
//! client's `EcKeyPair::unwrap_key` requires of `crv` (equal to its own key's) and of `x`/`y`.
//! The client (`kbs_protocol/src/keypair.rs`) and Trustee (`kbs/src/jwe/mod.rs`) name P-256 and
//! P-521; P-384 is the same construction on the third NIST curve (RFC 7518 §6.2.1.1).

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::agreement::{
    self, EphemeralPrivateKey, UnparsedPublicKey, ECDH_P256, ECDH_P384, ECDH_P521,
};
use aws_lc_rs::kdf::{get_sskdf_digest_algorithm, sskdf_digest, SskdfDigestAlgorithmId};
use aws_lc_rs::key_wrap::{AesKek, KeyWrap, AES_256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};

use crate::KbsError;

pub(crate) const ALG_ECDH_ES_A256KW: &str = "ECDH-ES+A256KW";
pub(crate) const ALG_RSA_OAEP_256: &str = "RSA-OAEP-256";
pub(crate) const ENC_A256GCM: &str = "A256GCM";

/// The NIST curves a recipient's EC key may be on (RFC 7518 §6.2.1.1 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    P256,
    P384,
    P521,
}

impl EcCurve {
    pub const ALL: [Self; 3] = [Self::P256, Self::P384, Self::P521];

    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Bytes of one affine coordinate (RFC 7518 §6.2.1.2: the full size of the field).
    pub fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    fn agreement(self) -> &'static agreement::Algorithm {
        match self {
            Self::P256 => &ECDH_P256,
            Self::P384 => &ECDH_P384,
            Self::P521 => &ECDH_P521,
        }
    }

    fn of(algorithm: &agreement::Algorithm) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.agreement() == algorithm)
    }

    /// (x, y) of an uncompressed SEC1 point 04 ‖ x ‖ y on this curve.
    fn coordinates(self, point: &[u8]) -> Option<(&[u8], &[u8])> {
        let n = self.coordinate_len();
        if point.len() != 1 + 2 * n || point.first() != Some(&4) {
            return None;
        }
        Some((point.get(1..1 + n)?, point.get(1 + n..)?))
    }
}

/// A recipient key decoded from the guest's JWK (kbs-types `TeePubKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientKey {
    /// Uncompressed SEC1 point 04 ‖ x ‖ y of a key on `curve`, checked to be on it.
    Ec { curve: EcCurve, point: Vec<u8> },
    /// SubjectPublicKeyInfo DER of an RSA key.
    Rsa { spki: Vec<u8> },
}

fn b64url_field(jwk: &Value, name: &str) -> Result<Vec<u8>, KbsError> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| KbsError::TeeKey(format!("member {name:?} must be a string")))?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| KbsError::TeeKey(format!("{name}: not unpadded base64url: {e}")))
}

impl RecipientKey {
    /// Decodes `{"kty": "EC", "crv": "P-256", "x", "y", ...}` or `{"kty": "RSA", "n", "e", ...}`.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KbsError> {
        match jwk.get("kty").and_then(Value::as_str) {
            Some("EC") => {
                let crv = jwk.get("crv").and_then(Value::as_str);
                let curve = crv.and_then(EcCurve::from_name).ok_or_else(|| {
                    KbsError::TeeKey(format!(
                        "EC keys must be on P-256, P-384 or P-521, not {crv:?}"
                    ))
                })?;
                let (x, y) = (b64url_field(jwk, "x")?, b64url_field(jwk, "y")?);
                let n = curve.coordinate_len();
                if x.len() != n || y.len() != n {
                    return Err(KbsError::TeeKey(format!(
                        "{} x and y must be {n} bytes each",
                        curve.name()
                    )));
                }
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                // Refuse points off the curve now, not at release time.
                agreement::ParsedPublicKey::try_from(&UnparsedPublicKey::new(
                    curve.agreement(),
                    &point,
                ))
                .map_err(|_| KbsError::TeeKey(format!("not a point on {}", curve.name())))?;
                Ok(Self::Ec { curve, point })
            }
            Some("RSA") => {
                use rsa::pkcs8::EncodePublicKey;
                let n = rsa::BigUint::from_bytes_be(&b64url_field(jwk, "n")?);
                let e = rsa::BigUint::from_bytes_be(&b64url_field(jwk, "e")?);
                let key = rsa::RsaPublicKey::new(n, e)
                    .map_err(|e| KbsError::TeeKey(format!("RSA key: {e}")))?;
                let spki = key
                    .to_public_key_der()
                    .map_err(|e| KbsError::TeeKey(format!("RSA key: {e}")))?
                    .into_vec();
                let parsed = PublicEncryptingKey::from_der(&spki)
                    .map_err(|e| KbsError::TeeKey(format!("RSA key: {e}")))?;
                if parsed.key_size_bits() < 2048 {
                    return Err(KbsError::TeeKey(
                        "RSA keys must have at least 2048 bits".into(),
                    ));
                }
                Ok(Self::Rsa { spki })
            }
            other => Err(KbsError::TeeKey(format!(
                "kty must be \"EC\" or \"RSA\", not {other:?}"
            ))),
        }
    }
}

#[derive(Serialize)]
struct Epk<'a> {
    crv: &'a str,
    kty: &'a str,
    x: String,
    y: String,
}

/// Field order is the wire order (see the module comment).
#[derive(Serialize)]
struct ProtectedHeader<'a> {
    alg: &'a str,
    enc: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    epk: Option<Epk<'a>>,
}

/// A flattened JWE JSON object (RFC 7516 §7.2.2), all members unpadded base64url.
#[derive(Debug, Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
pub struct FlattenedJwe {
    pub protected: String,
    pub encrypted_key: String,
    pub iv: String,
    pub ciphertext: String,
    pub tag: String,
}

fn random<const N: usize>() -> Result<[u8; N], KbsError> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::SecureRandom::fill(&SystemRandom::new(), &mut out)
        .map_err(|_| KbsError::Jwe("no randomness"))?;
    Ok(out)
}

/// RFC 7518 §4.6.2 with the parameters the CoCo client uses.
pub(crate) fn concat_kdf_a256kw(shared_secret: &[u8]) -> Result<[u8; 32], KbsError> {
    let mut other_info = Vec::with_capacity(4 + ALG_ECDH_ES_A256KW.len() + 12);
    other_info.extend_from_slice(&(ALG_ECDH_ES_A256KW.len() as u32).to_be_bytes());
    other_info.extend_from_slice(ALG_ECDH_ES_A256KW.as_bytes());
    other_info.extend_from_slice(&0u32.to_be_bytes()); // PartyUInfo: empty
    other_info.extend_from_slice(&0u32.to_be_bytes()); // PartyVInfo: empty
    other_info.extend_from_slice(&256u32.to_be_bytes()); // SuppPubInfo: keydatalen in bits
    let algorithm = get_sskdf_digest_algorithm(SskdfDigestAlgorithmId::Sha256)
        .ok_or(KbsError::Jwe("SSKDF-SHA256 unavailable"))?;
    let mut kek = [0u8; 32];
    sskdf_digest(algorithm, shared_secret, &other_info, &mut kek)
        .map_err(|_| KbsError::Jwe("concat KDF"))?;
    Ok(kek)
}

/// Encrypts `plaintext` to `recipient`.
pub fn encrypt(recipient: &RecipientKey, plaintext: &[u8]) -> Result<FlattenedJwe, KbsError> {
    let cek = random::<32>()?;
    let (header, encrypted_key) = match recipient {
        RecipientKey::Ec { curve, point } => {
            let ephemeral = EphemeralPrivateKey::generate(curve.agreement(), &SystemRandom::new())
                .map_err(|_| KbsError::Jwe("ephemeral key"))?;
            let public = ephemeral
                .compute_public_key()
                .map_err(|_| KbsError::Jwe("ephemeral public key"))?;
            let (x, y) = curve
                .coordinates(public.as_ref())
                .ok_or(KbsError::Jwe("ephemeral point encoding"))?;
            let epk = Epk {
                crv: curve.name(),
                kty: "EC",
                x: URL_SAFE_NO_PAD.encode(x),
                y: URL_SAFE_NO_PAD.encode(y),
            };
            let kek = agreement::agree_ephemeral(
                ephemeral,
                UnparsedPublicKey::new(curve.agreement(), point),
                KbsError::Jwe("ECDH"),
                concat_kdf_a256kw,
            )?;
            let kek = AesKek::new(&AES_256, &kek).map_err(|_| KbsError::Jwe("KEK"))?;
            let mut wrapped = [0u8; 40];
            let wrapped = kek
                .wrap(&cek, &mut wrapped)
                .map_err(|_| KbsError::Jwe("AES key wrap"))?
                .to_vec();
            let header = ProtectedHeader {
                alg: ALG_ECDH_ES_A256KW,
                enc: ENC_A256GCM,
                epk: Some(epk),
            };
            (header, wrapped)
        }
        RecipientKey::Rsa { spki } => {
            let key = PublicEncryptingKey::from_der(spki)
                .map_err(|_| KbsError::Jwe("RSA key"))
                .and_then(|k| {
                    OaepPublicEncryptingKey::new(k).map_err(|_| KbsError::Jwe("RSA key"))
                })?;
            let mut out = vec![0u8; key.ciphertext_size()];
            let wrapped = key
                .encrypt(&OAEP_SHA256_MGF1SHA256, &cek, &mut out, None)
                .map_err(|_| KbsError::Jwe("RSA-OAEP"))?
                .to_vec();
            let header = ProtectedHeader {
                alg: ALG_RSA_OAEP_256,
                enc: ENC_A256GCM,
                epk: None,
            };
            (header, wrapped)
        }
    };
    let protected = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&header).map_err(|_| KbsError::Jwe("protected header"))?);
    let iv = random::<NONCE_LEN>()?;
    let key =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| KbsError::Jwe("CEK"))?);
    let mut data = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut data,
        )
        .map_err(|_| KbsError::Jwe("AES-GCM"))?;
    Ok(FlattenedJwe {
        protected,
        encrypted_key: URL_SAFE_NO_PAD.encode(encrypted_key),
        iv: URL_SAFE_NO_PAD.encode(iv),
        ciphertext: URL_SAFE_NO_PAD.encode(&data),
        tag: URL_SAFE_NO_PAD.encode(tag.as_ref()),
    })
}

/// The guest's side: an EC key made in memory (P-256 by default, the client's default key
/// type; P-384 or P-521 on request), its public JWK for the runtime data, and the opening of
/// what the broker sealed to it.
pub struct TeeKeyPair {
    private: agreement::PrivateKey,
    curve: EcCurve,
    point: Vec<u8>,
}

impl TeeKeyPair {
    pub fn generate() -> Result<Self, KbsError> {
        Self::generate_on(EcCurve::P256)
    }

    pub fn generate_on(curve: EcCurve) -> Result<Self, KbsError> {
        let private = agreement::PrivateKey::generate(curve.agreement())
            .map_err(|_| KbsError::Jwe("key generation"))?;
        let point = private
            .compute_public_key()
            .map_err(|_| KbsError::Jwe("public key"))?
            .as_ref()
            .to_vec();
        Ok(Self {
            private,
            curve,
            point,
        })
    }

    /// `{"kty": "EC", "crv", "alg": "ECDH-ES+A256KW", "x", "y"}` (kbs-types `TeePubKey::EC`).
    pub fn public_jwk(&self) -> Value {
        let (x, y) = self.curve.coordinates(&self.point).unwrap_or_default();
        json!({
            "kty": "EC",
            "crv": self.curve.name(),
            "alg": ALG_ECDH_ES_A256KW,
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        })
    }

    /// Opens a flattened JWE sealed to this key with `ECDH-ES+A256KW` / `A256GCM`.
    pub fn decrypt(&self, jwe: &FlattenedJwe) -> Result<Vec<u8>, KbsError> {
        decrypt(&self.private, jwe)
    }
}

fn b64(name: &'static str, text: &str) -> Result<Vec<u8>, KbsError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KbsError::Jwe(name))
}

/// Opens `jwe` with an EC private key on P-256, P-384 or P-521 (RFC 7516 §5.2; the AAD is the
/// protected member as received). The `epk` must be on the private key's curve.
pub fn decrypt(private: &agreement::PrivateKey, jwe: &FlattenedJwe) -> Result<Vec<u8>, KbsError> {
    let header: Value = serde_json::from_slice(&b64("protected is not base64url", &jwe.protected)?)
        .map_err(|_| KbsError::Jwe("protected header is not JSON"))?;
    if header.get("alg").and_then(Value::as_str) != Some(ALG_ECDH_ES_A256KW)
        || header.get("enc").and_then(Value::as_str) != Some(ENC_A256GCM)
    {
        return Err(KbsError::Jwe("expected ECDH-ES+A256KW with A256GCM"));
    }
    let epk = header.get("epk").ok_or(KbsError::Jwe("no epk"))?;
    let ours = EcCurve::of(private.algorithm()).ok_or(KbsError::Jwe("not a NIST-curve key"))?;
    let peer = match RecipientKey::from_jwk(epk)? {
        RecipientKey::Ec { curve, point } if curve == ours => point,
        _ => return Err(KbsError::Jwe("epk is not a key on this key's curve")),
    };
    let kek = agreement::agree(
        private,
        UnparsedPublicKey::new(ours.agreement(), &peer),
        KbsError::Jwe("ECDH"),
        concat_kdf_a256kw,
    )?;
    let kek = AesKek::new(&AES_256, &kek).map_err(|_| KbsError::Jwe("KEK"))?;
    let wrapped = b64("encrypted_key is not base64url", &jwe.encrypted_key)?;
    let mut cek = [0u8; 40];
    let cek = kek
        .unwrap(&wrapped, &mut cek)
        .map_err(|_| KbsError::Jwe("the CEK does not unwrap with this key"))?;
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, cek).map_err(|_| KbsError::Jwe("CEK is not 256 bits"))?,
    );
    let nonce = Nonce::try_assume_unique_for_key(&b64("iv is not base64url", &jwe.iv)?)
        .map_err(|_| KbsError::Jwe("iv is not 96 bits"))?;
    let mut data = b64("ciphertext is not base64url", &jwe.ciphertext)?;
    data.extend_from_slice(&b64("tag is not base64url", &jwe.tag)?);
    let plain = key
        .open_in_place(nonce, Aad::from(jwe.protected.as_bytes()), &mut data)
        .map_err(|_| KbsError::Jwe("the ciphertext does not authenticate"))?;
    Ok(plain.to_vec())
}
