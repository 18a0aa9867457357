//! Whether an event's data is what its digest measured. Per event type the TCG PC Client
//! Platform Firmware Profile (and the grub, systemd-stub, td-shim and CoCo AAEL conventions) says
//! which bytes were hashed; where those bytes are in the log the digest is recomputed from them.

use crate::events::{grub_string, Detail, AAEL};
use crate::log::{Event, EventLog, EV_NO_ACTION, EV_SEPARATOR};
use crate::reader::{utf16_units, Reader};
use crate::replay::Flavor;
use crate::EventLogError;

/// What the digest proves about the decoded data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataCheck {
    /// The digest is the hash of the bytes the decoded detail is read from.
    Verified,
    /// The digest measures something outside the log (an image, a firmware volume, ACPI tables,
    /// a variable's data without its name); the decoded detail is unproven.
    NotCovered,
    /// The type says the digest is over data in the log, and that data hashes to something else.
    Mismatch,
}

/// An event whose data does not hash to its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMismatch {
    /// Position in the log (as [`Event::number`]).
    pub event: usize,
    /// Register name as the replay names it (`rtmr2`, `cc_mr3`).
    pub register: String,
    pub event_type: u32,
}

impl std::fmt::Display for DataMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event {} ({}, {})",
            self.event,
            self.register,
            crate::type_name(self.event_type)
        )
    }
}

/// A measured event (never EV_NO_ACTION) of a log whose checked data all matched; only
/// [`EventLog::measured_events`] makes these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredEvent<'a> {
    pub event: &'a Event,
    pub detail: Option<Detail>,
    /// True only when the digest proves `detail`.
    pub data_verified: bool,
}

const EV_ACTION: u32 = 0x5;
const EV_EVENT_TAG: u32 = 0x6;
const EV_S_CRTM_VERSION: u32 = 0x8;
const EV_PLATFORM_CONFIG_FLAGS: u32 = 0xA;
const EV_COMPACT_HASH: u32 = 0xC;
const EV_IPL: u32 = 0xD;
const EV_OMIT_BOOT_DEVICE_EVENTS: u32 = 0x12;
const EV_EFI_VARIABLE_DRIVER_CONFIG: u32 = 0x8000_0001;
const EV_EFI_VARIABLE_BOOT: u32 = 0x8000_0002;
const EV_EFI_GPT_EVENT: u32 = 0x8000_0006;
const EV_EFI_ACTION: u32 = 0x8000_0007;
const EV_EFI_VARIABLE_BOOT2: u32 = 0x8000_000C;
const EV_EFI_VARIABLE_AUTHORITY: u32 = 0x8000_00E0;

/// td-shim's TD_SHIM_PLATFORM_CONFIG_INFO: a 16-byte descriptor and a u32 length before the
/// measured bytes (the HOB list, the payload info with its command line).
const TD_SHIM_CONFIG_HEADER: usize = 20;

fn td_shim_config(data: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(data);
    r.take(TD_SHIM_CONFIG_HEADER - 4, "descriptor").ok()?;
    let len = usize::try_from(r.u32("length").ok()?).ok()?;
    let info = r.rest();
    (info.len() == len).then_some(info)
}

/// UEFI_VARIABLE_DATA's VariableData: after the GUID, two u64 lengths and the UTF-16 name.
fn variable_data(data: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(data);
    r.take(16, "guid").ok()?;
    let name_len = usize::try_from(r.u64("name_len").ok()?).ok()?;
    let data_len = usize::try_from(r.u64("data_len").ok()?).ok()?;
    r.take(name_len.checked_mul(2)?, "name").ok()?;
    r.take(data_len, "data").ok()
}

impl Event {
    /// Recomputes the digest from the event's data where its type defines it so. Only the
    /// replay algorithm's digest is checked: it is the one the quote's registers bind.
    pub fn check_data(&self, flavor: Flavor) -> Result<DataCheck, EventLogError> {
        let digest = self
            .digest(flavor.alg())
            .ok_or(EventLogError::MissingDigest { event: self.number })?;
        let hashes_to = |bytes: &[u8]| flavor.hash(&[bytes]).as_slice() == digest;
        let checked = |ok: bool| {
            if ok {
                DataCheck::Verified
            } else {
                DataCheck::Mismatch
            }
        };
        let data = self.data.as_slice();
        Ok(match self.event_type {
            EV_NO_ACTION => DataCheck::NotCovered,
            // PFP §10.4.1: the digest is over the event data itself.
            EV_SEPARATOR
            | EV_ACTION
            | EV_EFI_ACTION
            | EV_EFI_GPT_EVENT
            | EV_S_CRTM_VERSION
            | EV_COMPACT_HASH
            | EV_OMIT_BOOT_DEVICE_EVENTS
            | EV_EFI_VARIABLE_DRIVER_CONFIG
            | EV_EFI_VARIABLE_AUTHORITY
            | EV_EFI_VARIABLE_BOOT2 => checked(hashes_to(data)),
            // The profile says the whole UEFI_VARIABLE_DATA; EDK2 hashes only the VariableData of
            // BootOrder/Boot####, which leaves the name shown unproven.
            EV_EFI_VARIABLE_BOOT => {
                if hashes_to(data) {
                    DataCheck::Verified
                } else if variable_data(data).is_some_and(hashes_to) {
                    DataCheck::NotCovered
                } else {
                    DataCheck::Mismatch
                }
            }
            // The AAEL digest covers the whole tagged event; other tags (OVMF's load options and
            // initrd) measure what the tag only names.
            EV_EVENT_TAG if data.get(..4) == Some(AAEL.to_le_bytes().as_slice()) => {
                checked(hashes_to(data))
            }
            EV_PLATFORM_CONFIG_FLAGS => match td_shim_config(data) {
                Some(info) => checked(hashes_to(info)),
                // OVMF's "ACPI DATA" and QEMU fw_cfg names: the tables themselves are measured.
                None => DataCheck::NotCovered,
            },
            EV_IPL => match grub_string(data) {
                // grub hashes the string after its prefix, with or without its NUL by version.
                Some((_, measured)) => checked(
                    hashes_to(measured) || flavor.hash(&[measured, &[0]]).as_slice() == digest,
                ),
                None if hashes_to(data) || systemd_stub_section_name(data, digest, flavor) => {
                    DataCheck::Verified
                }
                // File paths (grub), MokList names (shim), PE section contents (systemd-stub):
                // the digest is of the file or section the text names.
                None => DataCheck::NotCovered,
            },
            _ => DataCheck::NotCovered,
        })
    }
}

/// systemd-stub logs each PE section twice under its UTF-16 name: first the name itself,
/// measured as ASCII with its NUL, then the section's contents.
fn systemd_stub_section_name(data: &[u8], digest: &[u8], flavor: Flavor) -> bool {
    let units = utf16_units(data);
    let Some((&0, name)) = units.split_last() else {
        return false;
    };
    if !data.len().is_multiple_of(2) || name.is_empty() || name.iter().any(|&u| u == 0 || u > 0x7f)
    {
        return false;
    }
    let mut ascii: Vec<u8> = name.iter().map(|&u| u as u8).collect();
    ascii.push(0);
    flavor.hash(&[&ascii]).as_slice() == digest
}

impl EventLog {
    /// Every measured event whose checked data does not hash to its digest.
    pub fn data_mismatches(&self) -> Result<Vec<DataMismatch>, EventLogError> {
        let flavor = self.flavor()?;
        let mut out = Vec::new();
        for event in self.events.iter().filter(|e| e.event_type != EV_NO_ACTION) {
            if event.check_data(flavor)? == DataCheck::Mismatch {
                out.push(DataMismatch {
                    event: event.number,
                    register: flavor
                        .register_name(event.index)
                        .unwrap_or_else(|| format!("index {}", event.index)),
                    event_type: event.event_type,
                });
            }
        }
        Ok(out)
    }

    /// The measured events with their decoded data and whether the digest proves it; EV_NO_ACTION
    /// events are left out (nothing measured them). Fails closed on any data mismatch.
    pub fn measured_events(&self) -> Result<Vec<MeasuredEvent<'_>>, EventLogError> {
        let mismatches = self.data_mismatches()?;
        if !mismatches.is_empty() {
            return Err(EventLogError::EventDataMismatch(mismatches));
        }
        let flavor = self.flavor()?;
        self.events
            .iter()
            .filter(|e| e.event_type != EV_NO_ACTION)
            .map(|event| {
                Ok(MeasuredEvent {
                    event,
                    detail: event.detail(),
                    data_verified: event.check_data(flavor)? == DataCheck::Verified,
                })
            })
            .collect()
    }
}
