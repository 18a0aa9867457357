//! Report bodies: the SGX enclave report (also the QE report) and the TD report bodies of TDX 1.0,
//! 1.5 and 1.5-extended. Every byte, reserved ones included, is kept so encoding is exact.

use crate::reader::Reader;
use crate::QuoteError;

/// SGX REPORTBODY (384 bytes): the ISV enclave report in SGX quotes and the QE report everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveReport {
    pub cpu_svn: [u8; 16],
    pub misc_select: u32,
    pub reserved1: [u8; 12],
    pub isv_ext_prod_id: [u8; 16],
    /// Flags (u64 LE; bit 1 = DEBUG) then XFRM (u64 LE).
    pub attributes: [u8; 16],
    pub mr_enclave: [u8; 32],
    pub reserved2: [u8; 32],
    pub mr_signer: [u8; 32],
    pub reserved3: [u8; 32],
    pub config_id: [u8; 64],
    pub isv_prod_id: u16,
    pub isv_svn: u16,
    pub config_svn: u16,
    pub reserved4: [u8; 42],
    pub isv_family_id: [u8; 16],
    pub report_data: [u8; 64],
}

/// SGX ATTRIBUTES.FLAGS bits (Intel SDM vol. 3D §38.7.1, SECS.ATTRIBUTES).
pub mod sgx_attributes {
    pub const INIT: u64 = 1 << 0;
    pub const DEBUG: u64 = 1 << 1;
    pub const MODE64BIT: u64 = 1 << 2;
    pub const PROVISIONKEY: u64 = 1 << 4;
    pub const EINITTOKEN_KEY: u64 = 1 << 5;
    pub const CET: u64 = 1 << 6;
    pub const KSS: u64 = 1 << 7;
    pub const AEXNOTIFY: u64 = 1 << 10;

    /// The names of the flags set in `flags`; bits without a name as `BIT<n>`.
    pub fn names(flags: u64) -> Vec<String> {
        super::bit_names(
            flags,
            &[
                (INIT, "INIT"),
                (DEBUG, "DEBUG"),
                (MODE64BIT, "MODE64BIT"),
                (PROVISIONKEY, "PROVISIONKEY"),
                (EINITTOKEN_KEY, "EINITTOKEN_KEY"),
                (CET, "CET"),
                (KSS, "KSS"),
                (AEXNOTIFY, "AEXNOTIFY"),
            ],
        )
    }
}

fn bit_names(flags: u64, named: &[(u64, &str)]) -> Vec<String> {
    (0..64)
        .map(|bit| 1u64 << bit)
        .filter(|mask| flags & mask != 0)
        .map(|mask| match named.iter().find(|(m, _)| *m == mask) {
            Some((_, name)) => name.to_string(),
            None => format!("BIT{}", mask.trailing_zeros()),
        })
        .collect()
}

impl EnclaveReport {
    pub const LEN: usize = 384;

    /// ATTRIBUTES.FLAGS: the first eight bytes of ATTRIBUTES, little-endian.
    pub fn attribute_flags(&self) -> u64 {
        u64::from_le_bytes(self.attributes.first_chunk().copied().unwrap_or_default())
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, QuoteError> {
        Ok(Self {
            cpu_svn: r.array("report.cpu_svn")?,
            misc_select: r.u32("report.misc_select")?,
            reserved1: r.array("report.reserved1")?,
            isv_ext_prod_id: r.array("report.isv_ext_prod_id")?,
            attributes: r.array("report.attributes")?,
            mr_enclave: r.array("report.mr_enclave")?,
            reserved2: r.array("report.reserved2")?,
            mr_signer: r.array("report.mr_signer")?,
            reserved3: r.array("report.reserved3")?,
            config_id: r.array("report.config_id")?,
            isv_prod_id: r.u16("report.isv_prod_id")?,
            isv_svn: r.u16("report.isv_svn")?,
            config_svn: r.u16("report.config_svn")?,
            reserved4: r.array("report.reserved4")?,
            isv_family_id: r.array("report.isv_family_id")?,
            report_data: r.array("report.report_data")?,
        })
    }

    /// Decodes exactly [`EnclaveReport::LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, QuoteError> {
        let mut r = Reader::new(bytes);
        let report = Self::decode(&mut r)?;
        r.finish("enclave report")?;
        Ok(report)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cpu_svn);
        out.extend_from_slice(&self.misc_select.to_le_bytes());
        out.extend_from_slice(&self.reserved1);
        out.extend_from_slice(&self.isv_ext_prod_id);
        out.extend_from_slice(&self.attributes);
        out.extend_from_slice(&self.mr_enclave);
        out.extend_from_slice(&self.reserved2);
        out.extend_from_slice(&self.mr_signer);
        out.extend_from_slice(&self.reserved3);
        out.extend_from_slice(&self.config_id);
        out.extend_from_slice(&self.isv_prod_id.to_le_bytes());
        out.extend_from_slice(&self.isv_svn.to_le_bytes());
        out.extend_from_slice(&self.config_svn.to_le_bytes());
        out.extend_from_slice(&self.reserved4);
        out.extend_from_slice(&self.isv_family_id);
        out.extend_from_slice(&self.report_data);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        self.encode(&mut out);
        out
    }
}

/// TD report body of TDX 1.0 (584 bytes): quote v4, and v5 body type 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReport10 {
    /// [0] module minor SVN, [1] module major version, [2] late microcode SVN.
    pub tee_tcb_svn: [u8; 16],
    pub mr_seam: [u8; 48],
    pub mr_signer_seam: [u8; 48],
    pub seam_attributes: [u8; 8],
    pub td_attributes: [u8; 8],
    pub xfam: [u8; 8],
    pub mr_td: [u8; 48],
    pub mr_config_id: [u8; 48],
    pub mr_owner: [u8; 48],
    pub mr_owner_config: [u8; 48],
    pub rtmr: [[u8; 48]; 4],
    pub report_data: [u8; 64],
}

/// TD_ATTRIBUTES bits (Intel TDX module ABI spec, TD_ATTRIBUTES; Linux `asm/shared/tdx.h`).
pub mod td_attributes {
    pub const DEBUG: u64 = 1 << 0;
    pub const HGS_PLUS_PROF: u64 = 1 << 4;
    pub const PERF_PROF: u64 = 1 << 5;
    pub const PMT_PROF: u64 = 1 << 6;
    /// The TUD group (bits 0..=7): DEBUG and the profiling features. Any of them lets the host
    /// observe the TD, so any of them makes it a debug TD.
    pub const TUD: u64 = 0xff;
    pub const ICSSD: u64 = 1 << 16;
    pub const SERVTD_EXT: u64 = 1 << 17;
    pub const LASS: u64 = 1 << 27;
    pub const SEPT_VE_DISABLE: u64 = 1 << 28;
    pub const MIGRATABLE: u64 = 1 << 29;
    pub const PKS: u64 = 1 << 30;
    pub const KL: u64 = 1 << 31;
    pub const TPA: u64 = 1 << 62;
    pub const PERFMON: u64 = 1 << 63;
    /// Bits that TDX 1.5 requires to be zero: 1..=3, 7..=15, 23..=26, 32..=61.
    pub const RESERVED_MBZ: u64 = 0x0e | 0xff80 | 0x0780_0000 | 0x3fff_ffff_0000_0000;

    /// The names of the bits set in `attributes`; bits without a name as `BIT<n>`.
    pub fn names(attributes: u64) -> Vec<String> {
        super::bit_names(
            attributes,
            &[
                (DEBUG, "DEBUG"),
                (HGS_PLUS_PROF, "HGS_PLUS_PROF"),
                (PERF_PROF, "PERF_PROF"),
                (PMT_PROF, "PMT_PROF"),
                (ICSSD, "ICSSD"),
                (SERVTD_EXT, "SERVTD_EXT"),
                (LASS, "LASS"),
                (SEPT_VE_DISABLE, "SEPT_VE_DISABLE"),
                (MIGRATABLE, "MIGRATABLE"),
                (PKS, "PKS"),
                (KL, "KL"),
                (TPA, "TPA"),
                (PERFMON, "PERFMON"),
            ],
        )
    }
}

impl TdReport10 {
    pub const LEN: usize = 584;

    pub fn td_attributes(&self) -> u64 {
        u64::from_le_bytes(self.td_attributes)
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, QuoteError> {
        Ok(Self {
            tee_tcb_svn: r.array("td_report.tee_tcb_svn")?,
            mr_seam: r.array("td_report.mr_seam")?,
            mr_signer_seam: r.array("td_report.mr_signer_seam")?,
            seam_attributes: r.array("td_report.seam_attributes")?,
            td_attributes: r.array("td_report.td_attributes")?,
            xfam: r.array("td_report.xfam")?,
            mr_td: r.array("td_report.mr_td")?,
            mr_config_id: r.array("td_report.mr_config_id")?,
            mr_owner: r.array("td_report.mr_owner")?,
            mr_owner_config: r.array("td_report.mr_owner_config")?,
            rtmr: [
                r.array("td_report.rtmr0")?,
                r.array("td_report.rtmr1")?,
                r.array("td_report.rtmr2")?,
                r.array("td_report.rtmr3")?,
            ],
            report_data: r.array("td_report.report_data")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tee_tcb_svn);
        out.extend_from_slice(&self.mr_seam);
        out.extend_from_slice(&self.mr_signer_seam);
        out.extend_from_slice(&self.seam_attributes);
        out.extend_from_slice(&self.td_attributes);
        out.extend_from_slice(&self.xfam);
        out.extend_from_slice(&self.mr_td);
        out.extend_from_slice(&self.mr_config_id);
        out.extend_from_slice(&self.mr_owner);
        out.extend_from_slice(&self.mr_owner_config);
        for rtmr in &self.rtmr {
            out.extend_from_slice(rtmr);
        }
        out.extend_from_slice(&self.report_data);
    }
}

/// TD report body of TDX 1.5 (648 bytes): v5 body type 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReport15 {
    pub base: TdReport10,
    /// TEE_TCB_SVN of the module the TD was launched on (TD-preserving updates).
    pub tee_tcb_svn2: [u8; 16],
    pub mr_service_td: [u8; 48],
}

impl TdReport15 {
    pub const LEN: usize = 648;

    fn decode(r: &mut Reader<'_>) -> Result<Self, QuoteError> {
        Ok(Self {
            base: TdReport10::decode(r)?,
            tee_tcb_svn2: r.array("td_report.tee_tcb_svn2")?,
            mr_service_td: r.array("td_report.mr_service_td")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.base.encode(out);
        out.extend_from_slice(&self.tee_tcb_svn2);
        out.extend_from_slice(&self.mr_service_td);
    }
}

/// Extended TD report body of TDX 1.5 (885 bytes): v5 body type 4, with TD partitioning,
/// instance id, device info and service-TD binding history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReport15Ex {
    pub base: TdReport15,
    pub vm_index: u8,
    pub td_id: [u8; 32],
    pub dev_info: [u8; 48],
    pub init_service_td_hash: [u8; 48],
    pub init_service_td_attributes: [u8; 8],
    pub init_cpu_svn: [u8; 16],
    pub init_tee_tcb_svn: [u8; 16],
    pub init_tee_fmspc: [u8; 12],
    pub cur_service_td_hash: [u8; 48],
    pub cur_service_td_attributes: [u8; 8],
}

impl TdReport15Ex {
    pub const LEN: usize = 885;

    fn decode(r: &mut Reader<'_>) -> Result<Self, QuoteError> {
        Ok(Self {
            base: TdReport15::decode(r)?,
            vm_index: r.u8("td_report.vm_index")?,
            td_id: r.array("td_report.td_id")?,
            dev_info: r.array("td_report.dev_info")?,
            init_service_td_hash: r.array("td_report.init_service_td_hash")?,
            init_service_td_attributes: r.array("td_report.init_service_td_attributes")?,
            init_cpu_svn: r.array("td_report.init_cpu_svn")?,
            init_tee_tcb_svn: r.array("td_report.init_tee_tcb_svn")?,
            init_tee_fmspc: r.array("td_report.init_tee_fmspc")?,
            cur_service_td_hash: r.array("td_report.cur_service_td_hash")?,
            cur_service_td_attributes: r.array("td_report.cur_service_td_attributes")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.base.encode(out);
        out.push(self.vm_index);
        out.extend_from_slice(&self.td_id);
        out.extend_from_slice(&self.dev_info);
        out.extend_from_slice(&self.init_service_td_hash);
        out.extend_from_slice(&self.init_service_td_attributes);
        out.extend_from_slice(&self.init_cpu_svn);
        out.extend_from_slice(&self.init_tee_tcb_svn);
        out.extend_from_slice(&self.init_tee_fmspc);
        out.extend_from_slice(&self.cur_service_td_hash);
        out.extend_from_slice(&self.cur_service_td_attributes);
    }
}

/// The report a quote signs. The variant fixes the v5 body type and size.
// One body per decoded quote: inline beats an allocation on the verification hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Sgx(EnclaveReport),
    Td10(TdReport10),
    Td15(TdReport15),
    Td15Ex(TdReport15Ex),
}

impl Body {
    /// The v5 body descriptor type code.
    pub fn body_type(&self) -> u16 {
        match self {
            Body::Sgx(_) => 1,
            Body::Td10(_) => 2,
            Body::Td15(_) => 3,
            Body::Td15Ex(_) => 4,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Body::Sgx(_) => EnclaveReport::LEN,
            Body::Td10(_) => TdReport10::LEN,
            Body::Td15(_) => TdReport15::LEN,
            Body::Td15Ex(_) => TdReport15Ex::LEN,
        }
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn report_data(&self) -> &[u8; 64] {
        match self {
            Body::Sgx(r) => &r.report_data,
            Body::Td10(r) => &r.report_data,
            Body::Td15(r) => &r.base.report_data,
            Body::Td15Ex(r) => &r.base.base.report_data,
        }
    }

    /// The one debug rule: whether the host can read or observe this TEE. SGX:
    /// ATTRIBUTES.DEBUG. TDX: any bit of the TUD group of TD_ATTRIBUTES (DEBUG, and the
    /// profiling bits, which the TDX module only grants alongside debug-grade access).
    pub fn is_debug(&self) -> bool {
        match self.td10() {
            None => self.attribute_flags() & sgx_attributes::DEBUG != 0,
            Some(td) => td.td_attributes() & td_attributes::TUD != 0,
        }
    }

    /// The attribute flags the debug rule reads: SGX ATTRIBUTES.FLAGS or TD_ATTRIBUTES.
    pub fn attribute_flags(&self) -> u64 {
        match self {
            Body::Sgx(r) => r.attribute_flags(),
            other => other.td10().map_or(0, TdReport10::td_attributes),
        }
    }

    /// The names of the set attribute flags (`sgx_attributes::names`, `td_attributes::names`).
    pub fn attribute_names(&self) -> Vec<String> {
        match self {
            Body::Sgx(r) => sgx_attributes::names(r.attribute_flags()),
            other => td_attributes::names(other.attribute_flags()),
        }
    }

    /// The TDX 1.0 part common to every TD body; `None` for SGX.
    pub fn td10(&self) -> Option<&TdReport10> {
        match self {
            Body::Sgx(_) => None,
            Body::Td10(r) => Some(r),
            Body::Td15(r) => Some(&r.base),
            Body::Td15Ex(r) => Some(&r.base.base),
        }
    }

    /// The TDX 1.5 part (tee_tcb_svn2, mr_service_td); `None` for SGX and TDX 1.0.
    pub fn td15(&self) -> Option<&TdReport15> {
        match self {
            Body::Td15(r) => Some(r),
            Body::Td15Ex(r) => Some(&r.base),
            Body::Sgx(_) | Body::Td10(_) => None,
        }
    }

    pub(crate) fn decode_type(r: &mut Reader<'_>, body_type: u16) -> Result<Self, QuoteError> {
        Ok(match body_type {
            1 => Body::Sgx(EnclaveReport::decode(r)?),
            2 => Body::Td10(TdReport10::decode(r)?),
            3 => Body::Td15(TdReport15::decode(r)?),
            4 => Body::Td15Ex(TdReport15Ex::decode(r)?),
            other => return Err(QuoteError::UnsupportedBodyType(other)),
        })
    }

    pub(crate) fn expected_len(body_type: u16) -> Option<usize> {
        match body_type {
            1 => Some(EnclaveReport::LEN),
            2 => Some(TdReport10::LEN),
            3 => Some(TdReport15::LEN),
            4 => Some(TdReport15Ex::LEN),
            _ => None,
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Body::Sgx(r) => r.encode(out),
            Body::Td10(r) => r.encode(out),
            Body::Td15(r) => r.encode(out),
            Body::Td15Ex(r) => r.encode(out),
        }
    }
}
