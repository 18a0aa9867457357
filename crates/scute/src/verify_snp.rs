//! `scute verify --tee snp`: one SEV-SNP report, one collateral directory (`vcek.der` or
//! `vlek.der`, DER or PEM; optionally KDS's `ask_ark_chain.pem` / `asvk_ark_chain.pem` and the
//! ARK's `crl.der`), one verdict with the same JSON shape and exit codes as DCAP, and the same
//! debug rule (`verify_cmd::debug_rule`).

use crate::verify_cmd::{debug_rule, DebugNotAllowed};
use crate::{EXIT_CANNOT_RUN, EXIT_REJECTED};
use anyhow::Context;
use scute_dcap::format_rfc3339;
use scute_snp::{
    inspect_vek, report_json, CertRole, Collateral, SnpError, TrustRoots, VerifiedReport,
};
use serde_json::{json, Value};
use std::path::Path;

/// The collateral files of `dir`, read: (vek, chain, crl).
type Files = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

fn read_optional(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
    }
}

pub(crate) fn read_snp_collateral(dir: &Path) -> anyhow::Result<Files> {
    anyhow::ensure!(
        dir.is_dir(),
        "collateral directory {} not found",
        dir.display()
    );
    let vek = match read_optional(&dir.join("vcek.der"))? {
        Some(v) => v,
        None => read_optional(&dir.join("vlek.der"))?
            .with_context(|| format!("no vcek.der or vlek.der in {}", dir.display()))?,
    };
    // The chain file of the key's kind (a VLEK chains through the ASVK).
    let vlek = inspect_vek(&vek).is_ok_and(|i| i.kind == CertRole::Vlek);
    let chain_file = if vlek {
        "asvk_ark_chain.pem"
    } else {
        "ask_ark_chain.pem"
    };
    let chain = read_optional(&dir.join(chain_file))?;
    let crl = match read_optional(&dir.join("crl.der"))? {
        Some(c) => Some(c),
        None => read_optional(&dir.join("crl.pem"))?,
    };
    Ok((vek, chain, crl))
}

pub(crate) fn snp_roots(ark: Option<&Path>) -> anyhow::Result<TrustRoots> {
    let roots = TrustRoots::amd();
    match ark {
        None => Ok(roots),
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            roots
                .with_ark(&bytes)
                .with_context(|| format!("ARK {}", path.display()))
        }
    }
}

pub fn run(
    report: &Path,
    collateral: Option<&Path>,
    ark: Option<&Path>,
    at: i64,
    allow_debug: bool,
    as_json: bool,
) -> anyhow::Result<u8> {
    let bytes = std::fs::read(report).with_context(|| format!("reading {}", report.display()))?;
    let loaded = collateral
        .context("--tee snp needs --collateral DIR")
        .and_then(read_snp_collateral)
        .and_then(|files| Ok((files, snp_roots(ark)?)));
    let ((vek, chain, crl), roots) = match loaded {
        Ok(l) => l,
        Err(e) if as_json => {
            print_json(Err(("cannot_run", format!("{e:#}"))));
            return Ok(EXIT_CANNOT_RUN);
        }
        Err(e) => return Err(e),
    };
    let result = scute_snp::verify(
        &bytes,
        &Collateral {
            vek: &vek,
            chain: chain.as_deref(),
            crl: crl.as_deref(),
        },
        &roots,
        at,
    )
    .map_err(Refusal::Snp)
    .and_then(|v| {
        debug_rule(
            "SEV-SNP guest (policy DEBUG set)",
            v.is_debug(),
            allow_debug,
        )
        .map(|()| v)
        .map_err(Refusal::Debug)
    });
    if as_json {
        print_json(result.as_ref().map_err(|e| (e.kind(), e.message())));
    } else {
        print_text(&result, at);
    }
    Ok(if result.is_ok() { 0 } else { EXIT_REJECTED })
}

/// Why a report is not verified: the verifier's error, or the CLI's one debug rule.
enum Refusal {
    Snp(SnpError),
    Debug(DebugNotAllowed),
}

impl Refusal {
    fn kind(&self) -> &'static str {
        match self {
            Refusal::Snp(e) => e.kind(),
            Refusal::Debug(_) => DebugNotAllowed::KIND,
        }
    }
    fn message(&self) -> String {
        match self {
            Refusal::Snp(e) => e.to_string(),
            Refusal::Debug(d) => d.message(),
        }
    }
}

fn print_json(result: Result<&VerifiedReport, (&str, String)>) {
    let out = json!({
        "verified": result.is_ok(),
        "tee": "snp",
        "quote_version": result.as_ref().ok().map(|v| v.report().version),
        "tcb_status": Value::Null,
        "advisory_ids": [],
        "platform_tcb_status": Value::Null,
        "qe_tcb_status": Value::Null,
        "fmspc": Value::Null,
        // Claims only once they are proven.
        "report": result.as_ref().ok().map(|v| report_json(v)),
        "debug": result.as_ref().ok().map(|v| v.is_debug()),
        "collateral_expires": result.as_ref().ok().map(|v| format_rfc3339(v.expires())),
        "error": match &result {
            Ok(_) => Value::Null,
            Err((kind, message)) => json!({"kind": kind, "message": message}),
        },
    });
    outln!("{out}");
}

fn print_text(result: &Result<VerifiedReport, Refusal>, at: i64) {
    match result {
        Ok(v) => {
            let r = v.report();
            outln!(
                "VERIFIED: SEV-SNP report v{} ({}, signed by the {})",
                r.version,
                v.product_name(),
                v.signer()
            );
            outln!("  measurement {}", hex::encode(r.measurement));
            outln!(
                "  reported TCB {}, VMPL {}, policy {:#x}",
                hex::encode(r.reported_tcb.0),
                r.vmpl,
                r.policy
            );
            outln!(
                "  chain valid until {} (verified as of {})",
                format_rfc3339(v.expires()),
                format_rfc3339(at)
            );
            if v.is_debug() {
                outln!("  WARNING: debug guest accepted (--allow-debug): the guest policy lets the host read its memory");
            }
        }
        Err(e) => {
            outln!("NOT VERIFIED: {}", e.message());
            let e = match e {
                Refusal::Debug(_) => {
                    outln!("  what to do: {}", DebugNotAllowed::HINT);
                    return;
                }
                Refusal::Snp(e) => e,
            };
            outln!(
                "  what to do: {}",
                match e {
                    SnpError::Validity { .. } => "pass --at with the instant you mean to judge, or fetch a current VCEK",
                    SnpError::UntrustedRoot => "the chain ends in another root; pass --ark only if you trust it",
                    SnpError::TcbMismatch { .. } => "fetch the VCEK for the report's reported TCB",
                    SnpError::Missing(_) => "add ask_ark_chain.pem (or asvk_ark_chain.pem) from AMD KDS",
                    _ => "the report or its certificates are not genuine or were altered: do not trust it",
                }
            );
        }
    }
}
