//! `scute verify`: one piece of evidence of any TEE, one collateral directory, one verdict, for
//! people (text) or tools (`--json`, one contract for every TEE: the common members `verified`,
//! `tee`, `quote_version`, `report`, `error`, plus each TEE's own members). Every TEE goes
//! through the registry (`scute-verify`): the same verdict order (verify, report data, the
//! TEE's one debug rule), one failure shape, one hint table keyed by typed errors, and every
//! flag honoured or refused (exit 2) for each TEE.

use crate::{EXIT_CANNOT_RUN, EXIT_REJECTED};
use anyhow::Context;
use clap::Args;
use scute_dcap::{Collateral, TrustAnchor, UnixTime};
use scute_snp::{inspect_vek, CertRole};
use scute_verify::{
    Adapter, Endorsements, Error, Family, Files, Options, Roots, RootsFlag, Verified,
};
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Which kind of evidence `--quote` holds: the registry's verifier families `scute verify`
/// takes (`--tee`, in its `--help` order, each with its help line).
#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// The evidence kind.
    #[arg(long, default_value = "dcap", value_parser = crate::tee_arg::family())]
    pub(crate) tee: Family,
    /// The raw quote (SGX v3, TDX v4 or v5), with --tee snp the SEV-SNP report (raw, or the
    /// KBS evidence JSON), with --tee csv the CSV report (raw, or Trustee's evidence JSON).
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
    /// The 64 bytes (hex) the report's report_data must be, for every TEE (exit 1,
    /// `report_data_mismatch`, when it differs); with --tee csv also what proves Trustee's form
    /// and a V1 report's debug bit.
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

fn read_optional(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
    }
}

/// The SEV-SNP collateral files of a directory, read: (vek, chain, crl).
type SnpFiles = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

/// The SEV-SNP collateral files of `dir` (`collateral import`).
pub(crate) fn read_snp_collateral(dir: &Path) -> anyhow::Result<SnpFiles> {
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

/// A collateral directory as the registry's endorsement files.
struct Dir<'a>(&'a Path);

impl Files for Dir<'_> {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        read_optional(&self.0.join(name)).map_err(|e| format!("{e:#}"))
    }
    fn location(&self) -> String {
        self.0.display().to_string()
    }
}

/// The collateral from `--pccs` (or the QCNL config's server); the verdict below verifies it.
fn fetch_collateral(
    args: &VerifyArgs,
    quote: &[u8],
    root: Option<&[u8]>,
) -> anyhow::Result<Collateral> {
    let anchor = match root {
        Some(bytes) => TrustAnchor::from_certificate(bytes).context("root CA")?,
        None => TrustAnchor::intel_sgx_root(),
    };
    let client = crate::serve_cmd::pccs_client(args.pccs.as_deref(), args.cacert.as_deref())?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "give --collateral DIR or --pccs URL (no pccs_url in {})",
                crate::serve_cmd::QCNL_CONF
            )
        })?;
    let (files, _) = crate::serve_cmd::fetch_verified(&client, quote, &anchor)?;
    Ok(Collateral::from_files(|n| files.get(n).cloned())?)
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// The flags this TEE cannot honour, refused before anything is read (exit 2).
fn refused_flags(args: &VerifyArgs, adapter: &dyn Adapter) -> Option<String> {
    let tee = args.tee.name();
    let flag = adapter.roots_flag();
    if args.root_ca.is_some() && flag != Some(RootsFlag::Replace) {
        return Some(format!(
            "--root-ca does not apply to --tee {tee}{}",
            if flag == Some(RootsFlag::Add) {
                " (use --ark to add a root)"
            } else {
                ""
            }
        ));
    }
    if args.ark.is_some() && flag != Some(RootsFlag::Add) {
        return Some(format!(
            "--ark does not apply to --tee {tee}{}",
            if flag == Some(RootsFlag::Replace) {
                " (use --root-ca to replace the root)"
            } else {
                ""
            }
        ));
    }
    let dcap_only = [
        (args.pccs.is_some(), "--pccs"),
        (args.cacert.is_some(), "--cacert"),
        (args.allow_service_td, "--allow-service-td"),
        (args.dangerous_allow_sept_ve, "--dangerous-allow-sept-ve"),
    ];
    if args.tee != Family::Dcap {
        if let Some((_, flag)) = dcap_only.iter().find(|(set, _)| *set) {
            return Some(format!("{flag} applies only to --tee dcap"));
        }
    }
    None
}

/// What the command needs before a verdict: the evidence bytes, roots, endorsements, the
/// expected report data. Failing here is "cannot run" (exit 2), except bad collateral.
struct Inputs {
    bytes: Vec<u8>,
    roots: Roots,
    endorsements: Result<Option<Endorsements>, Error>,
    report_data: Option<[u8; 64]>,
}

fn report_data(text: &str) -> anyhow::Result<[u8; 64]> {
    let bytes = hex::decode(text.trim()).context("--report-data is not hex")?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!("--report-data is {} bytes; it must be all 64", b.len())
    })
}

fn inputs(args: &VerifyArgs, adapter: &dyn Adapter, bytes: Vec<u8>) -> anyhow::Result<Inputs> {
    let roots = match (&args.root_ca, &args.ark) {
        (Some(path), _) => Roots::Replace(read_file(path, "root CA")?),
        (None, Some(path)) => Roots::Add(read_file(path, "ARK")?),
        (None, None) => Roots::Vendor,
    };
    let report_data = args.report_data.as_deref().map(report_data).transpose()?;
    let endorsements = match (&args.collateral, args.tee) {
        (Some(dir), _) => {
            anyhow::ensure!(
                dir.is_dir(),
                "collateral directory {} not found",
                dir.display()
            );
            match adapter.endorsements(&Dir(dir)) {
                Err(Error::CannotRun(message)) => anyhow::bail!(message),
                other => other,
            }
        }
        (None, Family::Dcap) => {
            let root = match &roots {
                Roots::Replace(root) => Some(root.as_slice()),
                _ => None,
            };
            Ok(Some(Endorsements::new(fetch_collateral(
                args, &bytes, root,
            )?)))
        }
        (None, Family::Snp) => anyhow::bail!("--tee snp needs --collateral DIR"),
        (None, _) => Ok(None),
    };
    Ok(Inputs {
        bytes,
        roots,
        endorsements,
        report_data,
    })
}

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<u8> {
    let adapter = scute_verify::adapter(args.tee);
    if let Some(message) = refused_flags(&args, adapter) {
        if args.json {
            print_json(adapter, &[], Err(&Error::CannotRun(message)));
            return Ok(EXIT_CANNOT_RUN);
        }
        anyhow::bail!(message);
    }
    let bytes = read_file(&args.quote, "evidence")?;
    let inputs = match inputs(&args, adapter, bytes.clone()) {
        Ok(i) => i,
        Err(e) if args.json => {
            print_json(adapter, &bytes, Err(&Error::CannotRun(format!("{e:#}"))));
            return Ok(EXIT_CANNOT_RUN);
        }
        Err(e) => return Err(e),
    };
    let at = args
        .at
        .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
    let options = Options {
        allow_service_td: args.allow_service_td,
        dangerous_allow_sept_ve: args.dangerous_allow_sept_ve,
    };
    let result = inputs.endorsements.and_then(|endorsements| {
        let evidence = adapter.decode(&inputs.bytes)?;
        scute_verify::verify(
            adapter,
            &evidence,
            endorsements.as_ref(),
            &inputs.roots,
            at,
            inputs.report_data.as_ref(),
            args.allow_debug,
            &options,
        )
    });
    if let Err(Error::CannotRun(message)) = &result {
        if !args.json {
            anyhow::bail!(message.clone());
        }
    }
    if args.json {
        print_json(adapter, &inputs.bytes, result.as_ref());
    } else {
        print_text(adapter, &inputs.bytes, &result, at);
    }
    Ok(match result {
        Ok(_) => 0,
        Err(Error::CannotRun(_)) => EXIT_CANNOT_RUN,
        Err(_) => EXIT_REJECTED,
    })
}

/// The one failure shape: kind and message.
#[derive(Serialize)]
struct Failure {
    kind: &'static str,
    message: String,
}

/// The members every TEE's output has; the TEE's own follow (`Adapter::output_fields`).
#[derive(Serialize)]
struct Common {
    verified: bool,
    tee: Option<&'static str>,
    quote_version: Option<u32>,
    /// The decoded report only once it is proven: a consumer that skips `verified` still
    /// cannot act on unverified values.
    report: Value,
    error: Option<Failure>,
}

fn print_json(adapter: &dyn Adapter, bytes: &[u8], result: Result<&Verified, &Error>) {
    let (tee, version) = match &result {
        Ok(v) => (Some(v.report().tee()), quote_version(adapter, bytes, v)),
        Err(_) => adapter.identify(bytes),
    };
    let common = Common {
        verified: result.is_ok(),
        tee: tee.map(|t| t.name()),
        quote_version: version,
        report: result
            .as_ref()
            .ok()
            .map_or(Value::Null, |v| adapter.report_json(v)),
        error: result.as_ref().err().map(|e| Failure {
            kind: e.kind(),
            message: e.to_string(),
        }),
    };
    let mut out: Map<String, Value> = match serde_json::to_value(common) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    out.extend(adapter.output_fields(result.ok()));
    outln!("{}", Value::Object(out));
}

/// The verified report's version (DCAP quote version, SNP report version, CSV report version).
fn quote_version(adapter: &dyn Adapter, bytes: &[u8], verified: &Verified) -> Option<u32> {
    match adapter.identify(bytes) {
        (_, Some(version)) => Some(version),
        _ => adapter.report_json(verified)["version"]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok()),
    }
}

fn print_text(adapter: &dyn Adapter, bytes: &[u8], result: &Result<Verified, Error>, at: UnixTime) {
    match result {
        Ok(v) => {
            for line in adapter.describe(v, at) {
                outln!("{line}");
            }
        }
        Err(e) => {
            outln!("NOT VERIFIED: {e}");
            if let (Some(tee), Some(version)) = adapter.identify(bytes) {
                outln!("  quote: {} v{version}", tee.name().to_uppercase());
            }
            outln!("  what to do: {}", e.hint());
        }
    }
}
