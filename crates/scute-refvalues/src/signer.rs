//! A configured reference-value signer: a public key (from a PEM certificate or a PEM public
//! key) and the name provenance records for it, and the one place a signature is checked
//! against it (ECDSA P-256 with SHA-256, P-384 with SHA-384, DER signatures as sigstore and
//! in-toto tooling write them).
//!
//! The name: the certificate subject's common name (CN) when there is one, otherwise
//! `key-sha256:` and the first 16 hex digits of SHA-256 over the DER SubjectPublicKeyInfo, so
//! two bare keys never share a name and the name can be recomputed from the key alone.
//! Only the key is trusted: a certificate's validity, issuer and extensions are not judged (the
//! operator configured this very certificate).

use crate::RefValueError;
use scute_codec::der::x509_cert::der::{Decode, Encode};
use scute_codec::der::x509_cert::spki::SubjectPublicKeyInfoOwned;
use scute_codec::pem;

/// id-ecPublicKey (RFC 5480).
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// secp256r1 and secp384r1 (RFC 5480).
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";

/// Largest PEM file a signer is read from (a certificate is a few KiB).
const MAX_PEM_BYTES: usize = 64 * 1024;

/// Someone whose signed reference values the service accepts.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The name provenance shows as `signed:<name>` (see the module's comment).
    pub name: String,
    /// The SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
}

/// The signature algorithm a signer's key implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

impl Signer {
    /// From a PEM file's text: one `CERTIFICATE` (its subject key) or one `PUBLIC KEY`
    /// (SubjectPublicKeyInfo), strict RFC 7468 PEM and strict DER. `source` names the file in
    /// errors. Only ECDSA P-256 and P-384 keys are taken.
    pub fn from_pem(source: &str, pem_text: &[u8]) -> Result<Self, RefValueError> {
        let bad = |detail: String| RefValueError::BadSigner {
            name: source.to_string(),
            detail,
        };
        if pem_text.len() > MAX_PEM_BYTES {
            return Err(bad(format!("larger than {MAX_PEM_BYTES} bytes")));
        }
        let (spki, common_name) = match pem::decode_one(pem_text, pem::CERTIFICATE) {
            Ok(der) => {
                let cert = scute_codec::der::decode_certificate(&der)
                    .map_err(|e| bad(format!("certificate: {e}")))?;
                let tbs = cert.value.tbs_certificate();
                let spki = tbs
                    .subject_public_key_info()
                    .to_der()
                    .map_err(|e| bad(format!("certificate key: {e}")))?;
                let cn = tbs
                    .subject()
                    .common_name()
                    .map_err(|e| bad(format!("certificate subject CN: {e}")))?
                    .map(|cn| cn.value().into_owned());
                (spki, cn)
            }
            Err(pem::PemError::Label { found, .. }) if found == "PUBLIC KEY" => {
                let der = pem::decode_one(pem_text, "PUBLIC KEY")
                    .map_err(|e| bad(format!("public key: {e}")))?;
                (der, None)
            }
            Err(e) => {
                return Err(bad(format!(
                    "expected one CERTIFICATE or PUBLIC KEY PEM block: {e}"
                )))
            }
        };
        Self::from_spki(spki, common_name).map_err(bad)
    }

    /// From a DER SubjectPublicKeyInfo and an optional common name.
    pub fn from_spki(spki: Vec<u8>, common_name: Option<String>) -> Result<Self, String> {
        curve_and_point(&spki)?;
        let name = match common_name.filter(|cn| !cn.trim().is_empty()) {
            Some(cn) => cn,
            None => key_name(&spki),
        };
        Ok(Self { name, spki })
    }

    /// Hex SHA-256 of the DER SubjectPublicKeyInfo: the key's identity, which stored documents
    /// record so that removing a signer from the configuration removes its documents' weight.
    pub fn key_sha256(&self) -> String {
        hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.spki).as_ref())
    }

    /// Whether `signature` (DER ECDSA) over `message` verifies under this signer's key.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature::{
            UnparsedPublicKey, ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1,
        };
        let Ok((curve, point)) = curve_and_point(&self.spki) else {
            return false;
        };
        let algorithm = match curve {
            Curve::P256 => &ECDSA_P256_SHA256_ASN1,
            Curve::P384 => &ECDSA_P384_SHA384_ASN1,
        };
        UnparsedPublicKey::new(algorithm, point)
            .verify(message, signature)
            .is_ok()
    }
}

/// `key-sha256:<first 16 hex of SHA-256(SPKI)>`.
pub(crate) fn key_name(spki: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki);
    let hex = hex::encode(digest.as_ref());
    format!("key-sha256:{}", hex.get(..16).unwrap_or(&hex))
}

/// The curve and the uncompressed point of an EC SubjectPublicKeyInfo.
fn curve_and_point(spki: &[u8]) -> Result<(Curve, Vec<u8>), String> {
    let info = SubjectPublicKeyInfoOwned::from_der(spki)
        .map_err(|e| format!("SubjectPublicKeyInfo: {e}"))?;
    if info.algorithm.oid.to_string() != EC_PUBLIC_KEY {
        return Err(format!(
            "key algorithm {} is not an EC public key (ECDSA P-256 or P-384)",
            info.algorithm.oid
        ));
    }
    let curve_oid = info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| {
            p.decode_as::<scute_codec::der::x509_cert::der::asn1::ObjectIdentifier>()
                .ok()
        })
        .ok_or("EC key without a named curve")?;
    let curve = match curve_oid.to_string().as_str() {
        P256 => Curve::P256,
        P384 => Curve::P384,
        other => return Err(format!("EC curve {other} is not P-256 or P-384")),
    };
    let point = info
        .subject_public_key
        .as_bytes()
        .ok_or("the public key is not a whole number of bytes")?
        .to_vec();
    Ok((curve, point))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p256_spki() -> Vec<u8> {
        use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
            aws_lc_rs::signature::KeyPair::public_key(&key),
        )
        .unwrap()
        .as_ref()
        .to_vec()
    }

    #[test]
    fn a_public_key_is_named_by_its_digest() {
        let spki = p256_spki();
        let text = pem_rfc7468_encode("PUBLIC KEY", &spki);
        let signer = Signer::from_pem("k.pem", text.as_bytes()).unwrap();
        assert_eq!(signer.spki, spki);
        assert!(signer.name.starts_with("key-sha256:"));
        assert_eq!(signer.name.len(), "key-sha256:".len() + 16);
        assert_eq!(signer.name, key_name(&spki));
    }

    #[test]
    fn a_certificate_is_named_by_its_common_name() {
        use rcgen::PublicKeyData;
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Release Team");
        let cert = params.self_signed(&key).unwrap();
        let signer = Signer::from_pem("c.pem", cert.pem().as_bytes()).unwrap();
        assert_eq!(signer.name, "Release Team");
        assert_eq!(signer.spki, key.subject_public_key_info());
        // Without a CN: the key's name.
        let params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut params = params;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let cert = params.self_signed(&key).unwrap();
        let signer = Signer::from_pem("c.pem", cert.pem().as_bytes()).unwrap();
        assert_eq!(signer.name, key_name(&key.subject_public_key_info()));
    }

    #[test]
    fn other_pem_and_other_keys_are_refused_with_the_file_named() {
        use rcgen::PublicKeyData;
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let rsa_like = pem_rfc7468_encode("PUBLIC KEY", &ed.subject_public_key_info());
        for (text, why) in [
            (b"".to_vec(), "CERTIFICATE or PUBLIC KEY"),
            (b"not pem".to_vec(), "CERTIFICATE or PUBLIC KEY"),
            (
                pem_rfc7468_encode("PRIVATE KEY", &[1, 2, 3]).into_bytes(),
                "CERTIFICATE or PUBLIC KEY",
            ),
            (
                pem_rfc7468_encode("PUBLIC KEY", &[0x30, 0x00]).into_bytes(),
                "SubjectPublicKeyInfo",
            ),
            (rsa_like.into_bytes(), "not an EC public key"),
            (
                [p256_pem(), p256_pem()].concat().into_bytes(),
                "expected one",
            ),
        ] {
            let e = Signer::from_pem("/etc/scute/signer.pem", &text).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("/etc/scute/signer.pem"), "{text}");
            assert!(text.contains(why), "{text}");
        }
    }

    fn p256_pem() -> String {
        pem_rfc7468_encode("PUBLIC KEY", &p256_spki())
    }

    fn pem_rfc7468_encode(label: &str, der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }
}
