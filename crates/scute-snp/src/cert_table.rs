//! The extended-report certificate table (GHCB `SNP_GET_EXT_REPORT`, configfs-tsm `auxblob`):
//! entries `{guid[16], u32 offset, u32 length}` ended by an all-zero entry, offsets from the
//! table's start. Decoded by GUID into the certificates the verifier takes.

use crate::error::SnpError;

/// GUIDs in the byte order they are written in the table: the order the text reads
/// (RFC 4122), as go-sev-guest's `abi` writes and reads them.
/// 63da758d-e664-4564-adc5-f4b93be8accd
pub const VCEK_GUID: [u8; 16] = [
    0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
];
/// a8074bc2-a25a-483e-aae6-39c045a0b8a1
pub const VLEK_GUID: [u8; 16] = [
    0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1,
];
/// 4ab7b379-bbac-4fe4-a02f-05aef327c782
pub const ASK_GUID: [u8; 16] = [
    0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82,
];
/// c0b406a4-a803-4952-9743-3fb6014cd0ae
pub const ARK_GUID: [u8; 16] = [
    0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae,
];

/// The certificates of a table, by kind; unknown GUIDs are kept in `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertTable {
    pub vcek: Option<Vec<u8>>,
    pub vlek: Option<Vec<u8>>,
    pub ask: Option<Vec<u8>>,
    pub ark: Option<Vec<u8>>,
    pub other: Vec<([u8; 16], Vec<u8>)>,
}

/// Most entries a table may hold.
const MAX_ENTRIES: usize = 64;

impl CertTable {
    /// Decodes a table; an empty blob is an empty table (the host supplied no certificates).
    pub fn decode(blob: &[u8]) -> Result<Self, SnpError> {
        let bad = |reason: &str| SnpError::CertTable(reason.to_string());
        let mut table = Self::default();
        if blob.is_empty() {
            return Ok(table);
        }
        for index in 0..=MAX_ENTRIES {
            let at = index * 24;
            let entry = blob
                .get(at..at + 24)
                .ok_or_else(|| bad("no terminating entry"))?;
            let (guid, rest) = entry
                .split_first_chunk::<16>()
                .ok_or_else(|| bad("entry"))?;
            let (offset, rest) = rest.split_first_chunk::<4>().ok_or_else(|| bad("entry"))?;
            let (length, _) = rest.split_first_chunk::<4>().ok_or_else(|| bad("entry"))?;
            let (offset, length) = (
                u32::from_le_bytes(*offset) as usize,
                u32::from_le_bytes(*length) as usize,
            );
            if *guid == [0; 16] && offset == 0 && length == 0 {
                return Ok(table);
            }
            let data = offset
                .checked_add(length)
                .and_then(|end| blob.get(offset..end))
                .ok_or_else(|| bad("entry points outside the table"))?
                .to_vec();
            let slot = match *guid {
                VCEK_GUID => &mut table.vcek,
                VLEK_GUID => &mut table.vlek,
                ASK_GUID => &mut table.ask,
                ARK_GUID => &mut table.ark,
                _ => {
                    table.other.push((*guid, data));
                    continue;
                }
            };
            if slot.replace(data).is_some() {
                return Err(bad("repeated certificate kind"));
            }
        }
        Err(bad("too many entries"))
    }

    /// Encodes a table (the order: VCEK, VLEK, ASK, ARK, others).
    pub fn encode(&self) -> Vec<u8> {
        let mut entries: Vec<([u8; 16], &[u8])> = Vec::new();
        for (guid, cert) in [
            (VCEK_GUID, &self.vcek),
            (VLEK_GUID, &self.vlek),
            (ASK_GUID, &self.ask),
            (ARK_GUID, &self.ark),
        ] {
            if let Some(cert) = cert {
                entries.push((guid, cert));
            }
        }
        for (guid, cert) in &self.other {
            entries.push((*guid, cert));
        }
        let mut offset = (entries.len() + 1) * 24;
        let mut head = Vec::new();
        let mut body = Vec::new();
        for (guid, cert) in entries {
            head.extend_from_slice(&guid);
            head.extend_from_slice(&u32::try_from(offset).unwrap_or(u32::MAX).to_le_bytes());
            head.extend_from_slice(&u32::try_from(cert.len()).unwrap_or(u32::MAX).to_le_bytes());
            body.extend_from_slice(cert);
            offset += cert.len();
        }
        head.extend_from_slice(&[0; 24]);
        head.extend_from_slice(&body);
        head
    }
}

/// DER certificates as one PEM text (KDS `cert_chain` form), e.g. a table's ASK and ARK.
pub fn pem_chain(ders: &[&[u8]]) -> String {
    let mut out = String::new();
    for der in ders {
        if let Ok(block) =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
        {
            out.push_str(&block);
        }
    }
    out
}

impl CertTable {
    /// The table's ASK and ARK as a KDS `cert_chain` PEM, when it holds both.
    pub fn chain_pem(&self) -> Option<String> {
        match (&self.ask, &self.ark) {
            (Some(ask), Some(ark)) => Some(pem_chain(&[ask, ark])),
            _ => None,
        }
    }
}
