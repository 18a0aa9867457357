//! The ACPI `CCEL` table (56 bytes): where the firmware put the event log, and for which TEE.

use crate::reader::Reader;
use crate::EventLogError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcelTable {
    pub revision: u8,
    pub oem_id: String,
    pub oem_table_id: String,
    /// 1 = SEV, 2 = TDX.
    pub cc_type: u8,
    pub cc_subtype: u8,
    /// Log area minimum length.
    pub log_area_length: u64,
    /// Log area start address (guest physical).
    pub log_area_address: u64,
}

impl CcelTable {
    pub const LEN: usize = 56;

    pub fn decode(bytes: &[u8]) -> Result<Self, EventLogError> {
        let bad = |s: &str| EventLogError::BadAcpiTable(s.to_string());
        if bytes.len() != Self::LEN {
            return Err(bad(&format!(
                "{} bytes, expected {}",
                bytes.len(),
                Self::LEN
            )));
        }
        let mut r = Reader::new(bytes);
        if r.take(4, "signature")? != b"CCEL" {
            return Err(bad("signature is not CCEL"));
        }
        let length = r.u32("length")?;
        if length as usize != Self::LEN {
            return Err(bad(&format!("header length {length}")));
        }
        if bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) != 0 {
            return Err(bad("checksum does not sum to zero"));
        }
        let revision = r.u8("revision")?;
        let _checksum = r.u8("checksum")?;
        let oem_id = String::from_utf8_lossy(r.take(6, "oem_id")?)
            .trim()
            .to_string();
        let oem_table_id = String::from_utf8_lossy(r.take(8, "oem_table_id")?)
            .trim()
            .to_string();
        let _oem_revision = r.u32("oem_revision")?;
        let _creator = r.take(8, "creator")?;
        Ok(Self {
            revision,
            oem_id,
            oem_table_id,
            cc_type: r.u8("cc_type")?,
            cc_subtype: r.u8("cc_subtype")?,
            log_area_length: {
                let _reserved = r.u16("reserved")?;
                r.u64("laml")?
            },
            log_area_address: r.u64("lasa")?,
        })
    }
}
