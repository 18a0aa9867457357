//! `scute measure tdx`: reads the artefacts named on the command line and computes with
//! `scute_measure::tdx` — MRTD always, RTMR1 and RTMR2 when the direct-boot inputs they depend
//! on are all given. What cannot be computed exactly is left out of the JSON, with a note on
//! stderr naming the missing inputs; RTMR0 is always left out (see `scute_measure::tdx`).

use super::{Measured, PutArgs, Refused};
use anyhow::Context as _;
use clap::Args;
use scute_measure::tdx::{direct_boot, tdvf, Register};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(crate) struct TdxArgs {
    /// The TDVF firmware image (OVMF built with TDX support, e.g. Debian's OVMF.fd).
    #[arg(long, value_name = "FILE")]
    pub firmware: PathBuf,
    /// The kernel QEMU boots directly (-kernel): a bzImage with an EFI stub.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    /// The initrd QEMU passes (-initrd).
    #[arg(long, value_name = "FILE", requires = "kernel")]
    pub initrd: Option<PathBuf>,
    /// The kernel command line exactly as given to QEMU's -append ('' for none).
    #[arg(
        long,
        value_name = "STR",
        requires = "kernel",
        allow_hyphen_values = true
    )]
    pub cmdline: Option<String>,
    /// The guest's memory size as given to QEMU's -m (a number with an optional K, M, G or T
    /// suffix; M when none): where QEMU puts the initrd, which the kernel's measured header
    /// records.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    pub memory: Option<u64>,
    /// QEMU's ACPI tables (etc/acpi/tables). Accepted, but RTMR0 also needs the TD HOB, the
    /// table-loader and RSDP blobs and the firmware's boot-variable events, which Scute does not
    /// model: RTMR0 is never computed.
    #[arg(long, value_name = "FILE")]
    pub acpi_tables: Option<PathBuf>,
    /// The VMM adds all of a section's pages before measuring them (older QEMU/KVM stacks);
    /// default: page by page, as current KVM does.
    #[arg(long)]
    pub two_pass_add_pages: bool,
    #[command(flatten)]
    pub put: PutArgs,
}

/// QEMU's `-m` size: bytes from a number and an optional binary suffix, MiB by default.
fn parse_memory(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 4G, 2048M, 2048)"))?;
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" | "M" | "MB" | "MIB" => 20,
        "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("{text:?}: unknown size suffix {suffix:?}")),
    };
    let bytes = number
        .checked_mul(1u64 << shift)
        .filter(|bytes| *bytes > 0)
        .ok_or_else(|| format!("{text:?} is not a usable memory size"))?;
    Ok(bytes)
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading the {what} {}", path.display()))
}

fn values(registers: &[Register]) -> Value {
    json!(registers.iter().map(hex::encode).collect::<Vec<_>>())
}

pub(super) fn measure(args: &TdxArgs) -> anyhow::Result<Measured> {
    let firmware = read(&args.firmware, "firmware")?;
    let metadata = tdvf::parse(&firmware).map_err(Refused)?;
    let order = if args.two_pass_add_pages {
        tdvf::PageAddOrder::AllPagesThenExtend
    } else {
        tdvf::PageAddOrder::PageByPage
    };
    let mut measured = Measured::new();
    measured.insert(
        "mr_td".into(),
        values(&[tdvf::mrtd(&firmware, &metadata, order)]),
    );

    let mut missing = Vec::new();
    // A kernel that TDVF could not measure as an EFI application is refused whatever else
    // is missing.
    let kernel = match &args.kernel {
        Some(path) => {
            let kernel = read(path, "kernel")?;
            direct_boot::authenticode_sha384(&kernel).map_err(Refused)?;
            Some(kernel)
        }
        None => None,
    };
    match (kernel, &args.cmdline) {
        (None, _) => missing.push(
            "rtmr1 and rtmr2 need --kernel and --cmdline (and --initrd and --memory when the VM has an initrd)".to_owned(),
        ),
        (Some(_), None) => missing.push(
            "rtmr1 and rtmr2 need --cmdline, the exact -append string ('' for none): QEMU patches the kernel's header for some options and the EFI stub measures the command line".to_owned(),
        ),
        (Some(kernel), Some(cmdline)) => {
            let initrd = match &args.initrd {
                Some(path) => Some(read(path, "initrd")?),
                None => None,
            };
            let placement = match (&initrd, args.memory) {
                (None, _) => Some(None),
                (Some(initrd), Some(memory)) => Some(Some(direct_boot::InitrdPlacement {
                    initrd_len: initrd.len() as u64,
                    memory,
                })),
                (Some(_), None) => None,
            };
            match placement {
                Some(placement) => {
                    let loaded = direct_boot::as_qemu_loads(&kernel, cmdline, placement)
                        .map_err(Refused)?;
                    let digest = direct_boot::authenticode_sha384(&loaded).map_err(Refused)?;
                    // One accepted value per TDVF separator layout; MRTD pins which firmware.
                    measured.insert(
                        "rtmr1".into(),
                        values(&[
                            direct_boot::rtmr1(&digest, direct_boot::SeparatorLayout::InRtmr1),
                            direct_boot::rtmr1(&digest, direct_boot::SeparatorLayout::InRtmr0),
                        ]),
                    );
                }
                None => missing.push(
                    "rtmr1 needs --memory: QEMU places the initrd by the guest's memory size and records the address in the measured kernel header".to_owned(),
                ),
            }
            measured.insert(
                "rtmr2".into(),
                values(&[direct_boot::rtmr2(cmdline, initrd.as_deref())]),
            );
        }
    }
    let rtmr0_note = if args.acpi_tables.is_some() {
        "rtmr0 is not computed even with --acpi-tables: TDVF also measures the TD HOB QEMU writes, QEMU's ACPI table-loader and RSDP blobs, the configuration firmware volume and the boot variables it creates, which Scute does not model"
    } else {
        "rtmr0 is not computed: it needs the TD HOB QEMU writes and QEMU's ACPI tables, table-loader and RSDP blobs, and the firmware's boot-variable events, which Scute does not model"
    };
    missing.push(rtmr0_note.to_owned());
    for note in missing {
        eprintln!("scute: note: {note}");
    }
    Ok(measured)
}

#[cfg(test)]
mod tests {
    use super::parse_memory;

    #[test]
    fn memory_sizes_read_as_qemu_reads_dash_m() {
        assert_eq!(parse_memory("4G"), Ok(4 << 30));
        assert_eq!(parse_memory("2048"), Ok(2048 << 20));
        assert_eq!(parse_memory("2048M"), Ok(2048 << 20));
        assert_eq!(parse_memory("512k"), Ok(512 << 10));
        for bad in ["", "G", "4X", "-1", "0", "99999999999999T"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }
}
