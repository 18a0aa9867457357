//! Certificates and CRLs reduced to what DCAP needs, copied out of the parser so they can be
//! cached: raw names, serials, validity, the P-256/P-384 key, and signatures checked with ring
//! over the exact to-be-signed bytes. Only strict PEM around strict DER gets this far.

use crate::error::{DcapError, Item};
use crate::time::{UnixTime, Validity};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use scute_codec::pem;
use std::collections::HashSet;
use x509_parser::certificate::X509CertificateParser;
use x509_parser::extensions::BasicConstraints;
use x509_parser::nom::Parser;
use x509_parser::oid_registry::{
    Oid, OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384, OID_X509_EXT_BASIC_CONSTRAINTS,
};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

/// An elliptic-curve public key: the uncompressed SEC1 point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub curve: Curve,
    pub point: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum SignatureHash {
    Sha256,
    Sha384,
}

impl PublicKey {
    pub(crate) fn from_spki(
        spki: &SubjectPublicKeyInfo<'_>,
        item: Item,
    ) -> Result<Self, DcapError> {
        let bad = |reason: &str| DcapError::Certificate {
            item,
            reason: reason.to_string(),
        };
        if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
            return Err(bad("public key is not an EC key"));
        }
        let curve_oid = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .ok_or_else(|| bad("EC key without a named curve"))?;
        let curve = if curve_oid == OID_EC_P256 {
            Curve::P256
        } else if curve_oid == OID_NIST_EC_P384 {
            Curve::P384
        } else {
            return Err(bad("EC key on an unsupported curve"));
        };
        Ok(Self {
            curve,
            point: spki.subject_public_key.data.to_vec(),
        })
    }

    /// A P-256 key from the raw x‖y form used inside quotes.
    pub fn p256_from_xy(xy: &[u8; 64]) -> Self {
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(xy);
        Self {
            curve: Curve::P256,
            point,
        }
    }

    /// Verifies an ASN.1 DER ECDSA signature made with the given X.509 signature algorithm.
    fn verify_der(&self, hash: SignatureHash, message: &[u8], sig: &[u8]) -> bool {
        let alg: &dyn VerificationAlgorithm = match (self.curve, hash) {
            (Curve::P256, SignatureHash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (Curve::P256, SignatureHash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (Curve::P384, SignatureHash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (Curve::P384, SignatureHash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        };
        UnparsedPublicKey::new(alg, &self.point)
            .verify(message, sig)
            .is_ok()
    }

    /// Verifies a raw r‖s ECDSA-P256/SHA-256 signature (quotes, QE reports, collateral JSON).
    pub(crate) fn verify_p256_fixed(&self, message: &[u8], sig: &[u8]) -> bool {
        self.curve == Curve::P256
            && UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.point)
                .verify(message, sig)
                .is_ok()
    }
}

/// What signed a certificate or CRL, and over which bytes.
#[derive(Debug, Clone)]
struct Signed {
    hash: SignatureHash,
    tbs: Vec<u8>,
    signature: Vec<u8>,
}

impl Signed {
    fn new(
        alg: &AlgorithmIdentifier<'_>,
        tbs: &[u8],
        sig: &[u8],
        item: Item,
    ) -> Result<Self, DcapError> {
        let hash = signature_hash(&alg.algorithm).ok_or_else(|| DcapError::Certificate {
            item,
            reason: format!("unsupported signature algorithm {}", alg.algorithm),
        })?;
        Ok(Self {
            hash,
            tbs: tbs.to_vec(),
            signature: sig.to_vec(),
        })
    }

    fn verified_by(&self, key: &PublicKey) -> bool {
        key.verify_der(self.hash, &self.tbs, &self.signature)
    }
}

fn signature_hash(oid: &Oid<'_>) -> Option<SignatureHash> {
    if *oid == OID_SIG_ECDSA_WITH_SHA256 {
        Some(SignatureHash::Sha256)
    } else if *oid == OID_SIG_ECDSA_WITH_SHA384 {
        Some(SignatureHash::Sha384)
    } else {
        None
    }
}

/// An X.509 certificate, owned.
#[derive(Debug, Clone)]
pub struct Cert {
    pub item: Item,
    pub der: Vec<u8>,
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    pub common_name: String,
    pub serial: Vec<u8>,
    pub validity: Validity,
    pub key: PublicKey,
    pub is_ca: bool,
    signed: Signed,
    /// Value of the Intel SGX extension (OID 1.2.840.113741.1.13.1), when present.
    pub sgx_extension: Option<Vec<u8>>,
}

/// Intel's SGX extension of PCK certificates, 1.2.840.113741.1.13.1.
const SGX_EXTENSION: Oid<'static> = x509_parser::der_parser::oid!(1.2.840 .113741 .1 .13 .1);

impl Cert {
    pub fn from_der(der: &[u8], item: Item) -> Result<Self, DcapError> {
        let bad = |reason: String| DcapError::Certificate { item, reason };
        // Only basicConstraints and the raw SGX extension are read: skipping the deep parse of
        // every other extension is a measurable part of cold verification.
        // Strict DER first (Intel's QVL reads with OpenSSL, which takes DER only).
        scute_codec::der::check_certificate(der).map_err(|e| bad(e.to_string()))?;
        let mut parser = X509CertificateParser::new().with_deep_parse_extensions(false);
        let (rest, cert) = parser.parse(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the certificate".into()));
        }
        let validity = Validity {
            item,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        };
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_string();
        let is_ca = match cert
            .extensions()
            .iter()
            .find(|e| e.oid == OID_X509_EXT_BASIC_CONSTRAINTS)
        {
            Some(ext) => {
                BasicConstraints::from_der(ext.value)
                    .map_err(|e| bad(format!("basicConstraints: {e}")))?
                    .1
                    .ca
            }
            None => false,
        };
        let sgx_extension = cert
            .extensions()
            .iter()
            .find(|e| e.oid == SGX_EXTENSION)
            .map(|e| e.value.to_vec());
        Ok(Self {
            item,
            der: der.to_vec(),
            subject: cert.subject().as_raw().to_vec(),
            issuer: cert.issuer().as_raw().to_vec(),
            common_name,
            serial: strip_leading_zeros(cert.raw_serial()).to_vec(),
            validity,
            key: PublicKey::from_spki(cert.public_key(), item)?,
            is_ca,
            signed: Signed::new(
                &cert.signature_algorithm,
                cert.tbs_certificate.as_ref(),
                &cert.signature_value.data,
                item,
            )?,
            sgx_extension,
        })
    }

    /// Checks that `issuer` issued this certificate: names, CA flag and signature.
    pub(crate) fn check_issued_by(&self, issuer: &Cert) -> Result<(), DcapError> {
        if self.issuer != issuer.subject {
            return Err(DcapError::Certificate {
                item: self.item,
                reason: format!("issuer name is not the subject of {}", issuer.item),
            });
        }
        if !issuer.is_ca {
            return Err(DcapError::Certificate {
                item: issuer.item,
                reason: "issuer is not a CA certificate".into(),
            });
        }
        if !self.signed.verified_by(&issuer.key) {
            return Err(DcapError::Certificate {
                item: self.item,
                reason: format!("signature does not verify with the key of {}", issuer.item),
            });
        }
        Ok(())
    }

    /// Checks the root of a chain against the pinned root: the same certificate, byte for byte.
    /// A root with the pinned key but other bytes (re-encoded, re-issued) is refused, so no byte
    /// of the chain's root goes unauthenticated.
    pub(crate) fn check_is_root(&self, pinned: &PinnedRoot) -> Result<(), DcapError> {
        if self.der != pinned.der {
            return Err(DcapError::UntrustedRoot { item: self.item });
        }
        Ok(())
    }
}

/// The root every chain must end in: the exact certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedRoot {
    pub der: Vec<u8>,
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Decodes every certificate of a PEM bundle (`scute_codec::pem`, the one strict reader shared
/// with SEV-SNP: blocks of another label and text outside blocks are refused) and orders them leaf first by their names (files in the wild list chains root first too).
/// `items` names the expected certificates, leaf first. Certificates found in
/// `known(der)` are taken from there instead of being parsed again.
pub fn parse_pem_chain(
    pem_bytes: &[u8],
    items: &[Item],
    known: impl Fn(&[u8]) -> Option<Cert>,
) -> Result<Vec<Cert>, DcapError> {
    let first = items.first().copied().unwrap_or("certificate chain");
    let bad = |reason: String| DcapError::Certificate {
        item: first,
        reason,
    };
    let mut certs = Vec::with_capacity(items.len());
    let blocks = pem::decode_all(pem_bytes, pem::CERTIFICATE).map_err(|e| bad(e.to_string()))?;
    for der in blocks {
        match known(&der) {
            Some(cert) => certs.push(cert),
            None => certs.push(Cert::from_der(&der, first)?),
        }
    }
    if certs.len() != items.len() {
        return Err(bad(format!(
            "expected {} certificates, found {}",
            items.len(),
            certs.len()
        )));
    }
    // The leaf is the one certificate that issued none of the others.
    let is_issuer_of_another = |i: usize, c: &Cert| {
        certs
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && other.issuer == c.subject && other.subject != c.subject)
    };
    let leaf = (0..certs.len())
        .find(|&i| certs.get(i).is_some_and(|c| !is_issuer_of_another(i, c)))
        .ok_or_else(|| bad("no leaf certificate".into()))?;
    let mut ordered = vec![certs.swap_remove(leaf)];
    while let Some(last) = ordered.last() {
        if last.issuer == last.subject {
            break;
        }
        let Some(next) = certs.iter().position(|c| c.subject == last.issuer) else {
            break;
        };
        ordered.push(certs.swap_remove(next));
    }
    if !certs.is_empty() {
        return Err(bad("certificates do not form one chain".into()));
    }
    for (cert, item) in ordered.iter_mut().zip(items) {
        cert.item = item;
    }
    Ok(ordered)
}

/// A certificate revocation list, owned, checked against its issuer at construction.
#[derive(Debug, Clone)]
pub struct Crl {
    pub issuer: Vec<u8>,
    pub validity: Validity,
    pub number: Option<u64>,
    /// thisUpdate: when the issuer produced this CRL (Intel's CRL numbers stay 1, so this is
    /// what orders two CRLs of one issuer).
    pub this_update: i64,
    revoked: HashSet<Vec<u8>>,
}

/// The DER of a CRL given as DER or PEM, read exactly as `Crl::decode` reads it (so whoever
/// serves or indexes a stored CRL sees the bytes the verifier judged, PEM quirks and all).
/// Nothing is verified here.
pub fn crl_der(bytes: &[u8], item: Item) -> Result<Vec<u8>, DcapError> {
    let bad = |reason: String| DcapError::CollateralDecode { item, reason };
    if !pem::is_pem(bytes) {
        return Ok(bytes.to_vec());
    }
    pem::decode_one(bytes, pem::X509_CRL).map_err(|e| bad(e.to_string()))
}

impl Crl {
    /// Decodes a DER or PEM CRL and checks that `issuer` signed it.
    pub fn decode(bytes: &[u8], item: Item, issuer: &Cert) -> Result<Self, DcapError> {
        let bad = |reason: String| DcapError::CollateralDecode { item, reason };
        let der = crl_der(bytes, item)?;
        let der = der.as_slice();
        scute_codec::der::check_crl(der).map_err(|e| bad(e.to_string()))?;
        let (rest, crl) =
            CertificateRevocationList::from_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the CRL".into()));
        }
        let next_update = crl
            .next_update()
            .ok_or_else(|| bad("CRL has no nextUpdate".into()))?;
        let signed = Signed::new(
            &crl.signature_algorithm,
            crl.tbs_cert_list.as_ref(),
            &crl.signature_value.data,
            item,
        )?;
        if crl.issuer().as_raw() != issuer.subject.as_slice() {
            return Err(DcapError::Certificate {
                item,
                reason: format!("CRL issuer is not the subject of {}", issuer.item),
            });
        }
        if !signed.verified_by(&issuer.key) {
            return Err(DcapError::CollateralSignature { item });
        }
        let revoked = crl
            .iter_revoked_certificates()
            .map(|r| strip_leading_zeros(r.raw_serial()).to_vec())
            .collect();
        Ok(Self {
            issuer: crl.issuer().as_raw().to_vec(),
            // Only nextUpdate bounds a CRL: one issued after the instant being judged knows
            // more revocations, never fewer (dcap-qvl and webpki agree).
            validity: Validity {
                item,
                not_before: i64::MIN,
                not_after: next_update.timestamp(),
            },
            number: crl.crl_number().and_then(|n| u64::try_from(n).ok()),
            this_update: crl.last_update().timestamp(),
            revoked,
        })
    }

    /// Fails when `cert` was issued by this CRL's issuer and is listed.
    pub(crate) fn check_not_revoked(&self, cert: &Cert) -> Result<(), DcapError> {
        if cert.issuer == self.issuer && self.revoked.contains(&cert.serial) {
            return Err(DcapError::CertificateRevoked { item: cert.item });
        }
        Ok(())
    }

    pub(crate) fn valid_window(&self) -> Validity {
        self.validity
    }
}

/// Reads a certificate given as PEM or DER.
pub fn cert_from_pem_or_der(bytes: &[u8], item: Item) -> Result<Cert, DcapError> {
    if pem::is_pem(bytes) {
        let mut certs = parse_pem_chain(bytes, &[item], |_| None)?;
        certs.pop().ok_or(DcapError::Certificate {
            item,
            reason: "no certificate".into(),
        })
    } else {
        Cert::from_der(bytes, item)
    }
}

/// Timestamps are inclusive windows; both ends of the chain are checked at `now`.
/// Every window holds at `now`, or the first that does not, in the fixed order verification
/// recorded them (TCB Info chain, Root CA CRL, TCB Info, QE Identity chain and JSON, PCK CRL
/// chain and CRL, then the PCK chain). When several items are out of their windows the verdict
/// names the first in that order: deterministic for a given set, and any of them is the same
/// refusal (not verified, exit 1); which one is named is not part of the contract. Another set
/// (say, a chain of another period) may so name another item: both are refusals for time.
pub(crate) fn check_all_valid(windows: &[Validity], now: UnixTime) -> Result<(), DcapError> {
    windows.iter().try_for_each(|w| w.check(now))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sgx_extension_oid_is_intels() {
        assert_eq!(super::SGX_EXTENSION.to_id_string(), "1.2.840.113741.1.13.1");
    }
}
