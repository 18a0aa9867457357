//! The attestation report (`shared/research/tee-formats.md` §6): TeeInfo V1 (0x150 bytes, every
//! field up to anonce XOR-ed with anonce) or V2 (0x490 bytes, RTMRs, no XOR), then the signer
//! block (PEK certificate, chip serial, reserved, MAC). Bare reports and csv-rs's container
//! `{magic[16], flags u32, data[4096]}` decode; what is stored is kept, so encoding gives back
//! the same bytes, and decoded values come from accessors that undo the XOR.

use crate::cert::{Sm2Sig, CSV_CERT_LEN};
use crate::reader::{layout, Reader};
use crate::CsvError;

pub const TEE_INFO_V1_LEN: usize = 0x150;
pub const TEE_INFO_V2_LEN: usize = 0x490;
/// Bytes of TeeInfo V1 the report signature covers (user_pubkey_digest..policy, as stored).
pub const V1_SIGNED_LEN: usize = 0xB4;
/// Bytes of TeeInfo V2 the report signature covers (everything before the signature).
pub const V2_SIGNED_LEN: usize = 0x400;
pub const SIGNER_LEN: usize = CSV_CERT_LEN + 64 + 32 + 32;
pub const REPORT_V1_LEN: usize = TEE_INFO_V1_LEN + SIGNER_LEN;
pub const REPORT_V2_LEN: usize = TEE_INFO_V2_LEN + SIGNER_LEN;
/// The PSP's report page.
pub const PAGE_LEN: usize = 4096;
/// csv-rs's container: magic, flags, page.
pub const CONTAINER_LEN: usize = 16 + 4 + PAGE_LEN;
/// Magic of the extended-report container (with flags 1: V2).
pub const EXT_MAGIC: [u8; 16] = *b"ATTESTATION_EXT\0";

/// Policy bits of the guest (both report versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy(pub u32);

impl Policy {
    fn bit(self, n: u32) -> bool {
        self.0 >> n & 1 == 1
    }
    pub fn nodbg(self) -> bool {
        self.bit(0)
    }
    pub fn noks(self) -> bool {
        self.bit(1)
    }
    pub fn es(self) -> bool {
        self.bit(2)
    }
    pub fn nosend(self) -> bool {
        self.bit(3)
    }
    pub fn domain(self) -> bool {
        self.bit(4)
    }
    pub fn csv(self) -> bool {
        self.bit(5)
    }
    pub fn csv3(self) -> bool {
        self.bit(6)
    }
    pub fn asid_reuse(self) -> bool {
        self.bit(7)
    }
    pub fn hsk_version(self) -> u32 {
        self.0 >> 8 & 0xf
    }
    pub fn cek_version(self) -> u32 {
        self.0 >> 12 & 0xf
    }
    pub fn api_major(self) -> u32 {
        self.0 >> 16 & 0xff
    }
    pub fn api_minor(self) -> u32 {
        self.0 >> 24 & 0xff
    }

    /// The one debug rule for CSV guests: debugging is allowed unless NODBG is set.
    pub fn is_debug(self) -> bool {
        !self.nodbg()
    }
}

/// The fields every TeeInfo begins with (offsets 0..0xBC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    pub user_pubkey_digest: [u8; 32],
    pub vm_id: [u8; 16],
    pub vm_version: [u8; 16],
    pub report_data: [u8; 64],
    pub mnonce: [u8; 16],
    /// SM3 launch digest.
    pub measure: [u8; 32],
    pub policy: Policy,
    pub sig_usage: u32,
    pub sig_algo: u32,
}

const FIELDS_LEN: usize = 0xBC;

impl Fields {
    fn read(r: &mut Reader<'_>) -> Result<Self, CsvError> {
        Ok(Self {
            user_pubkey_digest: r.array("tee_info.user_pubkey_digest")?,
            vm_id: r.array("tee_info.vm_id")?,
            vm_version: r.array("tee_info.vm_version")?,
            report_data: r.array("tee_info.report_data")?,
            mnonce: r.array("tee_info.mnonce")?,
            measure: r.array("tee_info.measure")?,
            policy: Policy(r.u32("tee_info.policy")?),
            sig_usage: r.u32("tee_info.sig_usage")?,
            sig_algo: r.u32("tee_info.sig_algo")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.user_pubkey_digest);
        out.extend_from_slice(&self.vm_id);
        out.extend_from_slice(&self.vm_version);
        out.extend_from_slice(&self.report_data);
        out.extend_from_slice(&self.mnonce);
        out.extend_from_slice(&self.measure);
        out.extend_from_slice(&self.policy.0.to_le_bytes());
        out.extend_from_slice(&self.sig_usage.to_le_bytes());
        out.extend_from_slice(&self.sig_algo.to_le_bytes());
    }

    /// The same fields XOR-ed with `anonce` (an involution: also undoes it).
    pub fn xor(&self, anonce: u32) -> Self {
        let mut bytes = Vec::with_capacity(FIELDS_LEN);
        self.encode(&mut bytes);
        xor_anonce(&mut bytes, anonce);
        // Re-reading what was just written cannot fail: the length is FIELDS_LEN.
        Self::read(&mut Reader::new(&bytes)).unwrap_or_else(|_| self.clone())
    }
}

/// XORs bytes with anonce's little-endian bytes repeated (every field starts 4-aligned).
pub fn xor_anonce(bytes: &mut [u8], anonce: u32) {
    let pattern = anonce.to_le_bytes();
    for (b, p) in bytes.iter_mut().zip(pattern.iter().cycle()) {
        *b ^= p;
    }
}

/// TeeInfo V1 as stored: fields XOR-ed with anonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeeInfoV1 {
    pub stored: Fields,
    pub anonce: u32,
    pub sig: Sm2Sig,
}

/// TeeInfo V2 (extended report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeeInfoV2 {
    pub fields: Fields,
    pub build: u32,
    pub rtmr_version: u16,
    pub reserved0: [u8; 14],
    /// rtmr0 (== measure) .. rtmr4, SM3.
    pub rtmr: [[u8; 32]; 5],
    pub reserved1: [u8; 656],
    pub sig: Sm2Sig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeeInfo {
    V1(Box<TeeInfoV1>),
    V2(Box<TeeInfoV2>),
}

impl TeeInfo {
    pub fn version(&self) -> u8 {
        match self {
            TeeInfo::V1(_) => 1,
            TeeInfo::V2(_) => 2,
        }
    }

    /// anonce (V1); 0 for V2, which XORs nothing.
    pub fn anonce(&self) -> u32 {
        match self {
            TeeInfo::V1(t) => t.anonce,
            TeeInfo::V2(_) => 0,
        }
    }

    /// The decoded fields (V1: un-XOR-ed with anonce).
    pub fn fields(&self) -> Fields {
        match self {
            TeeInfo::V1(t) => t.stored.xor(t.anonce),
            TeeInfo::V2(t) => t.fields.clone(),
        }
    }

    pub fn signature(&self) -> &Sm2Sig {
        match self {
            TeeInfo::V1(t) => &t.sig,
            TeeInfo::V2(t) => &t.sig,
        }
    }

    /// The bytes the report signature covers, as stored.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = self.encode();
        out.truncate(match self {
            TeeInfo::V1(_) => V1_SIGNED_LEN,
            TeeInfo::V2(_) => V2_SIGNED_LEN,
        });
        out
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TEE_INFO_V2_LEN);
        match self {
            TeeInfo::V1(t) => {
                t.stored.encode(&mut out);
                out.extend_from_slice(&t.anonce.to_le_bytes());
                t.sig.encode(&mut out);
            }
            TeeInfo::V2(t) => {
                t.fields.encode(&mut out);
                out.extend_from_slice(&t.build.to_le_bytes());
                out.extend_from_slice(&t.rtmr_version.to_le_bytes());
                out.extend_from_slice(&t.reserved0);
                for rtmr in &t.rtmr {
                    out.extend_from_slice(rtmr);
                }
                out.extend_from_slice(&t.reserved1);
                t.sig.encode(&mut out);
            }
        }
        out
    }

    fn read(r: &mut Reader<'_>, version: u8) -> Result<Self, CsvError> {
        let fields = Fields::read(r)?;
        Ok(if version == 1 {
            TeeInfo::V1(Box::new(TeeInfoV1 {
                stored: fields,
                anonce: r.u32("tee_info.anonce")?,
                sig: Sm2Sig::decode(r, "tee_info.sig.r", "tee_info.sig.s")?,
            }))
        } else {
            TeeInfo::V2(Box::new(TeeInfoV2 {
                fields,
                build: r.u32("tee_info.build")?,
                rtmr_version: r.u16("tee_info.rtmr_version")?,
                reserved0: r.array("tee_info.reserved0")?,
                rtmr: [
                    r.array("tee_info.rtmr0")?,
                    r.array("tee_info.rtmr1")?,
                    r.array("tee_info.rtmr2")?,
                    r.array("tee_info.rtmr3")?,
                    r.array("tee_info.rtmr4")?,
                ],
                reserved1: r.array("tee_info.reserved1")?,
                sig: Sm2Sig::decode(r, "tee_info.sig.r", "tee_info.sig.s")?,
            }))
        })
    }
}

/// The signer block as stored: in a raw V1 report pek_cert and sn are XOR-ed with anonce;
/// in Trustee's evidence they are already restored and reserved is zeroed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub pek_cert: [u8; CSV_CERT_LEN],
    pub sn: [u8; 64],
    pub reserved: [u8; 32],
    pub mac: [u8; 32],
}

impl Signer {
    fn read(r: &mut Reader<'_>) -> Result<Self, CsvError> {
        Ok(Self {
            pek_cert: r.array("signer.pek_cert")?,
            sn: r.array("signer.sn")?,
            reserved: r.array("signer.reserved")?,
            mac: r.array("signer.mac")?,
        })
    }

    /// What the MAC covers: pek_cert ‖ sn ‖ reserved, as stored.
    pub fn mac_input(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIGNER_LEN);
        out.extend_from_slice(&self.pek_cert);
        out.extend_from_slice(&self.sn);
        out.extend_from_slice(&self.reserved);
        out
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.mac_input();
        out.extend_from_slice(&self.mac);
        out
    }
}

/// How the report arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// TeeInfo ‖ signer, nothing else.
    Bare,
    /// csv-rs's `{magic, flags, data[4096]}` with the report zero-padded to the page.
    Wrapped { magic: [u8; 16], flags: u32 },
}

/// Whether the signer block is as the PSP wrote it or "restored" by csv-rs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerForm {
    Raw,
    Restored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tee_info: TeeInfo,
    pub signer: Signer,
    pub container: Container,
    pub signer_form: SignerForm,
}

impl Report {
    /// A raw report: bare V1 (2548 bytes), bare V2 (3380 bytes) or csv-rs's container
    /// (4116 bytes), with the signer block as the PSP wrote it.
    pub fn decode(bytes: &[u8]) -> Result<Self, CsvError> {
        Self::decode_form(bytes, SignerForm::Raw)
    }

    pub(crate) fn decode_form(bytes: &[u8], signer_form: SignerForm) -> Result<Self, CsvError> {
        match bytes.len() {
            REPORT_V1_LEN => Self::read_bare(bytes, 1, signer_form),
            REPORT_V2_LEN => Self::read_bare(bytes, 2, signer_form),
            CONTAINER_LEN => {
                let mut r = Reader::new(bytes);
                let magic: [u8; 16] = r.array("container.magic")?;
                let flags = r.u32("container.flags")?;
                Self::from_page(
                    magic,
                    flags,
                    r.take(PAGE_LEN, "container.data")?,
                    signer_form,
                )
            }
            len => Err(CsvError::Length {
                item: "report",
                len,
                expected: "2548 (V1), 3380 (V2) or 4116 (container)",
            }),
        }
    }

    /// The report in csv-rs's container: zero magic (V1), or "ATTESTATION_EXT" with flags 0
    /// (V1) or 1 (V2); the page past the report must be zero.
    pub(crate) fn from_page(
        magic: [u8; 16],
        flags: u32,
        page: &[u8],
        signer_form: SignerForm,
    ) -> Result<Self, CsvError> {
        let version = match (magic, flags) {
            (m, 0) if m == [0u8; 16] => 1,
            (EXT_MAGIC, 0) => 1,
            (EXT_MAGIC, 1) => 2,
            _ => {
                return Err(CsvError::Field {
                    field: "container.magic",
                    reason: format!(
                        "magic {} with flags {flags} is no report kind",
                        hex::encode(magic)
                    ),
                })
            }
        };
        if page.len() != PAGE_LEN {
            return Err(CsvError::Length {
                item: "container.data",
                len: page.len(),
                expected: "4096",
            });
        }
        let mut r = Reader::new(page);
        let tee_info = TeeInfo::read(&mut r, version)?;
        let signer = Signer::read(&mut r)?;
        let padding = r.take(
            PAGE_LEN
                - if version == 1 {
                    REPORT_V1_LEN
                } else {
                    REPORT_V2_LEN
                },
            "container.padding",
        )?;
        if padding.iter().any(|b| *b != 0) {
            return Err(CsvError::Field {
                field: "container.padding",
                reason: "the page past the report is not zero".into(),
            });
        }
        r.finish("container.data").map_err(layout("4096"))?;
        Ok(Self {
            tee_info,
            signer,
            container: Container::Wrapped { magic, flags },
            signer_form,
        })
    }

    fn read_bare(bytes: &[u8], version: u8, signer_form: SignerForm) -> Result<Self, CsvError> {
        let mut r = Reader::new(bytes);
        let tee_info = TeeInfo::read(&mut r, version)?;
        let signer = Signer::read(&mut r)?;
        r.finish("report").map_err(layout("report"))?;
        Ok(Self {
            tee_info,
            signer,
            container: Container::Bare,
            signer_form,
        })
    }

    /// The bytes this report was decoded from.
    pub fn encode(&self) -> Vec<u8> {
        let mut report = self.tee_info.encode();
        report.extend_from_slice(&self.signer.encode());
        match self.container {
            Container::Bare => report,
            Container::Wrapped { magic, flags } => {
                let mut out = Vec::with_capacity(CONTAINER_LEN);
                out.extend_from_slice(&magic);
                out.extend_from_slice(&flags.to_le_bytes());
                report.resize(PAGE_LEN, 0);
                out.extend_from_slice(&report);
                out
            }
        }
    }

    /// The PEK certificate bytes of the signer block, with the anonce XOR undone where the
    /// block is raw.
    pub fn pek_cert(&self) -> Vec<u8> {
        let mut pek = self.signer.pek_cert.to_vec();
        if self.signer_form == SignerForm::Raw {
            xor_anonce(&mut pek, self.tee_info.anonce());
        }
        pek
    }

    /// The chip serial of the signer block (XOR undone where raw), as 64 bytes.
    pub fn sn(&self) -> [u8; 64] {
        let mut sn = self.signer.sn;
        if self.signer_form == SignerForm::Raw {
            xor_anonce(&mut sn, self.tee_info.anonce());
        }
        sn
    }
}

/// A chip serial as text: the bytes up to the first NUL, if they are printable ASCII.
pub fn serial_text(sn: &[u8]) -> Result<String, CsvError> {
    let end = sn.iter().position(|b| *b == 0).unwrap_or(sn.len());
    let text = sn.get(..end).unwrap_or_default();
    if text.is_empty() || !text.iter().all(|b| b.is_ascii_graphic()) {
        return Err(CsvError::Field {
            field: "signer.sn",
            reason: "the chip serial is not printable ASCII".into(),
        });
    }
    if sn.get(end..).unwrap_or_default().iter().any(|b| *b != 0) {
        return Err(CsvError::Field {
            field: "signer.sn",
            reason: "bytes after the chip serial's NUL are not zero".into(),
        });
    }
    Ok(String::from_utf8_lossy(text).into_owned())
}
