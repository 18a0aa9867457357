//! Logs are read with the workspace's one bounded reader (`scute_codec::Reader`); this file maps
//! its failure onto the log's own error variant, which names the field and the offset.

use crate::EventLogError;
pub(crate) use scute_codec::Reader;
use scute_codec::Truncated;

impl From<Truncated> for EventLogError {
    fn from(e: Truncated) -> Self {
        EventLogError::Truncated {
            field: e.field,
            offset: e.offset,
        }
    }
}

/// The little-endian UTF-16 code units of `bytes`; an odd last byte is not a unit.
pub(crate) fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    let mut r = Reader::new(bytes);
    let mut units = Vec::with_capacity(bytes.len() / 2);
    while let Ok(unit) = r.u16("UTF-16 code unit") {
        units.push(unit);
    }
    units
}
