//! The strict-DER gate for certificates and CRLs. x509-parser (which the verifiers use to read
//! fields) is lenient: it compares tag numbers, not classes or forms, and takes BER lengths.
//! Intel's QVL reads certificates with OpenSSL, which takes DER only, and AMD's chain is DER
//! too, so every certificate and CRL is first decoded by a strict DER decoder (x509-cert), and
//! the algorithm outside the signed part must be the one inside it (RFC 5280 §4.1.1.2 and
//! §5.1.1.2). Both decoders read the same bytes: what x509-parser extracts is then DER.

use thiserror::Error;
use x509_cert::der::Decode;

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
    let cert = x509_cert::Certificate::from_der(der).map_err(DerError::NotDer)?;
    if cert.signature_algorithm() != cert.tbs_certificate().signature() {
        return Err(DerError::CertificateAlgorithm);
    }
    Ok(())
}

/// Checks that `der` is one X.509 CRL in DER, signed with the algorithm it names inside.
pub fn check_crl(der: &[u8]) -> Result<(), DerError> {
    let crl = x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der)
        .map_err(DerError::NotDer)?;
    if crl.signature_algorithm != crl.tbs_cert_list.signature {
        return Err(DerError::CrlAlgorithm);
    }
    Ok(())
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
    fn a_certificate_is_not_a_crl() {
        let ca = ca();
        assert!(check_crl(ca.der()).is_err());
        assert!(check_certificate(&crl(&ca)).is_err());
    }
}
