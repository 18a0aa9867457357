//! Certificates and CRLs reduced to what DCAP needs, copied out of the parser so they can be
//! cached: raw names, serials, validity, the P-256/P-384 key, and signatures checked with ring
//! over the exact to-be-signed bytes. Only strict PEM around strict DER gets this far, and each
//! certificate or CRL is decoded once, by the strict decoder (`scute_codec::der`, x509-cert):
//! every field below is read from that one decode.

use crate::error::{DcapError, Item};
use crate::time::{UnixTime, Validity};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use scute_codec::der::x509_cert::der::asn1::{ObjectIdentifier as Oid, UintRef};
use scute_codec::der::x509_cert::der::{Decode, Tag, Tagged};
use scute_codec::der::x509_cert::ext::pkix::BasicConstraints;
use scute_codec::der::x509_cert::name::Name;
use scute_codec::der::x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use scute_codec::der::x509_cert::time::Time;
use scute_codec::der::{decode_certificate, decode_crl};
use scute_codec::pem;
use std::collections::HashSet;

const OID_KEY_TYPE_EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const OID_EC_P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const OID_NIST_EC_P384: Oid = Oid::new_unwrap("1.3.132.0.34");
const OID_SIG_ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const OID_SIG_ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const OID_X509_EXT_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
const OID_CRL_NUMBER: Oid = Oid::new_unwrap("2.5.29.20");
const OID_COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// An elliptic-curve public key: the uncompressed SEC1 point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicKey {
    pub curve: Curve,
    pub point: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum SignatureHash {
    Sha256,
    Sha384,
}

impl PublicKey {
    fn from_spki(spki: &SubjectPublicKeyInfoOwned, item: Item) -> Result<Self, DcapError> {
        let bad = |reason: &str| DcapError::Certificate {
            item,
            reason: reason.to_string(),
        };
        if spki.algorithm.oid != OID_KEY_TYPE_EC_PUBLIC_KEY {
            return Err(bad("public key is not an EC key"));
        }
        let curve_oid = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<Oid>().ok())
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
            point: spki.subject_public_key.raw_bytes().to_vec(),
        })
    }

    /// A P-256 key from the raw x‖y form used inside quotes.
    pub(crate) fn p256_from_xy(xy: &[u8; 64]) -> Self {
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
        alg: &AlgorithmIdentifierOwned,
        tbs: &[u8],
        sig: &[u8],
        item: Item,
    ) -> Result<Self, DcapError> {
        let hash = signature_hash(&alg.oid).ok_or_else(|| DcapError::Certificate {
            item,
            reason: format!("unsupported signature algorithm {}", alg.oid),
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

fn signature_hash(oid: &Oid) -> Option<SignatureHash> {
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
pub(crate) struct Cert {
    pub item: Item,
    pub der: Vec<u8>,
    /// The exact PEM block this certificate was read from (empty when it came as DER).
    pub pem: Vec<u8>,
    pub subject: Name,
    pub issuer: Name,
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
const SGX_EXTENSION: Oid = Oid::new_unwrap("1.2.840.113741.1.13.1");

/// A `Time` as Unix seconds (x509-cert's times are 1970 to 9999, so this never saturates).
fn unix(time: Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// The first common name of `name`, when it is a string (the string types x509-parser's
/// `as_str` took: Numeric, Printable, UTF8, IA5); else empty.
fn common_name(name: &Name) -> String {
    name.iter()
        .find(|atv| atv.oid == OID_COMMON_NAME)
        .filter(|atv| {
            matches!(
                atv.value.tag(),
                Tag::NumericString | Tag::PrintableString | Tag::Utf8String | Tag::Ia5String
            )
        })
        .and_then(|atv| std::str::from_utf8(atv.value.value()).ok())
        .unwrap_or_default()
        .to_string()
}

impl Cert {
    pub(crate) fn from_der(der: &[u8], item: Item) -> Result<Self, DcapError> {
        let bad = |reason: String| DcapError::Certificate { item, reason };
        // Strict DER (Intel's QVL reads with OpenSSL, which takes DER only), and the one parse.
        let decoded = decode_certificate(der).map_err(|e| bad(e.to_string()))?;
        let cert = &decoded.value;
        let tbs = cert.tbs_certificate();
        let validity = Validity {
            item,
            not_before: unix(tbs.validity().not_before),
            not_after: unix(tbs.validity().not_after),
        };
        let extensions = tbs.extensions().map(Vec::as_slice).unwrap_or_default();
        let is_ca = match extensions
            .iter()
            .find(|e| e.extn_id == OID_X509_EXT_BASIC_CONSTRAINTS)
        {
            Some(ext) => {
                BasicConstraints::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| bad(format!("basicConstraints: {e}")))?
                    .ca
            }
            None => false,
        };
        let sgx_extension = extensions
            .iter()
            .find(|e| e.extn_id == SGX_EXTENSION)
            .map(|e| e.extn_value.as_bytes().to_vec());
        Ok(Self {
            item,
            der: der.to_vec(),
            pem: Vec::new(),
            subject: tbs.subject().clone(),
            issuer: tbs.issuer().clone(),
            common_name: common_name(tbs.subject()),
            serial: strip_leading_zeros(tbs.serial_number().as_bytes()).to_vec(),
            validity,
            key: PublicKey::from_spki(tbs.subject_public_key_info(), item)?,
            is_ca,
            signed: Signed::new(
                cert.signature_algorithm(),
                decoded.tbs,
                cert.signature().raw_bytes(),
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
pub(crate) struct PinnedRoot {
    pub der: Vec<u8>,
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// How `parse_pem_chain` asks for a certificate it may already have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Known<'a> {
    /// The exact text of a PEM block.
    Pem(&'a [u8]),
    /// The DER a block decoded to.
    Der(&'a [u8]),
}

/// Decodes every certificate of a PEM bundle (`scute_codec::pem`, the one strict reader shared
/// with SEV-SNP: blocks of another label and text outside blocks are refused) and orders them leaf first by their names (files in the wild list chains root first too).
/// `items` names the expected certificates, leaf first. Certificates found by `known` (with the
/// exact PEM block, else with the DER it decodes to) are taken from there instead of being
/// decoded again.
pub(crate) fn parse_pem_chain(
    pem_bytes: &[u8],
    items: &[Item],
    known: impl Fn(Known<'_>) -> Option<Cert>,
) -> Result<Vec<Cert>, DcapError> {
    let first = items.first().copied().unwrap_or("certificate chain");
    let bad = |reason: String| DcapError::Certificate {
        item: first,
        reason,
    };
    // All of the PEM first, then the certificates (the order of checks `pem::decode_all` has).
    let mut read = Vec::with_capacity(items.len());
    for block in pem::blocks_of(pem_bytes) {
        let block = block.map_err(|e| bad(e.to_string()))?;
        // Ok: a certificate already read from this very block; Err: the block and its DER.
        read.push(match known(Known::Pem(block)) {
            Some(cert) => Ok(cert),
            None => Err((
                block,
                pem::decode_block(block, pem::CERTIFICATE).map_err(|e| bad(e.to_string()))?,
            )),
        });
    }
    if read.is_empty() {
        return Err(bad(pem::PemError::Empty.to_string()));
    }
    let mut certs = Vec::with_capacity(read.len());
    for entry in read {
        certs.push(match entry {
            Ok(cert) => cert,
            Err((block, der)) => {
                let mut cert = match known(Known::Der(&der)) {
                    Some(cert) => cert,
                    None => Cert::from_der(&der, first)?,
                };
                cert.pem = block.to_vec();
                cert
            }
        });
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
pub(crate) struct Crl {
    pub issuer: Name,
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
    pub(crate) fn decode(bytes: &[u8], item: Item, issuer: &Cert) -> Result<Self, DcapError> {
        let bad = |reason: String| DcapError::CollateralDecode { item, reason };
        let der = crl_der(bytes, item)?;
        // Strict DER, and the one parse.
        let decoded = decode_crl(&der).map_err(|e| bad(e.to_string()))?;
        let crl = &decoded.value;
        let tbs = &crl.tbs_cert_list;
        let next_update = tbs
            .next_update
            .ok_or_else(|| bad("CRL has no nextUpdate".into()))?;
        let signed = Signed::new(
            &crl.signature_algorithm,
            decoded.tbs,
            crl.signature.raw_bytes(),
            item,
        )?;
        if tbs.issuer != issuer.subject {
            return Err(DcapError::Certificate {
                item,
                reason: format!("CRL issuer is not the subject of {}", issuer.item),
            });
        }
        if !signed.verified_by(&issuer.key) {
            return Err(DcapError::CollateralSignature { item });
        }
        let revoked = tbs
            .revoked_certificates
            .iter()
            .flatten()
            .map(|r| strip_leading_zeros(r.serial_number.as_bytes()).to_vec())
            .collect();
        // The first cRLNumber extension, when it is an unsigned INTEGER that fits in 64 bits.
        let number = tbs
            .crl_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == OID_CRL_NUMBER)
            .and_then(|e| UintRef::from_der(e.extn_value.as_bytes()).ok())
            .and_then(|n| {
                let bytes = n.as_bytes();
                let mut be = [0u8; 8];
                let at = be.len().checked_sub(bytes.len())?;
                be.get_mut(at..)?.copy_from_slice(bytes);
                Some(u64::from_be_bytes(be))
            });
        Ok(Self {
            issuer: tbs.issuer.clone(),
            // Only nextUpdate bounds a CRL: one issued after the instant being judged knows
            // more revocations, never fewer (dcap-qvl and webpki agree).
            validity: Validity {
                item,
                not_before: i64::MIN,
                not_after: unix(next_update),
            },
            number,
            this_update: unix(tbs.this_update),
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
pub(crate) fn cert_from_pem_or_der(bytes: &[u8], item: Item) -> Result<Cert, DcapError> {
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
        assert_eq!(super::SGX_EXTENSION.to_string(), "1.2.840.113741.1.13.1");
    }
}
