//! What a verified report exposes to the layers above its TEE crate: the values they bind
//! (report data, the init-data slot), appraise (measurement registers by role, debug, TCB),
//! key endorsements by (platform identity) and replay event logs against (registers).

use crate::Tee;

/// What a measurement is to appraisal (docs/service.md "Code identity"; the server's default
/// policy reads exactly these roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The root of the TEE's own code-identity chain: TDX `mr_td`, SGX `mr_enclave`, SEV-SNP
    /// `measurement`, CSV `measure`. Only a matching root makes code identity affirming.
    CodeRoot,
    /// SGX's other root: `mr_signer` with `isv_prod_id` and `isv_svn`, all three together.
    SignerRoot,
    /// Other code measurements (RTMRs, `mr_seam`, attributes, ...): they count only beside a
    /// matching root (any guest can extend an RTMR with the digests an honest boot logs).
    Code,
    /// Chosen by the host or the owner at launch, not code: TDX `mr_config_id` and
    /// `mr_owner_config`, SEV-SNP `host_data`, SGX `config_id`.
    Configuration,
    /// Names the instance: TDX `mr_owner`, SEV-SNP `family_id` and `image_id`.
    InstanceIdentity,
}

/// A measured value: a digest, or a number (SGX's `isv_prod_id`, `isv_svn`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MeasuredValue {
    Digest(Vec<u8>),
    Number(u64),
}

/// One measurement register of a verified report, under its reference-value name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Measurement {
    /// The reference-value name (`mr_td`, `measurement`, `rtmr0`, ...).
    pub name: &'static str,
    pub role: Role,
    pub value: MeasuredValue,
}

impl Measurement {
    pub fn digest(name: &'static str, role: Role, value: &[u8]) -> Self {
        Self {
            name,
            role,
            value: MeasuredValue::Digest(value.to_vec()),
        }
    }
    pub fn number(name: &'static str, role: Role, value: u64) -> Self {
        Self {
            name,
            role,
            value: MeasuredValue::Number(value),
        }
    }
}

/// The report field that carries the init-data digest, if the TEE has one (the comparison is
/// written once, above the TEE crates; the field's size decides the padding rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitDataSlot<'a> {
    /// TDX MRCONFIGID.
    MrConfigId(&'a [u8; 48]),
    /// SEV-SNP HOST_DATA.
    HostData(&'a [u8; 32]),
    /// SGX, CSV, sample: init-data cannot be bound.
    None,
}

impl InitDataSlot<'_> {
    /// The slot's bytes (empty for `None`).
    pub fn bytes(&self) -> &[u8] {
        match self {
            InitDataSlot::MrConfigId(b) => &b[..],
            InitDataSlot::HostData(b) => &b[..],
            InitDataSlot::None => &[],
        }
    }
}

/// The TCB verdict of a verified report and what explains it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tcb {
    /// The status's stable name (`UpToDate`, `OutOfDate`, SEV-SNP's `VekEndorsed`); `None`
    /// where the vendor gives no TCB evaluation (CSV, sample).
    pub status: Option<&'static str>,
    /// The vendor's advisories for the matched TCB level (Intel's INTEL-SA-*).
    pub advisory_ids: Vec<String>,
    /// The matched level's TCB date, where the vendor dates it (RFC 3339).
    pub tcb_date: Option<String>,
}

/// A CSV chip serial, and whether anything proves it: the report's signer block names it under
/// a MAC only, so it is `Verified` only when the HSK/CEK that verified the report were looked up
/// by it (supplied by the verifier, not by the evidence). Two types, so an unproven serial can
/// never be published under the name a policy would trust.
///
/// As a claim it serialises as one member named by its proof: `"chip_serial": ...` when
/// verified, `"claimed_chip_serial": ...` when not (flatten it into the claims object).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ChipSerial {
    #[serde(rename = "chip_serial")]
    Verified(String),
    #[serde(rename = "claimed_chip_serial")]
    Claimed(String),
}

impl ChipSerial {
    pub fn text(&self) -> &str {
        match self {
            ChipSerial::Verified(s) | ChipSerial::Claimed(s) => s,
        }
    }
}

/// What identifies the platform a report comes from (what endorsements are keyed by).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlatformId {
    /// Intel FMSPC (from the verified PCK certificate).
    Fmspc([u8; 6]),
    /// AMD chip id (VCEK-signed reports), as the report carries it (64 bytes; Turin uses 8).
    ChipId(Vec<u8>),
    /// A VLEK-signed report: the cloud provider the VLEK names, not a chip.
    CspId(String),
    /// Hygon chip serial.
    ChipSerial(ChipSerial),
    /// Nothing identifies it (sample).
    None,
}

/// A register an event log replays to, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Register {
    /// The event-log register index (TDX: RTMR0..3; CSV V2: RTMR0..4, RTMR0 being `measure`).
    pub index: u32,
    pub value: Vec<u8>,
}

/// A report that verified. Implemented by each TEE crate's proof type, which only that crate's
/// `verify` can build; nothing here can make one.
pub trait VerifiedReport {
    fn tee(&self) -> Tee;
    /// The 64 bytes the attester chose (what binds a nonce and a key).
    fn report_data(&self) -> &[u8; 64];
    /// Where init-data is bound, if the TEE has such a field.
    fn init_data(&self) -> InitDataSlot<'_>;
    /// Every measurement register with its role, under its reference-value name.
    fn measurements(&self) -> Vec<Measurement>;
    /// The TEE's one debug rule (SGX/TDX DEBUG attribute, SEV-SNP policy bit 19, CSV policy
    /// NODBG clear). Never refused inside `verify`: the caller applies the rule.
    fn is_debug(&self) -> bool;
    fn tcb(&self) -> Tcb;
    fn platform(&self) -> PlatformId;
    /// Registers an event log must replay to (empty: the TEE has none).
    fn event_log_registers(&self) -> Vec<Register>;
    /// The first instant at which what verified the report expires (`None`: nothing expires,
    /// as CSV certificates carry no validity).
    fn expires(&self) -> Option<i64>;
}
