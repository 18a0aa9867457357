//! One complete simulated case: quote, collateral, root, and the verdict a correct verifier
//! must reach, with knobs that produce each bad case. The expected verdict is computed here
//! from the knobs, independently of any verifier.

use crate::quote::Workload;
use crate::sim::{CollateralOptions, Simulator};
use crate::{SimError, Tee};
use scute_quote::{Body, Quote};

/// A field of a signed region to corrupt after signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    Header,
    Body,
    QuoteSignature,
    AttestationKey,
    QeReport,
    QeReportSignature,
    QeAuthData,
    CertificationData,
}

impl Tamper {
    pub const ALL: [Tamper; 8] = [
        Tamper::Header,
        Tamper::Body,
        Tamper::QuoteSignature,
        Tamper::AttestationKey,
        Tamper::QeReport,
        Tamper::QeReportSignature,
        Tamper::QeAuthData,
        Tamper::CertificationData,
    ];

    /// The rejection a verifier must give.
    pub fn expected_error(self) -> &'static str {
        match self {
            Tamper::Header | Tamper::Body | Tamper::QuoteSignature => "quote_signature",
            Tamper::AttestationKey | Tamper::QeAuthData => "qe_report_data",
            Tamper::QeReport | Tamper::QeReportSignature => "qe_report_signature",
            Tamper::CertificationData => "certificate_invalid",
        }
    }

    fn apply(self, quote: &mut Quote) {
        let sig = &mut quote.signature;
        match self {
            Tamper::Header => quote.header.user_data[19] ^= 1,
            Tamper::Body => {
                let data = match &mut quote.body {
                    Body::Sgx(r) => &mut r.report_data,
                    Body::Td10(r) => &mut r.report_data,
                    Body::Td15(r) => &mut r.base.report_data,
                    Body::Td15Ex(r) => &mut r.base.base.report_data,
                };
                data[63] ^= 1;
            }
            Tamper::QuoteSignature => sig.signature[10] ^= 1,
            Tamper::AttestationKey => sig.attestation_key[5] ^= 1,
            Tamper::QeReport => sig.qe_report.isv_svn ^= 1,
            Tamper::QeReportSignature => sig.qe_report_signature[10] ^= 1,
            Tamper::QeAuthData => sig.qe_auth_data[0] ^= 1,
            Tamper::CertificationData => {
                // One base64 character inside the PCK leaf's signature.
                let pem = &mut sig.certification_data.data;
                if let Some(end) = pem.windows(9).position(|w| w == b"-----END ") {
                    let at = end.saturating_sub(12);
                    if let Some(c) = pem.get_mut(at) {
                        *c = if *c == b'A' { b'B' } else { b'A' };
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct CaseSpec {
    pub tee: Tee,
    pub quote_version: u16,
    pub tcb_status: String,
    pub qe_tcb_status: String,
    pub debug: bool,
    pub revoke_pck: bool,
    pub report_data: [u8; 64],
    pub seed: u64,
    /// The instant the case is made for: collateral is valid from an hour before it.
    pub now: i64,
    /// Collateral validity (issue, next update); default: an hour before `now`, for 30 days.
    pub window: Option<(i64, i64)>,
    pub wrong_fmspc: bool,
    pub tamper: Option<Tamper>,
    /// TDX v5 only: the body type the descriptor names (2, 3 or 4; `TD_BODY_TYPES`); the
    /// version's default (3) when `None`.
    pub td_body_type: Option<u16>,
}

impl CaseSpec {
    /// An UpToDate TDX v4 case, or SGX v3, valid at `now`.
    pub fn new(tee: Tee, now: i64) -> Self {
        Self {
            tee,
            quote_version: if tee == Tee::Sgx { 3 } else { 4 },
            tcb_status: "UpToDate".into(),
            qe_tcb_status: "UpToDate".into(),
            debug: false,
            revoke_pck: false,
            report_data: [0; 64],
            seed: 1,
            now,
            window: None,
            wrong_fmspc: false,
            tamper: None,
            td_body_type: None,
        }
    }
}

/// The verdict a correct verifier reaches at `verify_time` with default options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub verify_time: i64,
    pub ok: bool,
    pub tcb_status: Option<String>,
    pub advisory_ids: Vec<String>,
    /// The stable error kind when `ok` is false.
    pub error_kind: Option<&'static str>,
}

pub struct SimCase {
    pub quote: Vec<u8>,
    /// Collateral directory files (the `shared/vectors` layout, CRLs in DER).
    pub collateral: Vec<(&'static str, Vec<u8>)>,
    pub root_ca_pem: String,
    pub expected: Expected,
}

pub fn case(spec: &CaseSpec) -> Result<SimCase, SimError> {
    let sim = Simulator::new(spec.seed, spec.now)?;
    let mut options = CollateralOptions::valid_at(spec.tee, spec.now);
    options.tcb_status = spec.tcb_status.clone();
    let mut tee_tcb_svn2 = None;
    if let Some(platform_status) = relaunch_base(&spec.tcb_status) {
        // Launched on an out-of-date TDX module; the platform now runs the next one.
        let td15 = spec.tee == Tee::Tdx
            && spec.quote_version == 5
            && matches!(spec.td_body_type, None | Some(3 | 4));
        if !td15 {
            return Err(SimError::Unsupported(format!(
                "{} needs a TDX v5 quote with a TD 1.5 body (type 3 or 4)",
                spec.tcb_status
            )));
        }
        options.tcb_status = platform_status.into();
        options.module_tcb_status = "OutOfDate".into();
        let mut current = sim.tee_tcb_svn();
        current[0] = current[0].saturating_add(1);
        tee_tcb_svn2 = Some(current);
    }
    options.qe_tcb_status = spec.qe_tcb_status.clone();
    options.revoke_pck = spec.revoke_pck;
    options.wrong_fmspc = spec.wrong_fmspc;
    if let Some(window) = spec.window {
        options.window = window;
    }
    let collateral = sim.collateral(&options)?;
    let workload = Workload {
        tee: spec.tee,
        quote_version: spec.quote_version,
        debug: spec.debug,
        report_data: spec.report_data,
        rtmrs: None,
        tee_tcb_svn2,
        mr_config_id: None,
    };
    let mut quote = match spec.td_body_type {
        None => sim.quote(&workload)?,
        Some(body_type) => sim.quote_td_body(
            &workload,
            &crate::quote::LaunchMeasurements::default(),
            body_type,
        )?,
    };
    if let Some(tamper) = spec.tamper {
        tamper.apply(&mut quote);
    }
    Ok(SimCase {
        quote: quote.encode(),
        collateral,
        root_ca_pem: sim.root_ca_pem(),
        expected: expected(spec, options.window),
    })
}

/// For a TD-preserving status, the platform level's own status (the module makes the launch
/// TCB out of date).
fn relaunch_base(status: &str) -> Option<&'static str> {
    match status {
        "TDRelaunchAdvised" => Some("UpToDate"),
        "TDRelaunchAdvisedConfigurationNeeded" => Some("ConfigurationNeeded"),
        _ => None,
    }
}

/// QVL's `checkForRelaunch` of a launch status over a current one.
fn relaunch(launch: &str, current: &str) -> String {
    let config = |s: &str| s.contains("Configuration");
    let out = match (launch, current) {
        (
            "OutOfDate" | "OutOfDateConfigurationNeeded",
            "UpToDate"
            | "SWHardeningNeeded"
            | "ConfigurationNeeded"
            | "ConfigurationAndSWHardeningNeeded",
        ) => {
            if config(launch) || config(current) {
                "TDRelaunchAdvisedConfigurationNeeded"
            } else {
                "TDRelaunchAdvised"
            }
        }
        (launch, _) => launch,
    };
    out.to_string()
}

/// QVL's combination of the platform status with the QE's.
fn combined(platform: &str, qe: &str) -> String {
    let out = match (platform, qe) {
        ("UpToDate" | "SWHardeningNeeded", "OutOfDate") => "OutOfDate",
        ("ConfigurationNeeded" | "ConfigurationAndSWHardeningNeeded", "OutOfDate") => {
            "OutOfDateConfigurationNeeded"
        }
        (p, _) => p,
    };
    out.to_string()
}

fn expected(spec: &CaseSpec, window: (i64, i64)) -> Expected {
    let now = spec.now;
    // The first failure in the verifier's order of steps.
    let error = if now > window.1 {
        Some("collateral_expired")
    } else if now < window.0 {
        Some("collateral_not_yet_valid")
    } else if spec.revoke_pck {
        Some("certificate_revoked")
    } else if spec.tamper == Some(Tamper::CertificationData) {
        Some("certificate_invalid")
    } else if spec.wrong_fmspc {
        Some("platform_mismatch")
    } else if let Some(tamper) = spec.tamper {
        Some(tamper.expected_error())
    } else if spec.tcb_status == "Revoked" || spec.qe_tcb_status == "Revoked" {
        Some("tcb_revoked")
    } else if spec.debug {
        Some("debug_not_allowed")
    } else {
        None
    };
    // Advisories in QVL's order: platform, QE, TDX module.
    let platform_status = relaunch_base(&spec.tcb_status).unwrap_or(&spec.tcb_status);
    let mut advisory_ids = Vec::new();
    if platform_status != "UpToDate" {
        advisory_ids.push(crate::collateral::PLATFORM_ADVISORY.to_string());
    }
    if spec.qe_tcb_status != "UpToDate" {
        advisory_ids.push(crate::collateral::QE_ADVISORY.to_string());
    }
    let tcb_status = match relaunch_base(&spec.tcb_status) {
        Some(base) => {
            advisory_ids.push(crate::collateral::MODULE_ADVISORY.to_string());
            // The launch TCB: the platform's level with the out-of-date module, then the QE;
            // the current TCB: the same level, the current module (up to date), the QE.
            let launch = combined(&combined(base, "OutOfDate"), &spec.qe_tcb_status);
            let current = combined(base, &spec.qe_tcb_status);
            relaunch(&launch, &current)
        }
        None => combined(&spec.tcb_status, &spec.qe_tcb_status),
    };
    match error {
        Some(kind) => Expected {
            verify_time: now,
            ok: false,
            tcb_status: None,
            advisory_ids: Vec::new(),
            error_kind: Some(kind),
        },
        None => Expected {
            verify_time: now,
            ok: true,
            tcb_status: Some(tcb_status),
            advisory_ids,
            error_kind: None,
        },
    }
}
