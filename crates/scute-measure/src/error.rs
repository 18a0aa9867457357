//! The one error of this crate: what in which artefact could not be measured, and why.

use scute_codec::Truncated;
use thiserror::Error;

/// Why a measurement could not be computed. A refusal, never a guess.
#[derive(Debug, Error)]
pub enum MeasureError {
    /// A field of an artefact ran past its end.
    #[error(transparent)]
    Truncated(#[from] Truncated),
    /// The firmware image has no OVMF GUIDed table (its footer GUID is missing).
    #[error("the firmware image has no OVMF table (footer GUID 96b582de-1fb2-45f7-baea-a366c55a082d not found {len} bytes in)")]
    NoOvmfTable { len: usize },
    /// The OVMF table's sizes do not fit the image.
    #[error("the firmware's OVMF table is malformed: {0}")]
    BadOvmfTable(&'static str),

    // --- SGX SIGSTRUCT (sgx.rs) ---
    /// A SIGSTRUCT is exactly 1808 bytes.
    #[error("not a SIGSTRUCT: {len} bytes, a SIGSTRUCT is exactly 1808")]
    SigstructSize { len: usize },
    /// One of the SIGSTRUCT's constant headers is not the SDM's.
    #[error("not a SIGSTRUCT: its {0} is not the constant the SDM fixes")]
    SigstructHeader(&'static str),
    /// SGX signers use public exponent 3; EINIT refuses any other.
    #[error("the SIGSTRUCT's RSA exponent is {0}; SGX requires 3")]
    SigstructExponent(u32),
    /// The SIGSTRUCT's RSA-3072 signature does not verify under its own modulus.
    #[error("the SIGSTRUCT's RSA signature does not verify: it was altered after signing, or never signed")]
    SigstructSignature,
}
