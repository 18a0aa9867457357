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
    /// The firmware carries no TDVF metadata: neither the OVMF table's TDX metadata entry nor
    /// the legacy pointer at the image's end leads to a `TDVF` descriptor.
    #[error("the firmware has no TDX metadata (no TDVF descriptor through the OVMF table entry e47a6535-984a-4798-865e-4685a7bf8ec2 or the legacy pointer at the image's end - 0x20)")]
    NoTdxMetadata,
    /// The TDVF metadata is there but does not describe a layout the TDX module would accept.
    #[error("the firmware's TDVF metadata is malformed: {0}")]
    BadTdxMetadata(String),
    /// The direct-boot kernel is not a PE/COFF image (no EFI stub), so TDVF cannot measure it as
    /// an EFI application.
    #[error("the kernel is not a PE/COFF image with an EFI stub: {0}")]
    KernelNotPe(String),
    /// The kernel, initrd or command line is one QEMU's direct-boot loader would refuse, or one
    /// whose loading Scute does not model exactly.
    #[error("cannot measure this direct boot exactly: {0}")]
    DirectBootNotModelled(String),
}
