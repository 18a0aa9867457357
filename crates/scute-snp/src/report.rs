//! The SEV-SNP ATTESTATION_REPORT (SEV-SNP Firmware ABI, Table "ATTESTATION_REPORT Structure";
//! tee-formats.md §5), versions 2 to 5, decoded byte-exactly: every field, reserved ones
//! included, is kept so that `encode` gives back the bytes received. Nothing here is verified.

use crate::error::SnpError;
use scute_codec::{Reader, Truncated};

/// A report is always 0x4A0 bytes.
pub const REPORT_LEN: usize = 0x4A0;
/// The signature covers bytes 0x000..=0x29F.
pub const SIGNED_LEN: usize = 0x2A0;

/// Guest policy bits (ABI "GUEST_POLICY").
pub mod policy {
    pub const SMT: u64 = 1 << 16;
    /// Reserved, must be one.
    pub const RESERVED_ONE: u64 = 1 << 17;
    pub const MIGRATE_MA: u64 = 1 << 18;
    pub const DEBUG: u64 = 1 << 19;
    pub const SINGLE_SOCKET: u64 = 1 << 20;
    pub const CXL_ALLOW: u64 = 1 << 21;
    pub const MEM_AES_256_XTS: u64 = 1 << 22;
    pub const RAPL_DIS: u64 = 1 << 23;
    pub const CIPHERTEXT_HIDING: u64 = 1 << 24;
    pub const PAGE_SWAP_DISABLE: u64 = 1 << 25;
}

/// Platform info bits (ABI "PLATFORM_INFO").
pub mod platform_info {
    pub const SMT_EN: u64 = 1 << 0;
    pub const TSME_EN: u64 = 1 << 1;
    pub const ECC_EN: u64 = 1 << 2;
    pub const RAPL_DIS: u64 = 1 << 3;
    pub const CIPHERTEXT_HIDING_EN: u64 = 1 << 4;
    pub const ALIAS_CHECK_COMPLETE: u64 = 1 << 5;
    pub const TIO_EN: u64 = 1 << 7;
}

/// The AMD product lines whose chains the verifier knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    Milan,
    Genoa,
    Turin,
}

impl Product {
    pub fn name(self) -> &'static str {
        match self {
            Self::Milan => "Milan",
            Self::Genoa => "Genoa",
            Self::Turin => "Turin",
        }
    }

    /// The product line of a name as AMD writes it: `Milan`, `Milan-B0`, `Genoa-B1`, `Turin`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.split('-').next() {
            Some("Milan") => Some(Self::Milan),
            Some("Genoa") => Some(Self::Genoa),
            Some("Turin") => Some(Self::Turin),
            _ => None,
        }
    }

    /// The product line of a CPUID family and model (Zen 3 Milan, Zen 4 Genoa/Bergamo/Siena,
    /// Zen 5 Turin).
    pub fn from_cpuid(family: u8, model: u8) -> Option<Self> {
        match (family, model) {
            (0x19, 0x00..=0x0F) => Some(Self::Milan),
            (0x19, 0x10..=0x1F) | (0x19, 0xA0..=0xAF) => Some(Self::Genoa),
            (0x1A, 0x00..=0x1F) => Some(Self::Turin),
            _ => None,
        }
    }

    /// Which TCB_VERSION byte layout the product uses.
    pub fn tcb_layout(self) -> TcbLayout {
        match self {
            Self::Milan | Self::Genoa => TcbLayout::MilanGenoa,
            Self::Turin => TcbLayout::Turin,
        }
    }
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The two TCB_VERSION byte layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcbLayout {
    /// byte 0 boot loader, 1 TEE, 2–5 reserved, 6 SNP, 7 microcode.
    MilanGenoa,
    /// byte 0 FMC, 1 boot loader, 2 TEE, 3 SNP, 4–6 reserved, 7 microcode.
    Turin,
}

/// One component of a TCB_VERSION and its byte, per layout; `None` where the layout has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcbField {
    Fmc,
    BootLoader,
    Tee,
    Snp,
    Microcode,
    /// A reserved byte, by index.
    Reserved(usize),
}

impl TcbField {
    pub fn name(self) -> &'static str {
        match self {
            Self::Fmc => "fmc",
            Self::BootLoader => "bootloader",
            Self::Tee => "tee",
            Self::Snp => "snp",
            Self::Microcode => "microcode",
            Self::Reserved(_) => "reserved",
        }
    }
}

impl TcbLayout {
    /// What each of the 8 bytes is.
    pub fn fields(self) -> [TcbField; 8] {
        use TcbField::*;
        match self {
            Self::MilanGenoa => [
                BootLoader,
                Tee,
                Reserved(2),
                Reserved(3),
                Reserved(4),
                Reserved(5),
                Snp,
                Microcode,
            ],
            Self::Turin => [
                Fmc,
                BootLoader,
                Tee,
                Snp,
                Reserved(4),
                Reserved(5),
                Reserved(6),
                Microcode,
            ],
        }
    }
}

/// A TCB_VERSION: 8 bytes, kept raw; their meaning depends on the product's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcbVersion(pub [u8; 8]);

impl TcbVersion {
    pub fn raw(&self) -> u64 {
        u64::from_le_bytes(self.0)
    }

    /// The value of one component under `layout`.
    pub fn get(&self, layout: TcbLayout, field: TcbField) -> Option<u8> {
        layout
            .fields()
            .iter()
            .position(|f| *f == field)
            .and_then(|i| self.0.get(i).copied())
    }

    pub fn to_json(&self, layout: TcbLayout) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("raw".into(), hex::encode(self.0).into());
        for (field, byte) in layout.fields().iter().zip(self.0) {
            if !matches!(field, TcbField::Reserved(_)) {
                out.insert(field.name().into(), byte.into());
            }
        }
        serde_json::Value::Object(out)
    }
}

/// signer_info (0x048): which key signed the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKey {
    Vcek,
    Vlek,
    None,
    /// A value the ABI reserves.
    Reserved(u8),
}

impl SigningKey {
    pub fn name(self) -> String {
        match self {
            Self::Vcek => "VCEK".into(),
            Self::Vlek => "VLEK".into(),
            Self::None => "no key".into(),
            Self::Reserved(v) => format!("reserved signing key {v}"),
        }
    }
}

/// An attestation report, every byte accounted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub version: u32,
    pub guest_svn: u32,
    pub policy: u64,
    pub family_id: [u8; 16],
    pub image_id: [u8; 16],
    pub vmpl: u32,
    pub signature_algo: u32,
    pub current_tcb: TcbVersion,
    pub platform_info: u64,
    /// 0x048: bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 2–4 SIGNING_KEY, rest reserved.
    pub signer_info: u32,
    /// 0x04C, reserved.
    pub reserved_04c: [u8; 4],
    pub report_data: [u8; 64],
    pub measurement: [u8; 48],
    pub host_data: [u8; 32],
    pub id_key_digest: [u8; 48],
    pub author_key_digest: [u8; 48],
    pub report_id: [u8; 32],
    pub report_id_ma: [u8; 32],
    pub reported_tcb: TcbVersion,
    /// 0x188..0x1A0: v3+ CPUID family, model, stepping in the first three bytes; reserved.
    pub bytes_188: [u8; 24],
    pub chip_id: [u8; 64],
    pub committed_tcb: TcbVersion,
    /// 0x1E8: build, minor, major, reserved.
    pub current_version: [u8; 4],
    /// 0x1EC: build, minor, major, reserved.
    pub committed_version: [u8; 4],
    pub launch_tcb: TcbVersion,
    /// 0x1F8..0x2A0: v5 launch_mit_vector and current_mit_vector in the first 16; reserved.
    pub bytes_1f8: [u8; 168],
    /// Signature R, 72 bytes little-endian (0x2A0).
    pub signature_r: [u8; 72],
    /// Signature S, 72 bytes little-endian (0x2E8).
    pub signature_s: [u8; 72],
    /// 0x330..0x4A0, reserved (outside the signed bytes).
    pub signature_reserved: [u8; 368],
}

impl Report {
    /// Decodes exactly one report; any other length is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, SnpError> {
        if bytes.len() != REPORT_LEN {
            return Err(SnpError::ReportLength { len: bytes.len() });
        }
        // The length was checked above, so no read below can fail; were that check ever moved,
        // a short or long report is still refused, never read as zeros.
        let length = || SnpError::ReportLength { len: bytes.len() };
        let mut r = Reader::new(bytes);
        let report = Self::read(&mut r).map_err(|_| length())?;
        r.finish("report").map_err(|_| length())?;
        if !(2..=5).contains(&report.version) {
            return Err(SnpError::ReportVersion(report.version));
        }
        Ok(report)
    }

    /// Every field in order, with the workspace's one bounded reader.
    fn read(r: &mut Reader<'_>) -> Result<Self, Truncated> {
        Ok(Self {
            version: r.u32("version")?,
            guest_svn: r.u32("guest_svn")?,
            policy: r.u64("policy")?,
            family_id: r.array("family_id")?,
            image_id: r.array("image_id")?,
            vmpl: r.u32("vmpl")?,
            signature_algo: r.u32("signature_algo")?,
            current_tcb: TcbVersion(r.array("current_tcb")?),
            platform_info: r.u64("platform_info")?,
            signer_info: r.u32("signer_info")?,
            reserved_04c: r.array("reserved_04c")?,
            report_data: r.array("report_data")?,
            measurement: r.array("measurement")?,
            host_data: r.array("host_data")?,
            id_key_digest: r.array("id_key_digest")?,
            author_key_digest: r.array("author_key_digest")?,
            report_id: r.array("report_id")?,
            report_id_ma: r.array("report_id_ma")?,
            reported_tcb: TcbVersion(r.array("reported_tcb")?),
            bytes_188: r.array("bytes_188")?,
            chip_id: r.array("chip_id")?,
            committed_tcb: TcbVersion(r.array("committed_tcb")?),
            current_version: r.array("current_version")?,
            committed_version: r.array("committed_version")?,
            launch_tcb: TcbVersion(r.array("launch_tcb")?),
            bytes_1f8: r.array("bytes_1f8")?,
            signature_r: r.array("signature_r")?,
            signature_s: r.array("signature_s")?,
            signature_reserved: r.array("signature_reserved")?,
        })
    }

    /// The report's bytes, exactly as decoded.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(REPORT_LEN);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.guest_svn.to_le_bytes());
        out.extend_from_slice(&self.policy.to_le_bytes());
        out.extend_from_slice(&self.family_id);
        out.extend_from_slice(&self.image_id);
        out.extend_from_slice(&self.vmpl.to_le_bytes());
        out.extend_from_slice(&self.signature_algo.to_le_bytes());
        out.extend_from_slice(&self.current_tcb.0);
        out.extend_from_slice(&self.platform_info.to_le_bytes());
        out.extend_from_slice(&self.signer_info.to_le_bytes());
        out.extend_from_slice(&self.reserved_04c);
        out.extend_from_slice(&self.report_data);
        out.extend_from_slice(&self.measurement);
        out.extend_from_slice(&self.host_data);
        out.extend_from_slice(&self.id_key_digest);
        out.extend_from_slice(&self.author_key_digest);
        out.extend_from_slice(&self.report_id);
        out.extend_from_slice(&self.report_id_ma);
        out.extend_from_slice(&self.reported_tcb.0);
        out.extend_from_slice(&self.bytes_188);
        out.extend_from_slice(&self.chip_id);
        out.extend_from_slice(&self.committed_tcb.0);
        out.extend_from_slice(&self.current_version);
        out.extend_from_slice(&self.committed_version);
        out.extend_from_slice(&self.launch_tcb.0);
        out.extend_from_slice(&self.bytes_1f8);
        out.extend_from_slice(&self.signature_r);
        out.extend_from_slice(&self.signature_s);
        out.extend_from_slice(&self.signature_reserved);
        out
    }

    /// The one debug rule for SNP: policy bit 19 (DEBUG) lets the host debug the guest, that
    /// is read and write its memory.
    pub fn is_debug(&self) -> bool {
        self.policy & policy::DEBUG != 0
    }

    pub fn author_key_en(&self) -> bool {
        self.signer_info & 1 != 0
    }

    pub fn mask_chip_key(&self) -> bool {
        self.signer_info & 2 != 0
    }

    pub fn signing_key(&self) -> SigningKey {
        match (self.signer_info >> 2) & 7 {
            0 => SigningKey::Vcek,
            1 => SigningKey::Vlek,
            7 => SigningKey::None,
            // Only three bits: the value fits.
            v => SigningKey::Reserved(u8::try_from(v).unwrap_or(u8::MAX)),
        }
    }

    /// CPUID family (base + extended), model (base + extended) and stepping, v3 and later.
    pub fn cpuid(&self) -> Option<(u8, u8, u8)> {
        match self.bytes_188 {
            [f, m, s, ..] if self.version >= 3 => Some((f, m, s)),
            _ => None,
        }
    }

    /// v5: (launch_mit_vector, current_mit_vector).
    pub fn mit_vectors(&self) -> Option<(u64, u64)> {
        if self.version < 5 {
            return None;
        }
        let (launch, rest) = self.bytes_1f8.split_first_chunk::<8>()?;
        let (current, _) = rest.split_first_chunk::<8>()?;
        Some((u64::from_le_bytes(*launch), u64::from_le_bytes(*current)))
    }
}

/// The signed part of the exact bytes received.
pub(crate) fn signed_bytes(bytes: &[u8]) -> Result<&[u8], SnpError> {
    bytes
        .get(..SIGNED_LEN)
        .ok_or(SnpError::ReportLength { len: bytes.len() })
}
