//! Building blocks of the typed claims each TEE crate serialises (`scute_dcap::ReportClaims`,
//! `scute_snp::ReportClaims`, `scute_csv::ReportClaims`): bytes written as lowercase hex, the
//! form every Scute claim, token and `scute verify --json` report has always used.

use serde::{Serialize, Serializer};

/// Bytes that serialise as a lowercase hex string (`[0xab, 0x01]` → `"ab01"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hex<T>(pub T);

impl<T: AsRef<[u8]>> Serialize for Hex<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChipSerial;

    #[test]
    fn bytes_are_lowercase_hex_strings() {
        assert_eq!(
            serde_json::to_string(&Hex([0xABu8, 0x01, 0x00])).unwrap(),
            r#""ab0100""#
        );
        assert_eq!(
            serde_json::to_string(&Hex(Vec::<u8>::new())).unwrap(),
            r#""""#
        );
    }

    /// An unproven serial can never be written under the trusted name, whatever object it is
    /// flattened into.
    #[test]
    fn a_chip_serial_is_named_by_its_proof() {
        #[derive(Serialize)]
        struct Claims {
            tee: &'static str,
            #[serde(flatten)]
            serial: ChipSerial,
        }
        let verified = Claims {
            tee: "csv",
            serial: ChipSerial::Verified("NS1".into()),
        };
        let claimed = Claims {
            tee: "csv",
            serial: ChipSerial::Claimed("NS1".into()),
        };
        assert_eq!(
            serde_json::to_string(&verified).unwrap(),
            r#"{"tee":"csv","chip_serial":"NS1"}"#
        );
        assert_eq!(
            serde_json::to_string(&claimed).unwrap(),
            r#"{"tee":"csv","claimed_chip_serial":"NS1"}"#
        );
    }
}
