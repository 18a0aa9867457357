//! RTMR1 and RTMR2 of a QEMU direct kernel boot (`-kernel`, `-initrd`, `-append`) under TDVF.
//!
//! What is measured, and by whom (event sequence checked against the TDX CCEL logs in
//! `shared/vectors/eventlog-tdx-*`, e.g. trustee's `CCEL_data_ovmf`):
//!
//! RTMR1 (TCG PCR 4's events; TDVF's TdTcg2Dxe):
//! 1. `EV_EFI_BOOT_SERVICES_APPLICATION`: the PE/COFF Authenticode SHA-384 of the kernel **as
//!    QEMU hands it over** — QEMU's `x86_load_linux` (hw/i386/x86-common.c, formerly x86.c)
//!    patches the bzImage setup header (loader type, heap end, command-line pointer and, with an
//!    initrd, the initrd's address and size, which depends on the guest's memory size) before
//!    OVMF's QemuKernelLoaderFsDxe serves it to LoadImage.
//! 2. `EV_EFI_ACTION` "Calling EFI Application from Boot Option".
//! 3. `EV_SEPARATOR` (four zero bytes) — in RTMR1 in current edk2 (`OvmfPkg/Tcg/TdTcg2Dxe/
//!    TdTcg2Dxe.c`, `OnReadyToBoot`, citing UEFI 2.10 §38.4.1); older builds put it into RTMR0 (both occur in the real logs: trustee's
//!    `CCEL_data_ovmf` has it in RTMR0, go-tdx-guest's COS 113 log in RTMR1). MRTD pins the
//!    firmware, so [`rtmr1`] offers one value per layout ([`SeparatorLayout`]).
//! 4. `EV_EFI_ACTION` "Exit Boot Services Invocation".
//! 5. `EV_EFI_ACTION` "Exit Boot Services Returned with Success".
//!
//! RTMR2 (TCG PCR 9; the Linux EFI stub's `efi_measure_tagged_event` — assumed: a kernel whose
//! stub does not measure leaves RTMR2 zero, and these values will not match):
//! 1. `EV_EVENT_TAG` 0x8F3B22ED "LOADED_IMAGE::LoadOptions": the image's LoadOptions as OVMF's
//!    `X86QemuLoadImageLib` builds them — the `-append` string, then " initrd=initrd" when an
//!    initrd is given, widened byte by byte to CHAR16 (`UnicodeSPrintAsciiFormat`), with the
//!    terminating NUL.
//! 2. `EV_EVENT_TAG` 0x8F3B22EC "Linux initrd": SHA-384 of the initrd file, when there is one.
//!
//! Dstack-TEE/dstack `dstack-mr/src/kernel.rs` and flashbots' mosaik
//! `src/tee/tdx/builder/mrtd.rs` compute the same registers; this module follows QEMU's source
//! where they differ (the `XLF_CAN_BE_LOADED_ABOVE_4G` bit is bit 1; `heap_end_ptr` is 16 bits;
//! `initrd_addr_max` 0 is not replaced), and refuses what it does not model (`vga=`, kernels
//! too old to be loaded high).

use super::{replay, sha384, Register};
use crate::MeasureError;
use aws_lc_rs::digest::{Context, SHA384};

/// The fixed `EV_EFI_ACTION` strings TDVF logs into RTMR1.
pub const CALLING_EFI_APPLICATION: &[u8] = b"Calling EFI Application from Boot Option";
pub const EXIT_BOOT_SERVICES_INVOCATION: &[u8] = b"Exit Boot Services Invocation";
pub const EXIT_BOOT_SERVICES_SUCCEEDED: &[u8] = b"Exit Boot Services Returned with Success";
/// The `EV_SEPARATOR` event data.
pub const SEPARATOR: [u8; 4] = [0; 4];

/// Where a TDVF build puts the PCR 4 `EV_SEPARATOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeparatorLayout {
    /// In RTMR1 (current TdTcg2Dxe).
    InRtmr1,
    /// In RTMR0 (older TdTcg2Dxe: every separator went to RTMR0).
    InRtmr0,
}

/// QEMU q35's ACPI data region below 4 GiB (`acpi_data_size`, 0x20000 + 0x8000), which caps
/// where the initrd may go.
const ACPI_DATA_SIZE: u64 = 0x2_8000;
/// QEMU's boot-protocol offsets in the bzImage setup header (Linux `Documentation/arch/x86/boot.rst`).
const HEADER_MAGIC: usize = 0x202;
const PROTOCOL: usize = 0x206;
const TYPE_OF_LOADER: usize = 0x210;
const LOADFLAGS: usize = 0x211;
const RAMDISK_IMAGE: usize = 0x218;
const RAMDISK_SIZE: usize = 0x21c;
const HEAP_END_PTR: usize = 0x224;
const CMD_LINE_PTR: usize = 0x228;
const INITRD_ADDR_MAX: usize = 0x22c;
const XLOADFLAGS: usize = 0x236;
const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
const LOADED_HIGH: u8 = 0x01;
const CAN_USE_HEAP: u8 = 0x80;

/// Where QEMU places an initrd: its length and the guest's memory size (`-m`, in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitrdPlacement {
    pub initrd_len: u64,
    pub memory: u64,
}

/// The kernel image as QEMU's `x86_load_linux` serves it to the firmware for a q35 machine:
/// the setup header patched for this command line and initrd. A kernel that is not a Linux
/// bzImage QEMU would load high (boot protocol 2.02 or later, `LOADED_HIGH`), a command line
/// with `vga=` (which QEMU also writes into the header), or an initrd that does not fit is
/// refused.
pub fn as_qemu_loads(
    kernel: &[u8],
    cmdline: &str,
    initrd: Option<InitrdPlacement>,
) -> Result<Vec<u8>, MeasureError> {
    let refuse = |why: &str| MeasureError::DirectBootNotModelled(why.to_owned());
    if kernel.len() < 0x1000 {
        return Err(refuse("the kernel is shorter than a bzImage setup header"));
    }
    if &kernel[HEADER_MAGIC..HEADER_MAGIC + 4] != b"HdrS" {
        return Err(refuse(
            "the kernel has no Linux setup header (\"HdrS\"); QEMU would not load it as a bzImage",
        ));
    }
    let protocol = u16_at(kernel, PROTOCOL);
    if protocol < 0x202 || kernel[LOADFLAGS] & LOADED_HIGH == 0 {
        return Err(refuse(
            "boot protocol older than 2.02 or a kernel not loaded high: QEMU's placement of such kernels is not modelled",
        ));
    }
    if cmdline.contains("vga=") {
        return Err(refuse(
            "the command line has vga=, which QEMU writes into the setup header; not modelled",
        ));
    }
    // Protocol >= 2.02 and loaded high: real-mode code at 0x10000, command line at 0x20000.
    let (real_addr, cmdline_addr) = (0x1_0000u32, 0x2_0000u32);
    let mut image = kernel.to_vec();
    image[CMD_LINE_PTR..CMD_LINE_PTR + 4].copy_from_slice(&cmdline_addr.to_le_bytes());
    image[TYPE_OF_LOADER] = 0xb0; // QEMU's loader ID, version 0
    image[LOADFLAGS] |= CAN_USE_HEAP;
    let heap_end = u16::try_from(cmdline_addr - real_addr - 0x200).unwrap_or(u16::MAX);
    image[HEAP_END_PTR..HEAP_END_PTR + 2].copy_from_slice(&heap_end.to_le_bytes());
    if let Some(placement) = initrd {
        let (address, size) = initrd_address(&image, protocol, placement)?;
        image[RAMDISK_IMAGE..RAMDISK_IMAGE + 4].copy_from_slice(&address.to_le_bytes());
        image[RAMDISK_SIZE..RAMDISK_SIZE + 4].copy_from_slice(&size.to_le_bytes());
    }
    Ok(image)
}

/// QEMU's initrd placement: as high as `initrd_max` allows, page aligned down.
fn initrd_address(
    header: &[u8],
    protocol: u16,
    placement: InitrdPlacement,
) -> Result<(u32, u32), MeasureError> {
    let refuse = |why: String| MeasureError::DirectBootNotModelled(why);
    let mut initrd_max: u64 =
        if protocol >= 0x20c && u16_at(header, XLOADFLAGS) & XLF_CAN_BE_LOADED_ABOVE_4G != 0 {
            u64::from(u32::MAX)
        } else {
            // protocol >= 0x203 holds here (checked >= 0x202 above; 0x202 has no such field).
            if protocol >= 0x203 {
                u64::from(u32_at(header, INITRD_ADDR_MAX))
            } else {
                0x37ff_ffff
            }
        };
    let below_4g = below_4g_memory(placement.memory);
    let usable = below_4g.checked_sub(ACPI_DATA_SIZE).ok_or_else(|| {
        refuse(format!(
            "{} bytes of guest memory leave no room below the ACPI data",
            placement.memory
        ))
    })?;
    if initrd_max >= usable {
        initrd_max = usable - 1;
    }
    if placement.initrd_len >= initrd_max {
        return Err(refuse(format!(
            "the {}-byte initrd does not fit below {initrd_max:#x}; QEMU would refuse it",
            placement.initrd_len
        )));
    }
    let address = (initrd_max - placement.initrd_len) & !0xfff;
    // Both are below initrd_max <= u32::MAX.
    Ok((
        u32::try_from(address).unwrap_or(u32::MAX),
        u32::try_from(placement.initrd_len).unwrap_or(u32::MAX),
    ))
}

/// QEMU q35's RAM below 4 GiB for `-m memory` (hw/i386/pc_q35.c): the split is at 2 GiB when
/// the guest has at least 2.75 GiB, else at 2.75 GiB. QEMU first rounds the size up to 8 KiB.
pub fn below_4g_memory(memory: u64) -> u64 {
    let memory = memory.div_ceil(8192).saturating_mul(8192);
    let lowmem = if memory >= 0xb000_0000 {
        0x8000_0000
    } else {
        0xb000_0000
    };
    memory.min(lowmem)
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Feeds Google's `authenticode` crate into an aws-lc-rs SHA-384.
struct Sha384Sink(Context);

impl digest::Update for Sha384Sink {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

/// The PE/COFF Authenticode SHA-384 of `image` (what TDVF's DxeTpm2MeasureBootLib logs for an
/// EFI application): headers without the checksum and certificate-table entry, the sections
/// in file order, then trailing data without the certificate table. Parsing and offsets are
/// the `object` and `authenticode` crates'.
pub fn authenticode_sha384(image: &[u8]) -> Result<Register, MeasureError> {
    use object::read::pe::{PeFile32, PeFile64};
    let mut sink = Sha384Sink(Context::new(&SHA384));
    let hashed = match PeFile64::parse(image) {
        Ok(pe) => authenticode::authenticode_digest(&pe, &mut sink),
        Err(error64) => match PeFile32::parse(image) {
            Ok(pe) => authenticode::authenticode_digest(&pe, &mut sink),
            Err(_) => return Err(MeasureError::KernelNotPe(error64.to_string())),
        },
    };
    hashed.map_err(|_| {
        MeasureError::KernelNotPe(
            "its headers, sections or certificate table do not fit the file".into(),
        )
    })?;
    Ok(super::to_register(sink.0.finish().as_ref()))
}

/// RTMR1's event digests after the kernel whose Authenticode digest is `kernel`.
pub fn rtmr1_events(kernel: &Register, layout: SeparatorLayout) -> Vec<Register> {
    let mut events = vec![*kernel, sha384(CALLING_EFI_APPLICATION)];
    if layout == SeparatorLayout::InRtmr1 {
        events.push(sha384(&SEPARATOR));
    }
    events.push(sha384(EXIT_BOOT_SERVICES_INVOCATION));
    events.push(sha384(EXIT_BOOT_SERVICES_SUCCEEDED));
    events
}

/// RTMR1 for a kernel whose Authenticode digest (as loaded) is `kernel`.
pub fn rtmr1(kernel: &Register, layout: SeparatorLayout) -> Register {
    replay(&rtmr1_events(kernel, layout))
}

/// The LoadOptions bytes OVMF gives the kernel: `cmdline`, " initrd=initrd" with an initrd,
/// each byte widened to a little-endian CHAR16, NUL-terminated.
pub fn load_options(cmdline: &str, with_initrd: bool) -> Vec<u8> {
    let suffix: &[u8] = if with_initrd { b" initrd=initrd" } else { b"" };
    cmdline
        .as_bytes()
        .iter()
        .chain(suffix)
        .chain(&[0u8])
        .flat_map(|&byte| [byte, 0])
        .collect()
}

/// RTMR2's event digests: the load options, then the initrd when there is one.
pub fn rtmr2_events(cmdline: &str, initrd: Option<&[u8]>) -> Vec<Register> {
    let mut events = vec![sha384(&load_options(cmdline, initrd.is_some()))];
    if let Some(initrd) = initrd {
        events.push(sha384(initrd));
    }
    events
}

/// RTMR2 as the Linux EFI stub leaves it.
pub fn rtmr2(cmdline: &str, initrd: Option<&[u8]>) -> Register {
    replay(&rtmr2_events(cmdline, initrd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex48(text: &str) -> Register {
        let mut out = [0u8; 48];
        hex::decode_to_slice(text, &mut out).unwrap();
        out
    }

    #[test]
    fn fixed_event_digests_equal_those_in_a_real_tdx_event_log() {
        // From trustee's CCEL_data_ovmf (shared/vectors/eventlog-tdx-trustee-ovmf), where the
        // log's own event data hashes to these digests.
        assert_eq!(
            sha384(CALLING_EFI_APPLICATION),
            hex48("77a0dab2312b4e1e57a84d865a21e5b2ee8d677a21012ada819d0a98988078d3d740f6346bfe0abaa938ca20439a8d71")
        );
        assert_eq!(
            sha384(EXIT_BOOT_SERVICES_INVOCATION),
            hex48("214b0bef1379756011344877743fdc2a5382bac6e70362d624ccf3f654407c1b4badf7d8f9295dd3dabdef65b27677e0")
        );
        assert_eq!(
            sha384(EXIT_BOOT_SERVICES_SUCCEEDED),
            hex48("0a2e01c85deae718a530ad8c6d20a84009babe6c8989269e950d8cf440c6e997695e64d455c4174a652cd080f6230b74")
        );
        assert_eq!(
            sha384(&SEPARATOR),
            hex48("394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9effc60e1ad9f1289f0")
        );
    }

    #[test]
    fn load_options_are_widened_bytes_with_the_initrd_suffix_and_a_nul() {
        assert_eq!(load_options("", false), vec![0, 0]);
        assert_eq!(load_options("ro", false), b"r\0o\0\0\0".to_vec());
        let with = load_options("ro", true);
        assert_eq!(with.len(), 2 * ("ro initrd=initrd".len() + 1));
        assert_eq!(&with[..6], b"r\0o\0 \0");
    }

    /// A minimal bzImage setup header, protocol 2.15, loaded high, above-4G capable.
    fn bzimage_header(xlf: u16) -> Vec<u8> {
        let mut k = vec![0u8; 0x2000];
        k[HEADER_MAGIC..HEADER_MAGIC + 4].copy_from_slice(b"HdrS");
        k[PROTOCOL..PROTOCOL + 2].copy_from_slice(&0x020fu16.to_le_bytes());
        k[LOADFLAGS] = LOADED_HIGH;
        k[INITRD_ADDR_MAX..INITRD_ADDR_MAX + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        k[XLOADFLAGS..XLOADFLAGS + 2].copy_from_slice(&xlf.to_le_bytes());
        k
    }

    #[test]
    fn qemu_patches_the_setup_header_as_x86_load_linux_does() {
        let kernel = bzimage_header(XLF_CAN_BE_LOADED_ABOVE_4G);
        let loaded = as_qemu_loads(&kernel, "console=ttyS0", None).unwrap();
        assert_eq!(loaded[TYPE_OF_LOADER], 0xb0);
        assert_eq!(loaded[LOADFLAGS], LOADED_HIGH | CAN_USE_HEAP);
        assert_eq!(u16_at(&loaded, HEAP_END_PTR), 0xfe00);
        assert_eq!(u32_at(&loaded, CMD_LINE_PTR), 0x2_0000);
        assert_eq!(u32_at(&loaded, RAMDISK_IMAGE), 0);
        // Nothing else changed: one byte each of the loader type, the flags, the heap end
        // (0xfe00) and the command-line pointer (0x00020000) differs from the zeroed header.
        let changed = kernel.iter().zip(&loaded).filter(|(a, b)| a != b).count();
        assert_eq!(changed, 4);

        // 4 GiB guest: below-4G RAM is 2 GiB; initrd_max = 2 GiB - ACPI - 1.
        let placed = as_qemu_loads(
            &kernel,
            "",
            Some(InitrdPlacement {
                initrd_len: 0x10_0001,
                memory: 4 << 30,
            }),
        )
        .unwrap();
        let expected = (0x8000_0000u32 - 0x2_8000 - 1 - 0x10_0001) & !0xfff;
        assert_eq!(u32_at(&placed, RAMDISK_IMAGE), expected);
        assert_eq!(u32_at(&placed, RAMDISK_SIZE), 0x10_0001);
        // 2.5 GiB guest: all of it is below 4 GiB, so the initrd sits higher.
        let higher = as_qemu_loads(
            &kernel,
            "",
            Some(InitrdPlacement {
                initrd_len: 0x10_0001,
                memory: 0xa000_0000,
            }),
        )
        .unwrap();
        assert_eq!(
            u32_at(&higher, RAMDISK_IMAGE),
            (0xa000_0000u32 - 0x2_8000 - 1 - 0x10_0001) & !0xfff
        );
        // Without XLF_CAN_BE_LOADED_ABOVE_4G, initrd_addr_max (2 GiB - 1) caps it.
        let capped = as_qemu_loads(
            &bzimage_header(0),
            "",
            Some(InitrdPlacement {
                initrd_len: 0x1000,
                memory: 0xa000_0000,
            }),
        )
        .unwrap();
        assert_eq!(
            u32_at(&capped, RAMDISK_IMAGE),
            (0x7fff_ffffu32 - 0x1000) & !0xfff
        );
    }

    #[test]
    fn loads_qemu_would_refuse_or_scute_does_not_model_are_refused() {
        let kernel = bzimage_header(XLF_CAN_BE_LOADED_ABOVE_4G);
        let refused = |result: Result<Vec<u8>, MeasureError>| {
            assert!(matches!(
                result,
                Err(MeasureError::DirectBootNotModelled(_))
            ));
        };
        refused(as_qemu_loads(&kernel, "vga=791", None));
        refused(as_qemu_loads(&[0u8; 0x2000], "", None));
        refused(as_qemu_loads(&kernel[..0x300], "", None));
        let mut old = kernel.clone();
        old[PROTOCOL..PROTOCOL + 2].copy_from_slice(&0x0201u16.to_le_bytes());
        refused(as_qemu_loads(&old, "", None));
        refused(as_qemu_loads(
            &kernel,
            "",
            Some(InitrdPlacement {
                initrd_len: 0x9000_0000,
                memory: 4 << 30,
            }),
        ));
        refused(as_qemu_loads(
            &kernel,
            "",
            Some(InitrdPlacement {
                initrd_len: 1,
                memory: 0x1000,
            }),
        ));
    }

    #[test]
    fn a_kernel_that_is_not_pe_is_refused() {
        for bytes in [&b""[..], &[0u8; 4096][..], &b"MZ not really"[..]] {
            assert!(matches!(
                authenticode_sha384(bytes),
                Err(MeasureError::KernelNotPe(_))
            ));
        }
        // A bzImage setup header without a PE header (no EFI stub).
        assert!(matches!(
            authenticode_sha384(&bzimage_header(0)),
            Err(MeasureError::KernelNotPe(_))
        ));
    }

    #[test]
    fn rtmr1_layouts_differ_only_by_the_separator() {
        let kernel = sha384(b"kernel");
        let with = rtmr1_events(&kernel, SeparatorLayout::InRtmr1);
        let without = rtmr1_events(&kernel, SeparatorLayout::InRtmr0);
        assert_eq!(with.len(), 5);
        assert_eq!(without.len(), 4);
        assert_eq!(with[2], sha384(&SEPARATOR));
        assert_eq!(
            without,
            [&with[..2], &with[3..]].concat(),
            "same events, separator removed"
        );
    }
}
