//! The TDVF metadata and the MRTD it fixes. A TDVF image (OVMF built for TDX) describes in a
//! `TDVF` descriptor (Intel TDX Virtual Firmware Design Guide, "TDVF Metadata") the sections the
//! VMM must place in the TD's private memory before it runs: each with its bytes in the image
//! (`DataOffset`, `RawDataSize`), its guest-physical place (`MemoryAddress`, `MemoryDataSize`),
//! a type, and attributes saying whether its contents are measured into MRTD (`MR.EXTEND`) or
//! its pages are accepted lazily (`PAGE.AUG`, not measured). The descriptor is found through the
//! OVMF table entry [`TDX_METADATA_OFFSET`](crate::ovmf::TDX_METADATA_OFFSET) (a u32 counted back
//! from the image's end), or in older TDVF through a u32 image offset at the image's end − 0x20.
//!
//! MRTD is one SHA-384 over what the TDX module hashes on each call (Intel TDX Module ABI,
//! TDH.MEM.PAGE.ADD and TDH.MR.EXTEND): per added page a 128-byte block `"MEM.PAGE.ADD"` ‖
//! GPA (u64 LE) ‖ zeros; per measured 256-byte chunk a 128-byte block `"MR.EXTEND"` ‖ GPA ‖ zeros
//! followed by the chunk. What differs between VMMs is the order: current KVM
//! (`tdx_gmem_post_populate`) adds and measures page by page; older QEMU/KVM stacks added all of
//! a section's pages and then measured them. Both are offered ([`PageAddOrder`]); the same rules
//! are implemented by Dstack-TEE/dstack `dstack-mr/src/tdvf.rs` (both orders) and flashbots'
//! mosaik `src/tee/tdx/builder/mrtd.rs` (the two-pass order only).

use super::Register;
use crate::ovmf::{entry, footer_table, TDX_METADATA_OFFSET};
use crate::MeasureError;
use aws_lc_rs::digest::{Context, SHA384};
use scute_codec::Reader;

const PAGE: u64 = 4096;
const CHUNK: usize = 256;
const DESCRIPTOR_HEADER: usize = 16;
const SECTION_LEN: usize = 32;
/// The most private memory Scute will add for one image (sum of the non-PAGE.AUG sections).
/// Real TDVF layouts add a few MiB; MRTD's cost grows with this, so a descriptor claiming more is
/// refused as not a firmware layout rather than hashed for minutes.
pub const MAX_ADDED_MEMORY: u64 = 1 << 30;
/// Where older TDVF images keep the descriptor's image offset: 0x20 bytes before the end.
const LEGACY_POINTER_FROM_END: usize = 0x20;

/// `Attributes` bit 0: the VMM extends MRTD with the section's contents.
pub const ATTRIBUTE_MR_EXTEND: u32 = 1;
/// `Attributes` bit 1: the pages are added later with TDH.MEM.PAGE.AUG (not measured).
pub const ATTRIBUTE_PAGE_AUG: u32 = 2;

/// A section's `Type`, as the TDVF design guide numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionType {
    /// Boot firmware volume: the code, measured into MRTD.
    Bfv,
    /// Configuration firmware volume: the UEFI variables, measured by TDVF into RTMR0.
    Cfv,
    /// Where the VMM writes the TD HOB.
    TdHob,
    /// Temporary memory TDVF uses before it accepts memory.
    TempMem,
    /// Permanent memory (TD-Shim style firmware).
    PermMem,
    /// A payload image (TD-Shim).
    Payload,
    /// A payload's parameters (TD-Shim).
    PayloadParam,
}

impl SectionType {
    fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            0 => Self::Bfv,
            1 => Self::Cfv,
            2 => Self::TdHob,
            3 => Self::TempMem,
            4 => Self::PermMem,
            5 => Self::Payload,
            6 => Self::PayloadParam,
            _ => return None,
        })
    }
}

/// One TDVF section, checked against the image it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub data_offset: u32,
    pub raw_data_size: u32,
    pub memory_address: u64,
    pub memory_data_size: u64,
    pub section_type: SectionType,
    pub attributes: u32,
}

impl Section {
    pub fn measured(&self) -> bool {
        self.attributes & ATTRIBUTE_MR_EXTEND != 0
    }

    pub fn page_aug(&self) -> bool {
        self.attributes & ATTRIBUTE_PAGE_AUG != 0
    }
}

/// Where the descriptor was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    /// Through the OVMF table's TDX metadata entry.
    OvmfTable,
    /// Through the legacy pointer at the image's end − 0x20.
    LegacyPointer,
}

/// The TDVF metadata of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub located: Located,
    /// Image offset of the `TDVF` descriptor.
    pub descriptor_offset: usize,
    pub sections: Vec<Section>,
}

/// The order in which the VMM adds and measures each section's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PageAddOrder {
    /// TDH.MEM.PAGE.ADD then TDH.MR.EXTEND of that page, page by page (current KVM).
    #[default]
    PageByPage,
    /// All of a section's TDH.MEM.PAGE.ADDs, then its TDH.MR.EXTENDs (older QEMU/KVM stacks).
    AllPagesThenExtend,
}

fn bad(reason: impl Into<String>) -> MeasureError {
    MeasureError::BadTdxMetadata(reason.into())
}

/// Finds and checks the TDVF metadata of `image`. An image without a descriptor is refused
/// with [`MeasureError::NoTdxMetadata`]; one whose descriptor or sections the TDX module or
/// QEMU would not accept (misaligned, overlapping, outside the image, unknown type or
/// attribute bits), with [`MeasureError::BadTdxMetadata`].
pub fn parse(image: &[u8]) -> Result<Metadata, MeasureError> {
    let (located, descriptor_offset) = locate(image)?;
    let mut reader = Reader::new(&image[descriptor_offset..]);
    let signature = reader.array::<4>("TDVF signature")?;
    if &signature != b"TDVF" {
        return Err(bad("the descriptor's signature is not \"TDVF\""));
    }
    let length = reader.u32("TDVF descriptor length")?;
    let version = reader.u32("TDVF descriptor version")?;
    let count = reader.u32("TDVF section count")?;
    if version != 1 {
        return Err(bad(format!(
            "descriptor version {version}, only version 1 is defined"
        )));
    }
    if count == 0 {
        return Err(bad("the descriptor lists no sections"));
    }
    let expected_length = u64::from(count) * SECTION_LEN as u64 + DESCRIPTOR_HEADER as u64;
    if u64::from(length) != expected_length {
        return Err(bad(format!(
            "the descriptor's length is {length}, {count} sections need {expected_length}"
        )));
    }
    let mut sections = Vec::new();
    for index in 0..count {
        let section = read_section(&mut reader, index, image.len())?;
        sections.push(section);
    }
    check_no_overlap(&sections)?;
    let added: u64 = sections
        .iter()
        .filter(|s| !s.page_aug())
        .map(|s| s.memory_data_size)
        .fold(0u64, u64::saturating_add);
    if added > MAX_ADDED_MEMORY {
        return Err(bad(format!(
            "the sections add {added:#x} bytes of memory, more than the {MAX_ADDED_MEMORY:#x} a firmware layout needs"
        )));
    }
    if !sections.iter().any(|s| s.section_type == SectionType::Bfv) {
        return Err(bad("no boot firmware volume (BFV) section"));
    }
    Ok(Metadata {
        located,
        descriptor_offset,
        sections,
    })
}

/// The descriptor's image offset: through the OVMF table when the image has one with a TDX
/// entry, else through the legacy pointer.
fn locate(image: &[u8]) -> Result<(Located, usize), MeasureError> {
    let from_table = match footer_table(image) {
        Ok(entries) => entry(&entries, TDX_METADATA_OFFSET),
        Err(MeasureError::NoOvmfTable { .. }) => None,
        Err(other) => return Err(other),
    };
    if let Some(data) = from_table {
        let from_end = Reader::new(data).u32("TDX metadata offset")? as usize;
        let offset = image
            .len()
            .checked_sub(from_end)
            .filter(|_| from_end != 0)
            .ok_or_else(|| {
                bad(format!(
                    "the OVMF table puts the descriptor {from_end} bytes before the end of a {}-byte image",
                    image.len()
                ))
            })?;
        return Ok((Located::OvmfTable, offset));
    }
    // Older TDVF: a u32 image offset 0x20 bytes before the end. Only a `TDVF` signature there
    // counts: in images without TDX support these bytes are reset-vector code.
    let legacy = image
        .len()
        .checked_sub(LEGACY_POINTER_FROM_END)
        .and_then(|at| image.get(at..at + 4))
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    match legacy {
        Some(offset) if image.get(offset..offset.saturating_add(4)) == Some(b"TDVF") => {
            Ok((Located::LegacyPointer, offset))
        }
        _ => Err(MeasureError::NoTdxMetadata),
    }
}

fn read_section(
    reader: &mut Reader<'_>,
    index: u32,
    image_len: usize,
) -> Result<Section, MeasureError> {
    let data_offset = reader.u32("TDVF section DataOffset")?;
    let raw_data_size = reader.u32("TDVF section RawDataSize")?;
    let memory_address = reader.u64("TDVF section MemoryAddress")?;
    let memory_data_size = reader.u64("TDVF section MemoryDataSize")?;
    let raw_type = reader.u32("TDVF section Type")?;
    let attributes = reader.u32("TDVF section Attributes")?;
    let at = |what: String| bad(format!("section {index}: {what}"));
    let section_type =
        SectionType::from_raw(raw_type).ok_or_else(|| at(format!("unknown type {raw_type}")))?;
    if attributes & !(ATTRIBUTE_MR_EXTEND | ATTRIBUTE_PAGE_AUG) != 0 {
        return Err(at(format!("reserved attribute bits set ({attributes:#x})")));
    }
    if attributes & ATTRIBUTE_MR_EXTEND != 0 && attributes & ATTRIBUTE_PAGE_AUG != 0 {
        return Err(at(
            "both MR.EXTEND and PAGE.AUG (a lazily added page cannot be measured)".into(),
        ));
    }
    if memory_address % PAGE != 0 || memory_data_size % PAGE != 0 {
        return Err(at(format!(
            "memory {memory_address:#x}+{memory_data_size:#x} is not 4 KiB aligned"
        )));
    }
    if memory_data_size == 0 {
        return Err(at("MemoryDataSize is 0".into()));
    }
    if memory_address.checked_add(memory_data_size).is_none() {
        return Err(at("memory range overflows the address space".into()));
    }
    if u64::from(raw_data_size) > memory_data_size {
        return Err(at(format!(
            "RawDataSize {raw_data_size:#x} exceeds MemoryDataSize {memory_data_size:#x}"
        )));
    }
    if matches!(section_type, SectionType::TdHob | SectionType::TempMem) && raw_data_size != 0 {
        return Err(at(
            "a TD HOB or temporary-memory section carries image data".into(),
        ));
    }
    let raw_end = u64::from(data_offset) + u64::from(raw_data_size);
    if raw_end > image_len as u64 {
        return Err(at(format!(
            "image data {data_offset:#x}+{raw_data_size:#x} runs past the {image_len:#x}-byte image"
        )));
    }
    Ok(Section {
        data_offset,
        raw_data_size,
        memory_address,
        memory_data_size,
        section_type,
        attributes,
    })
}

/// Two sections at one guest-physical page would be added twice, which the TDX module refuses.
fn check_no_overlap(sections: &[Section]) -> Result<(), MeasureError> {
    let mut ranges: Vec<(u64, u64, usize)> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| (s.memory_address, s.memory_address + s.memory_data_size, i))
        .collect();
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        let ((_, end, first), (start, _, second)) = (pair[0], pair[1]);
        if start < end {
            return Err(bad(format!(
                "sections {first} and {second} overlap in guest memory at {start:#x}"
            )));
        }
    }
    Ok(())
}

/// MRTD after the VMM has added (and where asked, measured) every section of `metadata` from
/// `image`, in `order`. The section's memory holds its image bytes, zero-filled to
/// `MemoryDataSize` (QEMU copies `RawDataSize` bytes into zeroed memory).
pub fn mrtd(image: &[u8], metadata: &Metadata, order: PageAddOrder) -> Register {
    let mut hash = Context::new(&SHA384);
    for section in metadata.sections.iter().filter(|s| !s.page_aug()) {
        let start = section.data_offset as usize;
        let raw = &image[start..start + section.raw_data_size as usize];
        let pages = section.memory_data_size / PAGE;
        match order {
            PageAddOrder::PageByPage => {
                for page in 0..pages {
                    page_add(&mut hash, section, page);
                    if section.measured() {
                        mr_extend_page(&mut hash, section, raw, page);
                    }
                }
            }
            PageAddOrder::AllPagesThenExtend => {
                for page in 0..pages {
                    page_add(&mut hash, section, page);
                }
                if section.measured() {
                    for page in 0..pages {
                        mr_extend_page(&mut hash, section, raw, page);
                    }
                }
            }
        }
    }
    super::to_register(hash.finish().as_ref())
}

/// The 128-byte block the TDX module hashes for a call: its name, then the GPA, then zeros.
fn call_block(name: &[u8], gpa: u64) -> [u8; 128] {
    let mut block = [0u8; 128];
    block[..name.len()].copy_from_slice(name);
    block[16..24].copy_from_slice(&gpa.to_le_bytes());
    block
}

fn page_add(hash: &mut Context, section: &Section, page: u64) {
    let gpa = section.memory_address + page * PAGE;
    hash.update(&call_block(b"MEM.PAGE.ADD", gpa));
}

fn mr_extend_page(hash: &mut Context, section: &Section, raw: &[u8], page: u64) {
    let page_gpa = section.memory_address + page * PAGE;
    let mut contents = [0u8; PAGE as usize];
    // `page * PAGE` < MemoryDataSize, and raw.len() <= MemoryDataSize: no overflow past usize
    // for anything that passed `parse` (raw bytes lie inside an in-memory image).
    let from = usize::try_from(page * PAGE).unwrap_or(usize::MAX);
    if let Some(bytes) = raw.get(from..) {
        let n = bytes.len().min(contents.len());
        contents[..n].copy_from_slice(&bytes[..n]);
    }
    for (i, chunk) in contents.chunks_exact(CHUNK).enumerate() {
        hash.update(&call_block(b"MR.EXTEND", page_gpa + (i * CHUNK) as u64));
        hash.update(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ovmf::Guid;

    const IMAGE_LEN: usize = 0x4000;

    /// A section descriptor in the on-image layout.
    fn section_bytes(
        data_offset: u32,
        raw: u32,
        gpa: u64,
        size: u64,
        kind: u32,
        attrs: u32,
    ) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&data_offset.to_le_bytes());
        b.extend_from_slice(&raw.to_le_bytes());
        b.extend_from_slice(&gpa.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&attrs.to_le_bytes());
        b
    }

    /// A 16 KiB image: a BFV of 0x1000 image bytes at 0x1000 placed at GPA 0xffffe000 over two
    /// pages (measured), a TD HOB page at 0x800000 (added, not measured); the descriptor at
    /// 0x3000 and an OVMF table pointing at it.
    fn synthetic(sections: &[Vec<u8>]) -> Vec<u8> {
        let mut descriptor = b"TDVF".to_vec();
        let len = u32::try_from(16 + 32 * sections.len()).unwrap();
        descriptor.extend_from_slice(&len.to_le_bytes());
        descriptor.extend_from_slice(&1u32.to_le_bytes());
        descriptor.extend_from_slice(&u32::try_from(sections.len()).unwrap().to_le_bytes());
        for s in sections {
            descriptor.extend_from_slice(s);
        }
        let from_end = u32::try_from(IMAGE_LEN - 0x3000).unwrap();
        let mut image = table_image(&[(TDX_METADATA_OFFSET, &from_end.to_le_bytes())]);
        image[0x3000..0x3000 + descriptor.len()].copy_from_slice(&descriptor);
        for (i, byte) in image[0x1000..0x2000].iter_mut().enumerate() {
            *byte = (i % 251) as u8;
        }
        image
    }

    fn table_image(entries: &[(Guid, &[u8])]) -> Vec<u8> {
        let mut table = Vec::new();
        for (guid, data) in entries {
            table.extend_from_slice(data);
            table.extend_from_slice(&u16::try_from(data.len() + 18).unwrap().to_le_bytes());
            table.extend_from_slice(&guid.0);
        }
        table.extend_from_slice(&u16::try_from(table.len() + 18).unwrap().to_le_bytes());
        table.extend_from_slice(&crate::ovmf::FOOTER.0);
        let mut image = vec![0u8; IMAGE_LEN];
        let end = IMAGE_LEN - 32;
        image[end - table.len()..end].copy_from_slice(&table);
        image
    }

    fn default_sections() -> Vec<Vec<u8>> {
        vec![
            section_bytes(0x1000, 0x1000, 0xffff_e000, 0x2000, 0, ATTRIBUTE_MR_EXTEND),
            section_bytes(0, 0, 0x80_0000, 0x1000, 2, 0),
        ]
    }

    fn sha384(parts: &[&[u8]]) -> Register {
        let whole: Vec<u8> = parts.concat();
        super::super::sha384(&whole)
    }

    /// The spec's blocks written out by hand: name at 0, GPA (LE) at 16, zeros to 128.
    fn block(name: &str, gpa: u64) -> Vec<u8> {
        let mut b = name.as_bytes().to_vec();
        b.resize(16, 0);
        b.extend_from_slice(&gpa.to_le_bytes());
        b.resize(128, 0);
        b
    }

    /// The MR.EXTEND stream for one page: 16 × (block ‖ 256 bytes).
    fn extends(gpa: u64, contents: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..16u64 {
            out.extend(block("MR.EXTEND", gpa + i * 256));
            out.extend_from_slice(&contents[(i * 256) as usize..((i + 1) * 256) as usize]);
        }
        out
    }

    #[test]
    fn mrtd_of_a_synthetic_image_follows_the_module_abi_step_by_step() {
        let image = synthetic(&default_sections());
        let metadata = parse(&image).unwrap();
        assert_eq!(metadata.located, Located::OvmfTable);
        assert_eq!(metadata.sections.len(), 2);
        let first_page = image[0x1000..0x2000].to_vec();
        let zero_page = vec![0u8; 4096]; // beyond RawDataSize: zero-filled memory
        let add0 = block("MEM.PAGE.ADD", 0xffff_e000);
        let add1 = block("MEM.PAGE.ADD", 0xffff_f000);
        let hob = block("MEM.PAGE.ADD", 0x80_0000);
        let ext0 = extends(0xffff_e000, &first_page);
        let ext1 = extends(0xffff_f000, &zero_page);

        let page_by_page = sha384(&[&add0, &ext0, &add1, &ext1, &hob]);
        assert_eq!(
            mrtd(&image, &metadata, PageAddOrder::PageByPage),
            page_by_page
        );
        let two_pass = sha384(&[&add0, &add1, &ext0, &ext1, &hob]);
        assert_eq!(
            mrtd(&image, &metadata, PageAddOrder::AllPagesThenExtend),
            two_pass
        );
        assert_ne!(page_by_page, two_pass);
    }

    #[test]
    fn one_changed_byte_of_measured_code_changes_mrtd_and_unmeasured_bytes_do_not() {
        let image = synthetic(&default_sections());
        let metadata = parse(&image).unwrap();
        let before = mrtd(&image, &metadata, PageAddOrder::PageByPage);
        let mut patched = image.clone();
        patched[0x1800] ^= 1;
        assert_ne!(mrtd(&patched, &metadata, PageAddOrder::PageByPage), before);
        let mut elsewhere = image.clone();
        elsewhere[0x2100] ^= 1; // not in any section
        assert_eq!(
            mrtd(&elsewhere, &metadata, PageAddOrder::PageByPage),
            before
        );
    }

    #[test]
    fn page_aug_sections_are_neither_added_nor_measured() {
        let mut sections = default_sections();
        sections.push(section_bytes(
            0,
            0,
            0x90_0000,
            0x1000,
            3,
            ATTRIBUTE_PAGE_AUG,
        ));
        let with_aug = synthetic(&sections);
        let without = synthetic(&default_sections());
        assert_eq!(
            mrtd(
                &with_aug,
                &parse(&with_aug).unwrap(),
                PageAddOrder::PageByPage
            ),
            mrtd(
                &without,
                &parse(&without).unwrap(),
                PageAddOrder::PageByPage
            )
        );
    }

    #[test]
    fn an_image_without_tdx_metadata_is_refused() {
        assert!(matches!(
            parse(&vec![0u8; IMAGE_LEN]),
            Err(MeasureError::NoTdxMetadata)
        ));
        // An OVMF table without the TDX entry (an SEV-only build).
        let sev_only = table_image(&[(crate::ovmf::SEV_METADATA, &[0, 0, 0, 0][..])]);
        assert!(matches!(parse(&sev_only), Err(MeasureError::NoTdxMetadata)));
        assert!(matches!(parse(&[]), Err(MeasureError::NoTdxMetadata)));
    }

    #[test]
    fn the_legacy_pointer_is_followed_when_there_is_no_table() {
        let mut image = synthetic(&default_sections());
        let table_start = IMAGE_LEN - 0x200;
        image[table_start..].fill(0);
        image[IMAGE_LEN - 0x20..IMAGE_LEN - 0x1c].copy_from_slice(&0x3000u32.to_le_bytes());
        let metadata = parse(&image).unwrap();
        assert_eq!(metadata.located, Located::LegacyPointer);
        assert_eq!(metadata.descriptor_offset, 0x3000);
    }

    #[test]
    fn a_broken_table_entry_does_not_fall_back_to_a_legacy_pointer() {
        // The table's entry is what QEMU follows; a second descriptor behind the legacy pointer
        // must not be measured instead of refusing the broken one.
        let mut image = synthetic(&default_sections());
        image[0x3000] = b'X'; // the table's descriptor loses its signature
        image.copy_within(0x3000..0x3000 + 16 + 64, 0x2400);
        image[0x2400] = b'T';
        image[IMAGE_LEN - 0x20..IMAGE_LEN - 0x1c].copy_from_slice(&0x2400u32.to_le_bytes());
        assert!(matches!(
            parse(&image),
            Err(MeasureError::BadTdxMetadata(_))
        ));
    }

    fn refused(sections: Vec<Vec<u8>>) -> String {
        match parse(&synthetic(&sections)) {
            Err(MeasureError::BadTdxMetadata(reason)) => reason,
            other => panic!("expected BadTdxMetadata, got {other:?}"),
        }
    }

    #[test]
    fn malformed_sections_are_refused_with_a_reason() {
        let bfv = || section_bytes(0x1000, 0x1000, 0xffff_e000, 0x2000, 0, 1);
        // Overlapping guest memory.
        let reason = refused(vec![bfv(), section_bytes(0, 0, 0xffff_f000, 0x1000, 3, 0)]);
        assert!(reason.contains("overlap"), "{reason}");
        // Image data past the image's end.
        let reason = refused(vec![section_bytes(0x3800, 0x1000, 0, 0x1000, 0, 1)]);
        assert!(reason.contains("runs past"), "{reason}");
        let reason = refused(vec![section_bytes(
            u32::MAX,
            u32::MAX,
            0,
            0x1_0000_0000,
            0,
            1,
        )]);
        assert!(reason.contains("runs past"), "{reason}");
        // Misaligned, empty, raw larger than memory, unknown type, reserved bits, AUG+EXTEND.
        for (section, word) in [
            (
                section_bytes(0x1000, 0x1000, 0xffff_e800, 0x2000, 0, 1),
                "aligned",
            ),
            (
                section_bytes(0x1000, 0x1000, 0xffff_e000, 0x1800, 0, 1),
                "aligned",
            ),
            (section_bytes(0, 0, 0xffff_e000, 0, 0, 1), "is 0"),
            (
                section_bytes(0x1000, 0x2000, 0xffff_e000, 0x1000, 0, 1),
                "exceeds",
            ),
            (
                section_bytes(0x1000, 0x1000, 0xffff_e000, 0x2000, 9, 1),
                "unknown type",
            ),
            (
                section_bytes(0x1000, 0x1000, 0xffff_e000, 0x2000, 0, 4),
                "reserved",
            ),
            (
                section_bytes(0x1000, 0x1000, 0xffff_e000, 0x2000, 0, 3),
                "PAGE.AUG",
            ),
            (
                section_bytes(0x1000, 0x1000, 0x80_0000, 0x1000, 2, 0),
                "carries image data",
            ),
            (
                section_bytes(0, 0, u64::MAX - 0xfff, 0x2000, 3, 0),
                "overflows",
            ),
        ] {
            let reason = refused(vec![bfv(), section]);
            assert!(reason.contains(word), "{word}: {reason}");
        }
        // More memory than any firmware layout adds.
        let reason = refused(vec![bfv(), section_bytes(0, 0, 0, 0x4000_0000, 3, 0)]);
        assert!(reason.contains("more than"), "{reason}");
        // No BFV at all.
        let reason = refused(vec![section_bytes(0, 0, 0x80_0000, 0x1000, 2, 0)]);
        assert!(reason.contains("BFV"), "{reason}");
    }

    #[test]
    fn a_malformed_descriptor_is_refused() {
        let good = synthetic(&default_sections());
        let mut wrong_version = good.clone();
        wrong_version[0x3008] = 2;
        let mut wrong_length = good.clone();
        wrong_length[0x3004] = 0x51;
        let mut too_many = good.clone();
        too_many[0x300c..0x3010].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut none = good.clone();
        none[0x300c..0x3010].fill(0);
        none[0x3004..0x3008].copy_from_slice(&16u32.to_le_bytes());
        for image in [wrong_version, wrong_length, too_many, none] {
            assert!(matches!(
                parse(&image),
                Err(MeasureError::BadTdxMetadata(_))
            ));
        }
        // The table points past the image's start, or at the very end.
        for from_end in [u32::MAX, 0, 8] {
            let image = table_image(&[(TDX_METADATA_OFFSET, &from_end.to_le_bytes())]);
            assert!(matches!(
                parse(&image),
                Err(MeasureError::BadTdxMetadata(_) | MeasureError::Truncated(_))
            ));
        }
        // The TDX entry's data is shorter than its u32.
        let image = table_image(&[(TDX_METADATA_OFFSET, &[1, 2][..])]);
        assert!(matches!(parse(&image), Err(MeasureError::Truncated(_))));
        // A descriptor cut off by the image's end.
        let mut cut = good.clone();
        cut.truncate(0x3020);
        assert!(parse(&cut).is_err());
    }
}
