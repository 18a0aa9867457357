//! The TCG PC Client crypto-agile log: a SHA-1-format header event carrying `Spec ID Event03`
//! (which algorithms, which digest sizes), then TCG_PCR_EVENT2 records, then the padding that
//! fills the rest of the CCEL area (0xFF from OVMF, 0x00 from td-shim).

use crate::reader::Reader;
use crate::EventLogError;

pub const EV_NO_ACTION: u32 = 0x3;
pub const EV_SEPARATOR: u32 = 0x4;

pub const ALG_SHA1: u16 = 0x0004;
pub const ALG_SHA256: u16 = 0x000B;
pub const ALG_SHA384: u16 = 0x000C;
pub const ALG_SHA512: u16 = 0x000D;
pub const ALG_SM3_256: u16 = 0x0012;

const SPEC_ID_SIGNATURE: &[u8; 16] = b"Spec ID Event03\0";
/// More algorithms than this in one log is not a real log.
const MAX_ALGORITHMS: u32 = 16;

/// The `TCG_EfiSpecIdEvent` of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecId {
    pub header_index: u32,
    pub platform_class: u32,
    /// (major, minor, errata)
    pub spec_version: (u8, u8, u8),
    pub uintn_size: u8,
    /// (algorithm id, digest size), in the header's order.
    pub algorithms: Vec<(u16, u16)>,
    pub vendor_info: Vec<u8>,
}

impl SpecId {
    pub(crate) fn digest_size(&self, alg: u16) -> Option<usize> {
        self.algorithms
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, size)| *size as usize)
    }
}

/// One TCG_PCR_EVENT2 record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the log, counting from 0 after the header.
    pub number: usize,
    /// Byte offset of the record in the log.
    pub offset: usize,
    /// CC measurement register index (TDX: 1..=4 are RTMR0..3).
    pub index: u32,
    pub event_type: u32,
    pub digests: Vec<(u16, Vec<u8>)>,
    pub data: Vec<u8>,
}

impl Event {
    pub fn digest(&self, alg: u16) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, d)| d.as_slice())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept padding (all 0x00 or all 0xFF) after the last event. A CCEL area always has it;
    /// a log that was already cut to its events must not.
    pub allow_trailing_padding: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            allow_trailing_padding: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    pub spec: SpecId,
    pub events: Vec<Event>,
    /// Bytes up to the end of the last event.
    pub parsed_len: usize,
    /// The padding byte and its length, when padding follows the events.
    pub padding: Option<(u8, usize)>,
}

fn parse_header(r: &mut Reader<'_>) -> Result<SpecId, EventLogError> {
    let bad = |s: &str| EventLogError::BadHeader(s.to_string());
    let header_index = r.u32("header.index")?;
    let event_type = r.u32("header.type")?;
    if event_type != EV_NO_ACTION {
        return Err(bad("header event is not EV_NO_ACTION"));
    }
    let _sha1_digest = r.take(20, "header.digest")?;
    let size = r.u32("header.event_size")? as usize;
    let mut s = Reader::new(r.take(size, "header.event")?);
    if s.take(16, "spec_id.signature")? != SPEC_ID_SIGNATURE {
        return Err(bad("signature is not \"Spec ID Event03\""));
    }
    let platform_class = s.u32("spec_id.platform_class")?;
    let minor = s.u8("spec_id.version_minor")?;
    let major = s.u8("spec_id.version_major")?;
    let errata = s.u8("spec_id.errata")?;
    let uintn_size = s.u8("spec_id.uintn_size")?;
    let count = s.u32("spec_id.number_of_algorithms")?;
    if count == 0 || count > MAX_ALGORITHMS {
        return Err(bad(&format!("{count} algorithms")));
    }
    let mut algorithms = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let alg = s.u16("spec_id.algorithm_id")?;
        let size = s.u16("spec_id.digest_size")?;
        if size == 0 || size > 64 {
            return Err(bad(&format!(
                "algorithm {alg:#06x} with digest size {size}"
            )));
        }
        algorithms.push((alg, size));
    }
    let vendor_size = s.u8("spec_id.vendor_info_size")? as usize;
    let vendor_info = s.take(vendor_size, "spec_id.vendor_info")?.to_vec();
    Ok(SpecId {
        header_index,
        platform_class,
        spec_version: (major, minor, errata),
        uintn_size,
        algorithms,
        vendor_info,
    })
}

/// Where the events end: the rest is one repeated padding byte.
fn padding_at(rest: &[u8]) -> Option<u8> {
    let first = *rest.first()?;
    (first == 0x00 || first == 0xff)
        .then_some(first)
        .filter(|&b| rest.iter().all(|&x| x == b))
}

/// A record that starts like padding: index and type both 0xFFFFFFFF, or both zero.
fn looks_like_padding(rest: &[u8]) -> bool {
    rest.get(..8)
        .is_some_and(|h| h.iter().all(|&b| b == 0xff) || h.iter().all(|&b| b == 0))
}

pub fn parse(bytes: &[u8], options: ParseOptions) -> Result<EventLog, EventLogError> {
    let mut r = Reader::new(bytes);
    let spec = parse_header(&mut r)?;
    let mut events = Vec::new();
    let mut padding = None;
    while !r.rest().is_empty() {
        let rest = r.rest();
        if looks_like_padding(rest) || rest.len() < 8 {
            match padding_at(rest) {
                Some(byte) => padding = Some((byte, rest.len())),
                None => {
                    return Err(EventLogError::TrailingData {
                        offset: r.position(),
                    })
                }
            }
            break;
        }
        let offset = r.position();
        let index = r.u32("event.index")?;
        let event_type = r.u32("event.type")?;
        let count = r.u32("event.digest_count")?;
        if count == 0 || count as usize > spec.algorithms.len() {
            return Err(EventLogError::DigestCount {
                count,
                listed: spec.algorithms.len(),
                offset,
            });
        }
        let mut digests = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let alg = r.u16("event.digest.algorithm")?;
            let size = spec
                .digest_size(alg)
                .ok_or(EventLogError::UnknownAlgorithm { alg, offset })?;
            digests.push((alg, r.take(size, "event.digest")?.to_vec()));
        }
        let size = r.u32("event.size")?;
        if size as usize > r.rest().len() {
            return Err(EventLogError::EventTooLarge { size, offset });
        }
        let data = r.take(size as usize, "event.data")?.to_vec();
        events.push(Event {
            number: events.len(),
            offset,
            index,
            event_type,
            digests,
            data,
        });
    }
    let parsed_len = bytes.len() - padding.map_or(0, |(_, len)| len);
    if let Some((byte, len)) = padding {
        if !options.allow_trailing_padding {
            return Err(EventLogError::PaddingNotAllowed { byte, len });
        }
    }
    Ok(EventLog {
        spec,
        events,
        parsed_len,
        padding,
    })
}
