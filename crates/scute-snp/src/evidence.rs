//! SEV-SNP evidence as Confidential Containers' attester sends it, decoded into the exact 1184
//! report bytes and the endorsement certificates it carries (moved from the server's hand-walked
//! JSON, now typed serde structs as `scute-csv/src/evidence.rs` does).
//!
//! Wire format: guest-components `attestation-agent/attester/src/snp/mod.rs` serialises
//! `SnpEvidence { attestation_report: sev::firmware::guest::AttestationReport, cert_chain:
//! Option<Vec<sev::firmware::host::CertTableEntry>> }` with serde_json, and trustee
//! `deps/verifier/src/snp/mod.rs` reads the same struct (and hashes `bincode::serialize` of
//! the report, i.e. its raw layout). In sev ≤ 4.x the report is a serde struct of every field of
//! the raw layout, reserved ones included; sev 6.x (guest-components' Cargo.toml today) names
//! the fields and drops the reserved bytes, which are put back as the zeros the firmware writes.
//! Either way the exact 1184 bytes are re-assembled and the signature decides; any member
//! missing, unknown or out of range is refused.

use crate::error::SnpError;
use crate::report::{Product, REPORT_LEN};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

/// SNP evidence: the raw report and what endorses it, if the guest sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub report: Vec<u8>,
    /// VCEK or VLEK (DER or PEM), if the guest sent one.
    pub vek: Option<Vec<u8>>,
    /// ASK/ASVK then ARK (PEM), if the guest sent them.
    pub chain: Option<Vec<u8>>,
}

impl Evidence {
    /// The evidence JSON (`{"attestation_report": .., "cert_chain": ..}`) when the bytes are a
    /// JSON object, else a raw report (its length and form are checked by `Report::decode`).
    pub fn decode(bytes: &[u8]) -> Result<Self, SnpError> {
        let json = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        if !json {
            return Ok(Self {
                report: bytes.to_vec(),
                ..Self::default()
            });
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| SnpError::Evidence(format!("evidence JSON: {e}")))?;
        Self::from_kbs_json(&value)
    }

    /// The KBS `tee-evidence.primary_evidence` of an SNP guest: `{"attestation_report": ...,
    /// "cert_chain": [{"cert_type": "VCEK", "data": [..]}, ...] | null}`.
    pub fn from_kbs_json(evidence: &Value) -> Result<Self, SnpError> {
        let report = evidence.get("attestation_report").ok_or_else(|| {
            SnpError::Evidence(
                "tee-evidence.primary_evidence.attestation_report is required for snp".into(),
            )
        })?;
        let mut out = Self {
            report: report_from_json(report)?,
            ..Self::default()
        };
        // sev's `Option<Vec<CertTableEntry>>`; anything but an array carries no certificate.
        let Some(entries) = evidence.get("cert_chain").filter(|c| c.is_array()) else {
            return Ok(out);
        };
        let entries = Vec::<CertEntry>::deserialize(entries)
            .map_err(|e| SnpError::Evidence(format!("cert_chain: {e}")))?;
        let (mut ask, mut ark) = (None, None);
        for entry in entries {
            let kind = match &entry.cert_type {
                CertType::Name(name) => name.as_str(),
                CertType::Other(_) => "",
            };
            let slot = match kind {
                "VCEK" | "VLEK" => &mut out.vek,
                "ASK" => &mut ask,
                "ARK" => &mut ark,
                _ => continue,
            };
            if slot.replace(entry.data).is_some() {
                return Err(SnpError::Evidence(format!(
                    "cert_chain holds more than one {kind}"
                )));
            }
        }
        if let (Some(ask), Some(ark)) = (ask, ark) {
            out.chain = Some(crate::pem_chain(&[&ask, &ark]).into_bytes());
        }
        Ok(out)
    }
}

/// One `CertTableEntry`: `cert_type` is `"VCEK"`, `"ASK"`, ... or sev's `{"OTHER": uuid}`.
#[derive(Deserialize)]
struct CertEntry {
    #[serde(default)]
    cert_type: CertType,
    data: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CertType {
    Name(String),
    Other(IgnoredAny),
}

impl Default for CertType {
    fn default() -> Self {
        CertType::Other(IgnoredAny)
    }
}

/// Re-assembles the raw report from the sev crate's serde form (sev ≤ 4.x or 6.x), or takes it
/// as base64 text.
pub fn report_from_json(value: &Value) -> Result<Vec<u8>, SnpError> {
    let typed = |e: serde_json::Error| SnpError::Evidence(format!("attestation_report: {e}"));
    match value {
        Value::String(text) => STANDARD.decode(text.trim()).map_err(|e| SnpError::Base64 {
            field: "attestation_report",
            reason: e.to_string(),
        }),
        Value::Object(o) if o.contains_key("key_info") => {
            Sev6Report::deserialize(value).map_err(typed)?.encode()
        }
        Value::Object(_) => Ok(Sev4Report::deserialize(value).map_err(typed)?.encode()),
        _ => Err(SnpError::Evidence(
            "attestation_report is not an object".into(),
        )),
    }
}

/// A nested member as the sev crate writes it: a JSON object. (serde's derive would also take
/// an array of the members in order, which no sender writes; the exact form is required.)
fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let map = serde_json::Map::<String, Value>::deserialize(deserializer)?;
    T::deserialize(Value::Object(map)).map_err(serde::de::Error::custom)
}

/// Exactly `N` bytes, from a JSON array of integers 0..=255.
#[derive(Deserialize, Clone, Copy)]
#[serde(try_from = "Vec<u8>")]
struct Bytes<const N: usize>([u8; N]);

impl<const N: usize> TryFrom<Vec<u8>> for Bytes<N> {
    type Error = String;
    fn try_from(v: Vec<u8>) -> Result<Self, String> {
        let len = v.len();
        v.try_into()
            .map(Bytes)
            .map_err(|_| format!("{len} bytes where {N} belong"))
    }
}

/// sev ≤ 4.x `AttestationReport`: every field of the raw layout in order, reserved ones too.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sev4Report {
    version: u32,
    guest_svn: u32,
    policy: u64,
    family_id: Bytes<16>,
    image_id: Bytes<16>,
    vmpl: u32,
    sig_algo: u32,
    #[serde(deserialize_with = "object")]
    current_tcb: Sev4Tcb,
    plat_info: u64,
    #[serde(rename = "_author_key_en", alias = "author_key_en")]
    author_key_en: u32,
    #[serde(rename = "_reserved_0")]
    reserved_0: u32,
    report_data: Bytes<64>,
    measurement: Bytes<48>,
    host_data: Bytes<32>,
    id_key_digest: Bytes<48>,
    author_key_digest: Bytes<48>,
    report_id: Bytes<32>,
    report_id_ma: Bytes<32>,
    #[serde(deserialize_with = "object")]
    reported_tcb: Sev4Tcb,
    #[serde(rename = "_reserved_1")]
    reserved_1: Bytes<24>,
    chip_id: Bytes<64>,
    #[serde(deserialize_with = "object")]
    committed_tcb: Sev4Tcb,
    current_build: u8,
    current_minor: u8,
    current_major: u8,
    #[serde(rename = "_reserved_2")]
    reserved_2: u8,
    committed_build: u8,
    committed_minor: u8,
    committed_major: u8,
    #[serde(rename = "_reserved_3")]
    reserved_3: u8,
    #[serde(deserialize_with = "object")]
    launch_tcb: Sev4Tcb,
    #[serde(rename = "_reserved_4")]
    reserved_4: Bytes<168>,
    #[serde(deserialize_with = "object")]
    signature: Sev4Signature,
}

/// sev ≤ 4.x `TcbVersion`: the raw 8 bytes (Milan/Genoa layout) with named members.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sev4Tcb {
    #[serde(alias = "boot_loader")]
    bootloader: u8,
    tee: u8,
    #[serde(rename = "_reserved", alias = "reserved")]
    reserved: Bytes<4>,
    snp: u8,
    microcode: u8,
}

impl Sev4Tcb {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.bootloader, self.tee]);
        out.extend_from_slice(&self.reserved.0);
        out.extend_from_slice(&[self.snp, self.microcode]);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sev4Signature {
    r: Bytes<72>,
    s: Bytes<72>,
    #[serde(rename = "_reserved", alias = "reserved")]
    reserved: Bytes<368>,
}

impl Sev4Report {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(REPORT_LEN);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.guest_svn.to_le_bytes());
        out.extend_from_slice(&self.policy.to_le_bytes());
        out.extend_from_slice(&self.family_id.0);
        out.extend_from_slice(&self.image_id.0);
        out.extend_from_slice(&self.vmpl.to_le_bytes());
        out.extend_from_slice(&self.sig_algo.to_le_bytes());
        self.current_tcb.encode(&mut out);
        out.extend_from_slice(&self.plat_info.to_le_bytes());
        out.extend_from_slice(&self.author_key_en.to_le_bytes());
        out.extend_from_slice(&self.reserved_0.to_le_bytes());
        out.extend_from_slice(&self.report_data.0);
        out.extend_from_slice(&self.measurement.0);
        out.extend_from_slice(&self.host_data.0);
        out.extend_from_slice(&self.id_key_digest.0);
        out.extend_from_slice(&self.author_key_digest.0);
        out.extend_from_slice(&self.report_id.0);
        out.extend_from_slice(&self.report_id_ma.0);
        self.reported_tcb.encode(&mut out);
        out.extend_from_slice(&self.reserved_1.0);
        out.extend_from_slice(&self.chip_id.0);
        self.committed_tcb.encode(&mut out);
        out.extend_from_slice(&[
            self.current_build,
            self.current_minor,
            self.current_major,
            self.reserved_2,
            self.committed_build,
            self.committed_minor,
            self.committed_major,
            self.reserved_3,
        ]);
        self.launch_tcb.encode(&mut out);
        out.extend_from_slice(&self.reserved_4.0);
        out.extend_from_slice(&self.signature.r.0);
        out.extend_from_slice(&self.signature.s.0);
        out.extend_from_slice(&self.signature.reserved.0);
        out
    }
}

/// sev 6.x `AttestationReport` (guest-components today): named fields, no reserved bytes; the
/// CPUID and mitigation vectors are `Option` (absent or null on older reports).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sev6Report {
    version: u32,
    guest_svn: u32,
    policy: u64,
    family_id: Bytes<16>,
    image_id: Bytes<16>,
    vmpl: u32,
    sig_algo: u32,
    #[serde(deserialize_with = "object")]
    current_tcb: Sev6Tcb,
    plat_info: u64,
    key_info: u32,
    report_data: Bytes<64>,
    measurement: Bytes<48>,
    host_data: Bytes<32>,
    id_key_digest: Bytes<48>,
    author_key_digest: Bytes<48>,
    report_id: Bytes<32>,
    report_id_ma: Bytes<32>,
    #[serde(deserialize_with = "object")]
    reported_tcb: Sev6Tcb,
    #[serde(default)]
    cpuid_fam_id: Option<u8>,
    #[serde(default)]
    cpuid_mod_id: Option<u8>,
    #[serde(default)]
    cpuid_step: Option<u8>,
    chip_id: Bytes<64>,
    #[serde(deserialize_with = "object")]
    committed_tcb: Sev6Tcb,
    #[serde(deserialize_with = "object")]
    current: Sev6Version,
    #[serde(deserialize_with = "object")]
    committed: Sev6Version,
    #[serde(deserialize_with = "object")]
    launch_tcb: Sev6Tcb,
    #[serde(default)]
    launch_mit_vector: Option<u64>,
    #[serde(default)]
    current_mit_vector: Option<u64>,
    #[serde(deserialize_with = "object")]
    signature: Sev6Signature,
}

/// sev 6.x `TcbVersion {fmc, bootloader, tee, snp, microcode}` (`fmc` only on Turin).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sev6Tcb {
    #[serde(default)]
    fmc: Option<u8>,
    bootloader: u8,
    tee: u8,
    snp: u8,
    microcode: u8,
}

impl Sev6Tcb {
    /// The raw bytes in the product's layout; an FMC SPL on a pre-Turin report is refused.
    fn raw(&self, field: &str, turin: bool) -> Result<[u8; 8], SnpError> {
        let (bl, tee, snp, ucode) = (self.bootloader, self.tee, self.snp, self.microcode);
        if turin {
            return Ok([self.fmc.unwrap_or(0), bl, tee, snp, 0, 0, 0, ucode]);
        }
        if self.fmc.is_some() {
            return Err(SnpError::Evidence(format!(
                "attestation_report.{field}.fmc on a pre-Turin report"
            )));
        }
        Ok([bl, tee, 0, 0, 0, 0, snp, ucode])
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sev6Version {
    major: u8,
    minor: u8,
    build: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sev6Signature {
    r: Bytes<72>,
    s: Bytes<72>,
}

impl Sev6Report {
    /// The raw layout, reserved bytes as the zeros the firmware writes: a report whose reserved
    /// bytes were not zero simply fails its signature.
    fn encode(&self) -> Result<Vec<u8>, SnpError> {
        let cpuid = [
            self.cpuid_fam_id.unwrap_or(0),
            self.cpuid_mod_id.unwrap_or(0),
            self.cpuid_step.unwrap_or(0),
        ];
        // The TCB layout follows the product: Turin when its CPUID says so (v3+).
        let turin = Product::from_cpuid(cpuid[0], cpuid[1]) == Some(Product::Turin);
        let mut out = Vec::with_capacity(REPORT_LEN);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.guest_svn.to_le_bytes());
        out.extend_from_slice(&self.policy.to_le_bytes());
        out.extend_from_slice(&self.family_id.0);
        out.extend_from_slice(&self.image_id.0);
        out.extend_from_slice(&self.vmpl.to_le_bytes());
        out.extend_from_slice(&self.sig_algo.to_le_bytes());
        out.extend_from_slice(&self.current_tcb.raw("current_tcb", turin)?);
        out.extend_from_slice(&self.plat_info.to_le_bytes());
        out.extend_from_slice(&self.key_info.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.report_data.0);
        out.extend_from_slice(&self.measurement.0);
        out.extend_from_slice(&self.host_data.0);
        out.extend_from_slice(&self.id_key_digest.0);
        out.extend_from_slice(&self.author_key_digest.0);
        out.extend_from_slice(&self.report_id.0);
        out.extend_from_slice(&self.report_id_ma.0);
        out.extend_from_slice(&self.reported_tcb.raw("reported_tcb", turin)?);
        out.extend_from_slice(&cpuid);
        out.extend_from_slice(&[0; 21]);
        out.extend_from_slice(&self.chip_id.0);
        out.extend_from_slice(&self.committed_tcb.raw("committed_tcb", turin)?);
        for v in [&self.current, &self.committed] {
            out.extend_from_slice(&[v.build, v.minor, v.major, 0]);
        }
        out.extend_from_slice(&self.launch_tcb.raw("launch_tcb", turin)?);
        let mut tail = [0u8; 168];
        for (at, vector) in [
            (0usize, self.launch_mit_vector),
            (8, self.current_mit_vector),
        ] {
            if let (Some(value), Some(slot)) = (vector, tail.get_mut(at..at + 8)) {
                slot.copy_from_slice(&value.to_le_bytes());
            }
        }
        out.extend_from_slice(&tail);
        out.extend_from_slice(&self.signature.r.0);
        out.extend_from_slice(&self.signature.s.0);
        out.extend_from_slice(&[0; 368]);
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::report::{Report, TcbVersion};
    use serde_json::json;

    /// A real Milan v2 report (Trustee's test vector).
    fn raw() -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
        std::fs::read(dir.join("snp-trustee-milan-vcek/report.bin")).unwrap()
    }

    /// sev ≤ 4.x `AttestationReport` serde form of `raw`.
    fn sev4(raw: &[u8]) -> Value {
        let r = Report::decode(raw).unwrap();
        let tcb = |t: &TcbVersion| json!({ "bootloader": t.0[0], "tee": t.0[1], "_reserved": &t.0[2..6], "snp": t.0[6], "microcode": t.0[7] });
        json!({
            "version": r.version, "guest_svn": r.guest_svn, "policy": r.policy,
            "family_id": r.family_id, "image_id": r.image_id, "vmpl": r.vmpl,
            "sig_algo": r.signature_algo, "current_tcb": tcb(&r.current_tcb),
            "plat_info": r.platform_info, "_author_key_en": r.signer_info,
            "_reserved_0": u32::from_le_bytes(r.reserved_04c),
            "report_data": r.report_data.to_vec(), "measurement": r.measurement.to_vec(),
            "host_data": r.host_data, "id_key_digest": r.id_key_digest.to_vec(),
            "author_key_digest": r.author_key_digest.to_vec(), "report_id": r.report_id,
            "report_id_ma": r.report_id_ma, "reported_tcb": tcb(&r.reported_tcb),
            "_reserved_1": r.bytes_188.to_vec(), "chip_id": r.chip_id.to_vec(),
            "committed_tcb": tcb(&r.committed_tcb),
            "current_build": r.current_version[0], "current_minor": r.current_version[1],
            "current_major": r.current_version[2], "_reserved_2": r.current_version[3],
            "committed_build": r.committed_version[0], "committed_minor": r.committed_version[1],
            "committed_major": r.committed_version[2], "_reserved_3": r.committed_version[3],
            "launch_tcb": tcb(&r.launch_tcb), "_reserved_4": r.bytes_1f8.to_vec(),
            "signature": { "r": r.signature_r.to_vec(), "s": r.signature_s.to_vec(), "_reserved": r.signature_reserved.to_vec() },
        })
    }

    /// sev 6.x serde form of `raw` (a v2 report: no CPUID, no mitigation vectors).
    fn sev6(raw: &[u8]) -> Value {
        let r = Report::decode(raw).unwrap();
        let tcb = |t: &TcbVersion| json!({ "fmc": null, "bootloader": t.0[0], "tee": t.0[1], "snp": t.0[6], "microcode": t.0[7] });
        let version = |v: &[u8; 4]| json!({ "major": v[2], "minor": v[1], "build": v[0] });
        json!({
            "version": r.version, "guest_svn": r.guest_svn, "policy": r.policy,
            "family_id": r.family_id, "image_id": r.image_id, "vmpl": r.vmpl,
            "sig_algo": r.signature_algo, "current_tcb": tcb(&r.current_tcb),
            "plat_info": r.platform_info, "key_info": r.signer_info,
            "report_data": r.report_data.to_vec(), "measurement": r.measurement.to_vec(),
            "host_data": r.host_data, "id_key_digest": r.id_key_digest.to_vec(),
            "author_key_digest": r.author_key_digest.to_vec(), "report_id": r.report_id,
            "report_id_ma": r.report_id_ma, "reported_tcb": tcb(&r.reported_tcb),
            "cpuid_fam_id": null, "cpuid_mod_id": null, "cpuid_step": null,
            "chip_id": r.chip_id.to_vec(), "committed_tcb": tcb(&r.committed_tcb),
            "current": version(&r.current_version), "committed": version(&r.committed_version),
            "launch_tcb": tcb(&r.launch_tcb), "launch_mit_vector": null, "current_mit_vector": null,
            "signature": { "r": r.signature_r.to_vec(), "s": r.signature_s.to_vec() },
        })
    }

    #[test]
    fn nested_members_must_be_objects_not_arrays_of_their_members() {
        // serde's derive takes `[bl, tee, _reserved, snp, microcode]` (the members in declaration
        // order) for a struct; the sev form never is one.
        let raw = raw();
        let genuine = sev4(&raw);
        assert_eq!(report_from_json(&genuine).unwrap(), raw);
        let in_order =
            |v: &Value, names: &[&str]| Value::Array(names.iter().map(|n| v[*n].clone()).collect());
        let mut value = genuine.clone();
        value["current_tcb"] = in_order(
            &genuine["current_tcb"],
            &["bootloader", "tee", "_reserved", "snp", "microcode"],
        );
        assert!(is_evidence_error(report_from_json(&value)));
        let mut value = genuine.clone();
        value["signature"] = in_order(&genuine["signature"], &["r", "s", "_reserved"]);
        assert!(is_evidence_error(report_from_json(&value)));
    }

    fn is_evidence_error(r: Result<Vec<u8>, SnpError>) -> bool {
        matches!(r, Err(SnpError::Evidence(_)))
    }

    #[test]
    fn both_sev_forms_reassemble_the_exact_signed_bytes() {
        let raw = raw();
        assert_eq!(report_from_json(&sev4(&raw)).unwrap(), raw);
        assert_eq!(report_from_json(&sev6(&raw)).unwrap(), raw);
        let b64 = Value::String(STANDARD.encode(&raw));
        assert_eq!(report_from_json(&b64).unwrap(), raw);
    }

    #[test]
    fn unknown_missing_out_of_range_and_wrong_length_members_are_refused() {
        let raw = raw();
        for form in [sev4(&raw), sev6(&raw)] {
            let mut extra = form.clone();
            extra["extra"] = json!(0);
            assert!(is_evidence_error(report_from_json(&extra)));
            let mut missing = form.clone();
            missing.as_object_mut().unwrap().remove("measurement");
            assert!(is_evidence_error(report_from_json(&missing)));
            let mut big = form.clone();
            big["report_data"][0] = json!(256);
            assert!(is_evidence_error(report_from_json(&big)));
            let mut short = form.clone();
            short["chip_id"].as_array_mut().unwrap().pop();
            assert!(is_evidence_error(report_from_json(&short)));
            let mut wide = form.clone();
            wide["vmpl"] = json!(u64::from(u32::MAX) + 1);
            assert!(is_evidence_error(report_from_json(&wide)));
            let mut nested = form.clone();
            nested["reported_tcb"]["extra"] = json!(1);
            assert!(is_evidence_error(report_from_json(&nested)));
        }
        // An FMC SPL on a pre-Turin report is not a layout the firmware writes.
        let mut fmc = sev6(&raw);
        fmc["launch_tcb"]["fmc"] = json!(1);
        assert!(is_evidence_error(report_from_json(&fmc)));
        assert!(matches!(
            report_from_json(&json!("not base64!")),
            Err(SnpError::Base64 { .. })
        ));
        assert!(is_evidence_error(report_from_json(&json!([1, 2]))));
    }

    #[test]
    fn the_kbs_form_yields_the_report_and_its_certificates() {
        let raw = raw();
        let evidence = json!({
            "attestation_report": sev4(&raw),
            "cert_chain": [
                { "cert_type": "VCEK", "data": [1, 2, 3] },
                { "cert_type": { "OTHER": "00000000-0000-0000-0000-000000000000" }, "data": [9] },
            ],
        });
        let decoded = Evidence::from_kbs_json(&evidence).unwrap();
        assert_eq!(decoded.report, raw);
        assert_eq!(decoded.vek.as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(decoded.chain, None);
        // The same as bytes, and a raw report as itself.
        let text = serde_json::to_vec(&evidence).unwrap();
        assert_eq!(Evidence::decode(&text).unwrap(), decoded);
        assert_eq!(Evidence::decode(&raw).unwrap().report, raw);
        // Two VCEKs: which one would sign is ambiguous.
        let mut twice = evidence.clone();
        twice["cert_chain"][1] = json!({ "cert_type": "VCEK", "data": [4] });
        assert!(matches!(
            Evidence::from_kbs_json(&twice),
            Err(SnpError::Evidence(_))
        ));
        assert!(matches!(
            Evidence::from_kbs_json(&json!({ "cert_chain": null })),
            Err(SnpError::Evidence(_))
        ));
        assert!(matches!(
            Evidence::decode(b"{ not json"),
            Err(SnpError::Evidence(_))
        ));
    }
}
