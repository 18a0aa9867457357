//! `scute verify`: one quote, one collateral directory, one verdict, for people (text) or tools
//! (`--json`, an exact contract).

use crate::{EXIT_CANNOT_RUN, EXIT_REJECTED};
use anyhow::Context;
use clap::Args;
use scute_dcap::{
    format_rfc3339, report_json, verify, Collateral, DcapError, TrustAnchor, UnixTime,
    VerifiedQuote, VerifyOptions,
};
use scute_quote::Quote;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Which kind of evidence `--quote` holds.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyTee {
    /// An Intel SGX or TDX DCAP quote.
    Dcap,
    /// An AMD SEV-SNP attestation report (1184 bytes).
    Snp,
    /// A Hygon CSV report (raw, or Trustee's evidence JSON).
    Csv,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The evidence kind.
    #[arg(long, value_enum, default_value = "dcap")]
    pub(crate) tee: VerifyTee,
    /// The raw quote (SGX v3, TDX v4 or v5), with --tee snp the raw SEV-SNP report, with
    /// --tee csv the CSV report.
    #[arg(long)]
    pub(crate) quote: PathBuf,
    /// With --tee snp: also trust this ARK (PEM or DER) besides AMD's pinned roots.
    #[arg(long)]
    ark: Option<PathBuf>,
    /// Directory with tcb_info.json, qe_identity.json, the issuer chains, pck_crl and
    /// root_ca_crl (DER or PEM), and optionally pck_chain.pem.
    /// With --tee csv: hsk.cert and cek.cert (or hsk_cek.cert), optionally hrk.cert.
    #[arg(long, conflicts_with = "pccs")]
    pub(crate) collateral: Option<PathBuf>,
    /// Fetch the collateral from this PCCS-compatible server instead [default without
    /// --collateral: pccs_url of /etc/sgx_default_qcnl.conf].
    #[arg(long)]
    pccs: Option<String>,
    /// A PEM CA certificate for a --pccs server with a private CA.
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// Verify as of this instant (RFC 3339) instead of now.
    #[arg(long, value_parser = parse_instant)]
    at: Option<UnixTime>,
    /// Trust this root CA certificate (PEM or DER) instead of the Intel SGX Root CA (with
    /// --tee csv: this HRK certificate instead of Hygon's).
    #[arg(long)]
    pub(crate) root_ca: Option<PathBuf>,
    /// With --tee csv: the 64 bytes (hex) report_data must be; required for Trustee's form.
    #[arg(long)]
    pub(crate) report_data: Option<String>,
    /// Accept debug enclaves, debug TDs, debug SEV-SNP and debug CSV guests.
    #[arg(long)]
    pub(crate) allow_debug: bool,
    /// Accept TDs bound to service TDs.
    #[arg(long)]
    allow_service_td: bool,
    /// Accept TDs without SEPT_VE_DISABLE (the host can then inject #VE on private memory).
    #[arg(long)]
    dangerous_allow_sept_ve: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The one debug rule of `scute verify`, the same for every TEE: evidence that verified but
/// whose TEE lets the host read or debug it (each verifier's `is_debug`: SGX/TDX DEBUG
/// attribute, SEV-SNP policy bit 19, CSV policy NODBG clear) is refused, exit 1 with kind
/// `debug_not_allowed`, unless `--allow-debug`. Applied after verification, so a forged debug
/// bit is never what decides a refusal's kind.
pub(crate) fn debug_rule(
    what: &'static str,
    is_debug: bool,
    allow_debug: bool,
) -> Result<(), DebugNotAllowed> {
    if is_debug && !allow_debug {
        return Err(DebugNotAllowed(what));
    }
    Ok(())
}

/// A verified debug guest, refused by [`debug_rule`]; names the guest kind ("TD", "enclave",
/// "SEV-SNP guest", "CSV guest").
pub(crate) struct DebugNotAllowed(pub(crate) &'static str);

impl DebugNotAllowed {
    pub(crate) const KIND: &'static str = "debug_not_allowed";
    pub(crate) const HINT: &'static str =
        "debug TEEs are rejected; --allow-debug accepts them for testing only";
    pub(crate) fn message(&self) -> String {
        format!("debug {} not allowed", self.0)
    }
}

fn parse_instant(text: &str) -> Result<UnixTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("not RFC 3339: {e}"))
}

/// Reads the collateral files of `dir`; a missing optional file is `None`, any other read
/// failure stops the command.
pub(crate) fn read_collateral(dir: &Path) -> anyhow::Result<Collateral> {
    anyhow::ensure!(
        dir.is_dir(),
        "collateral directory {} not found",
        dir.display()
    );
    let mut io_error = None;
    let collateral = Collateral::from_files(|name| match std::fs::read(dir.join(name)) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            io_error.get_or_insert(anyhow::anyhow!("reading {}: {e}", dir.join(name).display()));
            None
        }
    });
    if let Some(e) = io_error {
        return Err(e);
    }
    collateral.map_err(|e| anyhow::anyhow!("{e} (in {})", dir.display()))
}

/// The collateral from `--pccs` (or the QCNL config's server); the verdict below verifies it.
fn fetch_collateral(
    args: &VerifyArgs,
    quote: &[u8],
    anchor: &TrustAnchor,
) -> anyhow::Result<Collateral> {
    let client = crate::serve_cmd::pccs_client(args.pccs.as_deref(), args.cacert.as_deref())?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "give --collateral DIR or --pccs URL (no pccs_url in {})",
                crate::serve_cmd::QCNL_CONF
            )
        })?;
    let (files, _) = crate::serve_cmd::fetch_verified(&client, quote, anchor)?;
    Ok(Collateral::from_files(|n| files.get(n).cloned())?)
}

pub fn run(args: VerifyArgs) -> anyhow::Result<u8> {
    if args.tee == VerifyTee::Csv {
        return crate::verify_csv::run(&args);
    }
    if args.tee == VerifyTee::Snp {
        let at = args
            .at
            .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
        return crate::verify_snp::run(
            &args.quote,
            args.collateral.as_deref(),
            args.ark.as_deref(),
            at,
            args.allow_debug,
            args.json,
        );
    }
    let quote_bytes =
        std::fs::read(&args.quote).with_context(|| format!("reading {}", args.quote.display()))?;
    let anchor = match &args.root_ca {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            TrustAnchor::from_certificate(&bytes)
                .with_context(|| format!("root CA {}", path.display()))?
        }
        None => TrustAnchor::intel_sgx_root(),
    };
    let loaded = match &args.collateral {
        Some(dir) => read_collateral(dir),
        None => fetch_collateral(&args, &quote_bytes, &anchor),
    };
    let collateral = match loaded {
        Ok(c) => c,
        Err(e) if args.json => {
            print_json(&quote_bytes, Err(&CannotRun(format!("{e:#}"))));
            return Ok(EXIT_CANNOT_RUN);
        }
        Err(e) => return Err(e),
    };
    let now = args
        .at
        .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
    // Debug is judged by `debug_rule`, as for every TEE, once the quote has verified.
    let options = VerifyOptions {
        allow_debug: true,
        allow_service_td: args.allow_service_td,
        dangerous_allow_sept_ve: args.dangerous_allow_sept_ve,
    };
    let result = verify(&quote_bytes, &collateral, &anchor, now, options).and_then(|v| {
        let what = if v.quote().tee_type() == scute_quote::TeeType::Sgx {
            "enclave"
        } else {
            "TD"
        };
        debug_rule(what, v.is_debug(), args.allow_debug)
            .map(|()| v)
            .map_err(|refused| DcapError::Debug(refused.0))
    });
    if args.json {
        print_json(&quote_bytes, result.as_ref().map_err(|e| e as &dyn Failure));
    } else {
        print_text(&quote_bytes, &result, now);
    }
    Ok(if result.is_ok() { 0 } else { EXIT_REJECTED })
}

/// A failure as the JSON contract shows it.
trait Failure {
    fn kind(&self) -> &'static str;
    fn message(&self) -> String;
}

impl Failure for DcapError {
    fn kind(&self) -> &'static str {
        DcapError::kind(self)
    }
    fn message(&self) -> String {
        self.to_string()
    }
}

struct CannotRun(String);

impl Failure for CannotRun {
    fn kind(&self) -> &'static str {
        "cannot_run"
    }
    fn message(&self) -> String {
        self.0.clone()
    }
}

fn print_json(quote_bytes: &[u8], result: Result<&VerifiedQuote, &dyn Failure>) {
    let decoded = Quote::decode(quote_bytes).ok();
    let quote = match &result {
        Ok(v) => Some(v.quote()),
        Err(_) => decoded.as_ref(),
    };
    let out = json!({
        "verified": result.is_ok(),
        "tee": quote.map(|q| q.tee_type().name()),
        "quote_version": quote.map(|q| q.header.version),
        "tcb_status": result.as_ref().ok().map(|v| v.tcb_status().name()),
        "advisory_ids": result.as_ref().map(|v| v.advisory_ids().to_vec()).unwrap_or_default(),
        "platform_tcb_status": result.as_ref().ok().map(|v| v.platform().status.name()),
        "qe_tcb_status": result.as_ref().ok().map(|v| v.qe().status.name()),
        "tdx_module_tcb_status": result.as_ref().ok().and_then(|v| v.tdx_module()).map(|m| m.status.name()),
        "fmspc": result.as_ref().ok().map(|v| hex::encode(v.pck().fmspc)),
        // Measurements only once they are proven: a consumer that skips `verified` still
        // cannot act on unverified values.
        "report": result.as_ref().ok().map(|v| report_json(&v.quote().body)),
        "collateral_expires": result.as_ref().ok().map(|v| format_rfc3339(v.collateral_expires())),
        "error": match &result {
            Ok(_) => Value::Null,
            Err(e) => json!({"kind": e.kind(), "message": e.message()}),
        },
    });
    outln!("{out}");
}

fn print_text(quote_bytes: &[u8], result: &Result<VerifiedQuote, DcapError>, now: UnixTime) {
    match result {
        Ok(v) => {
            let q = v.quote();
            outln!(
                "VERIFIED: {} quote v{}, TCB status {}",
                q.tee_type().name().to_uppercase(),
                q.header.version,
                v.tcb_status()
            );
            outln!(
                "  platform TCB: {} (TCB date {})",
                v.platform().status,
                v.platform().tcb_date
            );
            if let Some(module) = v.tdx_module() {
                outln!(
                    "  TDX module TCB: {} (TCB date {})",
                    module.status,
                    module.tcb_date
                );
            }
            outln!("  QE TCB: {} (TCB date {})", v.qe().status, v.qe().tcb_date);
            outln!(
                "  FMSPC {}, TCB evaluation data number {}",
                hex::encode(v.pck().fmspc),
                v.tcb_evaluation_data_number()
            );
            outln!(
                "  collateral valid until {} (verified as of {})",
                format_rfc3339(v.collateral_expires()),
                format_rfc3339(now)
            );
            if !v.shortfalls().is_empty() {
                outln!("  below the newest TCB level Intel lists:");
                for s in v.shortfalls() {
                    outln!(
                        "    {}: {} (newest level: {})",
                        s.component,
                        s.have,
                        s.newest
                    );
                }
            }
            if !v.advisory_ids().is_empty() {
                outln!("  advisories: {}", v.advisory_ids().join(", "));
            }
            if v.is_debug() {
                outln!("  WARNING: debug TEE accepted (--allow-debug): its memory is readable by the host");
            }
        }
        Err(e) => {
            outln!("NOT VERIFIED: {e}");
            if let Ok(q) = Quote::decode(quote_bytes) {
                outln!(
                    "  quote: {} v{}",
                    q.tee_type().name().to_uppercase(),
                    q.header.version
                );
            }
            outln!("  what to do: {}", hint(e));
        }
    }
}

fn hint(e: &DcapError) -> &'static str {
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
        DcapError::Debug(_) => DebugNotAllowed::HINT,
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
