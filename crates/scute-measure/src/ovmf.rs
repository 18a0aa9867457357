//! The GUIDed table at the end of an OVMF (and TDVF) firmware image. OVMF's reset vector
//! (`OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm`) ends the image with a table of entries, each
//! `data ‖ u16 length ‖ GUID`, read backwards from a footer entry whose GUID is
//! [`FOOTER`] and which sits 32 bytes before the end of the image (the last 32 bytes are the
//! reset vector itself). The footer's length covers the whole table. The SEV metadata, the SEV
//! hashes table, the SEV-ES reset block and the TDX metadata offset are all found through it.
//! (The same layout is read by virtee/sev-snp-measure `sevsnpmeasure/ovmf.py` and QEMU's
//! `hw/i386/pc_sysfw_ovmf.c`.)

use crate::MeasureError;

/// A GUID as firmware stores it: the first three fields little-endian (`bytes_le` in Python's
/// `uuid`, `EFI_GUID` in EDK II).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// From its text form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), in a `const` so that the
    /// well-known GUIDs below read as they are published. Panics at compile time on a typo.
    pub const fn parse(text: &str) -> Self {
        let text = text.as_bytes();
        assert!(text.len() == 36, "a GUID is 36 characters");
        // Byte i of the big-endian form starts at this text offset.
        const STARTS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        // Where byte i of the big-endian form goes in the stored (mixed-endian) form.
        const STORED: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
        let mut out = [0u8; 16];
        let mut i = 0;
        while i < 16 {
            let high = hex_digit(text[STARTS[i]]);
            let low = hex_digit(text[STARTS[i] + 1]);
            out[STORED[i]] = (high << 4) | low;
            i += 1;
        }
        Guid(out)
    }
}

// A typo in a GUID constant stops the build (a `const` evaluation), never a run.
#[allow(clippy::panic)]
const fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not a hex digit"),
    }
}

impl std::fmt::Debug for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9]
        )?;
        for byte in &b[10..] {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// The footer entry that closes the table.
pub const FOOTER: Guid = Guid::parse("96b582de-1fb2-45f7-baea-a366c55a082d");
/// The SEV metadata (`ASEV` sections: where the firmware wants pages validated, the secrets
/// and CPUID pages, the kernel hashes page).
pub const SEV_METADATA: Guid = Guid::parse("dc886566-984a-4798-a75e-5585a7bf67cc");
/// The SEV hashes table's guest-physical address (firmware built with kernel-hashes support).
pub const SEV_HASH_TABLE: Guid = Guid::parse("7255371f-3a3b-4b04-927b-1da6efa8d454");
/// The SEV-ES reset block: the AP reset vector address the VMSAs of the other vCPUs start at.
pub const SEV_ES_RESET_BLOCK: Guid = Guid::parse("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
/// The TDX metadata offset (TDVF's `TDX_METADATA_OFFSET_GUID`).
pub const TDX_METADATA_OFFSET: Guid = Guid::parse("e47a6535-984a-4798-865e-4685a7bf8ec2");

/// One entry of the table: its GUID and its data (without the length and GUID that follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub guid: Guid,
    pub data: &'a [u8],
}

/// Bytes after the footer entry: the reset vector's last 32 bytes.
const RESET_VECTOR_TAIL: usize = 32;
/// An entry's trailer: u16 length and a GUID.
const ENTRY_HEADER: usize = 2 + 16;

/// The entries of an image's OVMF table, in table order (first entry first). An image without
/// the footer GUID is refused with [`MeasureError::NoOvmfTable`]; one whose lengths do not
/// fit, with [`MeasureError::BadOvmfTable`].
pub fn footer_table(image: &[u8]) -> Result<Vec<Entry<'_>>, MeasureError> {
    let footer_end = image
        .len()
        .checked_sub(RESET_VECTOR_TAIL)
        .filter(|end| *end >= ENTRY_HEADER)
        .ok_or(MeasureError::NoOvmfTable { len: image.len() })?;
    let footer = &image[footer_end - ENTRY_HEADER..footer_end];
    if footer[2..] != FOOTER.0 {
        return Err(MeasureError::NoOvmfTable { len: image.len() });
    }
    let table_len = usize::from(u16::from_le_bytes([footer[0], footer[1]]))
        .checked_sub(ENTRY_HEADER)
        .ok_or(MeasureError::BadOvmfTable(
            "the footer's length is shorter than the footer",
        ))?;
    let table_start =
        (footer_end - ENTRY_HEADER)
            .checked_sub(table_len)
            .ok_or(MeasureError::BadOvmfTable(
                "the footer's length runs past the image's start",
            ))?;
    let mut rest = &image[table_start..footer_end - ENTRY_HEADER];
    let mut entries = Vec::new();
    while !rest.is_empty() {
        if rest.len() < ENTRY_HEADER {
            return Err(MeasureError::BadOvmfTable(
                "bytes left that are not an entry",
            ));
        }
        let trailer = &rest[rest.len() - ENTRY_HEADER..];
        let len = usize::from(u16::from_le_bytes([trailer[0], trailer[1]]));
        if len < ENTRY_HEADER {
            return Err(MeasureError::BadOvmfTable(
                "an entry's length is shorter than its header",
            ));
        }
        if len > rest.len() {
            return Err(MeasureError::BadOvmfTable(
                "an entry's length runs past the table",
            ));
        }
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&trailer[2..]);
        entries.push(Entry {
            guid: Guid(guid),
            data: &rest[rest.len() - len..rest.len() - ENTRY_HEADER],
        });
        rest = &rest[..rest.len() - len];
    }
    entries.reverse();
    Ok(entries)
}

/// The data of the entry with `guid`, if the table has one.
pub fn entry<'a>(entries: &[Entry<'a>], guid: Guid) -> Option<&'a [u8]> {
    entries.iter().find(|e| e.guid == guid).map(|e| e.data)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An image of `len` bytes ending in a table with `entries` (first entry first).
    pub(crate) fn image_with_table(len: usize, entries: &[(Guid, &[u8])]) -> Vec<u8> {
        let mut table = Vec::new();
        for (guid, data) in entries {
            table.extend_from_slice(data);
            table.extend_from_slice(
                &u16::try_from(data.len() + ENTRY_HEADER)
                    .unwrap()
                    .to_le_bytes(),
            );
            table.extend_from_slice(&guid.0);
        }
        let footer_len = u16::try_from(table.len() + ENTRY_HEADER).unwrap();
        table.extend_from_slice(&footer_len.to_le_bytes());
        table.extend_from_slice(&FOOTER.0);
        let mut image = vec![0u8; len];
        let end = len - RESET_VECTOR_TAIL;
        image[end - table.len()..end].copy_from_slice(&table);
        image
    }

    #[test]
    fn guid_text_round_trips_in_the_firmware_byte_order() {
        // EFI stores 96b582de-1fb2-45f7-... as de 82 b5 96 b2 1f f7 45 ...
        assert_eq!(
            &FOOTER.0[..8],
            &[0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45]
        );
        assert_eq!(FOOTER.to_string(), "96b582de-1fb2-45f7-baea-a366c55a082d");
    }

    #[test]
    fn entries_are_read_back_in_table_order() {
        let image = image_with_table(
            4096,
            &[
                (SEV_HASH_TABLE, &[1, 2, 3, 4][..]),
                (SEV_METADATA, &[9, 9, 0, 0][..]),
            ],
        );
        let entries = footer_table(&image).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].guid, SEV_HASH_TABLE);
        assert_eq!(entry(&entries, SEV_METADATA), Some(&[9u8, 9, 0, 0][..]));
        assert_eq!(entry(&entries, TDX_METADATA_OFFSET), None);
    }

    #[test]
    fn an_image_without_the_footer_is_refused() {
        assert!(matches!(
            footer_table(&[0u8; 4096]),
            Err(MeasureError::NoOvmfTable { len: 4096 })
        ));
        assert!(matches!(
            footer_table(&[0u8; 10]),
            Err(MeasureError::NoOvmfTable { .. })
        ));
    }

    #[test]
    fn lengths_that_do_not_fit_are_refused_not_panicked_on() {
        let mut image = image_with_table(4096, &[(SEV_METADATA, &[1, 2, 3, 4][..])]);
        let footer_len_at = 4096 - RESET_VECTOR_TAIL - ENTRY_HEADER;
        for bad in [0u16, 5, 0xffff] {
            image[footer_len_at..footer_len_at + 2].copy_from_slice(&bad.to_le_bytes());
            assert!(matches!(
                footer_table(&image),
                Err(MeasureError::BadOvmfTable(_))
            ));
        }
        // The footer is right but the entry claims more than the table holds.
        let mut image = image_with_table(4096, &[(SEV_METADATA, &[1, 2, 3, 4][..])]);
        let entry_len_at = footer_len_at - ENTRY_HEADER;
        image[entry_len_at..entry_len_at + 2].copy_from_slice(&100u16.to_le_bytes());
        assert!(matches!(
            footer_table(&image),
            Err(MeasureError::BadOvmfTable(_))
        ));
    }
}
