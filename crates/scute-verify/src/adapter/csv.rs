//! Hygon CSV: reports raw or in Trustee's evidence JSON (`scute_csv::Csv`), the collateral
//! directory's HSK and CEK (`hsk.cert` and `cek.cert`, or `hsk_cek.cert` as Hygon's KDS serves
//! them) and optional `hrk.cert`; Hygon's HRK (`--root-ca` replaces it); policy NODBG clear as
//! the debug rule, and a V1 report's debug bit unproven without bound report data.

use super::optional;
use crate::{
    Adapter, Endorsements, Error, Evidence, Family, Files, Options, Roots, RootsFlag, TeeError,
    UnixTime, Verified,
};
use scute_csv::{CaCert, Csv, CsvCert, CsvError, HskCek, MacCheck, TrustRoots, VerifiedReport};
use scute_tee::{EndorsementKey, Tee, Verifier};
use serde::Serialize;
use serde_json::{Map, Value};

pub(crate) struct CsvAdapter;

pub(crate) const COLLATERAL_DECODE_HINT: &str = "a file of --collateral is not the certificate its name says (hsk.cert, cek.cert, hsk_cek.cert, hrk.cert): fetch it again";

/// CSV's own members of the CLI contract.
#[derive(Serialize)]
struct Output {
    chip_serial: Option<String>,
    mac_checked: Option<bool>,
    report_data_bound: Option<bool>,
    debug: Option<bool>,
}

/// What a collateral directory holds: HSK and CEK, and the HRK certificate beside them.
struct Dir {
    hsk_cek: Option<HskCek>,
    hrk: Option<Vec<u8>>,
}

fn csv(e: CsvError) -> Error {
    Error::Tee(TeeError::Csv(e))
}

fn collateral_decode(file: &'static str) -> impl Fn(CsvError) -> Error {
    move |e| Error::Collateral {
        file,
        source: TeeError::Csv(e),
    }
}

fn report_of(verified: &Verified) -> Option<&VerifiedReport> {
    verified.get::<VerifiedReport>()
}

fn trust_roots(roots: &Roots) -> Result<std::borrow::Cow<'_, TrustRoots>, Error> {
    use std::borrow::Cow;
    match roots {
        Roots::Vendor => Ok(Cow::Owned(TrustRoots::hygon())),
        Roots::Replace(hrk) => TrustRoots::new(Vec::new())
            .with_hrk_certificate(hrk)
            .map(Cow::Owned)
            .map_err(|e| Error::CannotRun(format!("HRK: {e}"))),
        Roots::Given(given) => given
            .get::<TrustRoots>()
            .map(Cow::Borrowed)
            .ok_or_else(|| Error::CannotRun("not CSV trust roots".into())),
        Roots::Add(_) => Err(Error::CannotRun(
            "CSV roots can be replaced (--root-ca), not added to".into(),
        )),
    }
}

impl Adapter for CsvAdapter {
    fn tees(&self) -> &'static [Tee] {
        &[Tee::Csv]
    }
    fn roots_flag(&self) -> Option<RootsFlag> {
        Some(RootsFlag::Replace)
    }
    fn decode(&self, bytes: &[u8]) -> Result<Evidence, Error> {
        Ok(Evidence::new(Family::Csv, Csv::decode(bytes).map_err(csv)?))
    }
    fn identify(&self, _bytes: &[u8]) -> (Option<Tee>, Option<u32>) {
        (Some(Tee::Csv), None)
    }
    fn endorsement_key(&self, evidence: &Evidence) -> Result<Option<EndorsementKey>, Error> {
        let ev = evidence
            .get::<scute_csv::Evidence>()
            .ok_or_else(|| Error::CannotRun("not CSV evidence".into()))?;
        Csv::endorsement_key(ev).map_err(csv)
    }
    /// A file that does not decode as what its name says is bad collateral (exit 1, kind
    /// `collateral_decode`), not a command that cannot run.
    fn endorsements(&self, files: &dyn Files) -> Result<Option<Endorsements>, Error> {
        let hrk = optional(files, "hrk.cert")?;
        let combined = optional(files, "hsk_cek.cert")?;
        let hsk = optional(files, "hsk.cert")?;
        let cek = optional(files, "cek.cert")?;
        let hsk_cek = match (combined, hsk, cek) {
            (Some(both), _, _) => {
                Some(HskCek::decode(&both).map_err(collateral_decode("hsk_cek.cert"))?)
            }
            (None, Some(hsk), Some(cek)) => Some(HskCek {
                hsk: CaCert::decode(&hsk).map_err(collateral_decode("hsk.cert"))?,
                cek: CsvCert::decode(&cek).map_err(collateral_decode("cek.cert"))?,
            }),
            _ => None,
        };
        Ok(Some(Endorsements::new(Dir { hsk_cek, hrk })))
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
            .get::<scute_csv::Evidence>()
            .ok_or_else(|| Error::CannotRun("not CSV evidence".into()))?;
        let roots = trust_roots(roots)?;
        let dir = endorsements.and_then(Endorsements::get::<Dir>);
        // An HRK certificate beside the collateral must be, byte for byte, a root we trust.
        if let Some(hrk) = dir.and_then(|d| d.hrk.as_deref()) {
            CaCert::decode(hrk).map_err(collateral_decode("hrk.cert"))?;
            roots.check_hrk_certificate(hrk).map_err(csv)?;
        }
        let hsk_cek = dir
            .and_then(|d| d.hsk_cek.as_ref())
            .or(endorsements.and_then(Endorsements::get::<HskCek>));
        let verified =
            Csv::verify(ev, hsk_cek, &roots, at, expected_report_data, &()).map_err(csv)?;
        Ok(Verified::new(Family::Csv, verified))
    }
    /// NODBG clear. A V1 report signs only its first 0xB4 bytes; the rest, the policy among
    /// them, is XOR-ed with an anonce nobody signed (its MAC key travels in the report), so
    /// only bound report data pins it: without it a V1 report's debug bit proves nothing and
    /// counts as debug.
    fn debug(&self, verified: &Verified) -> Option<&'static str> {
        let v = report_of(verified)?;
        if v.version() == 1 && !v.report_data_bound() {
            return Some("CSV V1 guest (without --report-data its debug bit is unproven)");
        }
        v.is_debug().then_some("CSV guest (policy NODBG clear)")
    }
    fn report_json(&self, verified: &Verified) -> Value {
        report_of(verified).map_or(Value::Null, VerifiedReport::report_json)
    }
    fn output_fields(&self, verified: Option<&Verified>) -> Map<String, Value> {
        let v = verified.and_then(report_of);
        let out = Output {
            chip_serial: v.map(|v| v.chip_serial().to_string()),
            mac_checked: v.map(|v| v.mac() == MacCheck::Verified),
            report_data_bound: v.map(VerifiedReport::report_data_bound),
            debug: v.map(VerifiedReport::is_debug),
        };
        match serde_json::to_value(out) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
    fn describe(&self, verified: &Verified, _at: UnixTime) -> Vec<String> {
        let Some(v) = report_of(verified) else {
            return Vec::new();
        };
        let (major, minor) = v.firmware();
        let mut out = vec![
            format!(
                "VERIFIED: Hygon CSV report v{}, chip {}, firmware {major}.{minor}",
                v.version(),
                v.chip_serial()
            ),
            format!("  measure {}", hex::encode(v.fields().measure)),
            format!("  report_data {}", hex::encode(v.fields().report_data)),
            format!("  policy {:#x}", v.policy().0),
        ];
        if v.mac() == MacCheck::NotChecked {
            out.push("  the signer block's MAC was not checked (Trustee's evidence form); report_data is bound".into());
        }
        if !v.report_data_bound() {
            out.push("  report_data not bound (--report-data): a V1 report's decoded fields rest on the MAC alone".into());
        }
        if v.is_debug() {
            out.push("  WARNING: debug guest accepted (--allow-debug): its memory is readable by the host".into());
        }
        out
    }
}

pub(crate) fn hint(e: &CsvError) -> &'static str {
    match e {
        CsvError::ChainMissing => "give --collateral DIR with hsk_cek.cert (https://cert.hygon.cn/hsk_cek?snumber=<chip serial>)",
        CsvError::ReportDataRequired => "Trustee's evidence form needs --report-data HEX (64 bytes)",
        CsvError::ReportData => {
            "the evidence was made for other report data: it does not vouch for this request"
        }
        CsvError::Truncated { .. }
        | CsvError::Length { .. }
        | CsvError::Trailing { .. }
        | CsvError::Field { .. }
        | CsvError::HighBytes { .. }
        | CsvError::EvidenceJson(_) => {
            "the file is not a CSV report or Trustee CSV evidence, or it is damaged"
        }
        _ => "the evidence or certificates are not genuine or were altered: do not trust this report",
    }
}
