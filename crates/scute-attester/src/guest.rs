//! Every TEE on the guest side: the four kinds a guest can be, the evidence each collects, and
//! that evidence in the two forms the verifiers take — the `evidence` object of a `/v1/attest`
//! body (docs/service.md) and the KBS `tee-evidence.primary_evidence` as the Confidential
//! Containers attesters send it (guest-components `attestation-agent/attester/src/{tdx,sgx_dcap,
//! snp,csv}`), which Trustee's verifiers and Scute's key broker read.

use crate::{Attester, AttesterError, Evidence};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use scute_quote::TeeType;
use scute_snp::{Product, Report, TcbField, TcbLayout, TcbVersion};
use serde_json::{json, Value};

/// The TEE a guest runs in: the workspace's one vocabulary (`scute_tee::Tee`, whose `name` is
/// what both front doors take). A guest is one of TDX, SGX, SEV-SNP and CSV, never `sample`.
pub use scute_tee::Tee as GuestTee;

/// The TEE of a DCAP quote's header (`scute_quote::TeeType`, a wire field).
fn dcap_tee(tee: TeeType) -> GuestTee {
    match tee {
        TeeType::Sgx => GuestTee::Sgx,
        TeeType::Tdx => GuestTee::Tdx,
    }
}

/// What a guest of any TEE collected for some report data.
#[derive(Debug, Clone)]
pub enum GuestEvidence {
    /// An SGX or TDX quote (with the TDX CCEL area, when there is one).
    Dcap(Evidence),
    /// An SEV-SNP report with the endorsements the host or the simulator supplied.
    Snp(SnpGuestEvidence),
    /// A Hygon CSV report, raw and as the CoCo CSV attester's evidence JSON.
    Csv(CsvGuestEvidence),
}

#[derive(Debug, Clone)]
pub struct SnpGuestEvidence {
    /// The 1184-byte report.
    pub report: Vec<u8>,
    /// The endorsement key (DER) and its kind ("VCEK" or "VLEK"), when supplied.
    pub vek: Option<(&'static str, Vec<u8>)>,
    /// The ASK (or ASVK) and the ARK, DER, when supplied.
    pub ask: Option<Vec<u8>>,
    pub ark: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct CsvGuestEvidence {
    /// The report as the PSP wrote it (what `scute verify --tee csv --quote` reads).
    pub report: Vec<u8>,
    /// Trustee's CSV evidence JSON (`scute_csv::TrusteeEvidence`).
    pub evidence: Value,
}

impl GuestEvidence {
    pub fn tee(&self) -> GuestTee {
        match self {
            Self::Dcap(e) => dcap_tee(e.tee),
            Self::Snp(_) => GuestTee::Snp,
            Self::Csv(_) => GuestTee::Csv,
        }
    }

    /// The bytes `scute quote` writes: the quote or the raw report.
    pub fn raw(&self) -> &[u8] {
        match self {
            Self::Dcap(e) => &e.quote,
            Self::Snp(e) => &e.report,
            Self::Csv(e) => &e.report,
        }
    }

    /// The `evidence` object of a `/v1/attest` body: `quote` (SNP the raw report, CSV the
    /// evidence JSON's text), TDX `cc_eventlog` (the events, `events_len` bytes of the area),
    /// SNP `vcek` and `cert_chain` (PEM) when supplied.
    pub fn attest_api_json(&self, events_len: Option<usize>) -> Value {
        match self {
            Self::Dcap(e) => {
                let mut out = json!({ "quote": STANDARD.encode(&e.quote) });
                if let Some(area) = &e.cc_eventlog {
                    let events = area.get(..events_len.unwrap_or(area.len())).unwrap_or(area);
                    out["cc_eventlog"] = Value::String(STANDARD.encode(events));
                }
                out
            }
            Self::Snp(e) => {
                let mut out = json!({ "quote": STANDARD.encode(&e.report) });
                if let Some((_, vek)) = &e.vek {
                    out["vcek"] = Value::String(STANDARD.encode(vek));
                }
                if let (Some(ask), Some(ark)) = (&e.ask, &e.ark) {
                    let pem = scute_snp::pem_chain(&[ask, ark]);
                    out["cert_chain"] = Value::String(STANDARD.encode(pem));
                }
                out
            }
            Self::Csv(e) => json!({ "quote": STANDARD.encode(e.evidence.to_string()) }),
        }
    }

    /// `tee-evidence.primary_evidence` for the KBS, as guest-components' attesters send it:
    /// TDX `{"quote", "cc_eventlog"}`, SGX `{"quote"}`, SNP `{"attestation_report",
    /// "cert_chain"}` (sev 6.x serde form), CSV the evidence object itself.
    pub fn kbs_primary_json(&self, events_len: Option<usize>) -> Value {
        match self {
            Self::Dcap(e) => {
                let mut out = json!({ "quote": STANDARD.encode(&e.quote) });
                if e.tee == TeeType::Tdx {
                    out["cc_eventlog"] = match &e.cc_eventlog {
                        Some(area) => {
                            let events =
                                area.get(..events_len.unwrap_or(area.len())).unwrap_or(area);
                            Value::String(STANDARD.encode(events))
                        }
                        None => Value::Null,
                    };
                }
                out
            }
            Self::Snp(e) => {
                let mut chain = Vec::new();
                if let Some((kind, der)) = &e.vek {
                    chain.push(json!({ "cert_type": kind, "data": der }));
                }
                for (kind, der) in [("ASK", &e.ask), ("ARK", &e.ark)] {
                    if let Some(der) = der {
                        chain.push(json!({ "cert_type": kind, "data": der }));
                    }
                }
                json!({
                    "attestation_report": snp_report_json(&e.report),
                    "cert_chain": if chain.is_empty() { Value::Null } else { Value::Array(chain) },
                })
            }
            Self::Csv(e) => e.evidence.clone(),
        }
    }
}

/// An SEV-SNP report in the serde form of the `sev` crate 6.x, which guest-components' SNP
/// attester sends (`attestation-agent/attester/src/snp/mod.rs`) and Trustee reads: the fields
/// by name, the reserved bytes dropped. A report that the form cannot carry exactly (a
/// reserved byte not zero, an undecodable report) goes as base64 text, which Scute also reads.
pub fn snp_report_json(raw: &[u8]) -> Value {
    let Ok(r) = Report::decode(raw) else {
        return Value::String(STANDARD.encode(raw));
    };
    let [family, model, stepping] = [r.bytes_188[0], r.bytes_188[1], r.bytes_188[2]];
    let cpuid_known = r.version >= 3;
    let product = cpuid_known
        .then(|| Product::from_cpuid(family, model))
        .flatten();
    let layout = product.map_or(TcbLayout::MilanGenoa, Product::tcb_layout);
    let lossless = r.reserved_04c == [0; 4]
        && r.bytes_188[3..].iter().all(|b| *b == 0)
        && (cpuid_known || r.bytes_188[..3] == [0; 3])
        && r.current_version[3] == 0
        && r.committed_version[3] == 0
        && r.bytes_1f8[16..].iter().all(|b| *b == 0)
        && r.signature_reserved.iter().all(|b| *b == 0)
        && tcbs_fit(&r, layout);
    if !lossless {
        return Value::String(STANDARD.encode(raw));
    }
    let tcb = |t: &TcbVersion| {
        let get = |f| t.get(layout, f).unwrap_or(0);
        json!({
            "fmc": (layout == TcbLayout::Turin).then(|| get(TcbField::Fmc)),
            "bootloader": get(TcbField::BootLoader),
            "tee": get(TcbField::Tee),
            "snp": get(TcbField::Snp),
            "microcode": get(TcbField::Microcode),
        })
    };
    let version = |v: &[u8; 4]| json!({ "major": v[2], "minor": v[1], "build": v[0] });
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&r.bytes_1f8[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let (launch_mit, current_mit) = if r.version >= 5 {
        (json!(u64_at(0)), json!(u64_at(8)))
    } else {
        (Value::Null, Value::Null)
    };
    json!({
        "version": r.version,
        "guest_svn": r.guest_svn,
        "policy": r.policy,
        "family_id": r.family_id,
        "image_id": r.image_id,
        "vmpl": r.vmpl,
        "sig_algo": r.signature_algo,
        "current_tcb": tcb(&r.current_tcb),
        "plat_info": r.platform_info,
        "key_info": r.signer_info,
        "report_data": r.report_data.to_vec(),
        "measurement": r.measurement.to_vec(),
        "host_data": r.host_data,
        "id_key_digest": r.id_key_digest.to_vec(),
        "author_key_digest": r.author_key_digest.to_vec(),
        "report_id": r.report_id,
        "report_id_ma": r.report_id_ma,
        "reported_tcb": tcb(&r.reported_tcb),
        "cpuid_fam_id": cpuid_known.then_some(family),
        "cpuid_mod_id": cpuid_known.then_some(model),
        "cpuid_step": cpuid_known.then_some(stepping),
        "chip_id": r.chip_id.to_vec(),
        "committed_tcb": tcb(&r.committed_tcb),
        "current": version(&r.current_version),
        "committed": version(&r.committed_version),
        "launch_tcb": tcb(&r.launch_tcb),
        "launch_mit_vector": launch_mit,
        "current_mit_vector": current_mit,
        "signature": { "r": r.signature_r.to_vec(), "s": r.signature_s.to_vec() },
    })
}

/// The named TCB components hold every non-zero byte (reserved TCB bytes are dropped too).
fn tcbs_fit(r: &Report, layout: TcbLayout) -> bool {
    [r.current_tcb, r.reported_tcb, r.committed_tcb, r.launch_tcb]
        .iter()
        .all(|t| {
            layout
                .fields()
                .iter()
                .zip(t.0)
                .all(|(f, b)| !matches!(f, TcbField::Reserved(_)) || b == 0)
        })
}

/// A guest's attester, of any TEE: what the CLI's guest commands use.
pub trait GuestAttester: Send + Sync {
    /// A short name for messages ("snp (configfs-tsm)", "csv (simulated)", ...).
    fn name(&self) -> &'static str;
    /// The TEE, known before collecting (the KBS handshake names it first).
    fn guest_tee(&self) -> GuestTee;
    /// Evidence carrying exactly `report_data`.
    fn collect_guest(&self, report_data: &[u8; 64]) -> Result<GuestEvidence, AttesterError>;
    /// The simulator's directory, for a simulated machine.
    fn sim_dir(&self) -> Option<&std::path::Path> {
        None
    }
}

/// Every DCAP attester is a guest attester.
impl<T: Attester + ?Sized> GuestAttester for T {
    fn name(&self) -> &'static str {
        Attester::name(self)
    }

    fn guest_tee(&self) -> GuestTee {
        dcap_tee(self.tee())
    }

    fn collect_guest(&self, report_data: &[u8; 64]) -> Result<GuestEvidence, AttesterError> {
        self.collect(report_data).map(GuestEvidence::Dcap)
    }
}
