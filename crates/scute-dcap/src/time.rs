//! Instants as Unix seconds, and the RFC 3339 text that collateral and output use.

use crate::error::{DcapError, Item};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Seconds since the Unix epoch, UTC.
pub type UnixTime = i64;

pub(crate) fn parse_rfc3339(text: &str, item: Item) -> Result<UnixTime, DcapError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|e| DcapError::CollateralDecode {
            item,
            reason: format!("date {text:?}: {e}"),
        })
}

/// RFC 3339 (UTC, `Z`) text of an instant.
pub fn format_rfc3339(t: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// When an item of collateral or a certificate is valid: both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub item: Item,
    pub not_before: UnixTime,
    pub not_after: UnixTime,
}

impl Validity {
    pub(crate) fn check(&self, now: UnixTime) -> Result<(), DcapError> {
        if now < self.not_before {
            return Err(DcapError::NotYetValid {
                item: self.item,
                not_before: format_rfc3339(self.not_before),
            });
        }
        if now > self.not_after {
            return Err(DcapError::Expired {
                item: self.item,
                not_after: format_rfc3339(self.not_after),
            });
        }
        Ok(())
    }
}
