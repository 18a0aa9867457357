//! Verification, step by step (`shared/research/tee-formats.md` §6): a trusted root key → HSK
//! → CEK → PEK → report, each an SM2 signature over SM3 with the signer's own user ID as
//! distinguishing ID and each usage checked; then the signer block's HMAC-SM3 (raw reports) or
//! the Trustee form's consistency rules; then the report_data binding. Only [`verify`] builds a
//! [`VerifiedReport`].

use crate::cert::{sm2_verify, usage, CaCert, CsvCert, EccKey, Le72, ALGO_SM2_SA, CURVE_SM2_256};
use crate::evidence::{HskCek, TrusteeEvidence};
use crate::report::{serial_text, Fields, Policy, Report, SignerForm, TeeInfo};
use crate::CsvError;
use hmac::{KeyInit, Mac};
use scute_tee::{ChipSerial, Hex};
use serde::Serialize;
use serde_json::Value;

/// A root key a chain may start from: Hygon's HRK, or (tests) a simulated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootKey {
    pub kid: [u8; 16],
    pub key: EccKey,
    pub user_id: Vec<u8>,
}

/// Hygon's root key (HRK), pinned by key: kid and coordinates (little-endian) of the HRK
/// certificate csv-rs and Trustee ship (`src/certs/builtin/hrk.cert`, `deps/verifier/src/csv/hrk.cert`).
const HYGON_HRK_KID: [u8; 16] = [
    0x3a, 0xe8, 0x6a, 0x97, 0x01, 0x35, 0x5c, 0xce, 0x33, 0x3a, 0x58, 0x9d, 0xe2, 0x15, 0x83, 0xd7,
];
const HYGON_HRK_X: [u8; 32] = [
    0x2d, 0xf6, 0xc2, 0x92, 0x1d, 0xf2, 0xf5, 0x2a, 0x50, 0x1f, 0xcd, 0x85, 0xe7, 0x35, 0x09, 0xc8,
    0x75, 0x3a, 0x56, 0x09, 0xdb, 0x02, 0xd7, 0xf3, 0x4c, 0xf1, 0xa4, 0x62, 0x4d, 0xe1, 0x62, 0xbe,
];
const HYGON_HRK_Y: [u8; 32] = [
    0x46, 0xb9, 0x1e, 0xb4, 0x68, 0x4d, 0x74, 0x38, 0x47, 0x88, 0xbe, 0xb9, 0x10, 0x0c, 0x64, 0x4a,
    0x38, 0x95, 0x4e, 0x16, 0x97, 0x8b, 0x4f, 0x58, 0x15, 0x70, 0xbb, 0x57, 0x3a, 0x12, 0xab, 0x3b,
];

impl RootKey {
    /// Hygon's HRK.
    pub fn hygon() -> Self {
        Self {
            kid: HYGON_HRK_KID,
            key: EccKey {
                curve: CURVE_SM2_256,
                x: Le72(HYGON_HRK_X),
                y: Le72(HYGON_HRK_Y),
            },
            user_id: b"HYGON-SSD-HRK".to_vec(),
        }
    }

    /// The root an HRK certificate names, once its form and self-signature check out. Whether
    /// to trust it is the caller's decision.
    pub fn from_hrk(cert: &CaCert) -> Result<Self, CsvError> {
        if cert.usage != usage::HRK {
            return Err(CsvError::Usage {
                item: "HRK",
                found: cert.usage,
                expected: usage::HRK,
            });
        }
        if cert.sid != cert.kid {
            return Err(CsvError::IssuerId { item: "HRK" });
        }
        sm2_verify(&cert.key, cert.uid(), &cert.body(), &cert.signature, "HRK")?;
        Ok(Self {
            kid: cert.kid,
            key: cert.key,
            user_id: cert.uid().to_vec(),
        })
    }
}

/// SM3 of Hygon's HRK certificate, the 832 bytes Trustee (`deps/verifier/src/csv/hrk.cert`)
/// and csv-rs (`src/certs/builtin/hrk.cert`) ship, byte-identical: the one HRK certificate
/// taken as Hygon's when one arrives with collateral.
const HYGON_HRK_CERT_SM3: [u8; 32] = [
    0xf5, 0xa4, 0x66, 0x63, 0x05, 0x9f, 0xdb, 0x4c, 0xdd, 0x06, 0xd0, 0x97, 0xed, 0x21, 0x78, 0x21,
    0x42, 0x92, 0x3b, 0xb3, 0x43, 0x0b, 0x3b, 0x93, 0x8f, 0x23, 0xd5, 0x42, 0x92, 0x09, 0x4e, 0x3a,
];

fn sm3(bytes: &[u8]) -> [u8; 32] {
    use sm3::Digest as _;
    sm3::Sm3::digest(bytes).into()
}

/// The root keys a verification trusts (a parameter: the library trusts nothing by itself),
/// and the HRK certificates they were pinned from, held as SM3 digests of their exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoots {
    roots: Vec<RootKey>,
    certificates: Vec<[u8; 32]>,
}

impl TrustRoots {
    /// Hygon's HRK only (and its certificate as Trustee and csv-rs ship it).
    pub fn hygon() -> Self {
        Self {
            roots: vec![RootKey::hygon()],
            certificates: vec![HYGON_HRK_CERT_SM3],
        }
    }

    /// Roots pinned by key alone: no HRK certificate arriving with collateral matches them.
    pub fn new(roots: Vec<RootKey>) -> Self {
        Self {
            roots,
            certificates: Vec::new(),
        }
    }

    /// Also trusts the root of this HRK certificate (its form and self-signature checked), and
    /// pins the certificate, byte for byte, for [`TrustRoots::check_hrk_certificate`].
    pub fn with_hrk_certificate(mut self, bytes: &[u8]) -> Result<Self, CsvError> {
        let root = RootKey::from_hrk(&CaCert::decode(bytes)?)?;
        if !self.roots.contains(&root) {
            self.roots.push(root);
        }
        self.certificates.push(sm3(bytes));
        Ok(self)
    }

    pub fn contains(&self, root: &RootKey) -> bool {
        self.roots.contains(root)
    }

    /// An HRK certificate that arrives beside the collateral is taken as a trusted root only
    /// when it is, byte for byte, a certificate a trusted root was pinned from. The same key is
    /// not enough: the bytes after the signature (and any other encoding the signature does
    /// not cover) could differ, and a certificate that differs is not the pinned one.
    pub fn check_hrk_certificate(&self, bytes: &[u8]) -> Result<RootKey, CsvError> {
        let root = RootKey::from_hrk(&CaCert::decode(bytes)?)?;
        if !self.roots.contains(&root) || !self.certificates.contains(&sm3(bytes)) {
            return Err(CsvError::UntrustedRoot { item: "hrk.cert" });
        }
        Ok(root)
    }
}

/// Evidence as it arrives: a raw report, or Trustee's JSON form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    Raw(Box<Report>),
    Trustee(Box<TrusteeEvidence>),
}

impl Evidence {
    /// Trustee's evidence JSON when the bytes are a JSON object, else a raw report.
    pub fn decode(bytes: &[u8]) -> Result<Self, CsvError> {
        let json = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        if json {
            Ok(Self::Trustee(Box::new(TrusteeEvidence::decode(bytes)?)))
        } else {
            Ok(Self::Raw(Box::new(Report::decode(bytes)?)))
        }
    }

    pub fn report(&self) -> &Report {
        match self {
            Evidence::Raw(r) => r,
            Evidence::Trustee(t) => &t.report,
        }
    }

    /// The chip serial the report's signer block names (what HSK/CEK are looked up by).
    pub fn chip_serial(&self) -> Result<String, CsvError> {
        serial_text(&self.report().sn())
    }

    /// HSK and CEK the evidence carries (Trustee form, when the attester included them).
    pub fn hsk_cek(&self) -> Option<&HskCek> {
        match self {
            Evidence::Raw(_) => None,
            Evidence::Trustee(t) => t.hsk_cek.as_ref(),
        }
    }

    pub fn cc_eventlog(&self) -> Option<&[u8]> {
        match self {
            Evidence::Raw(_) => None,
            Evidence::Trustee(t) => t.cc_eventlog.as_deref(),
        }
    }
}

/// Whether the signer block's MAC was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacCheck {
    /// HMAC-SM3 keyed with the report's mnonce matches.
    Verified,
    /// Trustee's form: the signer block was restored before it was sent, so the MAC cannot be
    /// checked; report_data was bound instead.
    NotChecked,
}

/// A report whose chain, signature and integrity checks passed. Only [`verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReport {
    report: Report,
    fields: Fields,
    chip_serial: String,
    pek: CsvCert,
    mac: MacCheck,
    report_data_bound: bool,
    pek_oca_signed: bool,
    /// The caller looked the HSK/CEK up by the serial the report names (its store, the KDS),
    /// and said so ([`VerifiedReport::serial_looked_up`]): only then is the serial proven.
    serial_looked_up: bool,
}

impl VerifiedReport {
    pub fn report(&self) -> &Report {
        &self.report
    }
    pub fn version(&self) -> u8 {
        self.report.tee_info.version()
    }
    /// The decoded TeeInfo fields (V1: anonce XOR undone).
    pub fn fields(&self) -> &Fields {
        &self.fields
    }
    pub fn policy(&self) -> Policy {
        self.fields.policy
    }
    /// Through the one debug rule ([`Policy::is_debug`]: NODBG clear).
    pub fn is_debug(&self) -> bool {
        self.fields.policy.is_debug()
    }
    pub fn chip_serial(&self) -> &str {
        &self.chip_serial
    }
    pub fn mac(&self) -> MacCheck {
        self.mac
    }
    pub fn report_data_bound(&self) -> bool {
        self.report_data_bound
    }
    /// Whether the chip serial is proven: the caller looked up the HSK/CEK that verified the
    /// report by that serial ([`Self::serial_looked_up`]). A chain carried by the evidence or
    /// given by a user certifies the PEK but not the serial the (MAC-only) signer block names.
    pub fn chip_serial_verified(&self) -> bool {
        self.serial_looked_up
    }
    /// The caller states that the HSK/CEK it passed to [`verify`] were looked up by this
    /// report's chip serial (a store or KDS keyed by it), which is what binds the MAC-only
    /// serial to the verified chain. A chain from the evidence, or from a directory a user
    /// chose, proves the PEK but not the serial: the serial then stays claimed.
    pub fn serial_looked_up(mut self) -> Self {
        self.serial_looked_up = true;
        self
    }
    /// Whether PEK slot 1 carries a signature by an owner's OCA (reported, not verified).
    pub fn pek_oca_signed(&self) -> bool {
        self.pek_oca_signed
    }
    /// The firmware version the PEK certificate states (major, minor).
    pub fn firmware(&self) -> (u8, u8) {
        (self.pek.fw_major, self.pek.fw_minor)
    }
    /// V2's RTMRs (rtmr0 == measure), SM3.
    pub fn rtmrs(&self) -> Option<&[[u8; 32]; 5]> {
        match &self.report.tee_info {
            TeeInfo::V1(_) => None,
            TeeInfo::V2(t) => Some(&t.rtmr),
        }
    }

    /// The report's decoded fields as JSON (hex bytes): `scute verify --json`'s report, the
    /// serial under `chip_serial` as decoded (the serialised [`ReportClaims`]).
    pub fn report_json(&self) -> Value {
        let serial = SerialClaim::Decoded(self.chip_serial.clone());
        serde_json::to_value(ReportClaims::new(self, serial)).unwrap_or(Value::Null)
    }

    /// The report's decoded fields as claims, the serial named by its proof
    /// ([`Self::chip_serial_verified`]): `chip_serial` only when the verifier supplied the
    /// HSK/CEK looked up by it, else `claimed_chip_serial`.
    pub fn claims(&self) -> ReportClaims {
        let serial = self.chip_serial.clone();
        ReportClaims::new(
            self,
            SerialClaim::Judged(if self.chip_serial_verified() {
                ChipSerial::Verified(serial)
            } else {
                ChipSerial::Claimed(serial)
            }),
        )
    }

    /// The same verdict about another report: for tests of claims drawn from fields no vector
    /// has (a V2 report).
    #[cfg(test)]
    pub(crate) fn with_report(self, report: Report, fields: Fields) -> Self {
        Self {
            report,
            fields,
            ..self
        }
    }
}

/// A verified report's decoded fields as claims (hex bytes). Members are declared in the order
/// the JSON has always listed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportClaims {
    pub version: u8,
    pub user_pubkey_digest: Hex<[u8; 32]>,
    pub vm_id: Hex<[u8; 16]>,
    pub vm_version: Hex<[u8; 16]>,
    pub report_data: Hex<[u8; 64]>,
    pub mnonce: Hex<[u8; 16]>,
    pub measure: Hex<[u8; 32]>,
    pub policy: PolicyClaims,
    /// `0x..`.
    pub sig_usage: String,
    pub sig_algo: String,
    #[serde(flatten)]
    pub chip_serial: SerialClaim,
    /// `major.minor`, as the PEK states it.
    pub firmware: String,
    pub mac_checked: bool,
    pub report_data_bound: bool,
    pub pek_oca_signed: bool,
    #[serde(flatten)]
    pub tee_info: TeeInfoClaims,
}

/// The chip serial the report's signer block names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SerialClaim {
    /// As decoded, with no judgement of its proof (`scute verify`'s report).
    #[serde(rename = "chip_serial")]
    Decoded(String),
    /// Named by its proof: `chip_serial` or `claimed_chip_serial` ([`ChipSerial`]).
    #[serde(untagged)]
    Judged(ChipSerial),
}

/// The guest policy, raw (`value`, `0x..`) and field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyClaims {
    pub value: String,
    pub nodbg: bool,
    pub noks: bool,
    pub es: bool,
    pub nosend: bool,
    pub domain: bool,
    pub csv: bool,
    pub csv3: bool,
    pub asid_reuse: bool,
    pub hsk_version: u32,
    pub cek_version: u32,
    pub api_major: u32,
    pub api_minor: u32,
}

/// What differs between report versions: V1's anonce (`0x..`), V2's build and RTMRs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TeeInfoClaims {
    V1 {
        anonce: String,
    },
    V2 {
        build: u32,
        rtmr_version: u16,
        rtmr0: Hex<[u8; 32]>,
        rtmr1: Hex<[u8; 32]>,
        rtmr2: Hex<[u8; 32]>,
        rtmr3: Hex<[u8; 32]>,
        rtmr4: Hex<[u8; 32]>,
    },
}

impl ReportClaims {
    fn new(v: &VerifiedReport, chip_serial: SerialClaim) -> Self {
        let f = &v.fields;
        let p = f.policy;
        Self {
            version: v.version(),
            user_pubkey_digest: Hex(f.user_pubkey_digest),
            vm_id: Hex(f.vm_id),
            vm_version: Hex(f.vm_version),
            report_data: Hex(f.report_data),
            mnonce: Hex(f.mnonce),
            measure: Hex(f.measure),
            policy: PolicyClaims {
                value: format!("{:#x}", p.0),
                nodbg: p.nodbg(),
                noks: p.noks(),
                es: p.es(),
                nosend: p.nosend(),
                domain: p.domain(),
                csv: p.csv(),
                csv3: p.csv3(),
                asid_reuse: p.asid_reuse(),
                hsk_version: p.hsk_version(),
                cek_version: p.cek_version(),
                api_major: p.api_major(),
                api_minor: p.api_minor(),
            },
            sig_usage: format!("{:#x}", f.sig_usage),
            sig_algo: format!("{:#x}", f.sig_algo),
            chip_serial,
            firmware: format!("{}.{}", v.pek.fw_major, v.pek.fw_minor),
            mac_checked: v.mac == MacCheck::Verified,
            report_data_bound: v.report_data_bound,
            pek_oca_signed: v.pek_oca_signed,
            tee_info: match &v.report.tee_info {
                TeeInfo::V1(t) => TeeInfoClaims::V1 {
                    anonce: format!("{:#x}", t.anonce),
                },
                TeeInfo::V2(t) => {
                    let [rtmr0, rtmr1, rtmr2, rtmr3, rtmr4] = t.rtmr;
                    TeeInfoClaims::V2 {
                        build: t.build,
                        rtmr_version: t.rtmr_version,
                        rtmr0: Hex(rtmr0),
                        rtmr1: Hex(rtmr1),
                        rtmr2: Hex(rtmr2),
                        rtmr3: Hex(rtmr3),
                        rtmr4: Hex(rtmr4),
                    }
                }
            },
        }
    }
}

fn expect_usage(item: &'static str, found: u32, expected: u32) -> Result<(), CsvError> {
    if found == expected {
        Ok(())
    } else {
        Err(CsvError::Usage {
            item,
            found,
            expected,
        })
    }
}

fn expect_sm2(item: &'static str, found: u32) -> Result<(), CsvError> {
    if found == ALGO_SM2_SA {
        Ok(())
    } else {
        Err(CsvError::Algorithm {
            item,
            found,
            expected: ALGO_SM2_SA,
        })
    }
}

/// Step 1: the HSK is a signing key signed by a trusted root (chosen by the HSK's `sid`).
fn verify_hsk(hsk: &CaCert, roots: &TrustRoots) -> Result<(), CsvError> {
    expect_usage("HSK", hsk.usage, usage::HSK)?;
    let root = roots
        .roots
        .iter()
        .find(|r| r.kid == hsk.sid)
        .ok_or(CsvError::UntrustedRoot { item: "HSK" })?;
    sm2_verify(&root.key, &root.user_id, &hsk.body(), &hsk.signature, "HSK")
        .map_err(|_| CsvError::UntrustedRoot { item: "HSK" })
}

/// Step 2: the CEK, slot 0 signed by the HSK (usage 0x13), naming the HSK's key ID.
fn verify_cek(cek: &CsvCert, hsk: &CaCert) -> Result<(), CsvError> {
    expect_usage("CEK", cek.usage, usage::CEK)?;
    expect_sm2("CEK", cek.algo)?;
    if cek.sid != hsk.kid {
        return Err(CsvError::IssuerId { item: "CEK" });
    }
    let [slot, _] = &cek.sigs;
    expect_usage("CEK signature slot 0", slot.usage, usage::HSK)?;
    expect_sm2("CEK signature slot 0", slot.algo)?;
    sm2_verify(&hsk.key, hsk.uid(), &cek.body(), &slot.sig, "CEK")
}

/// Step 3: the PEK, slot 0 signed by the CEK (usage 0x1004). Returns whether slot 1 holds an
/// owner (OCA) signature, which is reported, not required.
fn verify_pek(pek: &CsvCert, cek: &CsvCert) -> Result<bool, CsvError> {
    expect_usage("PEK", pek.usage, usage::PEK)?;
    expect_sm2("PEK", pek.algo)?;
    let [slot, owner] = &pek.sigs;
    expect_usage("PEK signature slot 0", slot.usage, usage::CEK)?;
    expect_sm2("PEK signature slot 0", slot.algo)?;
    sm2_verify(&cek.key, cek.uid(), &pek.body(), &slot.sig, "PEK")?;
    Ok(owner.usage == usage::OCA)
}

/// Step 4: the report, signed by the PEK (sig_usage PEK, sig_algo SM2) over the stored bytes.
fn verify_report(report: &Report, fields: &Fields, pek: &CsvCert) -> Result<(), CsvError> {
    expect_usage("report sig_usage", fields.sig_usage, usage::PEK)?;
    expect_sm2("report sig_algo", fields.sig_algo)?;
    let tee = &report.tee_info;
    sm2_verify(
        &pek.key,
        pek.uid(),
        &tee.signed_bytes(),
        tee.signature(),
        "report",
    )
}

impl Report {
    /// Whether `pek` signed this report (usages included). Chain-less: a diagnosis, not a
    /// verdict; [`verify`] is the only way to a [`VerifiedReport`].
    pub fn check_signature(&self, pek: &CsvCert) -> Result<(), CsvError> {
        verify_report(self, &self.tee_info.fields(), pek)
    }
}

/// Step 5 (raw reports): HMAC-SM3 keyed with the real mnonce over the signer block as stored.
/// V1 signs only bytes 0..0xB4; this MAC is what covers anonce and the signer block. Its key
/// is in the report itself, so it catches alteration, not a forger who recomputes it: the
/// report_data binding is what pins anonce against that.
fn verify_mac(report: &Report, fields: &Fields) -> Result<(), CsvError> {
    let mut mac =
        hmac::Hmac::<sm3::Sm3>::new_from_slice(&fields.mnonce).map_err(|_| CsvError::Mac)?;
    mac.update(&report.signer.mac_input());
    mac.verify_slice(&report.signer.mac)
        .map_err(|_| CsvError::Mac)
}

/// Steps 1 and 2 alone: HSK and CEK of a chip chain to a trusted root (what a collateral
/// store checks before it keeps them).
pub fn verify_hsk_cek(chain: &HskCek, roots: &TrustRoots) -> Result<(), CsvError> {
    verify_hsk(&chain.hsk, roots)?;
    verify_cek(&chain.cek, &chain.hsk)
}

/// The PEK that signed the report: the signer block's (raw), or the Trustee form's, which
/// must be the block's, for a serial number the block names (Trustee's form needs the
/// report_data binding, `bound`, since its MAC cannot be checked).
fn evidence_pek(evidence: &Evidence, bound: bool) -> Result<CsvCert, CsvError> {
    let report = evidence.report();
    let block_pek = CsvCert::decode(&report.pek_cert())?;
    match evidence {
        Evidence::Raw(_) => Ok(block_pek),
        Evidence::Trustee(t) => {
            if !bound {
                return Err(CsvError::ReportDataRequired);
            }
            if t.pek != block_pek {
                return Err(CsvError::SignerMismatch {
                    field: "PEK certificate",
                });
            }
            let mut serial = [0u8; 64];
            let n = t.serial_number.len().min(64);
            serial
                .get_mut(..n)
                .zip(t.serial_number.get(..n))
                .into_iter()
                .for_each(|(a, b)| a.copy_from_slice(b));
            if serial != report.sn() {
                return Err(CsvError::SignerMismatch {
                    field: "serial_number",
                });
            }
            Ok(t.pek.clone())
        }
    }
}

/// Everything [`verify`] checks that needs no chip collateral (HSK/CEK): the PEK's form and its
/// agreement with the signer block, the report's signature by that PEK, the signer block's MAC
/// (raw reports), the chip serial's form, and report_data. A service runs this before it looks
/// up, or fetches from Hygon's KDS, a chain for the serial the report claims: evidence that
/// fails here could never verify. It proves nothing by itself (the PEK is not yet chained).
pub fn check_before_chain(
    evidence: &Evidence,
    expected_report_data: &[u8; 64],
) -> Result<(), CsvError> {
    let report = evidence.report();
    let fields = report.tee_info.fields();
    let pek = evidence_pek(evidence, true)?;
    verify_report(report, &fields, &pek)?;
    if report.signer_form == SignerForm::Raw {
        verify_mac(report, &fields)?;
    }
    serial_text(&report.sn())?;
    if &fields.report_data != expected_report_data {
        return Err(CsvError::ReportData);
    }
    Ok(())
}

/// Verifies CSV evidence. `hsk_cek` is the chip's collateral (else the evidence's own, Trustee
/// form only); `expected_report_data` is what report_data must be (required for Trustee's
/// form, whose MAC cannot be checked).
pub fn verify(
    evidence: &Evidence,
    hsk_cek: Option<&HskCek>,
    roots: &TrustRoots,
    expected_report_data: Option<&[u8; 64]>,
) -> Result<VerifiedReport, CsvError> {
    let report = evidence.report();
    let fields = report.tee_info.fields();
    let pek = evidence_pek(evidence, expected_report_data.is_some())?;
    let chain = hsk_cek
        .or(evidence.hsk_cek())
        .ok_or(CsvError::ChainMissing)?;
    verify_hsk(&chain.hsk, roots)?;
    verify_cek(&chain.cek, &chain.hsk)?;
    let pek_oca_signed = verify_pek(&pek, &chain.cek)?;
    verify_report(report, &fields, &pek)?;

    let mac = match report.signer_form {
        SignerForm::Raw => {
            verify_mac(report, &fields)?;
            MacCheck::Verified
        }
        SignerForm::Restored => MacCheck::NotChecked,
    };
    let chip_serial = serial_text(&report.sn())?;
    if let Some(expected) = expected_report_data {
        if &fields.report_data != expected {
            return Err(CsvError::ReportData);
        }
    }
    Ok(VerifiedReport {
        report: report.clone(),
        fields,
        chip_serial,
        pek,
        mac,
        report_data_bound: expected_report_data.is_some(),
        pek_oca_signed,
        serial_looked_up: false,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    mod before {
        use super::super::*;
        use serde_json::json;

        /// The hand-written builder [`ReportClaims`] replaced: the reference it must match.
        pub(super) fn report_json(v: &VerifiedReport) -> Value {
            let f = &v.fields;
            let p = f.policy;
            let mut out = json!({
                "version": v.version(),
                "user_pubkey_digest": hex::encode(f.user_pubkey_digest),
                "vm_id": hex::encode(f.vm_id),
                "vm_version": hex::encode(f.vm_version),
                "report_data": hex::encode(f.report_data),
                "mnonce": hex::encode(f.mnonce),
                "measure": hex::encode(f.measure),
                "policy": {
                    "value": format!("{:#x}", p.0),
                    "nodbg": p.nodbg(), "noks": p.noks(), "es": p.es(), "nosend": p.nosend(),
                    "domain": p.domain(), "csv": p.csv(), "csv3": p.csv3(),
                    "asid_reuse": p.asid_reuse(), "hsk_version": p.hsk_version(),
                    "cek_version": p.cek_version(), "api_major": p.api_major(),
                    "api_minor": p.api_minor(),
                },
                "sig_usage": format!("{:#x}", f.sig_usage),
                "sig_algo": format!("{:#x}", f.sig_algo),
                "chip_serial": v.chip_serial,
                "firmware": format!("{}.{}", v.pek.fw_major, v.pek.fw_minor),
                "mac_checked": v.mac == MacCheck::Verified,
                "report_data_bound": v.report_data_bound,
                "pek_oca_signed": v.pek_oca_signed,
            });
            if let Some(map) = out.as_object_mut() {
                match &v.report.tee_info {
                    TeeInfo::V1(t) => {
                        map.insert("anonce".into(), format!("{:#x}", t.anonce).into());
                    }
                    TeeInfo::V2(t) => {
                        map.insert("build".into(), t.build.into());
                        map.insert("rtmr_version".into(), t.rtmr_version.into());
                        for (i, r) in t.rtmr.iter().enumerate() {
                            map.insert(format!("rtmr{i}"), hex::encode(r).into());
                        }
                    }
                }
            }
            out
        }
    }

    /// Whether serde_json's maps keep insertion order here (its `preserve_order` feature, which
    /// another crate of the build may turn on): only then does a builder's text show its order.
    fn json_keeps_insertion_order() -> bool {
        let probe = serde_json::json!({"b": 0, "a": 0});
        probe
            .as_object()
            .and_then(|m| m.keys().next())
            .is_some_and(|k| k == "b")
    }

    fn same_as_before(v: &VerifiedReport) {
        let old = before::report_json(v);
        let new = ReportClaims::new(v, SerialClaim::Decoded(v.chip_serial().into()));
        assert_eq!(serde_json::to_value(&new).unwrap(), old);
        assert_eq!(v.report_json(), old);
        assert_eq!(
            serde_json::to_string(&v.report_json()).unwrap(),
            serde_json::to_string(&old).unwrap()
        );
        if json_keeps_insertion_order() {
            assert_eq!(
                serde_json::to_string(&new).unwrap(),
                serde_json::to_string(&old).unwrap()
            );
        }
    }

    /// The real CSV report of ../shared/vectors (V1), and the same verdict over a V2 report:
    /// the typed claims serialise to exactly what the hand-written builder wrote; judged by
    /// proof, the serial the evidence's own chain cannot prove is never `chip_serial`.
    #[test]
    fn typed_claims_serialise_as_the_hand_written_json_did() {
        let case = "csv-openanolis-csvrs-v1report-chain";
        let evidence = Evidence::decode(&vector(case, "report.cert")).unwrap();
        let chain = HskCek::decode(&vector(case, "hsk_cek.cert")).unwrap();
        // The chain as a verifier that looked it up by the report's serial holds it.
        let v = verify(&evidence, Some(&chain), &TrustRoots::hygon(), None)
            .unwrap()
            .serial_looked_up();
        same_as_before(&v);
        let claims = serde_json::to_value(v.claims()).unwrap();
        assert_eq!(claims["chip_serial"], v.chip_serial());
        assert!(claims.get("claimed_chip_serial").is_none());
        let unproven = VerifiedReport {
            serial_looked_up: false,
            ..v.clone()
        };
        let claims = serde_json::to_value(unproven.claims()).unwrap();
        assert!(claims.get("chip_serial").is_none());
        assert_eq!(claims["claimed_chip_serial"], v.chip_serial());
        // `scute verify`'s report names it as decoded, as it always has.
        assert_eq!(unproven.report_json()["chip_serial"], v.chip_serial());

        let mut report = v.report().clone();
        let fields = v.fields().clone();
        report.tee_info = TeeInfo::V2(Box::new(crate::report::TeeInfoV2 {
            fields: fields.clone(),
            build: 1234,
            rtmr_version: 1,
            reserved0: [0; 14],
            rtmr: [[1; 32], [2; 32], [3; 32], [4; 32], [5; 32]],
            reserved1: [0; 656],
            sig: match &v.report().tee_info {
                TeeInfo::V1(t) => t.sig,
                TeeInfo::V2(t) => t.sig,
            },
        }));
        let v2 = v.with_report(report, fields);
        assert_eq!(v2.version(), 2);
        same_as_before(&v2);
        assert_eq!(v2.report_json()["rtmr4"], hex::encode([5; 32]));
    }

    fn vector(case: &str, file: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
        std::fs::read(dir.join(case).join(file)).unwrap()
    }

    /// The GM/T default distinguishing ID does not verify Hygon's signatures: each signer's
    /// own user ID does.
    #[test]
    fn default_distinguishing_id_fails_where_the_user_id_verifies() {
        let case = "csv-openanolis-csvrs-v1report-chain";
        let report = Report::decode(&vector(case, "report.cert")).unwrap();
        let pek = CsvCert::decode(&report.pek_cert()).unwrap();
        let tee = &report.tee_info;
        let signed = tee.signed_bytes();
        assert_eq!(pek.uid(), b"HYGON-SSD-PEK");
        sm2_verify(&pek.key, pek.uid(), &signed, tee.signature(), "report").unwrap();
        let err = sm2_verify(
            &pek.key,
            b"1234567812345678",
            &signed,
            tee.signature(),
            "report",
        );
        assert_eq!(err, Err(CsvError::Signature { item: "report" }));

        let hrk = CaCert::decode(&vector(case, "hrk.cert")).unwrap();
        let hsk = CaCert::decode(&vector(case, "hsk.cert")).unwrap();
        sm2_verify(&hrk.key, hrk.uid(), &hsk.body(), &hsk.signature, "HSK").unwrap();
        assert!(sm2_verify(
            &hrk.key,
            b"1234567812345678",
            &hsk.body(),
            &hsk.signature,
            "HSK"
        )
        .is_err());
    }

    #[test]
    fn the_pinned_root_is_the_hrk_certificate_csv_rs_and_trustee_ship() {
        for case in [
            "csv-openanolis-csvrs-v1report-chain",
            "csv-trustee-v1-evidence",
        ] {
            let hrk = CaCert::decode(&vector(case, "hrk.cert")).unwrap();
            assert_eq!(RootKey::from_hrk(&hrk).unwrap(), RootKey::hygon());
        }
    }
}
