//! The SEV-SNP launch digest (`MEASUREMENT`): OVMF's SEV metadata sections and the VMSA of each
//! vCPU, added to the launch digest as AMD's SNP firmware ABI specifies (SNP_LAUNCH_UPDATE's
//! PAGE_INFO chain).
//!
//! What the VMM does at launch, and so what this module replays, in order:
//! 1. the whole firmware image, page by page, as NORMAL pages at `4 GiB - len` (QEMU maps the
//!    flash so that it ends at 4 GiB);
//! 2. each section of OVMF's SEV metadata (`OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm`), in
//!    metadata order: pre-validated memory as ZERO pages, the secrets page as SECRETS, the CPUID
//!    page as CPUID, the kernel-hashes page as a NORMAL page holding the SEV hashes table (or
//!    ZERO when no kernel is booted directly), the SVSM calling area as ZERO;
//! 3. one VMSA page per vCPU: the boot vCPU starting at the reset vector `0xfffffff0`, every
//!    other vCPU at the SEV-ES reset block's address.
//!
//! Each page `p` moves the digest as `digest = SHA-384(PAGE_INFO)`, with PAGE_INFO (AMD SEV-SNP
//! firmware ABI, SNP_LAUNCH_UPDATE, "PAGE_INFO structure") = the digest so far ‖ SHA-384 of the
//! page's contents (48 zero bytes for ZERO, UNMEASURED, SECRETS and CPUID pages) ‖ u16 length
//! 0x70 ‖ u8 page type ‖ u8 IMI page (0) ‖ u8 VMPL3, VMPL2, VMPL1 permissions (0) ‖ u8 reserved
//! ‖ u64 GPA. The digest starts as 48 zero bytes.
//!
//! The facts were checked against virtee/sev-snp-measure (`sevsnpmeasure/gctx.py`, `guest.py`,
//! `vmsa.py`, `ovmf.py`, `sev_hashes.py`, `vcpu_types.py`, v0.0.13) and virtee/sev
//! (`src/measurement/`), and the tests compare with sev-snp-measure's output.
//!
//! VMM types: `qemu` is QEMU/KVM. `ec2` is AWS EC2's own VMM, which differs in the initial
//! register state (see [`VmmType::Ec2`]) and measures the CPUID page after all other metadata
//! sections. The virtee/sev crate's EC2 VMSA (`src/measurement/vmsa.rs`) leaves RDX at 0; AWS's
//! instances start with RDX = 0x600, which sev-snp-measure adopted in v0.0.13 (virtee/
//! sev-snp-measure PR #60, tested against a c6a.xlarge instance with AWS's published OVMF,
//! aws/uefi). This module follows AWS's instances, i.e. sev-snp-measure v0.0.13.

use crate::ovmf::{self, Guid};
use crate::MeasureError;
use aws_lc_rs::digest::{digest, Context, SHA256, SHA384};
use scute_codec::Reader;

/// A launch digest's length (SHA-384).
pub const LAUNCH_DIGEST_LEN: usize = 48;
/// SEV_FEATURES when none are asked for: SNPActive only (sev-snp-measure's default too).
pub const DEFAULT_GUEST_FEATURES: u64 = 0x1;
/// SEV_FEATURES bit 0, SNPActive: set in every SEV-SNP guest's VMSA.
const SNP_ACTIVE: u64 = 0x1;

const PAGE: usize = 4096;
const FOUR_GIB: u64 = 1 << 32;
/// The boot vCPU's first instruction: the x86 reset vector.
const BSP_RESET_ADDRESS: u32 = 0xffff_fff0;
/// The GPA a VMSA page is measured at: the ABI records VMSAs at GPA -1, page-aligned and with
/// the bits above 51 cleared.
const VMSA_GPA: u64 = 0x0000_ffff_ffff_f000;

/// Which VMM launches the guest: they set up the vCPUs' initial registers differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmmType {
    /// QEMU with KVM: the vCPU type's CPUID signature in RDX, the architectural reset values
    /// of MXCSR (0x1f80) and the x87 control word (0x37f), which current KVM puts in the VMSA
    /// it measures (virtee/sev-snp-measure PR #49; older hosts measured them as 0).
    Qemu,
    /// AWS EC2: RDX = 0x600 whatever the vCPU type, CS of the boot vCPU not accessed (0x9a),
    /// SS 0x92, TR 0x83, MXCSR and x87 control word 0; the CPUID page is measured after the
    /// other metadata sections.
    Ec2,
}

/// The CPUID signature (CPUID Fn0000_0001_EAX) of a family, model and stepping, as AMD's CPUID
/// Specification (publication #25481) composes it: families above 0xf put 0xf in the base
/// family and the rest in the extended family.
pub const fn cpuid_signature(family: u32, model: u32, stepping: u32) -> u32 {
    let (base_family, extended_family) = if family > 0xf {
        (0xf, (family - 0xf) & 0xff)
    } else {
        (family, 0)
    };
    (extended_family << 20)
        | (((model >> 4) & 0xf) << 16)
        | (base_family << 8)
        | ((model & 0xf) << 4)
        | (stepping & 0xf)
}

/// The vCPU types QEMU defines for SEV-SNP guests (`target/i386/cpu.c`, `builtin_x86_defs`)
/// and the CPUID signature each reports: QEMU puts it in RDX at reset.
pub const VCPU_TYPES: &[(&str, u32)] = &[
    ("EPYC", cpuid_signature(23, 1, 2)),
    ("EPYC-v1", cpuid_signature(23, 1, 2)),
    ("EPYC-v2", cpuid_signature(23, 1, 2)),
    ("EPYC-IBPB", cpuid_signature(23, 1, 2)),
    ("EPYC-v3", cpuid_signature(23, 1, 2)),
    ("EPYC-v4", cpuid_signature(23, 1, 2)),
    ("EPYC-Rome", cpuid_signature(23, 49, 0)),
    ("EPYC-Rome-v1", cpuid_signature(23, 49, 0)),
    ("EPYC-Rome-v2", cpuid_signature(23, 49, 0)),
    ("EPYC-Rome-v3", cpuid_signature(23, 49, 0)),
    ("EPYC-Milan", cpuid_signature(25, 1, 1)),
    ("EPYC-Milan-v1", cpuid_signature(25, 1, 1)),
    ("EPYC-Milan-v2", cpuid_signature(25, 1, 1)),
    ("EPYC-Genoa", cpuid_signature(25, 17, 0)),
    ("EPYC-Genoa-v1", cpuid_signature(25, 17, 0)),
    ("EPYC-Turin", cpuid_signature(26, 0, 0)),
];

/// The CPUID signature of a vCPU type named as QEMU's `-cpu` names it (case as listed).
pub fn vcpu_signature(name: &str) -> Result<u32, MeasureError> {
    VCPU_TYPES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, signature)| *signature)
        .ok_or_else(|| MeasureError::UnknownVcpuType {
            name: name.to_owned(),
            known: VCPU_TYPES
                .iter()
                .map(|(known, _)| *known)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The SHA-256 digests of a directly booted kernel, initrd and command line, as QEMU puts them
/// in OVMF's SEV hashes table (`target/i386/sev.c`, `sev_add_kernel_loader_hashes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelHashes {
    pub kernel: [u8; 32],
    /// Of the initrd, or of nothing when there is none.
    pub initrd: [u8; 32],
    /// Of the command line with its terminating NUL (just the NUL when there is none).
    pub cmdline: [u8; 32],
}

impl KernelHashes {
    pub fn new(kernel: &[u8], initrd: Option<&[u8]>, cmdline: Option<&str>) -> Self {
        let mut with_nul = Context::new(&SHA256);
        with_nul.update(cmdline.unwrap_or_default().as_bytes());
        with_nul.update(&[0]);
        Self {
            kernel: sha256(kernel),
            initrd: sha256(initrd.unwrap_or_default()),
            cmdline: to_array(with_nul.finish().as_ref()),
        }
    }

    /// The table as QEMU lays it out: a GUIDed header (GUID, u16 length of the whole table),
    /// then the command-line, initrd and kernel entries (GUID, u16 entry length 50, SHA-256),
    /// zero-padded to a multiple of 16 bytes.
    fn table(&self) -> Vec<u8> {
        const ENTRY_LEN: usize = 16 + 2 + 32;
        const TABLE_LEN: usize = 16 + 2 + 3 * ENTRY_LEN;
        let mut table = Vec::with_capacity(HASHES_TABLE_PADDED_LEN);
        table.extend_from_slice(&HASHES_TABLE_HEADER.0);
        table.extend_from_slice(&(TABLE_LEN as u16).to_le_bytes());
        for (guid, hash) in [
            (HASHES_CMDLINE, &self.cmdline),
            (HASHES_INITRD, &self.initrd),
            (HASHES_KERNEL, &self.kernel),
        ] {
            table.extend_from_slice(&guid.0);
            table.extend_from_slice(&(ENTRY_LEN as u16).to_le_bytes());
            table.extend_from_slice(hash);
        }
        table.resize(HASHES_TABLE_PADDED_LEN, 0);
        table
    }
}

/// The SEV hashes table's GUIDs (QEMU `target/i386/sev.c`; OVMF
/// `OvmfPkg/Library/BlobVerifierLib/BlobVerifierSevHashes.c`).
const HASHES_TABLE_HEADER: Guid = Guid::parse("9438d606-4f22-4cc9-b479-a793d411fd21");
const HASHES_KERNEL: Guid = Guid::parse("4de79437-abd2-427f-b835-d5b172d2045b");
const HASHES_INITRD: Guid = Guid::parse("44baf731-3a2f-4bd7-9af1-41e29169781d");
const HASHES_CMDLINE: Guid = Guid::parse("97d02dd8-bd20-4c94-aa78-e7714d36ab2a");
/// 168 bytes of table, padded to 176.
const HASHES_TABLE_PADDED_LEN: usize = 176;

/// What a launch is made of.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The OVMF image as the VMM maps it (e.g. `OVMF.fd`, or the code part of a split build).
    pub firmware: &'a [u8],
    pub vcpus: u32,
    /// QEMU's name of the vCPU type (see [`VCPU_TYPES`]).
    pub vcpu_type: &'a str,
    pub vmm: VmmType,
    /// SEV_FEATURES of every VMSA ([`DEFAULT_GUEST_FEATURES`] unless the VMM enables more).
    pub guest_features: u64,
    /// A directly booted kernel, measured through OVMF's SEV hashes table.
    pub kernel: Option<&'a KernelHashes>,
}

/// The launch digest — the `MEASUREMENT` of the guest's attestation reports — of `launch`.
/// Everything is checked before anything is hashed; what cannot be measured exactly is refused.
pub fn launch_digest(launch: &Launch<'_>) -> Result<[u8; LAUNCH_DIGEST_LEN], MeasureError> {
    let firmware_gpa = firmware_gpa(launch.firmware)?;
    if launch.vcpus == 0 {
        return Err(MeasureError::NoVcpus);
    }
    let signature = vcpu_signature(launch.vcpu_type)?;
    if launch.guest_features & SNP_ACTIVE == 0 {
        return Err(MeasureError::GuestFeaturesNotSnp(launch.guest_features));
    }
    let table = ovmf::footer_table(launch.firmware)?;
    let sections = sev_metadata(launch.firmware, &table)?;
    let ap_reset_address = ap_reset_address(&table)?;
    let hashes_page = match launch.kernel {
        Some(hashes) => Some(kernel_hashes_page(&table, &sections, hashes)?),
        None => None,
    };

    let mut ld = LaunchDigest::default();
    for (i, page) in launch.firmware.chunks(PAGE).enumerate() {
        ld.add_page(PageType::Normal, firmware_gpa + (i * PAGE) as u64, page);
    }
    for section in &sections {
        match section.kind {
            SectionKind::SnpSecMem | SectionKind::SvsmCaa => {
                ld.add_empty_pages(PageType::Zero, section)
            }
            SectionKind::SnpSecrets => ld.add_empty_pages(PageType::Secrets, section),
            // EC2 adds the CPUID page last (below).
            SectionKind::Cpuid if launch.vmm == VmmType::Ec2 => {}
            SectionKind::Cpuid => ld.add_empty_pages(PageType::Cpuid, section),
            SectionKind::SnpKernelHashes => match &hashes_page {
                Some(page) => {
                    for (i, chunk) in page.chunks(PAGE).enumerate() {
                        ld.add_page(
                            PageType::Normal,
                            u64::from(section.gpa) + (i * PAGE) as u64,
                            chunk,
                        );
                    }
                }
                None => ld.add_empty_pages(PageType::Zero, section),
            },
        }
    }
    if launch.vmm == VmmType::Ec2 {
        for section in sections.iter().filter(|s| s.kind == SectionKind::Cpuid) {
            ld.add_empty_pages(PageType::Cpuid, section);
        }
    }
    let registers = |reset_address| Vmsa {
        reset_address,
        signature,
        guest_features: launch.guest_features,
        vmm: launch.vmm,
    };
    let bsp = registers(BSP_RESET_ADDRESS).page();
    let ap = registers(ap_reset_address).page();
    ld.add_page(PageType::Vmsa, VMSA_GPA, &bsp);
    for _ in 1..launch.vcpus {
        ld.add_page(PageType::Vmsa, VMSA_GPA, &ap);
    }
    Ok(ld.0)
}

/// Where the image starts: it ends at 4 GiB.
fn firmware_gpa(firmware: &[u8]) -> Result<u64, MeasureError> {
    let len = firmware.len() as u64;
    if len == 0 || len & (PAGE as u64 - 1) != 0 || len > FOUR_GIB {
        return Err(MeasureError::BadFirmwareSize {
            len: firmware.len(),
        });
    }
    Ok(FOUR_GIB - len)
}

/// The page types of SNP_LAUNCH_UPDATE (AMD SEV-SNP firmware ABI).
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
enum PageType {
    Normal = 0x01,
    Vmsa = 0x02,
    Zero = 0x03,
    Secrets = 0x05,
    Cpuid = 0x06,
}

/// The launch digest as the PSP extends it.
struct LaunchDigest([u8; LAUNCH_DIGEST_LEN]);

impl Default for LaunchDigest {
    fn default() -> Self {
        Self([0; LAUNCH_DIGEST_LEN])
    }
}

impl LaunchDigest {
    /// A page whose contents are measured (NORMAL, VMSA).
    fn add_page(&mut self, page_type: PageType, gpa: u64, contents: &[u8]) {
        let contents = to_array(digest(&SHA384, contents).as_ref());
        self.extend(page_type, gpa, &contents);
    }

    /// Each page of a section whose contents are not measured (ZERO, SECRETS, CPUID): the
    /// PAGE_INFO's contents field is zero.
    fn add_empty_pages(&mut self, page_type: PageType, section: &Section) {
        for page in 0..section.size as usize / PAGE {
            let gpa = u64::from(section.gpa) + (page * PAGE) as u64;
            self.extend(page_type, gpa, &[0; LAUNCH_DIGEST_LEN]);
        }
    }

    fn extend(&mut self, page_type: PageType, gpa: u64, contents: &[u8; LAUNCH_DIGEST_LEN]) {
        const PAGE_INFO_LEN: u16 = 0x70;
        let mut page_info = Vec::with_capacity(usize::from(PAGE_INFO_LEN));
        page_info.extend_from_slice(&self.0);
        page_info.extend_from_slice(contents);
        page_info.extend_from_slice(&PAGE_INFO_LEN.to_le_bytes());
        page_info.push(page_type as u8);
        // IMI_PAGE, VMPL3_PERMS, VMPL2_PERMS, VMPL1_PERMS, reserved: all 0 for a launch.
        page_info.extend_from_slice(&[0; 5]);
        page_info.extend_from_slice(&gpa.to_le_bytes());
        debug_assert_eq!(page_info.len(), usize::from(PAGE_INFO_LEN));
        self.0 = to_array(digest(&SHA384, &page_info).as_ref());
    }
}

/// The section types of OVMF's SEV metadata (`OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm`,
/// `OvmfPkg/Include/WorkArea.h` ... the values QEMU's `target/i386/sev.c` reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// Memory OVMF expects pre-validated (1).
    SnpSecMem,
    /// The secrets page the PSP fills (2).
    SnpSecrets,
    /// The CPUID page the PSP checks (3).
    Cpuid,
    /// The SVSM calling area (4).
    SvsmCaa,
    /// The page holding the SEV hashes table for direct kernel boot (0x10).
    SnpKernelHashes,
}

/// One section of the SEV metadata: `size` bytes at guest-physical `gpa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub gpa: u32,
    pub size: u32,
    pub kind: SectionKind,
}

/// The sections of the firmware's SEV metadata, in metadata order. The OVMF table's
/// [`ovmf::SEV_METADATA`] entry holds a u32 offset, from the end of the image, of a header
/// `"ASEV" ‖ u32 size ‖ u32 version (1) ‖ u32 count`, followed by `count` descriptors
/// `u32 gpa ‖ u32 size ‖ u32 type`. Sections must be whole pages below 4 GiB; the secrets and
/// CPUID sections exactly one page (what the PSP takes); an unknown type is refused.
pub fn sev_metadata(
    firmware: &[u8],
    table: &[ovmf::Entry<'_>],
) -> Result<Vec<Section>, MeasureError> {
    let entry = ovmf::entry(table, ovmf::SEV_METADATA).ok_or(MeasureError::NoSevMetadata)?;
    let offset_from_end = Reader::new(entry).u32("SEV metadata offset")?;
    let start = firmware.len().checked_sub(offset_from_end as usize).ok_or(
        MeasureError::BadSevMetadata("its offset runs past the image's start"),
    )?;
    let mut header = Reader::new(&firmware[start..]);
    if header.take(4, "SEV metadata signature")? != b"ASEV" {
        return Err(MeasureError::BadSevMetadata("the signature is not ASEV"));
    }
    let size = header.u32("SEV metadata size")? as usize;
    if header.u32("SEV metadata version")? != 1 {
        return Err(MeasureError::BadSevMetadata("the version is not 1"));
    }
    let count = header.u32("SEV metadata section count")? as usize;
    const HEADER_LEN: usize = 16;
    const DESCRIPTOR_LEN: usize = 12;
    if count
        .checked_mul(DESCRIPTOR_LEN)
        .and_then(|len| len.checked_add(HEADER_LEN))
        .is_none_or(|needed| needed > size)
    {
        return Err(MeasureError::BadSevMetadata(
            "its size is too small for its sections",
        ));
    }
    let mut descriptors = Reader::new(&firmware[start..]).sub(size, "SEV metadata")?;
    descriptors.take(HEADER_LEN, "SEV metadata header")?;
    let mut sections = Vec::with_capacity(count);
    for _ in 0..count {
        let gpa = descriptors.u32("SEV metadata section address")?;
        let size = descriptors.u32("SEV metadata section size")?;
        let kind = match descriptors.u32("SEV metadata section type")? {
            1 => SectionKind::SnpSecMem,
            2 => SectionKind::SnpSecrets,
            3 => SectionKind::Cpuid,
            4 => SectionKind::SvsmCaa,
            0x10 => SectionKind::SnpKernelHashes,
            _ => {
                return Err(MeasureError::BadSevMetadata(
                    "a section has an unknown type",
                ))
            }
        };
        if size == 0 || !page_aligned(gpa) || !page_aligned(size) {
            return Err(MeasureError::BadSevMetadata(
                "a section is not whole 4 KiB pages",
            ));
        }
        if u64::from(gpa) + u64::from(size) > FOUR_GIB {
            return Err(MeasureError::BadSevMetadata("a section runs past 4 GiB"));
        }
        if matches!(kind, SectionKind::SnpSecrets | SectionKind::Cpuid) && size as usize != PAGE {
            return Err(MeasureError::BadSevMetadata(
                "a secrets or CPUID section is not exactly one page",
            ));
        }
        sections.push(Section { gpa, size, kind });
    }
    Ok(sections)
}

/// Where the other vCPUs start: the SEV-ES reset block's u32 address (OVMF
/// `ResetVectorVtf0.asm`, `SEV_ES_AP_RESET_IP`).
fn ap_reset_address(table: &[ovmf::Entry<'_>]) -> Result<u32, MeasureError> {
    let entry =
        ovmf::entry(table, ovmf::SEV_ES_RESET_BLOCK).ok_or(MeasureError::NoSevEsResetBlock)?;
    match Reader::new(entry).u32("SEV-ES reset address")? {
        0 => Err(MeasureError::NoSevEsResetBlock),
        address => Ok(address),
    }
}

/// The kernel-hashes section's contents: zeros with the SEV hashes table at its address's
/// offset within a page (QEMU `target/i386/sev.c` places it so, at `base & ~PAGE_MASK`).
fn kernel_hashes_page(
    table: &[ovmf::Entry<'_>],
    sections: &[Section],
    hashes: &KernelHashes,
) -> Result<Vec<u8>, MeasureError> {
    let section = sections
        .iter()
        .find(|s| s.kind == SectionKind::SnpKernelHashes)
        .ok_or(MeasureError::NoKernelHashesTable(
            "its SEV metadata has no SNP_KERNEL_HASHES section",
        ))?;
    if sections
        .iter()
        .filter(|s| s.kind == SectionKind::SnpKernelHashes)
        .count()
        > 1
    {
        return Err(MeasureError::BadSevMetadata(
            "more than one SNP_KERNEL_HASHES section",
        ));
    }
    let entry =
        ovmf::entry(table, ovmf::SEV_HASH_TABLE).ok_or(MeasureError::NoKernelHashesTable(
            "its OVMF table has no SEV hashes table entry (7255371f-3a3b-4b04-927b-1da6efa8d454)",
        ))?;
    let mut entry = Reader::new(entry);
    let table_gpa = entry.u32("SEV hashes table address")?;
    if table_gpa == 0 {
        return Err(MeasureError::NoKernelHashesTable(
            "its SEV hashes table's address is 0",
        ));
    }
    // QEMU refuses an area smaller than the padded table ("hashes table area is too small").
    if let Ok(area) = entry.u32("SEV hashes table size") {
        if (area as usize) < HASHES_TABLE_PADDED_LEN {
            return Err(MeasureError::NoKernelHashesTable(
                "its SEV hashes table's area is smaller than the table",
            ));
        }
    }
    let offset = table_gpa as usize % PAGE;
    let mut page = vec![0u8; section.size as usize];
    page.get_mut(offset..offset + HASHES_TABLE_PADDED_LEN)
        .ok_or(MeasureError::NoKernelHashesTable(
            "its SEV hashes table does not fit its SNP_KERNEL_HASHES section",
        ))?
        .copy_from_slice(&hashes.table());
    Ok(page)
}

/// A vCPU's initial register state, the VMSA (VM save area) the PSP measures. Values are
/// KVM's reset state as it encrypts it (Linux `arch/x86/kvm/svm/sev.c`, `sev_es_sync_vmsa`;
/// QEMU's `x86_cpu_reset`): real mode, CS:IP at the reset address.
struct Vmsa {
    reset_address: u32,
    signature: u32,
    guest_features: u64,
    vmm: VmmType,
}

/// Field offsets in the 4 KiB VMSA (AMD64 Architecture Programmer's Manual, Volume 2, Table
/// B-4 "VMSA Layout, State Save Area for SEV-ES"; Linux `struct sev_es_save_area`). A segment
/// register is 16 bytes: u16 selector, u16 attributes, u32 limit, u64 base.
mod vmsa_offset {
    pub(super) const ES: usize = 0x000;
    pub(super) const CS: usize = 0x010;
    pub(super) const SS: usize = 0x020;
    pub(super) const DS: usize = 0x030;
    pub(super) const FS: usize = 0x040;
    pub(super) const GS: usize = 0x050;
    pub(super) const GDTR: usize = 0x060;
    pub(super) const LDTR: usize = 0x070;
    pub(super) const IDTR: usize = 0x080;
    pub(super) const TR: usize = 0x090;
    pub(super) const EFER: usize = 0x0d0;
    pub(super) const CR4: usize = 0x148;
    pub(super) const CR0: usize = 0x158;
    pub(super) const DR7: usize = 0x160;
    pub(super) const DR6: usize = 0x168;
    pub(super) const RFLAGS: usize = 0x170;
    pub(super) const RIP: usize = 0x178;
    pub(super) const G_PAT: usize = 0x268;
    pub(super) const RDX: usize = 0x310;
    pub(super) const SEV_FEATURES: usize = 0x3b0;
    pub(super) const XCR0: usize = 0x3e8;
    pub(super) const MXCSR: usize = 0x408;
    pub(super) const X87_FCW: usize = 0x410;
}

impl Vmsa {
    fn page(&self) -> [u8; PAGE] {
        use vmsa_offset::*;
        // Segment attributes: 0x93 = present, data, read/write, accessed; 0x9b code,
        // execute/read, accessed; 0x82 LDT; 0x8b busy 32-bit TSS. EC2 leaves some
        // not-accessed (0x9a, 0x92) and its TR a busy 16-bit TSS (0x83).
        let (cs_attributes, ss_attributes, tr_attributes, rdx, mxcsr, x87_fcw): (
            u16,
            u16,
            u16,
            u64,
            u32,
            u16,
        ) = match self.vmm {
            VmmType::Qemu => (0x9b, 0x93, 0x8b, u64::from(self.signature), 0x1f80, 0x37f),
            VmmType::Ec2 => {
                let cs = if self.reset_address == BSP_RESET_ADDRESS {
                    0x9a
                } else {
                    0x9b
                };
                (cs, 0x92, 0x83, 0x600, 0, 0)
            }
        };
        let mut page = [0u8; PAGE];
        let mut segment = |at: usize, selector: u16, attributes: u16, base: u64| {
            page[at..at + 2].copy_from_slice(&selector.to_le_bytes());
            page[at + 2..at + 4].copy_from_slice(&attributes.to_le_bytes());
            page[at + 4..at + 8].copy_from_slice(&0xffffu32.to_le_bytes());
            page[at + 8..at + 16].copy_from_slice(&base.to_le_bytes());
        };
        segment(ES, 0, 0x93, 0);
        // Real mode: CS base is the reset address's upper 16 bits, IP its lower 16.
        segment(
            CS,
            0xf000,
            cs_attributes,
            u64::from(self.reset_address & 0xffff_0000),
        );
        segment(SS, 0, ss_attributes, 0);
        segment(DS, 0, 0x93, 0);
        segment(FS, 0, 0x93, 0);
        segment(GS, 0, 0x93, 0);
        segment(GDTR, 0, 0, 0);
        segment(LDTR, 0, 0x82, 0);
        segment(IDTR, 0, 0, 0);
        segment(TR, 0, tr_attributes, 0);
        let mut u64_at = |at: usize, value: u64| {
            page[at..at + 8].copy_from_slice(&value.to_le_bytes());
        };
        u64_at(EFER, 0x1000); // EFER.SVME, which KVM sets for SEV-ES guests
        u64_at(CR4, 0x40); // CR4.MCE, which KVM sets
        u64_at(CR0, 0x10); // CR0.ET
        u64_at(DR7, 0x400);
        u64_at(DR6, 0xffff_0ff0);
        u64_at(RFLAGS, 0x2);
        u64_at(RIP, u64::from(self.reset_address & 0xffff));
        u64_at(G_PAT, 0x0007_0406_0007_0406); // the PAT MSR's reset value
        u64_at(RDX, rdx);
        u64_at(SEV_FEATURES, self.guest_features);
        u64_at(XCR0, 0x1);
        page[MXCSR..MXCSR + 4].copy_from_slice(&mxcsr.to_le_bytes());
        page[X87_FCW..X87_FCW + 2].copy_from_slice(&x87_fcw.to_le_bytes());
        page
    }
}

/// Whether `value` is a multiple of the page size.
fn page_aligned(value: u32) -> bool {
    value & (PAGE as u32 - 1) == 0
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    to_array(digest(&SHA256, bytes).as_ref())
}

fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ovmf::tests::image_with_table;
    use crate::ovmf::{SEV_ES_RESET_BLOCK, SEV_HASH_TABLE, SEV_METADATA};

    const IMAGE_LEN: usize = 0x10000;
    /// Where the synthetic image's `ASEV` header starts.
    const METADATA_AT: usize = 0x2000;
    /// OVMF's layout (as Debian's and AmdSev builds have it), with an SVSM calling area and a
    /// kernel-hashes page whose table sits at offset 0xc00.
    const SECTIONS: [(u32, u32, u32); 5] = [
        (0x0080_0000, 0x9000, 1),
        (0x0080_9000, 0x1000, 2),
        (0x0080_a000, 0x1000, 3),
        (0x0080_b000, 0x1000, 4),
        (0x0080_f000, 0x1000, 0x10),
    ];
    const HASH_TABLE: (u32, u32) = (0x0080_fc00, 0x400);
    const AP_RESET: u32 = 0x0080_b004;

    /// A 64 KiB firmware image with non-zero contents (each page differs), the SEV metadata
    /// `sections` (gpa, size, type), the SEV hashes table entry (gpa, size) and the SEV-ES
    /// reset block when given.
    fn firmware(
        sections: &[(u32, u32, u32)],
        hash_table: Option<(u32, u32)>,
        ap_reset: Option<u32>,
    ) -> Vec<u8> {
        let metadata_offset = ((IMAGE_LEN - METADATA_AT) as u32).to_le_bytes();
        let hash_entry: Vec<u8> = hash_table
            .map(|(gpa, size)| [gpa.to_le_bytes(), size.to_le_bytes()].concat())
            .unwrap_or_default();
        let reset_entry = ap_reset.map(u32::to_le_bytes);
        let mut entries: Vec<(Guid, &[u8])> = vec![(SEV_METADATA, &metadata_offset[..])];
        if hash_table.is_some() {
            entries.push((SEV_HASH_TABLE, &hash_entry));
        }
        if let Some(reset) = &reset_entry {
            entries.push((SEV_ES_RESET_BLOCK, &reset[..]));
        }
        let mut image = image_with_table(IMAGE_LEN, &entries);
        for (i, byte) in image[..IMAGE_LEN / 2].iter_mut().enumerate() {
            *byte = (i * 7 + i / PAGE) as u8;
        }
        let mut asev = b"ASEV".to_vec();
        asev.extend_from_slice(&(16 + 12 * sections.len() as u32).to_le_bytes());
        asev.extend_from_slice(&1u32.to_le_bytes());
        asev.extend_from_slice(&(sections.len() as u32).to_le_bytes());
        for (gpa, size, kind) in sections {
            for field in [gpa, size, kind] {
                asev.extend_from_slice(&field.to_le_bytes());
            }
        }
        image[METADATA_AT..METADATA_AT + asev.len()].copy_from_slice(&asev);
        image
    }

    fn synthetic() -> Vec<u8> {
        firmware(&SECTIONS, Some(HASH_TABLE), Some(AP_RESET))
    }

    fn kernel() -> KernelHashes {
        KernelHashes::new(
            b"scute synthetic kernel",
            Some(b"scute synthetic initrd"),
            Some("console=ttyS0 root=/dev/vda"),
        )
    }

    fn launch<'a>(firmware: &'a [u8], kernel: Option<&'a KernelHashes>) -> Launch<'a> {
        Launch {
            firmware,
            vcpus: 1,
            vcpu_type: "EPYC-Milan",
            vmm: VmmType::Qemu,
            guest_features: DEFAULT_GUEST_FEATURES,
            kernel,
        }
    }

    fn digest_of(launch: &Launch<'_>) -> String {
        hex::encode(launch_digest(launch).unwrap())
    }

    /// The synthetic image's expected digests were computed by virtee/sev-snp-measure 0.0.13
    /// on the same bytes (`synthetic()` written to `synthetic.fd`, SHA-256 pinned below; the
    /// kernel and initrd files hold exactly the bytes `kernel()` hashes):
    /// - `sev-snp-measure --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf synthetic.fd
    ///   --kernel kernel --initrd initrd --append "console=ttyS0 root=/dev/vda"`
    /// - `sev-snp-measure --mode snp --vcpus 3 --vcpu-type EPYC-Genoa --ovmf synthetic.fd
    ///   --kernel kernel`
    /// - `sev-snp-measure --mode snp --vcpus 2 --vcpu-type EPYC-v4 --ovmf synthetic.fd`
    /// - `sev-snp-measure --mode snp --vcpus 2 --vmm-type ec2 --ovmf synthetic.fd
    ///   --kernel kernel --initrd initrd --append "console=ttyS0 root=/dev/vda"`
    #[test]
    fn synthetic_firmware_with_a_hashes_table_equals_sev_snp_measure() {
        let image = synthetic();
        assert_eq!(
            hex::encode(digest(&SHA256, &image)),
            "b92097320dafe000619051bda928be12f6de96af5ba2f5325ab29ccdea833418",
            "the synthetic image changed: recompute the expected values with sev-snp-measure"
        );
        let full = kernel();
        assert_eq!(
            digest_of(&launch(&image, Some(&full))),
            "cb3381fbcd87087013beed36cf8202ba9a79db8d4e7bedba6e18586b721b22676f9f5bef666d6d494d14fa2547fc6c8f"
        );
        let kernel_only = KernelHashes::new(b"scute synthetic kernel", None, None);
        assert_eq!(
            digest_of(&Launch {
                vcpus: 3,
                vcpu_type: "EPYC-Genoa",
                ..launch(&image, Some(&kernel_only))
            }),
            "2f82951f55bc76d07ebe6dd40d4ab75ef2c49a2312d5df8d1ceb2564c194fd1764af706bdd33d5565530ffeac9d26561"
        );
        assert_eq!(
            digest_of(&Launch {
                vcpus: 2,
                vcpu_type: "EPYC-v4",
                ..launch(&image, None)
            }),
            "a03a0de81197d3d642a7098035b67794db71d7dfffc22c76ba07334634528e1bf7303e35372b01f605cfd9fa0e849405"
        );
        assert_eq!(
            digest_of(&Launch {
                vcpus: 2,
                vmm: VmmType::Ec2,
                ..launch(&image, Some(&full))
            }),
            "13c41ca94bd047126935d245edf437b5e8dce7609eafb9d25878a66ba56e86037d30cea2adb969d4957428dd727d3f4d"
        );
    }

    /// The attacker's view: another kernel, initrd or command line than the one measured
    /// cannot give the same digest.
    #[test]
    fn each_direct_boot_artefact_is_bound() {
        let image = synthetic();
        let genuine = digest_of(&launch(&image, Some(&kernel())));
        for other in [
            KernelHashes::new(
                b"scute synthetic kernel!",
                Some(b"scute synthetic initrd"),
                Some("console=ttyS0 root=/dev/vda"),
            ),
            KernelHashes::new(
                b"scute synthetic kernel",
                None,
                Some("console=ttyS0 root=/dev/vda"),
            ),
            KernelHashes::new(
                b"scute synthetic kernel",
                Some(b"scute synthetic initrd"),
                Some("console=ttyS0 root=/dev/vda init=/bin/sh"),
            ),
        ] {
            assert_ne!(digest_of(&launch(&image, Some(&other))), genuine);
        }
        assert_ne!(digest_of(&launch(&image, None)), genuine);
    }

    #[test]
    fn the_hashes_table_is_laid_out_as_qemu_does() {
        let hashes = KernelHashes::new(b"k", Some(b""), None);
        let table = hashes.table();
        assert_eq!(table.len(), 176);
        assert_eq!(&table[..16], &HASHES_TABLE_HEADER.0);
        assert_eq!(&table[16..18], &168u16.to_le_bytes());
        assert_eq!(&table[18..34], &HASHES_CMDLINE.0);
        assert_eq!(&table[34..36], &50u16.to_le_bytes());
        // An absent command line is hashed as its lone NUL; an absent initrd as nothing.
        assert_eq!(table[36..68], sha256(b"\0"));
        assert_eq!(&table[68..84], &HASHES_INITRD.0);
        assert_eq!(table[86..118], sha256(b""));
        assert_eq!(&table[118..134], &HASHES_KERNEL.0);
        assert_eq!(table[136..168], sha256(b"k"));
        assert_eq!(&table[168..], &[0; 8]);
    }

    /// CPUID Fn0000_0001_EAX of the reference parts, as AMD's revision guides publish them
    /// (QEMU models stepping 0 of Genoa and Rome).
    #[test]
    fn vcpu_signatures_are_amd_cpuid_values() {
        assert_eq!(vcpu_signature("EPYC").unwrap(), 0x0080_0f12);
        assert_eq!(vcpu_signature("EPYC-Rome").unwrap(), 0x0083_0f10);
        assert_eq!(vcpu_signature("EPYC-Milan").unwrap(), 0x00a0_0f11);
        assert_eq!(vcpu_signature("EPYC-Genoa").unwrap(), 0x00a1_0f10);
        assert_eq!(vcpu_signature("EPYC-Turin").unwrap(), 0x00b0_0f00);
    }

    #[test]
    fn the_vmsa_fields_sit_at_the_apm_offsets() {
        let ap = Vmsa {
            reset_address: AP_RESET,
            signature: 0x00a0_0f11,
            guest_features: 0x21,
            vmm: VmmType::Qemu,
        }
        .page();
        let u64_at = |at: usize| u64::from_le_bytes(ap[at..at + 8].try_into().unwrap());
        assert_eq!(u64_at(0x18), 0x0080_0000, "CS base");
        assert_eq!(
            &ap[0x10..0x14],
            &[0x00, 0xf0, 0x9b, 0x00],
            "CS selector, attributes"
        );
        assert_eq!(u64_at(0x178), 0xb004, "RIP");
        assert_eq!(u64_at(0x310), 0x00a0_0f11, "RDX");
        assert_eq!(u64_at(0x3b0), 0x21, "SEV_FEATURES");
        assert_eq!(u64_at(0x268), 0x0007_0406_0007_0406, "G_PAT");
        let ec2 = Vmsa {
            reset_address: BSP_RESET_ADDRESS,
            signature: 0x00a0_0f11,
            guest_features: 1,
            vmm: VmmType::Ec2,
        }
        .page();
        assert_eq!(&ec2[0x310..0x318], &0x600u64.to_le_bytes(), "EC2 RDX");
        assert_eq!(ec2[0x12], 0x9a, "EC2 boot CS not accessed");
        assert_eq!(&ec2[0x408..0x40c], &[0; 4], "EC2 MXCSR");
    }

    fn refusal(launch: &Launch<'_>) -> MeasureError {
        launch_digest(launch).unwrap_err()
    }

    #[test]
    fn firmware_that_cannot_be_measured_is_refused() {
        // No OVMF table at all.
        assert!(matches!(
            refusal(&launch(&[0u8; IMAGE_LEN], None)),
            MeasureError::NoOvmfTable { .. }
        ));
        // A table without SEV metadata.
        let plain = image_with_table(
            IMAGE_LEN,
            &[(SEV_ES_RESET_BLOCK, &AP_RESET.to_le_bytes()[..])],
        );
        assert!(matches!(
            refusal(&launch(&plain, None)),
            MeasureError::NoSevMetadata
        ));
        // Not whole pages, or nothing.
        let mut short = synthetic();
        short.remove(0);
        assert!(matches!(
            refusal(&launch(&short, None)),
            MeasureError::BadFirmwareSize { len } if len == IMAGE_LEN - 1
        ));
        assert!(matches!(
            refusal(&launch(&[], None)),
            MeasureError::BadFirmwareSize { len: 0 }
        ));
        // No SEV-ES reset block, or a zero address in it.
        for reset in [None, Some(0)] {
            let image = firmware(&SECTIONS, Some(HASH_TABLE), reset);
            assert!(matches!(
                refusal(&launch(&image, None)),
                MeasureError::NoSevEsResetBlock
            ));
        }
    }

    #[test]
    fn a_kernel_the_firmware_cannot_measure_is_refused() {
        let hashes = kernel();
        let cases: [(Vec<u8>, &str); 5] = [
            // No SNP_KERNEL_HASHES section (Debian's OVMF.fd).
            (
                firmware(&SECTIONS[..4], Some(HASH_TABLE), Some(AP_RESET)),
                "SNP_KERNEL_HASHES",
            ),
            // No SEV hashes table entry.
            (firmware(&SECTIONS, None, Some(AP_RESET)), "7255371f"),
            // The entry's address is 0 (Debian's OVMF.fd again).
            (
                firmware(&SECTIONS, Some((0, 0)), Some(AP_RESET)),
                "address is 0",
            ),
            // The table would run past its page.
            (
                firmware(&SECTIONS, Some((0x0080_ffc0, 0x400)), Some(AP_RESET)),
                "does not fit",
            ),
            // The firmware's area is smaller than the table.
            (
                firmware(&SECTIONS, Some((0x0080_fc00, 0x20)), Some(AP_RESET)),
                "smaller",
            ),
        ];
        for (image, reason) in cases {
            let refused = refusal(&launch(&image, Some(&hashes)));
            assert!(
                matches!(refused, MeasureError::NoKernelHashesTable(_)),
                "{refused:?}"
            );
            assert!(refused.to_string().contains(reason), "{refused}");
            // Without a kernel the same image measures (the section, if any, as zero pages).
            launch_digest(&launch(&image, None)).unwrap();
        }
    }

    #[test]
    fn impossible_launch_parameters_are_refused() {
        let image = synthetic();
        assert!(matches!(
            refusal(&Launch {
                vcpus: 0,
                ..launch(&image, None)
            }),
            MeasureError::NoVcpus
        ));
        let unknown = refusal(&Launch {
            vcpu_type: "epyc-milan",
            ..launch(&image, None)
        });
        assert!(
            matches!(&unknown, MeasureError::UnknownVcpuType { name, .. } if name == "epyc-milan"),
            "{unknown:?}"
        );
        assert!(unknown.to_string().contains("EPYC-Milan"), "{unknown}");
        assert!(matches!(
            refusal(&Launch {
                guest_features: 0x20,
                ..launch(&image, None)
            }),
            MeasureError::GuestFeaturesNotSnp(0x20)
        ));
    }

    #[test]
    fn malformed_sev_metadata_is_refused_not_panicked_on() {
        let header = |image: &mut Vec<u8>, at: usize, value: &[u8]| {
            image[METADATA_AT + at..METADATA_AT + at + value.len()].copy_from_slice(value);
        };
        let mut cases: Vec<Vec<u8>> = Vec::new();
        let mut bad = synthetic();
        header(&mut bad, 0, b"ASEW");
        cases.push(bad);
        let mut bad = synthetic();
        header(&mut bad, 8, &2u32.to_le_bytes()); // version
        cases.push(bad);
        let mut bad = synthetic();
        header(&mut bad, 12, &u32::MAX.to_le_bytes()); // count beyond the size
        cases.push(bad);
        let mut bad = synthetic();
        header(&mut bad, 4, &u32::MAX.to_le_bytes()); // size beyond the image
        cases.push(bad);
        for section in [
            (0x0080_0000, 0x9000, 7), // unknown type
            (0x0080_0800, 0x1000, 1), // unaligned address
            (0x0080_0000, 0x0800, 1), // part of a page
            (0x0080_0000, 0, 1),      // empty
            (0x0080_9000, 0x2000, 2), // two secrets pages
            (0xffff_f000, 0x2000, 1), // past 4 GiB
        ] {
            cases.push(firmware(&[section], Some(HASH_TABLE), Some(AP_RESET)));
        }
        // The metadata offset points before the image, or so near its end that the header
        // is cut short.
        for offset in [IMAGE_LEN as u32 + 1, 4] {
            let entry = offset.to_le_bytes();
            let reset = AP_RESET.to_le_bytes();
            cases.push(image_with_table(
                IMAGE_LEN,
                &[(SEV_METADATA, &entry[..]), (SEV_ES_RESET_BLOCK, &reset[..])],
            ));
        }
        for image in cases {
            let refused = refusal(&launch(&image, None));
            assert!(
                matches!(
                    refused,
                    MeasureError::BadSevMetadata(_) | MeasureError::Truncated(_)
                ),
                "{refused:?}"
            );
        }
    }
}
