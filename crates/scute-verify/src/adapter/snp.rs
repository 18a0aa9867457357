//! AMD SEV-SNP: reports raw or in the KBS JSON form (`scute_snp::Snp`), the collateral
//! directory's `vcek.der` or `vlek.der` (DER or PEM), KDS's `ask_ark_chain.pem` /
//! `asvk_ark_chain.pem` and the ARK's `crl.der`; AMD's pinned ARKs (`--ark` adds one); policy
//! bit 19 as the debug rule.

use super::{optional, rfc3339};
use crate::{
    Adapter, Endorsements, Error, Evidence, Family, Files, Options, Roots, RootsFlag, TeeError,
    UnixTime, Verified,
};
use scute_snp::{
    inspect_vek, report_json, CertRole, Endorsements as Vek, Snp, SnpError, TrustRoots,
    VerifiedReport,
};
use scute_tee::{EndorsementKey, Tee, Verifier};
use serde::Serialize;
use serde_json::{Map, Value};

pub(crate) struct SnpAdapter;

/// SEV-SNP's own members of the CLI contract: DCAP's TCB members stay, null (AMD gives no TCB
/// status), and the debug rule's answer.
#[derive(Serialize)]
struct Output {
    tcb_status: Option<&'static str>,
    advisory_ids: [&'static str; 0],
    platform_tcb_status: Option<&'static str>,
    qe_tcb_status: Option<&'static str>,
    fmspc: Option<String>,
    debug: Option<bool>,
    collateral_expires: Option<String>,
}

fn snp(e: SnpError) -> Error {
    Error::Tee(TeeError::Snp(e))
}

fn report_of(verified: &Verified) -> Option<&VerifiedReport> {
    verified.get::<VerifiedReport>()
}

fn trust_roots(roots: &Roots) -> Result<std::borrow::Cow<'_, TrustRoots>, Error> {
    use std::borrow::Cow;
    match roots {
        Roots::Vendor => Ok(Cow::Owned(TrustRoots::amd())),
        Roots::Add(ark) => TrustRoots::amd()
            .with_ark(ark)
            .map(Cow::Owned)
            .map_err(|e| Error::CannotRun(format!("ARK: {e}"))),
        Roots::Given(given) => given
            .get::<TrustRoots>()
            .map(Cow::Borrowed)
            .ok_or_else(|| Error::CannotRun("not SEV-SNP trust roots".into())),
        Roots::Replace(_) => Err(Error::CannotRun(
            "SEV-SNP roots can be added to (--ark), not replaced".into(),
        )),
    }
}

impl Adapter for SnpAdapter {
    fn tees(&self) -> &'static [Tee] {
        &[Tee::Snp]
    }
    fn roots_flag(&self) -> Option<RootsFlag> {
        Some(RootsFlag::Add)
    }
    fn decode(&self, bytes: &[u8]) -> Result<Evidence, Error> {
        Ok(Evidence::new(Family::Snp, Snp::decode(bytes).map_err(snp)?))
    }
    fn identify(&self, _bytes: &[u8]) -> (Option<Tee>, Option<u32>) {
        (Some(Tee::Snp), None)
    }
    fn endorsement_key(&self, evidence: &Evidence) -> Result<Option<EndorsementKey>, Error> {
        let ev = evidence
            .get::<scute_snp::Evidence>()
            .ok_or_else(|| Error::CannotRun("not SEV-SNP evidence".into()))?;
        Snp::endorsement_key(ev).map_err(snp)
    }
    /// The VEK is required in a directory (the command cannot run without one); the chain file
    /// is the key's kind's (a VLEK chains through the ASVK).
    fn endorsements(&self, files: &dyn Files) -> Result<Option<Endorsements>, Error> {
        let vek = match optional(files, "vcek.der")? {
            Some(v) => v,
            None => optional(files, "vlek.der")?.ok_or_else(|| {
                Error::CannotRun(format!("no vcek.der or vlek.der in {}", files.location()))
            })?,
        };
        let vlek = inspect_vek(&vek).is_ok_and(|i| i.kind == CertRole::Vlek);
        let chain_file = if vlek {
            "asvk_ark_chain.pem"
        } else {
            "ask_ark_chain.pem"
        };
        let chain = optional(files, chain_file)?;
        let crl = match optional(files, "crl.der")? {
            Some(c) => Some(c),
            None => optional(files, "crl.pem")?,
        };
        Ok(Some(Endorsements::new(Vek { vek, chain, crl })))
    }
    fn verify(
        &self,
        evidence: &Evidence,
        endorsements: Option<&Endorsements>,
        roots: &Roots,
        at: UnixTime,
        expected_report_data: Option<&[u8; 64]>,
        _options: &Options,
    ) -> Result<Verified, Error> {
        let ev = evidence
            .get::<scute_snp::Evidence>()
            .ok_or_else(|| Error::CannotRun("not SEV-SNP evidence".into()))?;
        let roots = trust_roots(roots)?;
        let verified = Snp::verify(
            ev,
            endorsements.and_then(Endorsements::get::<Vek>),
            &roots,
            at,
            expected_report_data,
            &(),
        )
        .map_err(snp)?;
        Ok(Verified::new(Family::Snp, verified))
    }
    /// Guest policy bit 19 (DEBUG).
    fn debug(&self, verified: &Verified) -> Option<&'static str> {
        report_of(verified)?
            .is_debug()
            .then_some("SEV-SNP guest (policy DEBUG set)")
    }
    fn report_json(&self, verified: &Verified) -> Value {
        report_of(verified).map_or(Value::Null, report_json)
    }
    fn output_fields(&self, verified: Option<&Verified>) -> Map<String, Value> {
        let v = verified.and_then(report_of);
        let out = Output {
            tcb_status: None,
            advisory_ids: [],
            platform_tcb_status: None,
            qe_tcb_status: None,
            fmspc: None,
            debug: v.map(VerifiedReport::is_debug),
            collateral_expires: v.map(|v| rfc3339(v.expires())),
        };
        match serde_json::to_value(out) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
    fn describe(&self, verified: &Verified, at: UnixTime) -> Vec<String> {
        let Some(v) = report_of(verified) else {
            return Vec::new();
        };
        let r = v.report();
        let mut out = vec![
            format!(
                "VERIFIED: SEV-SNP report v{} ({}, signed by the {})",
                r.version,
                v.product_name(),
                v.signer()
            ),
            format!("  measurement {}", hex::encode(r.measurement)),
            format!(
                "  reported TCB {}, VMPL {}, policy {:#x}",
                hex::encode(r.reported_tcb.0),
                r.vmpl,
                r.policy
            ),
            format!(
                "  launch TCB {}, current TCB {}{}",
                hex::encode(r.launch_tcb.0),
                hex::encode(r.current_tcb.0),
                r.mit_vectors()
                    .map(|(launch, current)| format!(
                        "; mitigation vectors: launch {launch:#x}, current {current:#x}"
                    ))
                    .unwrap_or_default()
            ),
            format!(
                "  chain valid until {} (verified as of {})",
                rfc3339(v.expires()),
                rfc3339(at)
            ),
        ];
        if v.is_debug() {
            out.push("  WARNING: debug guest accepted (--allow-debug): the guest policy lets the host read its memory".into());
        }
        out
    }
}

pub(crate) fn hint(e: &SnpError) -> &'static str {
    match e {
        SnpError::Validity { .. } => {
            "pass --at with the instant you mean to judge, or fetch a current VCEK"
        }
        SnpError::UntrustedRoot => {
            "the chain ends in another root; pass --ark only if you trust it"
        }
        SnpError::TcbMismatch { .. } => "fetch the VCEK for the report's reported TCB",
        SnpError::Missing(_) => "add ask_ark_chain.pem (or asvk_ark_chain.pem) from AMD KDS",
        SnpError::Evidence(_) | SnpError::Base64 { .. } => {
            "the file is not an SEV-SNP report or its evidence JSON, or it is damaged"
        }
        _ => "the report or its certificates are not genuine or were altered: do not trust it",
    }
}
