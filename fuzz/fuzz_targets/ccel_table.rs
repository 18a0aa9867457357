//! The ACPI CCEL table decoder on arbitrary bytes: never panics, accepts exactly the 56-byte
//! tables with signature "CCEL", header length 56 and a zero byte sum, and reads each field
//! from its offset in the ACPI layout (header 0..36, CC type 36, subtype 37, LAML 40, LASA 48).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_eventlog::CcelTable;
use scute_fuzz::{cases, read, seed};

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

fuzz_target!(
    init: {
        seed(
            cases(|n| read(n, "ccel_acpi_table.bin").is_some())
                .into_iter()
                .filter_map(|c| Some((c.clone(), read(&c, "ccel_acpi_table.bin")?))),
        );
    },
    |data: &[u8]| {
        let well_formed = data.len() == CcelTable::LEN
            && data.starts_with(b"CCEL")
            && data[4..8] == 56u32.to_le_bytes()
            && data.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0;
        match CcelTable::decode(data) {
            Ok(table) => {
                assert!(well_formed, "accepted a table that is not a CCEL table");
                assert_eq!(table.revision, data[8]);
                assert_eq!(table.cc_type, data[36]);
                assert_eq!(table.cc_subtype, data[37]);
                assert_eq!(table.log_area_length, le_u64(data, 40));
                assert_eq!(table.log_area_address, le_u64(data, 48));
                assert_eq!(table.oem_id, String::from_utf8_lossy(&data[10..16]).trim());
                assert_eq!(table.oem_table_id, String::from_utf8_lossy(&data[16..24]).trim());
            }
            Err(_) => assert!(!well_formed, "rejected a well-formed CCEL table"),
        }
    }
);
