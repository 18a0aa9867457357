//! Reading RA-TLS certificates: which evidence extensions a certificate carries and whether each
//! binds the certificate's public key by its format's rule. Formats: "dice" (CCC interoperable
//! RA-TLS, 2.23.133.5.4.9), "gramine-legacy" (1.2.840.113741.1337.6, also with the OID encoding
//! quirk), "sgx-sdk" (raw quote under 1.2.840.113741.1.13.1), "open-enclave", "dstack".

use crate::RaTlsError;
use aws_lc_rs::digest::{digest, Algorithm, SHA256, SHA384, SHA512};
use ciborium::value::Value as Cbor;
use x509_parser::prelude::{FromDer, X509Certificate};

pub const DICE_EVIDENCE_OID: &[u64] = &[2, 23, 133, 5, 4, 9];
pub const DICE_ENDORSEMENTS_OID: &[u64] = &[2, 23, 133, 5, 4, 2];
pub const CBOR_TAG_INTEL_QUOTE: u64 = 60000;

/// DER content octets of the OIDs, compared as raw bytes (Gramine's quirk puts a whole DER OID,
/// tag and length included, in the content).
const GRAMINE_LEGACY: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x8a, 0x39, 0x06];
const GRAMINE_LEGACY_QUIRK: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x8a, 0x39, 0x06,
];
const SGX_SDK: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01];
const OPEN_ENCLAVE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x14, 0x0a, 0x01, 0x01];
const DSTACK: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe7, 0x3d, 0x01, 0x01];
const DICE: &[u8] = &[0x67, 0x81, 0x05, 0x05, 0x04, 0x09];

/// One evidence extension and what it proves about the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceExtension {
    pub format: &'static str,
    pub quote: Vec<u8>,
    /// Whether this extension binds the certificate's key, by its format's rule.
    pub key_bound: bool,
    /// The rule that held, e.g. "report_data[0..32] = SHA-256(SPKI DER)".
    pub binding_rule: Option<&'static str>,
    /// DICE only: the claims map (custom claims and the optional nonce).
    pub nonce: Option<Vec<u8>>,
}

/// What a certificate carries.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub evidence: Vec<EvidenceExtension>,
    pub spki_der: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    pub has_endorsements: bool,
    /// The collateral carried by the endorsements extension (2.23.133.5.4.2), when it holds
    /// any. Unauthenticated until verified against a trust anchor.
    pub endorsements: Option<scute_dcap::Collateral>,
}

impl Inspection {
    pub fn formats(&self) -> Vec<&'static str> {
        self.evidence.iter().map(|e| e.format).collect()
    }

    pub fn key_bound(&self) -> bool {
        self.evidence.iter().any(|e| e.key_bound)
    }

    /// The evidence to verify: the first that binds the key, DICE preferred.
    pub fn bound_evidence(&self) -> Option<&EvidenceExtension> {
        let bound = || self.evidence.iter().filter(|e| e.key_bound);
        bound()
            .find(|e| e.format == "dice")
            .or_else(|| bound().next())
    }
}

fn report_data(quote: &[u8]) -> Option<[u8; 64]> {
    scute_quote::Quote::decode(quote)
        .ok()
        .map(|q| *q.report_data())
}

fn hash(alg: &'static Algorithm, data: &[u8]) -> Vec<u8> {
    digest(alg, data).as_ref().to_vec()
}

fn bad(format: &'static str, reason: impl Into<String>) -> RaTlsError {
    RaTlsError::Evidence {
        format,
        reason: reason.into(),
    }
}

/// DICE: `60000([quote, claims])`, claims = `{"pubkey-hash": bstr(CBOR [alg, hash]), ...}`.
fn dice(value: &[u8], spki: &[u8]) -> Result<EvidenceExtension, RaTlsError> {
    const F: &str = "dice";
    let cbor: Cbor = ciborium::from_reader(value).map_err(|e| bad(F, format!("CBOR: {e}")))?;
    let Cbor::Tag(tag, inner) = cbor else {
        return Err(bad(F, "not a tagged CBOR value"));
    };
    if tag != CBOR_TAG_INTEL_QUOTE {
        return Err(bad(
            F,
            format!("CBOR tag {tag} is not an Intel TEE quote (60000)"),
        ));
    }
    let Cbor::Array(items) = *inner else {
        return Err(bad(F, "tagged value is not an array"));
    };
    let [Cbor::Bytes(quote), Cbor::Bytes(claims_buffer), ..] = items.as_slice() else {
        return Err(bad(F, "expected [quote bytes, claims bytes]"));
    };
    let claims: Cbor = ciborium::from_reader(claims_buffer.as_slice())
        .map_err(|e| bad(F, format!("claims: {e}")))?;
    let Cbor::Map(entries) = claims else {
        return Err(bad(F, "claims are not a map"));
    };
    let claim = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v.clone())
    };
    let nonce = claim("nonce").and_then(|v| v.into_bytes().ok());
    let pubkey_hash = claim("pubkey-hash").ok_or_else(|| bad(F, "no pubkey-hash claim"))?;
    // The hash entry is carried as CBOR bytes (Gramine, rats-tls); accept it inline too.
    let entry = match pubkey_hash {
        Cbor::Bytes(b) => {
            ciborium::from_reader(b.as_slice()).map_err(|e| bad(F, format!("pubkey-hash: {e}")))?
        }
        other => other,
    };
    let Cbor::Array(pair) = entry else {
        return Err(bad(F, "pubkey-hash is not [alg, hash]"));
    };
    let [Cbor::Integer(alg), Cbor::Bytes(claimed)] = pair.as_slice() else {
        return Err(bad(F, "pubkey-hash is not [alg, hash]"));
    };
    let alg: &'static Algorithm = match i128::from(*alg) {
        1 => &SHA256,
        7 => &SHA384,
        8 => &SHA512,
        other => return Err(bad(F, format!("unsupported hash algorithm id {other}"))),
    };
    let key_matches = hash(alg, spki) == *claimed;
    let claims_bound =
        report_data(quote).is_some_and(|rd| rd[..32] == hash(&SHA256, claims_buffer)[..]);
    let key_bound = key_matches && claims_bound;
    Ok(EvidenceExtension {
        format: F,
        quote: quote.clone(),
        key_bound,
        binding_rule: key_bound
            .then_some("pubkey-hash = H(SPKI DER) and report_data[0..32] = SHA-256(claims)"),
        nonce,
    })
}

/// The value of a DER OCTET STRING, if `bytes` is exactly one (dstack wraps twice).
fn unwrap_octet_string(bytes: &[u8]) -> Option<&[u8]> {
    let (rest, any) = x509_parser::der_parser::der::parse_der(bytes).ok()?;
    if !rest.is_empty() {
        return None;
    }
    any.as_slice().ok()
}

fn raw_quote_binding(
    format: &'static str,
    quote: Vec<u8>,
    rules: &[(&'static str, Vec<u8>)],
) -> EvidenceExtension {
    let rd = report_data(&quote);
    let rule = rd.and_then(|rd| {
        rules
            .iter()
            .find(|(_, h)| rd.get(..h.len()) == Some(h.as_slice()))
            .map(|(r, _)| *r)
    });
    EvidenceExtension {
        format,
        quote,
        key_bound: rule.is_some(),
        binding_rule: rule,
        nonce: None,
    }
}

/// Reads a certificate (DER) and judges the key binding of every evidence extension.
pub fn inspect(der: &[u8]) -> Result<Inspection, RaTlsError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| RaTlsError::Certificate(e.to_string()))?;
    let spki = cert.public_key().raw.to_vec();
    let key_bits = cert.public_key().subject_public_key.data.to_vec();
    let mut evidence = Vec::new();
    let mut has_endorsements = false;
    let mut endorsements = None;
    for ext in cert.extensions() {
        let oid = ext.oid.as_bytes();
        let value = ext.value;
        if oid == DICE {
            evidence.push(dice(value, &spki)?);
        } else if oid == [0x67, 0x81, 0x05, 0x05, 0x04, 0x02] {
            has_endorsements = true;
            // An empty value occurs in the wild (rats-rs); it carries nothing.
            if !value.is_empty() {
                endorsements = Some(crate::endorsements::decode(value)?);
            }
        } else if oid == GRAMINE_LEGACY || oid == GRAMINE_LEGACY_QUIRK {
            let rules = [
                (
                    "report_data[0..32] = SHA-256(SPKI DER)",
                    hash(&SHA256, &spki),
                ),
                (
                    "report_data[0..32] = SHA-256(public key bits)",
                    hash(&SHA256, &key_bits),
                ),
            ];
            evidence.push(raw_quote_binding("gramine-legacy", value.to_vec(), &rules));
        } else if oid == SGX_SDK {
            // A raw quote under the PCK-extension OID (Intel SGX SDK): no binding of its own.
            let rules = [(
                "report_data[0..32] = SHA-256(SPKI DER)",
                hash(&SHA256, &spki),
            )];
            evidence.push(raw_quote_binding("sgx-sdk", value.to_vec(), &rules));
        } else if oid == OPEN_ENCLAVE {
            // 16-byte OE report header, then the SGX quote; binding over the PEM key plus NUL.
            let quote = value
                .get(16..)
                .ok_or_else(|| bad("open-enclave", "shorter than its header"))?
                .to_vec();
            let mut pem = pem_public_key(&spki).into_bytes();
            pem.push(0);
            let rules = [(
                "report_data[0..32] = SHA-256(PEM public key ‖ NUL)",
                hash(&SHA256, &pem),
            )];
            evidence.push(raw_quote_binding("open-enclave", quote, &rules));
        } else if oid == DSTACK {
            let quote = unwrap_octet_string(value).unwrap_or(value).to_vec();
            let rules = [(
                "report_data = SHA-512(public key bits)",
                hash(&SHA512, &key_bits),
            )];
            evidence.push(raw_quote_binding("dstack", quote, &rules));
        }
    }
    if evidence.is_empty() {
        return Err(RaTlsError::NoEvidence);
    }
    Ok(Inspection {
        evidence,
        spki_der: spki,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        has_endorsements,
        endorsements,
    })
}

/// The public key as PEM with LF line ends and 64-column base64 (what Open Enclave hashes).
fn pem_public_key(spki: &[u8]) -> String {
    // Fails only for a label outside RFC 7468's grammar or a length past usize; an empty text
    // would bind nothing the peer's key hashes to, so the check fails closed.
    pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, spki).unwrap_or_default()
}
