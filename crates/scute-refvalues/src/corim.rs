//! Signed CoRIM: a COSE_Sign1 (RFC 9052, CBOR tag 18) whose payload is a CoRIM
//! (draft-ietf-rats-corim, tag 501) holding CoMIDs (tag 506) with reference-value triples; the
//! TDX, SNP and SGX measurement profiles mapped to Scute's reference-value names.
//!
//! Order of checks, each failing closed: size; COSE structure (coset); algorithm and content
//! type in the protected header; the signature, over coset's Sig_structure, under one of the
//! configured signers' keys (aws-lc-rs); validity (`corim-meta` signature-validity, CWT
//! `nbf`/`exp`, the CoRIM's `rim-validity`); only then the payload. Every claim in the payload
//! is either mapped to a Scute name or refused by name ([`RefValueError::UnsupportedProfile`]),
//! so nothing the signer said is silently dropped. The mapping is in `docs/measure.md`
//! (`### CoRIM`); [`profile`] holds it.

mod profile;

use crate::{document_digest, Format, Provenance, RefValueError, SignedReferenceValues, Signer};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use ciborium::Value;
use coset::{
    iana, CborSerializable, CoseSign1, Label, RegisteredLabelWithPrivate, TaggedCborSerializable,
};
use scute_codec::der::x509_cert::der::asn1::ObjectIdentifier;
use scute_codec::der::x509_cert::der::Decode;
use scute_codec::der::x509_cert::spki::SubjectPublicKeyInfoRef;
use std::collections::BTreeMap;

/// Larger documents are refused before any decoding: a CoRIM of reference values is a few KiB.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// The content type draft-ietf-rats-corim puts in the protected header.
const CONTENT_TYPE: &str = "application/rim+cbor";
/// CBOR tags of draft-ietf-rats-corim and RFC 9052.
const TAG_COSE_SIGN1: u64 = 18;
const TAG_CORIM: u64 = 501;
const TAG_COMID: u64 = 506;
/// COSE header labels: `corim-meta` (draft-ietf-rats-corim) and `CWT-Claims` (RFC 9597).
const HEADER_CORIM_META: i64 = 8;
const HEADER_CWT_CLAIMS: i64 = 15;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

pub(crate) fn malformed(detail: impl Into<String>) -> RefValueError {
    RefValueError::Malformed {
        format: Format::Corim,
        detail: detail.into(),
    }
}

pub(crate) fn unsupported(detail: impl Into<String>) -> RefValueError {
    RefValueError::UnsupportedProfile(detail.into())
}

/// Verifies a signed CoRIM against `signers` at `now` (Unix seconds) and maps its reference
/// values to Scute's names.
pub fn verify(
    document: &[u8],
    signers: &[Signer],
    now: i64,
) -> Result<SignedReferenceValues, RefValueError> {
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(malformed(format!(
            "the document is {} bytes, more than the {MAX_DOCUMENT_BYTES} a CoRIM may have",
            document.len()
        )));
    }
    let sign1 = decode_sign1(document)?;
    let algorithm = signature_algorithm(&sign1)?;
    check_content_type(&sign1)?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or_else(|| malformed("the COSE_Sign1 has a detached (nil) payload"))?;

    // The Sig_structure over the original protected bytes, built by coset.
    let to_be_signed = sign1.tbs_data(b"");
    let signer = signers
        .iter()
        .find(|signer| {
            raw_public_key(&signer.spki, algorithm).is_some_and(|key| {
                UnparsedPublicKey::new(algorithm.verification(), key)
                    .verify(&to_be_signed, &sign1.signature)
                    .is_ok()
            })
        })
        .ok_or(RefValueError::BadSignature)?;

    let mut validity = Validity::default();
    header_validity(&sign1, &mut validity)?;
    let corim = decode_corim(payload)?;
    if let Some(rim_validity) = map_get(&corim, 4) {
        validity.narrow(validity_map(rim_validity, "rim-validity")?);
    }
    validity.check(now)?;

    let values = corim_values(&corim)?;
    if values.is_empty() {
        return Err(RefValueError::Empty);
    }
    Ok(SignedReferenceValues {
        values,
        provenance: Provenance {
            format: Format::Corim,
            signer: signer.name.clone(),
            signer_key_sha256: signer.key_sha256(),
            // The signed content (Sig_structure: protected header and payload), not the
            // COSE_Sign1 as received: an unprotected header or a re-encoded signature does not
            // make another document.
            document_digest: document_digest(&to_be_signed),
            not_before: validity.not_before,
            not_after: validity.not_after,
        },
    })
}

/// COSE_Sign1, tagged (18) or not (draft-ietf-rats-corim allows both); an unsigned CoRIM is
/// refused as such, not as garbage.
fn decode_sign1(document: &[u8]) -> Result<CoseSign1, RefValueError> {
    match document {
        [0xd9, 0x01, 0xf5, ..] => Err(RefValueError::Unsigned(
            "an unsigned CoRIM (tag 501) carries no signature; sign it as a COSE_Sign1".into(),
        )),
        [0xd2, ..] => CoseSign1::from_tagged_slice(document)
            .map_err(|e| malformed(format!("COSE_Sign1 (tag {TAG_COSE_SIGN1}): {e}"))),
        [0x84, ..] => {
            CoseSign1::from_slice(document).map_err(|e| malformed(format!("COSE_Sign1: {e}")))
        }
        _ => Err(RefValueError::UnknownFormat(
            "not a COSE_Sign1 (CBOR tag 18 or a 4-element array)".into(),
        )),
    }
}

/// The signature algorithms this crate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Es256,
    Es384,
    EdDsa,
}

impl Algorithm {
    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Algorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::Es384 => &signature::ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDsa => &signature::ED25519,
        }
    }
}

fn signature_algorithm(sign1: &CoseSign1) -> Result<Algorithm, RefValueError> {
    if !sign1.protected.header.crit.is_empty() {
        return Err(unsupported(format!(
            "COSE critical header parameters {:?}",
            sign1.protected.header.crit
        )));
    }
    let Some(alg) = &sign1.protected.header.alg else {
        return Err(RefValueError::Unsigned(
            "no algorithm (alg) in the COSE protected header".into(),
        ));
    };
    match alg {
        RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256) => Ok(Algorithm::Es256),
        RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES384) => Ok(Algorithm::Es384),
        RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA) => Ok(Algorithm::EdDsa),
        other => Err(RefValueError::Unsigned(format!(
            "COSE algorithm {other:?} is not one Scute verifies (ES256, ES384, EdDSA)"
        ))),
    }
}

fn check_content_type(sign1: &CoseSign1) -> Result<(), RefValueError> {
    match &sign1.protected.header.content_type {
        Some(coset::ContentType::Text(text))
            if text == CONTENT_TYPE || text.starts_with(&format!("{CONTENT_TYPE};")) =>
        {
            Ok(())
        }
        Some(other) => Err(malformed(format!(
            "protected content type {other:?}, expected {CONTENT_TYPE:?}"
        ))),
        None => Err(malformed(format!(
            "no content type in the protected header, expected {CONTENT_TYPE:?}"
        ))),
    }
}

/// The raw public key of `spki` when it is a key for `algorithm` (decoded with the `spki`/`der`
/// crates); `None` for any other key, so that signer is simply not the one.
fn raw_public_key(spki: &[u8], algorithm: Algorithm) -> Option<&[u8]> {
    let info = SubjectPublicKeyInfoRef::from_der(spki).ok()?;
    let curve = || {
        info.algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
    };
    let fits = match algorithm {
        Algorithm::Es256 => info.algorithm.oid == OID_EC_PUBLIC_KEY && curve() == Some(OID_P256),
        Algorithm::Es384 => info.algorithm.oid == OID_EC_PUBLIC_KEY && curve() == Some(OID_P384),
        Algorithm::EdDsa => info.algorithm.oid == OID_ED25519,
    };
    if fits {
        info.subject_public_key.as_bytes()
    } else {
        None
    }
}

/// A validity window, Unix seconds; each source can only narrow it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Validity {
    not_before: Option<i64>,
    not_after: Option<i64>,
}

impl Validity {
    fn narrow(&mut self, other: Validity) {
        self.not_before = match (self.not_before, other.not_before) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.not_after = match (self.not_after, other.not_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn check(&self, now: i64) -> Result<(), RefValueError> {
        let early = self.not_before.is_some_and(|nb| now < nb);
        let late = self.not_after.is_some_and(|na| now > na);
        if early || late {
            return Err(RefValueError::NotValid {
                now,
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        Ok(())
    }
}

/// `corim-meta` (label 8: signer and signature-validity) and `CWT-Claims` (label 15: `nbf`,
/// `exp`) from the protected header only: an unprotected validity is not signed.
fn header_validity(sign1: &CoseSign1, validity: &mut Validity) -> Result<(), RefValueError> {
    for (label, value) in &sign1.protected.header.rest {
        match label {
            Label::Int(HEADER_CORIM_META) => {
                let bytes = value
                    .as_bytes()
                    .ok_or_else(|| malformed("corim-meta is not a byte string"))?;
                let meta = decode_cbor(bytes, "corim-meta")?;
                let meta = as_map(&meta, "corim-meta")?;
                let signer =
                    map_get(meta, 0).ok_or_else(|| malformed("corim-meta has no signer"))?;
                as_map(signer, "corim-meta signer")?;
                if let Some(v) = map_get(meta, 1) {
                    validity.narrow(validity_map(v, "corim-meta signature-validity")?);
                }
            }
            Label::Int(HEADER_CWT_CLAIMS) => {
                let claims = as_map(value, "CWT-Claims")?;
                validity.narrow(Validity {
                    not_before: map_get(claims, 5)
                        .map(|v| epoch(v, "CWT nbf"))
                        .transpose()?,
                    not_after: map_get(claims, 4)
                        .map(|v| epoch(v, "CWT exp"))
                        .transpose()?,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// `validity-map = { ? not-before: 0 => time, not-after: 1 => time }`.
fn validity_map(value: &Value, what: &str) -> Result<Validity, RefValueError> {
    let map = as_map(value, what)?;
    for (key, _) in map {
        if !matches!(int_key(key), Some(0 | 1)) {
            return Err(unsupported(format!("{what} key {key:?}")));
        }
    }
    Ok(Validity {
        not_before: map_get(map, 0).map(|v| time(v, what)).transpose()?,
        not_after: map_get(map, 1).map(|v| time(v, what)).transpose()?,
    })
}

/// CoRIM `time`: `#6.1(int)` (RFC 8949 epoch seconds); `#6.0(tdate)` (RFC 3339 text) as some
/// publishers write it.
fn time(value: &Value, what: &str) -> Result<i64, RefValueError> {
    match value {
        Value::Tag(1, inner) => epoch(inner, what),
        Value::Tag(0, inner) => {
            let text = inner
                .as_text()
                .ok_or_else(|| malformed(format!("{what}: tag 0 time is not text")))?;
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|e| malformed(format!("{what}: {text:?} is not an RFC 3339 time: {e}")))
        }
        _ => Err(malformed(format!(
            "{what}: time is not a tagged (1 or 0) time"
        ))),
    }
}

fn epoch(value: &Value, what: &str) -> Result<i64, RefValueError> {
    value
        .as_integer()
        .and_then(|i| i64::try_from(i).ok())
        .ok_or_else(|| malformed(format!("{what}: not integer epoch seconds")))
}

fn decode_cbor(bytes: &[u8], what: &str) -> Result<Value, RefValueError> {
    // ciborium's default recursion limit bounds nesting; the size is bounded by the document.
    ciborium::de::from_reader(bytes).map_err(|e| malformed(format!("{what}: CBOR: {e}")))
}

/// The payload: a `tagged-unsigned-corim-map` (tag 501) as the current draft has it, or the bare
/// `corim-map` of earlier drafts (veraison/corim's signed samples).
fn decode_corim(payload: &[u8]) -> Result<Vec<(Value, Value)>, RefValueError> {
    let map = match decode_cbor(payload, "payload")? {
        Value::Tag(TAG_CORIM, inner) => match *inner {
            map @ Value::Map(_) => map,
            _ => return Err(malformed("the CoRIM (tag 501) is not a map")),
        },
        map @ Value::Map(_) => map,
        _ => return Err(malformed("the payload is not a CoRIM (tag 501 or a map)")),
    };
    // Unique keys, as every other map: with a duplicate, which value counts would depend on
    // the reader.
    Ok(as_map(&map, "corim-map")?.to_vec())
}

/// `corim-map`: id 0, tags 1, dependent-rims 2, profile 3, rim-validity 4, entities 5.
fn corim_values(
    corim: &[(Value, Value)],
) -> Result<BTreeMap<String, Vec<serde_json::Value>>, RefValueError> {
    for (key, _) in corim {
        match int_key(key) {
            Some(0 | 1 | 3 | 4 | 5) => {}
            Some(2) => {
                return Err(unsupported(
                    "dependent-rims: Scute does not fetch or apply other CoRIMs",
                ))
            }
            _ => return Err(unsupported(format!("corim-map key {key:?}"))),
        }
    }
    map_get(corim, 0).ok_or_else(|| malformed("the CoRIM has no id"))?;
    let corim_profile = map_get(corim, 3).map(profile::Profile::of).transpose()?;
    let tags = map_get(corim, 1)
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("the CoRIM has no tags array"))?;
    let mut values = BTreeMap::new();
    let mut environment = None;
    for tag in tags {
        // `#6.506(bytes .cbor concise-mid-tag)` (current draft), or the earlier drafts'
        // `bytes .cbor #6.506(concise-mid-tag)` (veraison/corim's samples).
        let comid = match tag {
            Value::Tag(TAG_COMID, inner) => {
                let bytes = inner
                    .as_bytes()
                    .ok_or_else(|| malformed("a CoMID (tag 506) is not a byte string"))?;
                decode_cbor(bytes, "CoMID")?
            }
            Value::Bytes(bytes) => match decode_cbor(bytes, "CoRIM tag")? {
                Value::Tag(TAG_COMID, inner) => *inner,
                Value::Tag(other, _) => return Err(concise_tag(other)),
                _ => return Err(malformed("a CoRIM tag's bytes are not a tagged CoMID")),
            },
            Value::Tag(other, _) => return Err(concise_tag(*other)),
            _ => return Err(malformed("a CoRIM tag is neither tagged nor bytes")),
        };
        comid_values(
            as_map(&comid, "CoMID")?,
            corim_profile.as_ref(),
            &mut values,
            &mut environment,
        )?;
    }
    Ok(values)
}

/// `concise-mid-tag`: language 0, tag-identity 1, entities 2, linked-tags 3, triples 4,
/// profile 5.
fn comid_values(
    comid: &[(Value, Value)],
    corim_profile: Option<&profile::Profile>,
    values: &mut BTreeMap<String, Vec<serde_json::Value>>,
    environment: &mut Option<Value>,
) -> Result<(), RefValueError> {
    for (key, _) in comid {
        if !matches!(int_key(key), Some(0..=5)) {
            return Err(unsupported(format!("concise-mid-tag key {key:?}")));
        }
    }
    map_get(comid, 1).ok_or_else(|| malformed("a CoMID has no tag-identity"))?;
    let comid_profile = map_get(comid, 5).map(profile::Profile::of).transpose()?;
    let profile = match (corim_profile, comid_profile.as_ref()) {
        (Some(a), Some(b)) if a != b => {
            return Err(unsupported(format!(
                "a CoMID's profile {b} differs from its CoRIM's profile {a}"
            )))
        }
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => {
            return Err(unsupported(format!(
                "no profile: Scute maps only {}",
                profile::Profile::supported()
            )))
        }
    };
    let triples = map_get(comid, 4).ok_or_else(|| malformed("a CoMID has no triples"))?;
    let triples = as_map(triples, "triples-map")?;
    for (key, value) in triples {
        match int_key(key) {
            Some(0) => {}
            Some(n) => {
                return Err(unsupported(format!(
                    "{} (triples-map key {n})",
                    triple_name(n)
                )))
            }
            None => return Err(unsupported(format!("triples-map key {key:?}"))),
        }
        let records = value
            .as_array()
            .ok_or_else(|| malformed("reference-triples is not an array"))?;
        for record in records {
            reference_triple(record, profile, values, environment)?;
        }
    }
    Ok(())
}

fn concise_tag(tag: u64) -> RefValueError {
    match tag {
        505 => unsupported("a CoSWID tag (505)"),
        507 => unsupported("a CoTL tag (507)"),
        other => unsupported(format!("concise tag type {other}")),
    }
}

fn triple_name(key: i128) -> &'static str {
    match key {
        1 => "endorsed-triples",
        2 => "identity-triples",
        3 => "attest-key-triples",
        4 => "dependency-triples",
        5 => "membership-triples",
        6 => "coswid-triples",
        8 => "conditional-endorsement-series-triples",
        10 => "conditional-endorsement-triples",
        _ => "an unknown triple",
    }
}

/// `reference-triple-record = [ environment-map, [ + measurement-map ] ]`. Every triple of one
/// CoRIM must name the same environment (`seen`: the first one's): Scute's reference values
/// are flat lists by name, so the values of two environments (two TDs, two firmware builds)
/// would be merged into combinations no environment has.
fn reference_triple(
    record: &Value,
    profile: &profile::Profile,
    values: &mut BTreeMap<String, Vec<serde_json::Value>>,
    seen: &mut Option<Value>,
) -> Result<(), RefValueError> {
    let [environment, measurements] = record
        .as_array()
        .map(Vec::as_slice)
        .and_then(|r| <&[Value; 2]>::try_from(r).ok())
        .ok_or_else(|| malformed("a reference triple is not [environment, measurements]"))?;
    match seen {
        Some(first) if first != environment => {
            return Err(unsupported(
                "the reference triples name more than one environment: Scute keeps one list \
                 of values per name, so import one CoRIM per environment",
            ))
        }
        Some(_) => {}
        None => *seen = Some(environment.clone()),
    }
    let environment = as_map(environment, "environment-map")?;
    for (key, _) in environment {
        match int_key(key) {
            Some(0) => {}
            Some(1) => {
                return Err(unsupported(
                    "environment instance: Scute's reference values hold for every machine",
                ))
            }
            Some(2) => return Err(unsupported("environment group")),
            _ => return Err(unsupported(format!("environment-map key {key:?}"))),
        }
    }
    let class = map_get(environment, 0)
        .map(|c| as_map(c, "class-map"))
        .transpose()?;
    let measurements = measurements
        .as_array()
        .ok_or_else(|| malformed("reference-triple measurements is not an array"))?;
    for measurement in measurements {
        let measurement = as_map(measurement, "measurement-map")?;
        for (key, _) in measurement {
            match int_key(key) {
                Some(0 | 1) => {}
                Some(2) => {
                    return Err(unsupported(
                        "measurement authorized-by: Scute does not check who may assert a value",
                    ))
                }
                _ => return Err(unsupported(format!("measurement-map key {key:?}"))),
            }
        }
        let mkey = map_get(measurement, 0);
        let mval = map_get(measurement, 1).ok_or_else(|| malformed("a measurement has no mval"))?;
        let mval = as_map(mval, "measurement-values-map")?;
        for (name, value) in profile.map(class, mkey, mval)? {
            let list: &mut Vec<serde_json::Value> = values.entry(name).or_default();
            if !list.contains(&value) {
                list.push(value);
            }
        }
    }
    Ok(())
}

/// A CBOR map whose integer and text keys are unique: with a duplicate, which value counts
/// would depend on the reader, so such a map is refused.
pub(crate) fn as_map<'a>(
    value: &'a Value,
    what: &str,
) -> Result<&'a [(Value, Value)], RefValueError> {
    let map = value
        .as_map()
        .map(Vec::as_slice)
        .ok_or_else(|| malformed(format!("{what} is not a map")))?;
    let mut ints = std::collections::BTreeSet::new();
    let mut texts = std::collections::BTreeSet::new();
    for (key, _) in map {
        let fresh = match key {
            Value::Integer(i) => ints.insert(i128::from(*i)),
            Value::Text(t) => texts.insert(t.as_str()),
            _ => true,
        };
        if !fresh {
            return Err(malformed(format!("{what} has the key {key:?} twice")));
        }
    }
    Ok(map)
}

pub(crate) fn int_key(key: &Value) -> Option<i128> {
    key.as_integer().map(i128::from)
}

pub(crate) fn map_get(map: &[(Value, Value)], key: i128) -> Option<&Value> {
    map.iter()
        .find(|(k, _)| int_key(k) == Some(key))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests;
