//! Issuing an RA-TLS certificate inside a TEE: a fresh key, a DICE claims buffer with the
//! key's hash (and an optional nonce), a quote whose report_data[0..32] is SHA-256 of that
//! buffer, and a self-signed certificate carrying `60000([quote, claims])` under 2.23.133.5.4.9.

use crate::evidence::{CBOR_TAG_INTEL_QUOTE, DICE_ENDORSEMENTS_OID, DICE_EVIDENCE_OID};
use crate::RaTlsError;
use aws_lc_rs::digest::{digest, SHA256};
use ciborium::value::Value as Cbor;
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    P256,
    P384,
}

/// A certificate and its private key (PKCS#8 DER), ready for rustls.
pub struct AttestedIdentity {
    pub cert_der: Vec<u8>,
    pub key_pkcs8_der: Vec<u8>,
}

fn cbor_bytes(value: &Cbor) -> Result<Vec<u8>, RaTlsError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| RaTlsError::Issue(e.to_string()))?;
    Ok(out)
}

/// What goes into a certificate besides the evidence.
#[derive(Default)]
pub struct IssueOptions<'a> {
    /// A freshness value from the peer, carried in the claims.
    pub nonce: Option<&'a [u8]>,
    /// Collateral for the quote, carried in the endorsements extension (2.23.133.5.4.2).
    pub endorsements: Option<&'a scute_dcap::Collateral>,
}

/// Builds the certificate. `collect` turns 64 bytes of report data into a quote (the attester);
/// `validity` is (not before, not after) in Unix seconds.
pub fn issue<E: std::fmt::Display>(
    algorithm: KeyAlgorithm,
    options: IssueOptions<'_>,
    validity: (i64, i64),
    collect: impl FnOnce(&[u8; 64]) -> Result<Vec<u8>, E>,
) -> Result<AttestedIdentity, RaTlsError> {
    let nonce = options.nonce;
    let issue_err = |e: &dyn std::fmt::Display| RaTlsError::Issue(e.to_string());
    let alg = match algorithm {
        KeyAlgorithm::P256 => &PKCS_ECDSA_P256_SHA256,
        KeyAlgorithm::P384 => &PKCS_ECDSA_P384_SHA384,
    };
    let key = KeyPair::generate_for(alg).map_err(|e| issue_err(&e))?;
    let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
    // hash-entry [sha-256 (1), SHA-256(SPKI DER)], carried as CBOR bytes.
    let entry = cbor_bytes(&Cbor::Array(vec![
        Cbor::Integer(1.into()),
        Cbor::Bytes(digest(&SHA256, &spki).as_ref().to_vec()),
    ]))?;
    let mut claims = vec![(Cbor::Text("pubkey-hash".into()), Cbor::Bytes(entry))];
    if let Some(n) = nonce {
        claims.push((Cbor::Text("nonce".into()), Cbor::Bytes(n.to_vec())));
    }
    let claims_buffer = cbor_bytes(&Cbor::Map(claims))?;
    let mut report_data = [0u8; 64];
    report_data[..32].copy_from_slice(digest(&SHA256, &claims_buffer).as_ref());
    let quote = collect(&report_data).map_err(|e| issue_err(&e))?;
    let evidence = cbor_bytes(&Cbor::Tag(
        CBOR_TAG_INTEL_QUOTE,
        Box::new(Cbor::Array(vec![
            Cbor::Bytes(quote),
            Cbor::Bytes(claims_buffer),
        ])),
    ))?;

    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Scute RA-TLS");
    name.push(DnType::OrganizationName, "Scute");
    params.distinguished_name = name;
    let at = |t: i64| time::OffsetDateTime::from_unix_timestamp(t).map_err(|e| issue_err(&e));
    params.not_before = at(validity.0)?;
    params.not_after = at(validity.1)?;
    // Non-critical: OpenSSL and mbedTLS peers reject unknown critical extensions.
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        DICE_EVIDENCE_OID,
        evidence,
    )];
    if let Some(collateral) = options.endorsements {
        let created = scute_dcap::format_rfc3339(validity.0);
        let value = crate::endorsements::encode(collateral, &created)?;
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                DICE_ENDORSEMENTS_OID,
                value,
            ));
    }
    let cert = params.self_signed(&key).map_err(|e| issue_err(&e))?;
    Ok(AttestedIdentity {
        cert_der: cert.der().to_vec(),
        key_pkcs8_der: key.serialize_der(),
    })
}
