//! Intel SGX and TDX: DCAP quotes (`scute_dcap::Dcap`), the collateral directory's files
//! (`tcb_info.json`, `qe_identity.json`, the issuer chains and CRLs), the Intel SGX Root CA
//! (`--root-ca` replaces it), the DEBUG attribute as the debug rule.

use super::rfc3339;
use crate::{
    Adapter, Endorsements, Error, Evidence, Family, Files, Options, Roots, RootsFlag, TeeError,
    UnixTime, Verified,
};
use scute_dcap::{
    report_json, Collateral, Dcap, DcapError, DcapOptions, QuoteEvidence, TrustAnchor,
    VerifiedCollateral, VerifiedQuote, VerifyOptions,
};
use scute_quote::{Quote, TeeType};
use scute_tee::{EndorsementKey, Tee, Verifier};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

pub(crate) struct DcapAdapter;

/// DCAP's own members of the CLI contract.
#[derive(Serialize)]
struct Output {
    tcb_status: Option<&'static str>,
    advisory_ids: Vec<String>,
    platform_tcb_status: Option<&'static str>,
    qe_tcb_status: Option<&'static str>,
    tdx_module_tcb_status: Option<&'static str>,
    fmspc: Option<String>,
    collateral_expires: Option<String>,
    /// The TCB explanation (issue 24): the matched level's tcbDate, the newest level's
    /// tcbDate, TCB Info's tcbEvaluationDataNumber, and `VerifiedQuote::days_behind`.
    tcb_date: Option<String>,
    newest_tcb_date: Option<String>,
    tcb_evaluation_data_number: Option<u32>,
    days_behind: Option<u32>,
    /// TD-preserving TDs (TD 1.5 bodies): the launch TCB's status before the relaunch check,
    /// and the current TCB's (TEE_TCB_SVN2) with its date and advisories; null otherwise.
    launch_tcb_status: Option<&'static str>,
    current_tcb_status: Option<&'static str>,
    current_tcb_date: Option<String>,
    current_advisory_ids: Option<Vec<String>>,
}

fn quote_of(verified: &Verified) -> Option<&VerifiedQuote> {
    verified.get::<VerifiedQuote>()
}

fn dcap(e: DcapError) -> Error {
    Error::Tee(TeeError::Dcap(e))
}

/// The Intel SGX Root CA, or the one certificate that replaces it.
pub(crate) fn trust_anchor(roots: &Roots) -> Result<TrustAnchor, Error> {
    match roots {
        Roots::Vendor => Ok(TrustAnchor::intel_sgx_root()),
        Roots::Replace(cert) => TrustAnchor::from_certificate(cert)
            .map_err(|e| Error::CannotRun(format!("root CA: {e}"))),
        Roots::Add(_) => Err(Error::CannotRun(
            "DCAP roots can be replaced (--root-ca), not added to".into(),
        )),
        Roots::Given(given) => given
            .get::<TrustAnchor>()
            .cloned()
            .ok_or_else(|| Error::CannotRun("not a DCAP trust anchor".into())),
    }
}

impl Adapter for DcapAdapter {
    fn tees(&self) -> &'static [Tee] {
        &[Tee::Sgx, Tee::Tdx]
    }
    fn roots_flag(&self) -> Option<RootsFlag> {
        Some(RootsFlag::Replace)
    }
    fn decode(&self, bytes: &[u8]) -> Result<Evidence, Error> {
        Ok(Evidence::new(
            Family::Dcap,
            Dcap::decode(bytes).map_err(dcap)?,
        ))
    }
    fn identify(&self, bytes: &[u8]) -> (Option<Tee>, Option<u32>) {
        match Quote::decode(bytes) {
            Ok(q) => (
                Some(match q.tee_type() {
                    TeeType::Sgx => Tee::Sgx,
                    TeeType::Tdx => Tee::Tdx,
                }),
                Some(q.header.version.into()),
            ),
            Err(_) => (None, None),
        }
    }
    fn endorsement_key(&self, evidence: &Evidence) -> Result<Option<EndorsementKey>, Error> {
        let ev = evidence
            .get::<QuoteEvidence>()
            .ok_or_else(|| Error::CannotRun("not DCAP evidence".into()))?;
        Dcap::endorsement_key(ev).map_err(dcap)
    }
    /// A collateral directory that lacks a required file cannot be used: the command cannot
    /// run (as before: the verdict is about the quote, not about a half directory).
    fn endorsements(&self, files: &dyn Files) -> Result<Option<Endorsements>, Error> {
        let mut io_error = None;
        let collateral = Collateral::from_files(|name| match files.get(name) {
            Ok(bytes) => bytes,
            Err(e) => {
                io_error.get_or_insert(e);
                None
            }
        });
        if let Some(e) = io_error {
            return Err(Error::CannotRun(e));
        }
        let collateral =
            collateral.map_err(|e| Error::CannotRun(format!("{e} (in {})", files.location())))?;
        Ok(Some(Endorsements::new(collateral)))
    }
    fn verify(
        &self,
        evidence: &Evidence,
        endorsements: Option<&Endorsements>,
        roots: &Roots,
        at: UnixTime,
        expected_report_data: Option<&[u8; 64]>,
        options: &Options,
    ) -> Result<Verified, Error> {
        let ev = evidence
            .get::<QuoteEvidence>()
            .ok_or_else(|| Error::CannotRun("not DCAP evidence".into()))?;
        // Collateral a service verified once (its warm cache): it names the anchor it was
        // verified against, so `roots` are not consulted; only the quote is checked, at `at`.
        if let Some(warm) = endorsements.and_then(Endorsements::get::<Arc<VerifiedCollateral>>) {
            let options = VerifyOptions {
                allow_debug: true,
                allow_service_td: options.allow_service_td,
                dangerous_allow_sept_ve: options.dangerous_allow_sept_ve,
            };
            let verified = warm.verify_quote(ev.raw(), at, options).map_err(dcap)?;
            return Ok(Verified::new(Family::Dcap, verified));
        }
        let anchor = trust_anchor(roots)?;
        let options = DcapOptions {
            allow_service_td: options.allow_service_td,
            dangerous_allow_sept_ve: options.dangerous_allow_sept_ve,
        };
        let verified = Dcap::verify(
            ev,
            endorsements.and_then(Endorsements::get::<Collateral>),
            &anchor,
            at,
            expected_report_data,
            &options,
        )
        .map_err(dcap)?;
        Ok(Verified::new(Family::Dcap, verified))
    }
    /// SGX ATTRIBUTES.DEBUG, TDX TD_ATTRIBUTES' TUD bits (`Body::is_debug`).
    fn debug(&self, verified: &Verified) -> Option<&'static str> {
        let v = quote_of(verified)?;
        v.is_debug()
            .then_some(if v.quote().tee_type() == TeeType::Sgx {
                "enclave"
            } else {
                "TD"
            })
    }
    fn report_json(&self, verified: &Verified) -> Value {
        quote_of(verified).map_or(Value::Null, |v| report_json(&v.quote().body))
    }
    fn output_fields(&self, verified: Option<&Verified>) -> Map<String, Value> {
        let v = verified.and_then(quote_of);
        let out = Output {
            tcb_status: v.map(|v| v.tcb_status().name()),
            advisory_ids: v.map(|v| v.advisory_ids().to_vec()).unwrap_or_default(),
            platform_tcb_status: v.map(|v| v.platform().status.name()),
            qe_tcb_status: v.map(|v| v.qe().status.name()),
            tdx_module_tcb_status: v.and_then(|v| v.tdx_module()).map(|m| m.status.name()),
            fmspc: v.map(|v| hex::encode(v.pck().fmspc)),
            collateral_expires: v.map(|v| rfc3339(v.collateral_expires())),
            tcb_date: v.map(|v| v.tcb_date().to_owned()),
            newest_tcb_date: v.map(|v| v.newest_tcb_date().to_owned()),
            tcb_evaluation_data_number: v.map(VerifiedQuote::tcb_evaluation_data_number),
            days_behind: v.and_then(VerifiedQuote::days_behind),
            launch_tcb_status: v
                .filter(|v| v.current().is_some())
                .map(|v| v.launch().status.name()),
            current_tcb_status: v.and_then(|v| v.current()).map(|c| c.status.name()),
            current_tcb_date: v.and_then(|v| v.current()).map(|c| c.tcb_date.clone()),
            current_advisory_ids: v.and_then(|v| v.current()).map(|c| c.advisory_ids.clone()),
        };
        match serde_json::to_value(out) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
    fn describe(&self, verified: &Verified, at: UnixTime) -> Vec<String> {
        let Some(v) = quote_of(verified) else {
            return Vec::new();
        };
        let q = v.quote();
        let mut out = vec![
            format!(
                "VERIFIED: {} quote v{}, TCB status {}",
                q.tee_type().name().to_uppercase(),
                q.header.version,
                v.tcb_status()
            ),
            format!(
                "  platform TCB: {} (TCB date {})",
                v.platform().status,
                v.platform().tcb_date
            ),
        ];
        if let Some(module) = v.tdx_module() {
            out.push(format!(
                "  TDX module TCB: {} (TCB date {})",
                module.status, module.tcb_date
            ));
        }
        out.push(format!(
            "  QE TCB: {} (TCB date {})",
            v.qe().status,
            v.qe().tcb_date
        ));
        if let Some(current) = v.current() {
            out.push(format!(
                "  launch TCB: {} (TCB date {}); current TCB: {} (TCB date {})",
                v.launch().status,
                v.launch().tcb_date,
                current.status,
                current.tcb_date
            ));
        }
        out.push(format!(
            "  FMSPC {}, TCB evaluation data number {}",
            hex::encode(v.pck().fmspc),
            v.tcb_evaluation_data_number()
        ));
        if let (Some(superseded), Some(days)) = (v.superseded_at(), v.days_behind()) {
            out.push(format!(
                "  TCB date {}: superseded by a level of {} ({days} days ago); newest level {}",
                v.tcb_date(),
                superseded,
                v.newest_tcb_date()
            ));
        }
        out.push(format!(
            "  collateral valid until {} (verified as of {})",
            rfc3339(v.collateral_expires()),
            rfc3339(at)
        ));
        if !v.shortfalls().is_empty() {
            out.push("  below the newest TCB level Intel lists:".into());
            for s in v.shortfalls() {
                out.push(format!(
                    "    {}: {} (newest level: {})",
                    s.component, s.have, s.newest
                ));
            }
        }
        if !v.advisory_ids().is_empty() {
            out.push(format!("  advisories: {}", v.advisory_ids().join(", ")));
        }
        if v.is_debug() {
            out.push(
                "  WARNING: debug TEE accepted (--allow-debug): its memory is readable by the host"
                    .into(),
            );
        }
        out
    }
}

pub(crate) fn hint(e: &DcapError) -> &'static str {
    match e {
        DcapError::Expired { .. } => {
            "fetch fresh collateral, or pass --at with the instant you mean to judge"
        }
        DcapError::NotYetValid { .. } => "the collateral is newer than --at; pass a later instant",
        DcapError::UntrustedRoot { .. } => {
            "the chain ends in another root; pass --root-ca only if you trust it"
        }
        DcapError::TcbNotSupported { .. } => {
            "the platform's TCB is older than every level Intel lists: update it"
        }
        DcapError::TcbRevoked | DcapError::CertificateRevoked { .. } => {
            "the platform's keys are revoked: do not trust it"
        }
        DcapError::Debug(_) => crate::DEBUG_HINT,
        DcapError::TdAttributes(_) => {
            "the TD was launched with attributes the default policy rejects"
        }
        DcapError::PlatformMismatch { .. } | DcapError::TeeMismatch { .. } => {
            "the collateral is for another platform: fetch the collateral for this quote's FMSPC"
        }
        DcapError::QuoteDecode(_) => "the file is not a DCAP quote, or it is damaged",
        _ => "the evidence or collateral is not genuine or was altered: do not trust this quote",
    }
}
