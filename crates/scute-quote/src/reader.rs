//! The quote is read with the workspace's one bounded reader (`scute_codec::Reader`); this file
//! maps its two failures onto the quote's own error variants.

use crate::QuoteError;
pub(crate) use scute_codec::Reader;
use scute_codec::{Trailing, Truncated};

impl From<Truncated> for QuoteError {
    fn from(e: Truncated) -> Self {
        QuoteError::Truncated {
            field: e.field,
            needed: e.needed,
            available: e.available,
        }
    }
}

/// A length-prefixed block whose content does not fill its declared size.
impl From<Trailing> for QuoteError {
    fn from(e: Trailing) -> Self {
        QuoteError::SizeMismatch {
            field: e.item,
            declared: e.len,
            used: e.used,
        }
    }
}
