//! `scute verify --tee csv`: one Hygon CSV report (raw, or Trustee's evidence JSON) and a
//! directory with the chip's HSK and CEK, one verdict in the same JSON shape and exit statuses
//! as DCAP. CSV certificates carry no validity period, so `--at` changes nothing here.

use crate::verify_cmd::{DebugNotAllowed, VerifyArgs};
use crate::{EXIT_CANNOT_RUN, EXIT_REJECTED};
use anyhow::Context;
use scute_csv::{verify, CaCert, CsvCert, CsvError, Evidence, HskCek, TrustRoots, VerifiedReport};
use serde_json::{json, Value};
use std::path::Path;

/// A failure as the JSON contract shows it: kind and message.
struct Failure {
    kind: &'static str,
    message: String,
}

impl From<CsvError> for Failure {
    fn from(e: CsvError) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// What the collateral directory holds: HSK and CEK (`hsk.cert` and `cek.cert`, or
/// `hsk_cek.cert` as Hygon's KDS serves them), optionally `hrk.cert`.
struct Dir {
    hsk_cek: Option<HskCek>,
    hrk: Option<Vec<u8>>,
}

fn read_optional(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
    }
}

/// A collateral file that does not decode as what its name says (a CEK where the HSK belongs,
/// a truncated file): the collateral is bad, so the evidence is not verified (exit 1, kind
/// `collateral_decode`), as for DCAP; "cannot run" is for what the command could not read.
fn collateral_decode(file: &str, e: &CsvError) -> Failure {
    Failure {
        kind: "collateral_decode",
        message: format!("{file}: {e}"),
    }
}

fn read_dir(dir: &Path) -> anyhow::Result<Result<Dir, Failure>> {
    anyhow::ensure!(
        dir.is_dir(),
        "collateral directory {} not found",
        dir.display()
    );
    let hrk = read_optional(&dir.join("hrk.cert"))?;
    let combined = read_optional(&dir.join("hsk_cek.cert"))?;
    let hsk = read_optional(&dir.join("hsk.cert"))?;
    let cek = read_optional(&dir.join("cek.cert"))?;
    let decoded = match (combined, hsk, cek) {
        (Some(both), _, _) => HskCek::decode(&both)
            .map(Some)
            .map_err(|e| collateral_decode("hsk_cek.cert", &e)),
        (None, Some(hsk), Some(cek)) => CaCert::decode(&hsk)
            .map_err(|e| collateral_decode("hsk.cert", &e))
            .and_then(|hsk| {
                Ok(Some(HskCek {
                    hsk,
                    cek: CsvCert::decode(&cek).map_err(|e| collateral_decode("cek.cert", &e))?,
                }))
            }),
        _ => Ok(None),
    };
    Ok(decoded.map(|hsk_cek| Dir { hsk_cek, hrk }))
}

fn report_data(text: &str) -> anyhow::Result<[u8; 64]> {
    let bytes = hex::decode(text.trim()).context("--report-data is not hex")?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!("--report-data is {} bytes; it must be all 64", b.len())
    })
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<u8> {
    let bytes =
        std::fs::read(&args.quote).with_context(|| format!("reading {}", args.quote.display()))?;
    type Prepared = (TrustRoots, Option<Result<Dir, Failure>>, Option<[u8; 64]>);
    let prepared = (|| -> anyhow::Result<Prepared> {
        let roots = match &args.root_ca {
            Some(path) => {
                let cert =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                TrustRoots::new(Vec::new())
                    .with_hrk_certificate(&cert)
                    .with_context(|| format!("HRK {}", path.display()))?
            }
            None => TrustRoots::hygon(),
        };
        let dir = args.collateral.as_deref().map(read_dir).transpose()?;
        let rd = args.report_data.as_deref().map(report_data).transpose()?;
        Ok((roots, dir, rd))
    })();
    let (roots, dir, rd) = match prepared {
        Ok(p) => p,
        Err(e) if args.json => {
            print_json(Err(&Failure {
                kind: "cannot_run",
                message: format!("{e:#}"),
            }));
            return Ok(EXIT_CANNOT_RUN);
        }
        Err(e) => return Err(e),
    };
    let result = match dir.transpose() {
        Ok(dir) => verdict(&bytes, &roots, dir.as_ref(), rd.as_ref(), args.allow_debug),
        Err(bad_collateral) => Err(bad_collateral),
    };
    if args.json {
        print_json(result.as_ref());
    } else {
        print_text(result.as_ref());
    }
    Ok(if result.is_ok() { 0 } else { EXIT_REJECTED })
}

fn verdict(
    bytes: &[u8],
    roots: &TrustRoots,
    dir: Option<&Dir>,
    report_data: Option<&[u8; 64]>,
    allow_debug: bool,
) -> Result<VerifiedReport, Failure> {
    let evidence = Evidence::decode(bytes)?;
    // An HRK certificate beside the collateral must be, byte for byte, a root we trust already.
    if let Some(hrk) = dir.and_then(|d| d.hrk.as_deref()) {
        CaCert::decode(hrk).map_err(|e| collateral_decode("hrk.cert", &e))?;
        roots.check_hrk_certificate(hrk)?;
    }
    let verified = verify(
        &evidence,
        dir.and_then(|d| d.hsk_cek.as_ref()),
        roots,
        report_data,
    )?;
    // A V1 report signs only its first 0xB4 bytes; the rest, the policy and its NODBG bit
    // among them, is XOR-ed with an anonce nobody signed (and its MAC key travels in the
    // report). Only report_data bound to what the verifier expects pins that anonce, so without
    // `--report-data` the debug bit of a V1 report proves nothing and counts as debug.
    let debug_unproven = verified.version() == 1 && !verified.report_data_bound();
    crate::verify_cmd::debug_rule(
        if debug_unproven {
            "CSV V1 guest (without --report-data its debug bit is unproven)"
        } else {
            "CSV guest (policy NODBG clear)"
        },
        verified.is_debug() || debug_unproven,
        allow_debug,
    )
    .map_err(|refused| Failure {
        kind: DebugNotAllowed::KIND,
        message: refused.message(),
    })?;
    Ok(verified)
}

fn print_json(result: Result<&VerifiedReport, &Failure>) {
    let ok = result.as_ref().ok();
    let out = json!({
        "verified": result.is_ok(),
        "tee": "csv",
        "quote_version": ok.map(|v| v.version()),
        "chip_serial": ok.map(|v| v.chip_serial()),
        "mac_checked": ok.map(|v| v.mac() == scute_csv::MacCheck::Verified),
        "report_data_bound": ok.map(|v| v.report_data_bound()),
        "debug": ok.map(|v| v.is_debug()),
        // Decoded fields only once proven.
        "report": ok.map(|v| v.report_json()),
        "error": match result {
            Ok(_) => Value::Null,
            Err(f) => json!({ "kind": f.kind, "message": f.message }),
        },
    });
    outln!("{out}");
}

fn print_text(result: Result<&VerifiedReport, &Failure>) {
    match result {
        Ok(v) => {
            let (major, minor) = v.firmware();
            outln!(
                "VERIFIED: Hygon CSV report v{}, chip {}, firmware {major}.{minor}",
                v.version(),
                v.chip_serial()
            );
            outln!("  measure {}", hex::encode(v.fields().measure));
            outln!("  report_data {}", hex::encode(v.fields().report_data));
            outln!("  policy {:#x}", v.policy().0);
            if v.mac() == scute_csv::MacCheck::NotChecked {
                outln!("  the signer block's MAC was not checked (Trustee's evidence form); report_data is bound");
            }
            if !v.report_data_bound() {
                outln!("  report_data not bound (--report-data): a V1 report's decoded fields rest on the MAC alone");
            }
            if v.is_debug() {
                outln!("  WARNING: debug guest accepted (--allow-debug): its memory is readable by the host");
            }
        }
        Err(f) => {
            outln!("NOT VERIFIED: {}", f.message);
            outln!(
                "  what to do: {}",
                match f.kind {
                    "collateral_missing" => "give --collateral DIR with hsk_cek.cert (https://cert.hygon.cn/hsk_cek?snumber=<chip serial>)",
                    "collateral_decode" => "a file of --collateral is not the certificate its name says (hsk.cert, cek.cert, hsk_cek.cert, hrk.cert): fetch it again",
                    "report_data_required" => "Trustee's evidence form needs --report-data HEX (64 bytes)",
                    DebugNotAllowed::KIND => DebugNotAllowed::HINT,
                    "report_decode" | "evidence_decode" => "the file is not a CSV report or Trustee CSV evidence, or it is damaged",
                    _ => "the evidence or certificates are not genuine or were altered: do not trust this report",
                }
            );
        }
    }
}
