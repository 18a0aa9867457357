//! `scute measure snp`: reads the artefacts named on the command line and computes with
//! `scute_measure::snp`.

use super::{Measured, PutArgs, Refused};
use anyhow::Context;
use clap::{Args, ValueEnum};
use scute_measure::snp::{self, KernelHashes, Launch, VmmType, DEFAULT_GUEST_FEATURES};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The most vCPUs `--vcpus` takes.
const MAX_VCPUS: i64 = 512;

#[derive(Args)]
pub(crate) struct SnpArgs {
    /// The OVMF firmware image the VMM maps below 4 GiB (e.g. /usr/share/ovmf/OVMF.fd, or
    /// OVMF.fd of an OvmfPkg/AmdSev build for direct kernel boot).
    #[arg(long, value_name = "FILE")]
    pub ovmf: PathBuf,
    /// The guest's number of vCPUs (one VMSA each), at most 512.
    // Bounded so that a typo cannot start billions of VMSA measurements: 512 is above QEMU's
    // q35 limit of 288 vCPUs without an IOMMU and above any SEV-SNP guest size a cloud offers;
    // a larger count is a usage error (exit 2). 0 stays the library's refusal (exit 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(..=MAX_VCPUS))]
    pub vcpus: u32,
    /// QEMU's name of the vCPU type, e.g. EPYC-v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa (its CPUID
    /// signature is in each VMSA; EC2 ignores it).
    #[arg(long, value_name = "NAME")]
    pub vcpu_type: String,
    /// The VMM that launches the guest: they set the vCPUs' initial registers differently.
    #[arg(long, value_enum, default_value_t = Vmm::Qemu)]
    pub vmm_type: Vmm,
    /// SEV_FEATURES of the VMSAs, in hex (default 0x1: SNPActive only).
    #[arg(long, value_name = "HEX", value_parser = parse_hex_u64)]
    pub guest_features: Option<u64>,
    /// A kernel booted directly (QEMU -kernel): measured through OVMF's SEV hashes table.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    /// The initrd booted with --kernel.
    #[arg(long, value_name = "FILE", requires = "kernel")]
    pub initrd: Option<PathBuf>,
    /// The kernel command line booted with --kernel (QEMU -append).
    #[arg(long, value_name = "STR", requires = "kernel")]
    pub append: Option<String>,
    #[command(flatten)]
    pub put: PutArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Vmm {
    /// QEMU with KVM.
    Qemu,
    /// AWS EC2's own VMM.
    Ec2,
}

fn parse_hex_u64(text: &str) -> Result<u64, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    u64::from_str_radix(digits, 16).map_err(|e| format!("not a hex number: {e}"))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub(super) fn measure(args: &SnpArgs) -> anyhow::Result<Measured> {
    let firmware = read(&args.ovmf)?;
    let kernel = match &args.kernel {
        Some(kernel) => {
            let initrd = args.initrd.as_deref().map(read).transpose()?;
            Some(KernelHashes::new(
                &read(kernel)?,
                initrd.as_deref(),
                args.append.as_deref(),
            ))
        }
        None => None,
    };
    let digest = snp::launch_digest(&Launch {
        firmware: &firmware,
        vcpus: args.vcpus,
        vcpu_type: &args.vcpu_type,
        vmm: match args.vmm_type {
            Vmm::Qemu => VmmType::Qemu,
            Vmm::Ec2 => VmmType::Ec2,
        },
        guest_features: args.guest_features.unwrap_or(DEFAULT_GUEST_FEATURES),
        kernel: kernel.as_ref(),
    })
    .map_err(Refused)?;
    let mut measured = Measured::new();
    measured.insert(
        "measurement".to_owned(),
        Value::Array(vec![Value::String(hex::encode(digest))]),
    );
    Ok(measured)
}
