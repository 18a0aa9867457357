//! The TDVF metadata parser on arbitrary firmware bytes: never panics; what it accepts has every
//! section's image bytes inside the image, no two sections sharing guest memory, page-aligned
//! ranges, and at most `MAX_ADDED_MEMORY` to add; MRTD of an accepted image computes in both
//! page-add orders, and the orders agree exactly when no section is measured.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_measure::tdx::tdvf::{self, PageAddOrder, MAX_ADDED_MEMORY};

/// A small TDVF image (8 KiB): a measured BFV of 0x400 image bytes over one page, a TD HOB
/// page, the descriptor at 0x1000 and an OVMF table pointing at it.
fn synthetic() -> Vec<u8> {
    let len = 0x2000usize;
    let mut image = vec![0u8; len];
    for (i, b) in image[0x400..0x800].iter_mut().enumerate() {
        *b = i as u8;
    }
    let mut d = b"TDVF".to_vec();
    d.extend_from_slice(&80u32.to_le_bytes());
    d.extend_from_slice(&1u32.to_le_bytes());
    d.extend_from_slice(&2u32.to_le_bytes());
    for (offset, raw, gpa, size, kind, attrs) in [
        (0x400u32, 0x400u32, 0xffff_f000u64, 0x1000u64, 0u32, 1u32),
        (0, 0, 0x80_0000, 0x1000, 2, 0),
    ] {
        d.extend_from_slice(&offset.to_le_bytes());
        d.extend_from_slice(&raw.to_le_bytes());
        d.extend_from_slice(&gpa.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        d.extend_from_slice(&kind.to_le_bytes());
        d.extend_from_slice(&attrs.to_le_bytes());
    }
    image[0x1000..0x1000 + d.len()].copy_from_slice(&d);
    // OVMF table: the TDX metadata entry (offset from the end), then the footer.
    let mut table = ((len - 0x1000) as u32).to_le_bytes().to_vec();
    table.extend_from_slice(&22u16.to_le_bytes());
    table.extend_from_slice(&scute_measure::ovmf::TDX_METADATA_OFFSET.0);
    table.extend_from_slice(&((table.len() + 18) as u16).to_le_bytes());
    table.extend_from_slice(&scute_measure::ovmf::FOOTER.0);
    let end = len - 32;
    image[end - table.len()..end].copy_from_slice(&table);
    image
}

fn seed_dir() {
    scute_fuzz::seed([("tdvf-synthetic".to_owned(), synthetic())]);
}

fuzz_target!(
    init: {
        assert!(tdvf::parse(&synthetic()).is_ok(), "the seed must parse");
        seed_dir();
    },
    |data: &[u8]| {
        let Ok(metadata) = tdvf::parse(data) else {
            return;
        };
        let mut ranges = Vec::new();
        let mut added = 0u64;
        for s in &metadata.sections {
            let end = u64::from(s.data_offset) + u64::from(s.raw_data_size);
            assert!(end <= data.len() as u64, "section bytes outside the image");
            assert!(u64::from(s.raw_data_size) <= s.memory_data_size);
            assert_eq!(s.memory_address % 4096, 0);
            assert_eq!(s.memory_data_size % 4096, 0);
            if !s.page_aug() {
                added += s.memory_data_size;
            }
            ranges.push((s.memory_address, s.memory_address + s.memory_data_size));
        }
        assert!(added <= MAX_ADDED_MEMORY);
        ranges.sort_unstable();
        for pair in ranges.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "overlapping sections accepted");
        }
        // Hashing up to 1 GiB per input is too slow for a smoke run; the bound is the parser's.
        if added <= 64 << 20 {
            let one = tdvf::mrtd(data, &metadata, PageAddOrder::PageByPage);
            let two = tdvf::mrtd(data, &metadata, PageAddOrder::AllPagesThenExtend);
            let measured_pages: u64 = metadata
                .sections
                .iter()
                .filter(|s| s.measured())
                .map(|s| s.memory_data_size / 4096)
                .sum();
            let single_page_sections = metadata
                .sections
                .iter()
                .all(|s| !s.measured() || s.memory_data_size == 4096);
            // With no measured page, or only one-page measured sections, both orders issue
            // the same calls in the same sequence.
            if measured_pages == 0 || single_page_sections {
                assert_eq!(one, two);
            } else {
                assert_ne!(one, two);
            }
        }
    }
);
