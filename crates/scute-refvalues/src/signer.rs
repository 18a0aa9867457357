//! A configured reference-value signer: a public key (from a PEM certificate or a PEM public
//! key) and the name provenance records for it.

use crate::RefValueError;

/// Someone whose signed reference values the service accepts.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The name provenance shows as `signed:<name>`.
    pub name: String,
    /// The SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
}

impl Signer {
    /// From a PEM file's text: a `CERTIFICATE` (its subject key) or a `PUBLIC KEY`.
    pub fn from_pem(name: &str, pem: &[u8]) -> Result<Self, RefValueError> {
        let _ = pem;
        Err(RefValueError::BadSigner {
            name: name.to_string(),
            detail: "being built".into(),
        })
    }
}
