//! P-256 keys derived from a seed and a label, so a seed names a whole PKI. Signing uses
//! aws-lc-rs (the workspace's one crypto backend); rcgen gets the same key as PKCS#8.

use crate::SimError;
use aws_lc_rs::agreement::{PrivateKey, ECDH_P256};
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

pub(crate) struct SimKey {
    signer: EcdsaKeyPair,
    pub(crate) rcgen: rcgen::KeyPair,
}

impl SimKey {
    /// The key for `label` under `seed`: scalar = SHA-256(seed ‖ label ‖ counter), the first
    /// value that is a valid P-256 scalar.
    pub(crate) fn derive(seed: u64, label: &str) -> Result<Self, SimError> {
        for counter in 0u8..=255 {
            let mut input = seed.to_le_bytes().to_vec();
            input.extend_from_slice(label.as_bytes());
            input.push(counter);
            let scalar = digest(&SHA256, &input);
            let Ok(private) = PrivateKey::from_private_key(&ECDH_P256, scalar.as_ref()) else {
                continue;
            };
            let public = private
                .compute_public_key()
                .map_err(|_| SimError::Key(label.into()))?;
            let signer = EcdsaKeyPair::from_private_key_and_public_key(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                scalar.as_ref(),
                public.as_ref(),
            )
            .map_err(|e| SimError::Key(format!("{label}: {e}")))?;
            let pkcs8 = signer
                .to_pkcs8v1()
                .map_err(|_| SimError::Key(label.into()))?;
            let rcgen = rcgen::KeyPair::try_from(pkcs8.as_ref())
                .map_err(|e| SimError::Key(format!("{label}: {e}")))?;
            return Ok(Self { signer, rcgen });
        }
        Err(SimError::Key(format!("{label}: no valid scalar")))
    }

    /// Raw r‖s ECDSA-P256/SHA-256 signature, as quotes and PCS collateral carry them.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<[u8; 64], SimError> {
        let sig = self
            .signer
            .sign(&SystemRandom::new(), message)
            .map_err(|_| SimError::Signing)?;
        sig.as_ref().try_into().map_err(|_| SimError::Signing)
    }

    /// x‖y of the public key (no 0x04 prefix), as the attestation key field holds it.
    pub(crate) fn public_xy(&self) -> Result<[u8; 64], SimError> {
        let point = self.signer.public_key().as_ref();
        point
            .get(1..)
            .and_then(|xy| xy.try_into().ok())
            .ok_or_else(|| SimError::Key("public key".into()))
    }
}

/// Deterministic bytes for `label` under `seed` (measurements, ids).
pub(crate) fn derive_bytes<const N: usize>(seed: u64, label: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let mut counter = 0u8;
    for chunk in out.chunks_mut(32) {
        let mut input = seed.to_le_bytes().to_vec();
        input.extend_from_slice(label.as_bytes());
        input.push(counter);
        let block = digest(&SHA256, &input);
        chunk.copy_from_slice(block.as_ref().get(..chunk.len()).unwrap_or_default());
        counter = counter.wrapping_add(1);
    }
    out
}
