//! AMD's certificates reduced to what SEV-SNP needs (VCEK/KDS specification, AMD 57230): names,
//! serial, validity, the RSA or P-384 key, the RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48)
//! signature over the exact to-be-signed bytes, and the VEK extensions under
//! 1.3.6.1.4.1.3704.1. Strict DER and strict PEM (`scute_codec`, shared with DCAP) come first.

use crate::error::{CertRole, SnpError};
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use scute_codec::pem;
use std::collections::BTreeMap;
use x509_parser::asn1_rs::{Ia5String, Integer, OctetString};
use x509_parser::oid_registry::{
    Oid, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_HASH_SHA384,
    OID_PKCS1_RSAENCRYPTION, OID_PKCS1_RSASSAPSS,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey as ParsedKey;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::signature_algorithm::SignatureAlgorithm;
use x509_parser::x509::AlgorithmIdentifier;

/// id-mgf1.
const OID_MGF1: &str = "1.2.840.113549.1.1.8";
/// The AMD VEK extension arc.
const AMD_ARC: &str = "1.3.6.1.4.1.3704.1.";

/// A certificate's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// PKCS#1 RSAPublicKey and the modulus size in bits.
    Rsa { pkcs1: Vec<u8>, bits: usize },
    /// Uncompressed SEC1 point on P-384.
    P384(Vec<u8>),
}

/// The AMD extensions of a VCEK or VLEK.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VekExtensions {
    /// 1.2: product name, e.g. `Milan-B0`.
    pub product_name: Option<String>,
    /// 1.3.n: SPL number n → value.
    pub spls: BTreeMap<u32, u8>,
    /// 1.4: HWID, raw or unwrapped from its OCTET STRING.
    pub hwid: Option<Vec<u8>>,
    /// 1.5: CSP_ID (VLEK).
    pub csp_id: Option<String>,
}

/// An AMD certificate, owned.
#[derive(Debug, Clone)]
pub(crate) struct AmdCert {
    pub role: CertRole,
    pub der: Vec<u8>,
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    pub common_name: String,
    pub serial: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    pub spki_sha256: [u8; 32],
    pub key: Key,
    tbs: Vec<u8>,
    signature: Vec<u8>,
    /// Why the signature algorithm is not RSASSA-PSS SHA-384/MGF1-SHA-384/salt 48, if so.
    algorithm_problem: Option<String>,
    pub extensions: VekExtensions,
}

/// Checks that an algorithm is RSASSA-PSS with SHA-384, MGF1 over SHA-384, salt 48, trailer 1
/// (the default trailer may be spelled out).
fn check_pss_sha384(alg: &AlgorithmIdentifier<'_>) -> Result<(), String> {
    if alg.algorithm != OID_PKCS1_RSASSAPSS {
        return Err(format!(
            "signature algorithm {} is not RSASSA-PSS",
            alg.algorithm
        ));
    }
    let SignatureAlgorithm::RSASSA_PSS(params) =
        SignatureAlgorithm::try_from(alg).map_err(|e| format!("RSASSA-PSS parameters: {e}"))?
    else {
        return Err("RSASSA-PSS parameters missing".into());
    };
    if *params.hash_algorithm_oid() != OID_NIST_HASH_SHA384 {
        return Err("RSASSA-PSS hash is not SHA-384".into());
    }
    let mgf = params
        .mask_gen_algorithm()
        .map_err(|e| format!("RSASSA-PSS mask generation: {e}"))?;
    if mgf.mgf.to_id_string() != OID_MGF1 || mgf.hash != OID_NIST_HASH_SHA384 {
        return Err("RSASSA-PSS mask generation is not MGF1 with SHA-384".into());
    }
    if params.salt_length() != 48 {
        return Err(format!(
            "RSASSA-PSS salt length {} is not 48",
            params.salt_length()
        ));
    }
    if params.trailer_field() != 1 {
        return Err("RSASSA-PSS trailer field is not 1".into());
    }
    Ok(())
}

fn int_u8(value: &[u8]) -> Result<u8, String> {
    let (rest, int) = Integer::from_der(value).map_err(|e| format!("not an INTEGER: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the INTEGER".into());
    }
    int.as_u8().map_err(|e| format!("not a byte: {e}"))
}

fn extensions(cert: &X509Certificate<'_>) -> Result<VekExtensions, String> {
    let mut out = VekExtensions::default();
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        let Some(sub) = oid.strip_prefix(AMD_ARC) else {
            continue;
        };
        let value = ext.value;
        let bad = |e: String| format!("extension {oid}: {e}");
        match sub {
            "2" => {
                let (rest, name) = Ia5String::from_der(value).map_err(|e| bad(e.to_string()))?;
                if !rest.is_empty() {
                    return Err(bad("trailing bytes".into()));
                }
                out.product_name = Some(name.as_ref().to_string());
            }
            "4" => {
                let hwid = if value.len() == 8 || value.len() == 64 {
                    value.to_vec()
                } else {
                    let (rest, inner) =
                        OctetString::from_der(value).map_err(|e| bad(e.to_string()))?;
                    let inner = inner.as_ref();
                    if !rest.is_empty() || !(inner.len() == 8 || inner.len() == 64) {
                        return Err(bad("HWID is neither 8 nor 64 bytes".into()));
                    }
                    inner.to_vec()
                };
                out.hwid = Some(hwid);
            }
            "5" => {
                let (_, name) = Ia5String::from_der(value).map_err(|e| bad(e.to_string()))?;
                out.csp_id = Some(name.as_ref().to_string());
            }
            _ => {
                if let Some(n) = sub.strip_prefix("3.").and_then(|n| n.parse::<u32>().ok()) {
                    let v = int_u8(value).map_err(bad)?;
                    if out.spls.insert(n, v).is_some() {
                        return Err(bad("repeated".into()));
                    }
                }
            }
        }
    }
    Ok(out)
}

impl AmdCert {
    pub(crate) fn from_der(der: &[u8], role: CertRole) -> Result<Self, SnpError> {
        let bad = |reason: String| SnpError::CertificateDecode { role, reason };
        scute_codec::der::check_certificate(der).map_err(|e| bad(e.to_string()))?;
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the certificate".into()));
        }
        let spki = cert.public_key();
        let key = if spki.algorithm.algorithm == OID_PKCS1_RSAENCRYPTION {
            let bits = match spki.parsed() {
                Ok(ParsedKey::RSA(rsa)) => rsa.key_size(),
                _ => return Err(bad("RSA key does not decode".into())),
            };
            Key::Rsa {
                pkcs1: spki.subject_public_key.data.to_vec(),
                bits,
            }
        } else if spki.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve: Option<Oid<'_>> = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            if curve != Some(OID_NIST_EC_P384) {
                return Err(bad("EC key is not on P-384".into()));
            }
            Key::P384(spki.subject_public_key.data.to_vec())
        } else {
            return Err(bad("public key is neither RSA nor EC".into()));
        };
        let mut spki_sha256 = [0u8; 32];
        spki_sha256.copy_from_slice(digest(&SHA256, spki.raw).as_ref());
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_string();
        Ok(Self {
            role,
            der: der.to_vec(),
            subject: cert.subject().as_raw().to_vec(),
            issuer: cert.issuer().as_raw().to_vec(),
            common_name,
            serial: cert.raw_serial().to_vec(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            spki_sha256,
            key,
            tbs: cert.tbs_certificate.as_ref().to_vec(),
            signature: cert.signature_value.data.to_vec(),
            algorithm_problem: check_pss_sha384(&cert.signature_algorithm).err(),
            extensions: extensions(&cert).map_err(bad)?,
        })
    }

    /// A DER or PEM (one CERTIFICATE block) certificate.
    pub(crate) fn from_pem_or_der(bytes: &[u8], role: CertRole) -> Result<Self, SnpError> {
        if pem::is_pem(bytes) {
            let der = pem::decode_one(bytes, pem::CERTIFICATE).map_err(|e| {
                SnpError::CertificateDecode {
                    role,
                    reason: e.to_string(),
                }
            })?;
            Self::from_der(&der, role)
        } else {
            Self::from_der(bytes, role)
        }
    }

    pub(crate) fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    pub(crate) fn rsa_bits(&self) -> Option<usize> {
        match self.key {
            Key::Rsa { bits, .. } => Some(bits),
            Key::P384(_) => None,
        }
    }

    /// Checks that `issuer` issued this certificate: the name link and the RSASSA-PSS
    /// SHA-384 signature with salt 48.
    pub(crate) fn check_issued_by(&self, issuer: &AmdCert) -> Result<(), SnpError> {
        if self.issuer != issuer.subject {
            return Err(SnpError::Certificate {
                role: self.role,
                reason: format!("issuer name is not the subject of the {}", issuer.role),
            });
        }
        if let Some(problem) = &self.algorithm_problem {
            return Err(SnpError::Certificate {
                role: self.role,
                reason: problem.clone(),
            });
        }
        if !verify_pss(&issuer.key, &self.tbs, &self.signature) {
            return Err(SnpError::CertificateSignature {
                role: self.role,
                issuer: issuer.role,
            });
        }
        Ok(())
    }

    pub(crate) fn check_valid_at(&self, at: i64) -> Result<(), SnpError> {
        if at < self.not_before || at > self.not_after {
            return Err(SnpError::Validity {
                role: self.role,
                at,
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        Ok(())
    }
}

/// RSASSA-PSS SHA-384 verification; aws-lc takes the salt length equal to the digest (48).
fn verify_pss(key: &Key, message: &[u8], sig: &[u8]) -> bool {
    match key {
        Key::Rsa { pkcs1, .. } => {
            UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA384, pkcs1)
                .verify(message, sig)
                .is_ok()
        }
        Key::P384(_) => false,
    }
}

/// Every CERTIFICATE block of a PEM text, by the workspace's one strict PEM reader
/// (`scute_codec::pem`: RFC 7468, other labels and text outside blocks refused; whitespace and
/// NULs may follow the last block).
pub(crate) fn pem_certificates(text: &[u8], role: CertRole) -> Result<Vec<Vec<u8>>, SnpError> {
    pem::decode_all(text, pem::CERTIFICATE).map_err(|e| SnpError::CertificateDecode {
        role,
        reason: e.to_string(),
    })
}

/// The ARK's revocation list for ASKs and ASVKs (KDS `/vcek/v1/{product}/crl`), checked
/// against its ARK at construction.
#[derive(Debug, Clone)]
pub(crate) struct Crl {
    pub next_update: i64,
    revoked: Vec<Vec<u8>>,
}

impl Crl {
    pub(crate) fn decode(bytes: &[u8], ark: &AmdCert) -> Result<Self, SnpError> {
        let role = CertRole::Crl;
        let bad = |reason: String| SnpError::CertificateDecode { role, reason };
        let der_owned;
        let der: &[u8] = if pem::is_pem(bytes) {
            der_owned = pem::decode_one(bytes, pem::X509_CRL).map_err(|e| bad(e.to_string()))?;
            &der_owned
        } else {
            bytes
        };
        scute_codec::der::check_crl(der).map_err(|e| bad(e.to_string()))?;
        let (rest, crl) =
            CertificateRevocationList::from_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the CRL".into()));
        }
        if crl.issuer().as_raw() != ark.subject.as_slice() {
            return Err(SnpError::Certificate {
                role,
                reason: "CRL issuer is not the ARK".into(),
            });
        }
        check_pss_sha384(&crl.signature_algorithm)
            .map_err(|reason| SnpError::Certificate { role, reason })?;
        if !verify_pss(
            &ark.key,
            crl.tbs_cert_list.as_ref(),
            &crl.signature_value.data,
        ) {
            return Err(SnpError::CertificateSignature {
                role,
                issuer: CertRole::Ark,
            });
        }
        let next_update = crl
            .next_update()
            .ok_or_else(|| bad("CRL has no nextUpdate".into()))?
            .timestamp();
        let revoked = crl
            .iter_revoked_certificates()
            .map(|r| r.raw_serial().to_vec())
            .collect();
        Ok(Self {
            next_update,
            revoked,
        })
    }

    pub(crate) fn check(&self, cert: &AmdCert, at: i64) -> Result<(), SnpError> {
        if at > self.next_update {
            return Err(SnpError::Validity {
                role: CertRole::Crl,
                at,
                not_before: i64::MIN,
                not_after: self.next_update,
            });
        }
        if self.revoked.contains(&cert.serial) {
            return Err(SnpError::Revoked(cert.role));
        }
        Ok(())
    }
}
