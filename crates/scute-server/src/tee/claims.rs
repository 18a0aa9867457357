//! What verified evidence says, as typed claims: one struct per TEE, built only by that TEE's
//! adapter from its crate's verified report, and [`Claims`] over them. They serialise to the
//! JSON policies read (`input.…`, docs/policy-input.md) and tokens carry
//! (`ear_veraison_annotated_evidence`), member for member as the hand-built JSON did.
//!
//! An enum rather than a trait object: the TEEs are a closed set (`Tee`), so every use can
//! match them exhaustively, the policy-input documentation test can enumerate them, and
//! `Serialize` needs no type erasure. A TEE verified straight through its registry adapter
//! (no endorsement service) is claimed by [`AdapterClaims`] and adds nothing here; a TEE with
//! an endorsement service of its own adds a variant here and its service's struct.

use scute_tee::{ChipSerial, Hex};
use serde::Serialize;

/// The claims of one verified piece of evidence, by TEE. Serialised untagged: each TEE's struct
/// carries its own `tee` member.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum Claims {
    /// SGX and TDX.
    Dcap(Box<DcapClaims>),
    Snp(Box<SnpClaims>),
    Csv(Box<CsvClaims>),
    /// A TEE verified straight through its registry adapter (`sample`).
    Adapter(AdapterClaims),
}

/// An SGX or TDX quote verified with Intel's collateral.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DcapClaims {
    /// `sgx` or `tdx`, as the quote's header says.
    pub tee: &'static str,
    pub quote_version: u16,
    pub tcb_status: &'static str,
    pub advisory_ids: Vec<String>,
    pub platform_tcb_status: &'static str,
    pub qe_tcb_status: &'static str,
    pub tcb_evaluation_data_number: u32,
    /// The launch TCB's date: the oldest tcbDate of the platform, TDX module and QE levels it
    /// matched (QVL's tcbDate; RFC 3339, as Intel writes it).
    pub tcb_date: String,
    /// The tcbDate of the newest level in that TCB Info.
    pub newest_tcb_date: String,
    /// Whole days since the platform's level was superseded (the earliest later tcbDate in
    /// the collateral), when the status is not UpToDate; null otherwise (docs/verify.md).
    pub days_behind: Option<u32>,
    /// TD 1.5 bodies (TD-preserving updates): the launch TCB's status before the relaunch
    /// check, and the current TCB's (TEE_TCB_SVN2) status, date and advisories; null otherwise.
    pub launch_tcb_status: Option<&'static str>,
    pub current_tcb_status: Option<&'static str>,
    pub current_tcb_date: Option<String>,
    pub current_advisory_ids: Option<Vec<String>>,
    pub fmspc: Hex<[u8; 6]>,
    pub debug: bool,
    pub attributes: scute_dcap::AttributeClaims,
    /// RFC 3339.
    pub collateral_expires: String,
    pub measurements: DcapMeasurements,
    pub report: scute_dcap::ReportClaims,
    /// TDX with a CCEL only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_log: Option<EventLogClaims>,
}

/// The measurements a policy compares with reference values, by the quote's kind.
// Held inside the boxed `DcapClaims`: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum DcapMeasurements {
    Sgx {
        mr_enclave: Hex<[u8; 32]>,
        mr_signer: Hex<[u8; 32]>,
        isv_prod_id: u16,
        isv_svn: u16,
        attributes: Hex<[u8; 16]>,
        config_id: Hex<[u8; 64]>,
    },
    Td {
        mr_td: Hex<[u8; 48]>,
        rtmr0: Hex<[u8; 48]>,
        rtmr1: Hex<[u8; 48]>,
        rtmr2: Hex<[u8; 48]>,
        rtmr3: Hex<[u8; 48]>,
        mr_config_id: Hex<[u8; 48]>,
        mr_owner: Hex<[u8; 48]>,
        mr_owner_config: Hex<[u8; 48]>,
        td_attributes: Hex<[u8; 8]>,
        xfam: Hex<[u8; 8]>,
        mr_seam: Hex<[u8; 48]>,
    },
}

impl DcapMeasurements {
    pub(crate) fn new(report: &scute_dcap::ReportClaims) -> Self {
        match report {
            scute_dcap::ReportClaims::Sgx(r) => Self::Sgx {
                mr_enclave: r.mr_enclave,
                mr_signer: r.mr_signer,
                isv_prod_id: r.isv_prod_id,
                isv_svn: r.isv_svn,
                attributes: r.attributes,
                config_id: r.config_id,
            },
            scute_dcap::ReportClaims::Td10(td)
            | scute_dcap::ReportClaims::Td15(td)
            | scute_dcap::ReportClaims::Td15Ex(td) => Self::Td {
                mr_td: td.mr_td,
                rtmr0: td.rtmr0,
                rtmr1: td.rtmr1,
                rtmr2: td.rtmr2,
                rtmr3: td.rtmr3,
                mr_config_id: td.mr_config_id,
                mr_owner: td.mr_owner,
                mr_owner_config: td.mr_owner_config,
                td_attributes: td.td_attributes,
                xfam: td.xfam,
                mr_seam: td.mr_seam,
            },
        }
    }
}

/// An SEV-SNP report verified to AMD's root.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SnpClaims {
    /// `snp`.
    pub tee: &'static str,
    pub quote_version: u32,
    /// Always `VekEndorsed` (`tee::snp::TCB_STATUS`).
    pub tcb_status: &'static str,
    pub debug: bool,
    pub product: &'static str,
    pub signing_key: &'static str,
    pub collateral_expires: String,
    pub measurements: SnpMeasurements,
    pub report: scute_snp::ReportClaims,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SnpMeasurements {
    pub measurement: Hex<[u8; 48]>,
    pub host_data: Hex<[u8; 32]>,
    pub family_id: Hex<[u8; 16]>,
    pub image_id: Hex<[u8; 16]>,
    pub id_key_digest: Hex<[u8; 48]>,
}

/// A Hygon CSV report verified to a trusted HRK.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CsvClaims {
    /// `csv`.
    pub tee: &'static str,
    pub quote_version: u8,
    /// Always `None`: CSV has no TCB evaluation.
    pub tcb_status: &'static str,
    pub debug: bool,
    /// `chip_serial` when proven, else `claimed_chip_serial`.
    #[serde(flatten)]
    pub chip_serial: ChipSerial,
    pub firmware: String,
    pub mac_checked: bool,
    pub report_data_bound: bool,
    pub measurements: CsvMeasurements,
    /// Its serial named by proof too.
    pub report: scute_csv::ReportClaims,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_log: Option<EventLogClaims>,
    pub chip_serial_verified: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CsvMeasurements {
    pub measure: Hex<[u8; 32]>,
    pub vm_id: Hex<[u8; 16]>,
    pub vm_version: Hex<[u8; 16]>,
    pub user_pubkey_digest: Hex<[u8; 32]>,
    /// V2 reports only (rtmr0 is `measure`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub rtmrs: Option<CsvRtmrs>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CsvRtmrs {
    pub rtmr1: Hex<[u8; 32]>,
    pub rtmr2: Hex<[u8; 32]>,
    pub rtmr3: Hex<[u8; 32]>,
    pub rtmr4: Hex<[u8; 32]>,
}

/// The claims of a TEE verified straight through its registry adapter (the registry's
/// `Service::Direct`; Confidential Containers' `sample` TEE is one): what the seam's
/// `VerifiedReport` exposes, so such a TEE needs no struct of its own. For `sample`: its name,
/// `tcb_status` `None`, `debug` true (nothing protects it) and no measurements, member for
/// member what the service always claimed for it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdapterClaims {
    pub tee: &'static str,
    /// The vendor's TCB status, `None` where there is no TCB evaluation.
    pub tcb_status: &'static str,
    /// The TEE's one debug rule (its adapter's).
    pub debug: bool,
    /// Every measurement register under its reference-value name.
    pub measurements: AdapterMeasurements,
}

impl AdapterClaims {
    pub(crate) fn new(
        adapter: &dyn scute_verify::Adapter,
        verified: &scute_verify::Verified,
    ) -> Self {
        let report = verified.report();
        Self {
            tee: report.tee().name(),
            tcb_status: report.tcb().status.unwrap_or("None"),
            debug: adapter.debug(verified).is_some(),
            measurements: AdapterMeasurements(report.measurements()),
        }
    }
}

/// Measurements as an object: name → lowercase hex digest, or number.
#[derive(Debug, Clone)]
pub(crate) struct AdapterMeasurements(Vec<scute_tee::Measurement>);

impl Serialize for AdapterMeasurements {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for m in &self.0 {
            match &m.value {
                scute_tee::MeasuredValue::Digest(d) => map.serialize_entry(m.name, &Hex(d))?,
                scute_tee::MeasuredValue::Number(n) => map.serialize_entry(m.name, n)?,
            }
        }
        map.end()
    }
}

/// A replayed event log: every measured event, in log order.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EventLogClaims {
    pub events: Vec<EventClaims>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EventClaims {
    /// The CC measurement register it extends.
    pub index: u32,
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// In the log's algorithm (SHA-384 for TDX, SM3 for CSV).
    pub digest: Option<Hex<Vec<u8>>>,
    /// Whether the decoded data is what the digest proves.
    pub data_verified: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub detail: Option<EventDetail>,
}

/// What of an event's data is shown, by its kind.
#[derive(Debug, Clone, Serialize)]
pub(crate) enum EventDetail {
    #[serde(rename = "text")]
    Text(String),
    #[serde(rename = "variable")]
    Variable(String),
    #[serde(rename = "image_path")]
    /// null when the path does not decode.
    ImagePath(Option<String>),
}

impl EventLogClaims {
    /// The measured events of a log that replayed, digests in `alg`.
    pub(crate) fn new(events: Vec<scute_eventlog::MeasuredEvent<'_>>, alg: u16) -> Self {
        use scute_eventlog::Detail;
        let events = events
            .into_iter()
            .map(|m| EventClaims {
                index: m.event.index,
                event_type: m.event.type_name(),
                digest: m.event.digest(alg).map(|d| Hex(d.to_vec())),
                data_verified: m.data_verified,
                detail: match m.detail {
                    Some(Detail::Text(t)) => Some(EventDetail::Text(t)),
                    Some(Detail::Variable { name, .. }) => Some(EventDetail::Variable(name)),
                    Some(Detail::ImageLoad { path, .. }) => Some(EventDetail::ImagePath(path)),
                    Some(Detail::Tagged { text: Some(t), .. }) => Some(EventDetail::Text(t)),
                    _ => None,
                },
            })
            .collect();
        Self { events }
    }
}
