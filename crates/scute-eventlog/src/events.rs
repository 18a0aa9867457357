//! Event types by name, and payloads decoded where the format is public: UEFI variables, image
//! loads (file paths of their device paths), firmware blobs, handoff tables, IPL strings (grub's
//! kernel command line), tagged events (CoCo attestation-agent AAEL), separators, actions.

use crate::log::Event;
use crate::reader::{utf16_units, Reader};

pub fn type_name(event_type: u32) -> &'static str {
    match event_type {
        0x0 => "EV_PREBOOT_CERT",
        0x1 => "EV_POST_CODE",
        0x3 => "EV_NO_ACTION",
        0x4 => "EV_SEPARATOR",
        0x5 => "EV_ACTION",
        0x6 => "EV_EVENT_TAG",
        0x7 => "EV_S_CRTM_CONTENTS",
        0x8 => "EV_S_CRTM_VERSION",
        0x9 => "EV_CPU_MICROCODE",
        0xA => "EV_PLATFORM_CONFIG_FLAGS",
        0xB => "EV_TABLE_OF_DEVICES",
        0xC => "EV_COMPACT_HASH",
        0xD => "EV_IPL",
        0xE => "EV_IPL_PARTITION_DATA",
        0xF => "EV_NONHOST_CODE",
        0x10 => "EV_NONHOST_CONFIG",
        0x11 => "EV_NONHOST_INFO",
        0x12 => "EV_OMIT_BOOT_DEVICE_EVENTS",
        0x8000_0001 => "EV_EFI_VARIABLE_DRIVER_CONFIG",
        0x8000_0002 => "EV_EFI_VARIABLE_BOOT",
        0x8000_0003 => "EV_EFI_BOOT_SERVICES_APPLICATION",
        0x8000_0004 => "EV_EFI_BOOT_SERVICES_DRIVER",
        0x8000_0005 => "EV_EFI_RUNTIME_SERVICES_DRIVER",
        0x8000_0006 => "EV_EFI_GPT_EVENT",
        0x8000_0007 => "EV_EFI_ACTION",
        0x8000_0008 => "EV_EFI_PLATFORM_FIRMWARE_BLOB",
        0x8000_0009 => "EV_EFI_HANDOFF_TABLES",
        0x8000_000A => "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        0x8000_000B => "EV_EFI_HANDOFF_TABLES2",
        0x8000_000C => "EV_EFI_VARIABLE_BOOT2",
        0x8000_00E0 => "EV_EFI_VARIABLE_AUTHORITY",
        _ => "EV_UNKNOWN",
    }
}

/// What an event's data says, when its format is public and the bytes follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// UEFI_VARIABLE_DATA.
    Variable {
        guid: String,
        name: String,
        data_len: usize,
    },
    /// UEFI_IMAGE_LOAD_EVENT: load address and length, and the file path nodes of the device path.
    ImageLoad {
        address: u64,
        length: u64,
        path: Option<String>,
    },
    /// UEFI_PLATFORM_FIRMWARE_BLOB2.
    FirmwareBlob {
        description: String,
        base: u64,
        length: u64,
    },
    /// UEFI_HANDOFF_TABLE_POINTERS2.
    HandoffTables {
        description: String,
        tables: u64,
    },
    /// A tagged event; `text` for the attestation-agent event log ("AAEL"): domain, operation, content.
    Tagged {
        id: u32,
        text: Option<String>,
    },
    Separator {
        value: u32,
    },
    /// Printable text: EV_IPL (grub commands, kernel command line), actions, td-shim tags.
    Text(String),
}

/// The tag reads "AAEL" as a big-endian word; on the wire (little-endian) the bytes are "LEAA".
pub(crate) const AAEL: u32 = u32::from_be_bytes(*b"AAEL");

/// Prefixes grub writes before the strings it measures into EV_IPL: upstream grub ("grub_cmd: ",
/// "kernel_cmdline: ") and the RHEL/Anolis patches ("grub_cmd ", "grub_kernel_cmdline "). The
/// digest covers only the string after the prefix, up to its NUL.
const GRUB_PREFIXES: [&str; 4] = [
    "grub_cmd: ",
    "kernel_cmdline: ",
    "grub_cmd ",
    "grub_kernel_cmdline ",
];

/// A grub-measured EV_IPL string: its prefix and the bytes grub hashed (up to the first NUL;
/// Anolis grub leaves unmeasured bytes after it).
pub(crate) fn grub_string(data: &[u8]) -> Option<(&'static str, &[u8])> {
    let prefix = GRUB_PREFIXES
        .into_iter()
        .find(|p| data.starts_with(p.as_bytes()))?;
    let rest = data.get(prefix.len()..)?;
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    Some((prefix, rest.get(..end)?))
}

fn utf16le(bytes: &[u8]) -> String {
    String::from_utf16_lossy(&utf16_units(bytes))
        .trim_end_matches('\0')
        .to_string()
}

fn guid(b: &[u8; 16]) -> String {
    let [a0, a1, a2, a3, b0, b1, c0, c1, d0, d1, node @ ..] = *b;
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{}",
        u32::from_le_bytes([a0, a1, a2, a3]),
        u16::from_le_bytes([b0, b1]),
        u16::from_le_bytes([c0, c1]),
        d0,
        d1,
        node.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// Text when the bytes are printable UTF-8, or UTF-16LE (systemd-stub measures its section
/// names that way), after trailing NULs are removed.
fn printable(bytes: &[u8]) -> Option<String> {
    let readable =
        |t: &str| !t.is_empty() && t.chars().all(|c| !c.is_control() || c == '\n' || c == '\t');
    if let Ok(text) = std::str::from_utf8(bytes) {
        let text = text.trim_end_matches('\0');
        if readable(text) {
            return Some(text.to_string());
        }
    }
    let looks_utf16 = bytes.len() >= 4 && bytes.len().is_multiple_of(2) && bytes.get(1) == Some(&0);
    let text = looks_utf16.then(|| utf16le(bytes))?;
    readable(&text).then_some(text)
}

/// File path nodes (type 4, subtype 4) of a UEFI device path, joined.
fn file_path(mut dp: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while let [kind, subtype, len0, len1, ..] = *dp {
        let len = usize::from(u16::from_le_bytes([len0, len1]));
        if len < 4 || len > dp.len() {
            break;
        }
        if kind == 0x04 && subtype == 0x04 {
            parts.push(utf16le(dp.get(4..len)?));
        }
        if kind == 0x7f {
            break;
        }
        dp = dp.get(len..)?;
    }
    (!parts.is_empty()).then(|| parts.join(""))
}

fn decode(event: &Event) -> Option<Detail> {
    let data = event.data.as_slice();
    let mut r = Reader::new(data);
    Some(match event.event_type {
        0x8000_0001 | 0x8000_0002 | 0x8000_000C | 0x8000_00E0 => {
            let g = r.array::<16>("guid").ok()?;
            let name_len = r.u64("name_len").ok()? as usize;
            let data_len = r.u64("data_len").ok()? as usize;
            let name = utf16le(r.take(name_len.checked_mul(2)?, "name").ok()?);
            Detail::Variable {
                guid: guid(&g),
                name,
                data_len,
            }
        }
        0x8000_0003..=0x8000_0005 => {
            let address = r.u64("address").ok()?;
            let length = r.u64("length").ok()?;
            let _link_time = r.u64("link_time").ok()?;
            let dp_len = r.u64("device_path_len").ok()? as usize;
            let path = file_path(r.take(dp_len, "device_path").ok()?);
            Detail::ImageLoad {
                address,
                length,
                path,
            }
        }
        0x8000_000A => {
            let n = r.u8("description_size").ok()? as usize;
            let description = String::from_utf8_lossy(r.take(n, "description").ok()?)
                .trim_end_matches('\0')
                .to_string();
            Detail::FirmwareBlob {
                description,
                base: r.u64("base").ok()?,
                length: r.u64("length").ok()?,
            }
        }
        0x8000_000B => {
            let n = r.u8("description_size").ok()? as usize;
            let description = String::from_utf8_lossy(r.take(n, "description").ok()?)
                .trim_end_matches('\0')
                .to_string();
            Detail::HandoffTables {
                description,
                tables: r.u64("tables").ok()?,
            }
        }
        0x6 => {
            let id = r.u32("tagged_event_id").ok()?;
            let size = r.u32("tagged_event_size").ok()? as usize;
            let body = r.take(size, "tagged_event_data").ok()?;
            Detail::Tagged {
                id,
                text: if id == AAEL { printable(body) } else { None },
            }
        }
        0x4 => Detail::Separator {
            value: r.u32("separator").ok()?,
        },
        // Only what grub hashed is shown, so nothing after the NUL can ride on its digest.
        0xD if grub_string(data).is_some() => {
            let (prefix, measured) = grub_string(data)?;
            let text = std::str::from_utf8(measured).ok()?;
            Detail::Text(format!("{prefix}{text}"))
        }
        _ => Detail::Text(printable(data)?),
    })
}

impl Event {
    pub fn type_name(&self) -> &'static str {
        type_name(self.event_type)
    }

    /// The decoded payload; `None` when the format is unknown or the bytes do not follow it.
    pub fn detail(&self) -> Option<Detail> {
        decode(self)
    }
}
