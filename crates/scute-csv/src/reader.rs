//! CSV reports and certificates are read with the workspace's one bounded reader
//! (`scute_codec::Reader`); this file maps its two failures onto CSV's own error variants.

use crate::CsvError;
pub(crate) use scute_codec::Reader;
use scute_codec::{Trailing, Truncated};

impl From<Truncated> for CsvError {
    fn from(e: Truncated) -> Self {
        CsvError::Truncated {
            field: e.field,
            needed: e.needed,
            available: e.available,
        }
    }
}

/// For `Reader::finish(..).map_err(layout("832"))`: bytes past a layout of `expected` bytes.
pub(crate) fn layout(expected: &'static str) -> impl FnOnce(Trailing) -> CsvError {
    move |e| CsvError::Trailing {
        item: e.item,
        trailing: e.trailing,
        expected,
    }
}
