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
    // SEV-SNP (`snp`): the launch digest's inputs.
    /// The firmware image cannot be laid out below 4 GiB the way the VMM maps it.
    #[error("the firmware image is {len} bytes: it must be a whole number of 4 KiB pages, at most 4 GiB, to be mapped ending at 4 GiB")]
    BadFirmwareSize { len: usize },
    /// The OVMF table has no SEV metadata entry: the firmware was not built for SEV-SNP.
    #[error("the firmware has no SEV metadata (OVMF table entry dc886566-984a-4798-a75e-5585a7bf67cc): it was not built for SEV-SNP")]
    NoSevMetadata,
    /// The SEV metadata (`ASEV` header and its sections) does not fit the image or the rules.
    #[error("the firmware's SEV metadata is malformed: {0}")]
    BadSevMetadata(&'static str),
    /// The firmware says nothing of where the other vCPUs start (the SEV-ES reset block).
    #[error("the firmware has no SEV-ES reset block (OVMF table entry 00f771de-1a7e-4fcb-890e-68c77e2fb44e) or its reset address is 0: the vCPUs' initial state is unknown")]
    NoSevEsResetBlock,
    /// A kernel was given for direct boot but the firmware cannot measure one.
    #[error("a kernel, initrd and command line cannot be measured with this firmware: {0} (OVMF measures them only when built with the SEV kernel-hashes table, e.g. OvmfPkg/AmdSev/AmdSevX64.dsc; Debian's OVMF.fd is not)")]
    NoKernelHashesTable(&'static str),
    /// A launch has at least one vCPU.
    #[error("the number of vCPUs must be at least 1")]
    NoVcpus,
    /// A vCPU type whose CPUID signature is not known.
    #[error("unknown vCPU type {name:?} (known: {known})")]
    UnknownVcpuType { name: String, known: String },
    /// SEV_FEATURES without SNPActive (bit 0): no SNP guest's VMSA can carry it.
    #[error("guest features {0:#x} lack SNPActive (bit 0), which every SEV-SNP guest's VMSA has")]
    GuestFeaturesNotSnp(u64),
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
