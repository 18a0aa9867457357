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
}
