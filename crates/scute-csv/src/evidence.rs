//! The evidence the Confidential Containers CSV attester sends, as Trustee's verifier reads it
//! (guest-components `attestation-agent/attester/src/csv/mod.rs`, trustee
//! `deps/verifier/src/csv/mod.rs`): the serde JSON of `{attestation_report: csv-rs
//! AttestationReportWrapper, cert_chain: {hsk_cek?: {hsk, cek}, pek}, serial_number: bytes,
//! cc_eventlog?: base64}`. csv-rs has already "restored" the signer block (un-XOR-ed, reserved
//! zeroed, so its MAC cannot be checked); each certificate arrives as its struct's JSON and is
//! re-laid into Hygon's byte format and decoded by the one binary decoder.

use crate::cert::{CaCert, CsvCert};
use crate::report::{Container, Report, SignerForm, PAGE_LEN};
use crate::CsvError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;

/// HSK and CEK of one chip (Hygon's KDS serves them concatenated, 832 + 2084 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HskCek {
    pub hsk: CaCert,
    pub cek: CsvCert,
}

impl HskCek {
    /// `hsk_cek.cert` as the KDS returns it: HSK ‖ CEK.
    pub fn decode(bytes: &[u8]) -> Result<Self, CsvError> {
        let (hsk, cek) =
            bytes
                .split_at_checked(crate::cert::CA_CERT_LEN)
                .ok_or(CsvError::Length {
                    item: "hsk_cek",
                    len: bytes.len(),
                    expected: "2916",
                })?;
        if cek.len() != crate::cert::CSV_CERT_LEN {
            return Err(CsvError::Length {
                item: "hsk_cek",
                len: bytes.len(),
                expected: "2916",
            });
        }
        Ok(Self {
            hsk: CaCert::decode(hsk)?,
            cek: CsvCert::decode(cek)?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.hsk.encode();
        out.extend_from_slice(&self.cek.encode());
        out
    }
}

/// Trustee's CSV evidence, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrusteeEvidence {
    /// The report, with its signer block restored.
    pub report: Report,
    pub pek: CsvCert,
    pub hsk_cek: Option<HskCek>,
    pub serial_number: Vec<u8>,
    pub cc_eventlog: Option<Vec<u8>>,
}

fn bytes<const N: usize>(v: &[u8], field: &'static str) -> Result<[u8; N], CsvError> {
    v.try_into().map_err(|_| CsvError::Length {
        item: field,
        len: v.len(),
        expected: match N {
            16 => "16",
            24 => "24",
            72 => "72",
            108 => "108",
            112 => "112",
            254 => "254",
            368 => "368",
            608 => "608",
            _ => "fixed",
        },
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    attestation_report: WrapperJson,
    cert_chain: ChainJson,
    serial_number: Vec<u8>,
    #[serde(default)]
    cc_eventlog: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrapperJson {
    magic: [u8; 16],
    flags: u32,
    data: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainJson {
    #[serde(default)]
    hsk_cek: Option<HskCekJson>,
    pek: CsvCertJson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HskCekJson {
    hsk: CaCertJson,
    cek: CsvCertJson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    g: u32,
    x: Vec<u8>,
    y: Vec<u8>,
}

impl KeyJson {
    fn lay(&self, out: &mut Vec<u8>) -> Result<(), CsvError> {
        out.extend_from_slice(&self.g.to_le_bytes());
        out.extend_from_slice(&bytes::<72>(&self.x, "pubkey.x")?);
        out.extend_from_slice(&bytes::<72>(&self.y, "pubkey.y")?);
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigJson {
    r: Vec<u8>,
    s: Vec<u8>,
}

impl SigJson {
    fn lay(&self, out: &mut Vec<u8>) -> Result<(), CsvError> {
        out.extend_from_slice(&bytes::<72>(&self.r, "signature.r")?);
        out.extend_from_slice(&bytes::<72>(&self.s, "signature.s")?);
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaCertJson {
    body: CaBodyJson,
    signature: SigJson,
    #[serde(rename = "_reserved")]
    reserved: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaBodyJson {
    preamble: PreambleJson,
    pubkey: KeyJson,
    uid_size: u16,
    user_id: Vec<u8>,
    reserved: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreambleJson {
    ver: u32,
    data: PreambleDataJson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreambleDataJson {
    kid: [u8; 16],
    sid: [u8; 16],
    usage: u32,
    reserved: Vec<u8>,
}

impl CaCertJson {
    fn cert(&self) -> Result<CaCert, CsvError> {
        let b = &self.body;
        let mut out = Vec::with_capacity(crate::cert::CA_CERT_LEN);
        out.extend_from_slice(&b.preamble.ver.to_le_bytes());
        out.extend_from_slice(&b.preamble.data.kid);
        out.extend_from_slice(&b.preamble.data.sid);
        out.extend_from_slice(&b.preamble.data.usage.to_le_bytes());
        out.extend_from_slice(&bytes::<24>(&b.preamble.data.reserved, "hsk.reserved")?);
        b.pubkey.lay(&mut out)?;
        out.extend_from_slice(&b.uid_size.to_le_bytes());
        out.extend_from_slice(&bytes::<254>(&b.user_id, "hsk.user_id")?);
        out.extend_from_slice(&bytes::<108>(&b.reserved, "hsk.reserved2")?);
        self.signature.lay(&mut out)?;
        out.extend_from_slice(&bytes::<112>(&self.reserved, "hsk._reserved")?);
        CaCert::decode(&out)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvCertJson {
    body: CsvBodyJson,
    sigs: Vec<SlotJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvBodyJson {
    ver: u32,
    data: CsvDataJson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvDataJson {
    firmware: FirmwareJson,
    reserved1: u16,
    pubkey: CsvPubkeyJson,
    uid_size: u16,
    user_id: Vec<u8>,
    sid: [u8; 16],
    reserved2: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FirmwareJson {
    major: u8,
    minor: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvPubkeyJson {
    usage: u32,
    algo: u32,
    key: KeyJson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotJson {
    usage: u32,
    algo: u32,
    signature: SigJson,
    #[serde(rename = "_reserved")]
    reserved: Vec<u8>,
}

impl CsvCertJson {
    fn cert(&self, item: &'static str) -> Result<CsvCert, CsvError> {
        let d = &self.body.data;
        let mut out = Vec::with_capacity(crate::cert::CSV_CERT_LEN);
        out.extend_from_slice(&self.body.ver.to_le_bytes());
        out.push(d.firmware.major);
        out.push(d.firmware.minor);
        out.extend_from_slice(&d.reserved1.to_le_bytes());
        out.extend_from_slice(&d.pubkey.usage.to_le_bytes());
        out.extend_from_slice(&d.pubkey.algo.to_le_bytes());
        d.pubkey.key.lay(&mut out)?;
        out.extend_from_slice(&d.uid_size.to_le_bytes());
        out.extend_from_slice(&bytes::<254>(&d.user_id, "user_id")?);
        out.extend_from_slice(&d.sid);
        out.extend_from_slice(&bytes::<608>(&d.reserved2, "reserved2")?);
        if self.sigs.len() != 2 {
            return Err(CsvError::Length {
                item,
                len: self.sigs.len(),
                expected: "2 signature slots",
            });
        }
        for slot in &self.sigs {
            out.extend_from_slice(&slot.usage.to_le_bytes());
            out.extend_from_slice(&slot.algo.to_le_bytes());
            slot.signature.lay(&mut out)?;
            out.extend_from_slice(&bytes::<368>(&slot.reserved, "sigs._reserved")?);
        }
        CsvCert::decode(&out)
    }
}

impl TrusteeEvidence {
    pub fn decode(text: &[u8]) -> Result<Self, CsvError> {
        let json: Json =
            serde_json::from_slice(text).map_err(|e| CsvError::EvidenceJson(e.to_string()))?;
        Self::from_json(json)
    }

    /// From the JSON value a KBS request carries as `primary_evidence`.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, CsvError> {
        let json = Json::deserialize(value).map_err(|e| CsvError::EvidenceJson(e.to_string()))?;
        Self::from_json(json)
    }

    fn from_json(json: Json) -> Result<Self, CsvError> {
        let wrapper = &json.attestation_report;
        if wrapper.data.len() != PAGE_LEN {
            return Err(CsvError::Length {
                item: "attestation_report.data",
                len: wrapper.data.len(),
                expected: "4096",
            });
        }
        let report = Report::from_page(
            wrapper.magic,
            wrapper.flags,
            &wrapper.data,
            SignerForm::Restored,
        )?;
        let pek = json.cert_chain.pek.cert("cert_chain.pek")?;
        let hsk_cek = match &json.cert_chain.hsk_cek {
            None => None,
            Some(h) => Some(HskCek {
                hsk: h.hsk.cert()?,
                cek: h.cek.cert("cert_chain.hsk_cek.cek")?,
            }),
        };
        if json.serial_number.len() > 64 {
            return Err(CsvError::Length {
                item: "serial_number",
                len: json.serial_number.len(),
                expected: "at most 64",
            });
        }
        let cc_eventlog = json
            .cc_eventlog
            .as_deref()
            .map(|t| STANDARD.decode(t.trim()))
            .transpose()
            .map_err(|e| CsvError::EvidenceJson(format!("cc_eventlog: {e}")))?;
        Ok(Self {
            report,
            pek,
            hsk_cek,
            serial_number: json.serial_number,
            cc_eventlog,
        })
    }
}

fn key_json(key: &crate::cert::EccKey) -> serde_json::Value {
    let mut x = key.x.0.to_vec();
    x.resize(72, 0);
    let mut y = key.y.0.to_vec();
    y.resize(72, 0);
    serde_json::json!({ "g": key.curve, "x": x, "y": y })
}

fn sig_json(sig: &crate::cert::Sm2Sig) -> serde_json::Value {
    let mut r = sig.r.0.to_vec();
    r.resize(72, 0);
    let mut s = sig.s.0.to_vec();
    s.resize(72, 0);
    serde_json::json!({ "r": r, "s": s })
}

/// A CA-format certificate as csv-rs's serde JSON.
pub fn ca_cert_json(c: &CaCert) -> serde_json::Value {
    serde_json::json!({
        "body": {
            "preamble": { "ver": c.ver, "data": {
                "kid": c.kid, "sid": c.sid, "usage": c.usage, "reserved": c.reserved } },
            "pubkey": key_json(&c.key),
            "uid_size": c.uid_size,
            "user_id": c.user_id.to_vec(),
            "reserved": c.reserved2.to_vec(),
        },
        "signature": sig_json(&c.signature),
        "_reserved": c.reserved3.to_vec(),
    })
}

/// A CSV-format certificate as csv-rs's serde JSON.
pub fn csv_cert_json(c: &CsvCert) -> serde_json::Value {
    let sigs: Vec<serde_json::Value> = c
        .sigs
        .iter()
        .map(|s| {
            serde_json::json!({ "usage": s.usage, "algo": s.algo, "signature": sig_json(&s.sig),
                                "_reserved": s.reserved.to_vec() })
        })
        .collect();
    serde_json::json!({
        "body": { "ver": c.ver, "data": {
            "firmware": { "major": c.fw_major, "minor": c.fw_minor },
            "reserved1": c.reserved1,
            "pubkey": { "usage": c.usage, "algo": c.algo, "key": key_json(&c.key) },
            "uid_size": c.uid_size,
            "user_id": c.user_id.to_vec(),
            "sid": c.sid,
            "reserved2": c.reserved2.to_vec(),
        } },
        "sigs": sigs,
    })
}

impl TrusteeEvidence {
    /// Trustee's evidence for a report as the PSP wrote it (a guest's `CSV_CMD_GET_REPORT`
    /// answer): the signer block restored (pek_cert and sn with the anonce XOR undone, reserved
    /// zeroed), the PEK taken from it, the serial its text, in csv-rs's container. What the
    /// CoCo CSV attester sends, less the HSK/CEK when the guest has none to add (the verifier
    /// looks them up by serial).
    pub fn from_raw_report(
        report: &Report,
        hsk_cek: Option<HskCek>,
        cc_eventlog: Option<Vec<u8>>,
    ) -> Result<Self, CsvError> {
        if report.signer_form != SignerForm::Raw {
            return Err(CsvError::Field {
                field: "signer",
                reason: "the report's signer block is already restored".into(),
            });
        }
        let pek = CsvCert::decode(&report.pek_cert())?;
        let sn = report.sn();
        // A serial that is no printable text is no chip's: refused here, not at the verifier.
        crate::report::serial_text(&sn)?;
        let mut restored = report.clone();
        restored.signer.pek_cert.copy_from_slice(&pek.encode());
        restored.signer.sn = sn;
        restored.signer.reserved = [0; 32];
        restored.signer_form = SignerForm::Restored;
        restored.container = match report.tee_info.version() {
            1 => Container::Wrapped {
                magic: [0; 16],
                flags: 0,
            },
            _ => Container::Wrapped {
                magic: crate::report::EXT_MAGIC,
                flags: 1,
            },
        };
        Ok(Self {
            report: restored,
            pek,
            hsk_cek,
            serial_number: sn.to_vec(),
            cc_eventlog,
        })
    }

    /// The evidence as the CoCo CSV attester serializes it (the form [`Self::decode`] reads).
    pub fn to_value(&self) -> serde_json::Value {
        let page = self.report.encode();
        let (magic, flags, data) = match self.report.container {
            crate::report::Container::Wrapped { magic, flags } => {
                (magic, flags, page.get(20..).unwrap_or_default().to_vec())
            }
            crate::report::Container::Bare => {
                let mut data = page;
                data.resize(PAGE_LEN, 0);
                let (magic, flags) = match self.report.tee_info.version() {
                    1 => ([0u8; 16], 0),
                    _ => (crate::report::EXT_MAGIC, 1),
                };
                (magic, flags, data)
            }
        };
        let mut chain = serde_json::json!({ "pek": csv_cert_json(&self.pek) });
        if let (Some(h), Some(map)) = (&self.hsk_cek, chain.as_object_mut()) {
            map.insert(
                "hsk_cek".into(),
                serde_json::json!({ "hsk": ca_cert_json(&h.hsk), "cek": csv_cert_json(&h.cek) }),
            );
        }
        let mut out = serde_json::json!({
            "attestation_report": { "magic": magic, "flags": flags, "data": data },
            "cert_chain": chain,
            "serial_number": self.serial_number,
        });
        if let (Some(log), Some(map)) = (&self.cc_eventlog, out.as_object_mut()) {
            map.insert("cc_eventlog".into(), STANDARD.encode(log).into());
        }
        out
    }
}
