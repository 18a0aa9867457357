//! The one error type of event-log decoding and replay; each variant says where in the log.

use crate::DataMismatch;
use thiserror::Error;

fn list(mismatches: &[DataMismatch]) -> String {
    let named: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
    named.join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EventLogError {
    #[error("event log truncated in {field} at offset {offset}")]
    Truncated { field: &'static str, offset: usize },
    #[error("the first event is not a TCG Spec ID Event03 header: {0}")]
    BadHeader(String),
    #[error("event at offset {offset} uses algorithm {alg:#06x}, which the header does not list")]
    UnknownAlgorithm { alg: u16, offset: usize },
    #[error(
        "event at offset {offset} claims {count} digests; the header lists {listed} algorithms"
    )]
    DigestCount {
        count: u32,
        listed: usize,
        offset: usize,
    },
    #[error("event at offset {offset} claims {size} bytes of data, more than the log holds")]
    EventTooLarge { size: u32, offset: usize },
    #[error("bytes after the last event at offset {offset} are not padding")]
    TrailingData { offset: usize },
    #[error("the log ends in {len} bytes of {byte:#04x} padding, and padding is not allowed")]
    PaddingNotAllowed { byte: u8, len: usize },
    #[error("the log has no {0} digests to replay")]
    NoReplayAlgorithm(&'static str),
    #[error("event {event} extends measurement register index {index}, which does not exist")]
    IndexOutOfRange { event: usize, index: u32 },
    #[error("event {event} has no digest for the replay algorithm")]
    MissingDigest { event: usize },
    #[error("event data does not hash to its digest: {}", list(.0))]
    EventDataMismatch(Vec<DataMismatch>),
    #[error("IMA log line {line}: {reason}")]
    BadImaLine { line: usize, reason: String },
    #[error("not a CCEL ACPI table: {0}")]
    BadAcpiTable(String),
}
