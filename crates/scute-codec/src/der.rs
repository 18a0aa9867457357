//! The strict-DER gate for certificates and CRLs. x509-parser (which SEV-SNP uses to read
//! fields) is lenient: it compares tag numbers, not classes or forms, and takes BER lengths.
//! Intel's QVL reads certificates with OpenSSL, which takes DER only, and AMD's chain is DER
//! too, so every certificate and CRL is first decoded by a strict DER decoder (x509-cert), and
//! the algorithm outside the signed part must be the one inside it (RFC 5280 §4.1.1.2 and
//! §5.1.1.2). `decode_certificate` and `decode_crl` hand the decoded value to the caller, with
//! the exact bytes of its signed part, so a verifier reads every field from this one strict
//! decode and parses nothing twice.

use thiserror::Error;
use x509_cert::crl::CertificateList;
use x509_cert::der::{Decode, Header, Reader, SliceReader};
use x509_cert::Certificate;

/// The decoder's crate, so its users read the decoded values with the very same types.
pub use x509_cert;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DerError {
    #[error("not DER: {0}")]
    NotDer(x509_cert::der::Error),
    #[error("signatureAlgorithm differs from the signed TBSCertificate.signature")]
    CertificateAlgorithm,
    #[error("signatureAlgorithm differs from the signed TBSCertList.signature")]
    CrlAlgorithm,
}

/// Checks that `der` is one X.509 certificate in DER, signed with the algorithm it names inside.
pub fn check_certificate(der: &[u8]) -> Result<(), DerError> {
    decode_certificate(der).map(|_| ())
}

/// Checks that `der` is one X.509 CRL in DER, signed with the algorithm it names inside.
pub fn check_crl(der: &[u8]) -> Result<(), DerError> {
    decode_crl(der).map(|_| ())
}

/// A value that passed the strict gate, and the exact DER of its to-be-signed part (what the
/// signature covers: the input's own bytes, never a re-encoding).
#[derive(Debug, Clone)]
pub struct Signed<'a, T> {
    pub value: T,
    pub tbs: &'a [u8],
}

/// `der` decoded as one X.509 certificate under the rules of [`check_certificate`].
pub fn decode_certificate(der: &[u8]) -> Result<Signed<'_, Certificate>, DerError> {
    let cert = Certificate::from_der(der).map_err(DerError::NotDer)?;
    if cert.signature_algorithm() != cert.tbs_certificate().signature() {
        return Err(DerError::CertificateAlgorithm);
    }
    Ok(Signed {
        value: cert,
        tbs: first_element(der)?,
    })
}

/// `der` decoded as one X.509 CRL under the rules of [`check_crl`].
pub fn decode_crl(der: &[u8]) -> Result<Signed<'_, CertificateList>, DerError> {
    let crl = CertificateList::from_der(der).map_err(DerError::NotDer)?;
    if crl.signature_algorithm != crl.tbs_cert_list.signature {
        return Err(DerError::CrlAlgorithm);
    }
    Ok(Signed {
        value: crl,
        tbs: first_element(der)?,
    })
}

/// The first element (header and contents) inside the outer SEQUENCE of `der`, which has just
/// decoded as DER: two headers are read, nothing is decoded again.
fn first_element(der: &[u8]) -> Result<&[u8], DerError> {
    let not_der = DerError::NotDer;
    let mut reader = SliceReader::new(der).map_err(not_der)?;
    Header::decode(&mut reader).map_err(not_der)?;
    let start = usize::try_from(reader.position()).map_err(not_der)?;
    let inner = Header::decode(&mut reader).map_err(not_der)?;
    let contents_at = usize::try_from(reader.position()).map_err(not_der)?;
    let contents_len = usize::try_from(inner.length()).map_err(not_der)?;
    contents_at
        .checked_add(contents_len)
        .and_then(|end| der.get(start..end))
        .ok_or(DerError::NotDer(x509_cert::der::ErrorKind::Overflow.into()))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::vec::Vec;

    /// ecdsa-with-SHA256 and ecdsa-with-SHA384 AlgorithmIdentifiers.
    const ECDSA_SHA256: [u8; 12] = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    const ECDSA_SHA384: [u8; 12] = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
    ];

    struct Ca {
        params: rcgen::CertificateParams,
        key: rcgen::KeyPair,
        cert: rcgen::Certificate,
    }

    impl Ca {
        fn der(&self) -> &[u8] {
            self.cert.der()
        }
    }

    fn ca() -> Ca {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params =
            rcgen::CertificateParams::new(Vec::<alloc::string::String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = alloc::vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign
        ];
        let cert = params.self_signed(&key).unwrap();
        Ca { params, key, cert }
    }

    fn crl(ca: &Ca) -> Vec<u8> {
        let issuer = rcgen::Issuer::from_params(&ca.params, &ca.key);
        let now = rcgen::date_time_ymd(2026, 1, 1);
        rcgen::CertificateRevocationListParams {
            this_update: now,
            next_update: rcgen::date_time_ymd(2027, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: alloc::vec![],
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .unwrap()
        .der()
        .to_vec()
    }

    /// The last occurrence of `from` (the outer signatureAlgorithm) replaced by `to`.
    fn replace_last(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = der.windows(from.len()).rposition(|w| w == from).unwrap();
        let mut out = der.to_vec();
        out[at..at + from.len()].copy_from_slice(to);
        out
    }

    /// The outer SEQUENCE's length re-encoded with one more length byte than DER allows.
    fn long_form_length(der: &[u8]) -> Vec<u8> {
        assert_eq!(der[0], 0x30);
        let (len, body) = match der[1] {
            n @ 0..=0x7f => (usize::from(n), &der[2..]),
            0x81 => (usize::from(der[2]), &der[3..]),
            0x82 => (usize::from(der[2]) << 8 | usize::from(der[3]), &der[4..]),
            other => panic!("length form {other:#x}"),
        };
        let mut out = alloc::vec![0x30, 0x83, 0, (len >> 8) as u8, len as u8];
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn canonical_certificates_and_crls_pass() {
        let ca = ca();
        check_certificate(ca.der()).unwrap();
        check_crl(&crl(&ca)).unwrap();
    }

    #[test]
    fn non_canonical_lengths_are_refused() {
        let ca = ca();
        assert!(matches!(
            check_certificate(&long_form_length(ca.der())),
            Err(DerError::NotDer(_))
        ));
        assert!(matches!(
            check_crl(&long_form_length(&crl(&ca))),
            Err(DerError::NotDer(_))
        ));
    }

    #[test]
    fn a_retagged_outer_sequence_is_refused() {
        let ca = ca();
        // Tag number 16 in the context-specific class: x509-parser compares numbers only.
        let mut der = ca.der().to_vec();
        der[0] = 0xb0;
        assert!(matches!(check_certificate(&der), Err(DerError::NotDer(_))));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let ca = ca();
        let mut der = ca.der().to_vec();
        der.push(0);
        assert!(check_certificate(&der).is_err());
    }

    #[test]
    fn the_outer_algorithm_must_be_the_signed_one() {
        let ca = ca();
        let cert = replace_last(ca.der(), &ECDSA_SHA256, &ECDSA_SHA384);
        assert_eq!(
            check_certificate(&cert),
            Err(DerError::CertificateAlgorithm)
        );
        let crl = replace_last(&crl(&ca), &ECDSA_SHA256, &ECDSA_SHA384);
        assert_eq!(check_crl(&crl), Err(DerError::CrlAlgorithm));
    }

    #[test]
    fn the_signed_part_is_the_input_s_own_tbs() {
        let ca = ca();
        let cert = decode_certificate(ca.der()).unwrap();
        let tbs = x509_cert::der::Encode::to_der(cert.value.tbs_certificate()).unwrap();
        assert_eq!(cert.tbs, tbs.as_slice());
        assert!(ca.der().starts_with(&[0x30]) && ca.der().windows(tbs.len()).any(|w| w == tbs));
        let crl_der = crl(&ca);
        let crl = decode_crl(&crl_der).unwrap();
        let tbs = x509_cert::der::Encode::to_der(&crl.value.tbs_cert_list).unwrap();
        assert_eq!(crl.tbs, tbs.as_slice());
    }

    #[test]
    fn a_certificate_is_not_a_crl() {
        let ca = ca();
        assert!(check_crl(ca.der()).is_err());
        assert!(check_certificate(&crl(&ca)).is_err());
    }
}
