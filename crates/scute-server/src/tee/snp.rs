//! AMD SEV-SNP in the service: evidence as Confidential Containers' attester sends it, the
//! VCEK/VLEK from the evidence or the store (imported offline, verified before stored), the
//! report_data and HOST_DATA (init-data) bindings, and the claims policies read.
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

use super::{Binding, Verified, Verifiers};
use crate::problem::{Kind, Problem};
use crate::store::Store;
use scute_snp::{inspect_vek, CertRole, Collateral, SnpError, TrustRoots, VerifiedReport};
use serde_json::{json, Map, Value};

fn base64_field(field: &str, text: &str) -> Result<Vec<u8>, Problem> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| Problem::new(Kind::MalformedBase64, format!("{field}: {e}")))
}

pub(crate) fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(Kind::BadField, detail)
}

/// SNP evidence, decoded from a front door: the raw report and what endorses it.
#[derive(Debug, Clone, Default)]
pub struct SnpEvidence {
    pub report: Vec<u8>,
    /// VCEK or VLEK (DER or PEM), if the guest sent one.
    pub vek: Option<Vec<u8>>,
    /// ASK/ASVK then ARK (PEM), if the guest sent them.
    pub chain: Option<Vec<u8>>,
}

/// One field of the sev crate's `AttestationReport` serde form, in layout order.
enum Field {
    U8,
    U32,
    U64,
    Bytes(usize),
    Tcb,
    Signature,
}

/// The raw layout as sev (≤ 4.x, the version guest-components' `get_ext_report` returns)
/// names it; alternatives are accepted for names that changed.
const LAYOUT: &[(&[&str], Field)] = &[
    (&["version"], Field::U32),
    (&["guest_svn"], Field::U32),
    (&["policy"], Field::U64),
    (&["family_id"], Field::Bytes(16)),
    (&["image_id"], Field::Bytes(16)),
    (&["vmpl"], Field::U32),
    (&["sig_algo"], Field::U32),
    (&["current_tcb"], Field::Tcb),
    (&["plat_info"], Field::U64),
    (&["_author_key_en", "author_key_en"], Field::U32),
    (&["_reserved_0"], Field::U32),
    (&["report_data"], Field::Bytes(64)),
    (&["measurement"], Field::Bytes(48)),
    (&["host_data"], Field::Bytes(32)),
    (&["id_key_digest"], Field::Bytes(48)),
    (&["author_key_digest"], Field::Bytes(48)),
    (&["report_id"], Field::Bytes(32)),
    (&["report_id_ma"], Field::Bytes(32)),
    (&["reported_tcb"], Field::Tcb),
    (&["_reserved_1"], Field::Bytes(24)),
    (&["chip_id"], Field::Bytes(64)),
    (&["committed_tcb"], Field::Tcb),
    (&["current_build"], Field::U8),
    (&["current_minor"], Field::U8),
    (&["current_major"], Field::U8),
    (&["_reserved_2"], Field::U8),
    (&["committed_build"], Field::U8),
    (&["committed_minor"], Field::U8),
    (&["committed_major"], Field::U8),
    (&["_reserved_3"], Field::U8),
    (&["launch_tcb"], Field::Tcb),
    (&["_reserved_4"], Field::Bytes(168)),
    (&["signature"], Field::Signature),
];

fn take<'a>(object: &'a Map<String, Value>, names: &[&str], seen: &mut usize) -> Option<&'a Value> {
    let value = names.iter().find_map(|n| object.get(*n))?;
    *seen += 1;
    Some(value)
}

fn uint(value: &Value, max: u64, field: &str) -> Result<u64, Problem> {
    value.as_u64().filter(|v| *v <= max).ok_or_else(|| {
        bad(format!(
            "attestation_report.{field} is not an integer ≤ {max}"
        ))
    })
}

fn bytes(value: &Value, len: usize, field: &str) -> Result<Vec<u8>, Problem> {
    let items = value
        .as_array()
        .filter(|a| a.len() == len)
        .ok_or_else(|| bad(format!("attestation_report.{field} is not {len} bytes")))?;
    items
        .iter()
        .map(|v| uint(v, 255, field).map(|b| b as u8))
        .collect()
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, Problem> {
    value
        .as_object()
        .ok_or_else(|| bad(format!("attestation_report.{field} is not an object")))
}

/// Every member of `object` must have been read.
fn no_other_members(object: &Map<String, Value>, seen: usize, field: &str) -> Result<(), Problem> {
    if object.len() != seen {
        return Err(bad(format!(
            "attestation_report{field} has members this layout does not know"
        )));
    }
    Ok(())
}

fn tcb(value: &Value, field: &str, out: &mut Vec<u8>) -> Result<(), Problem> {
    let o = object(value, field)?;
    let mut seen = 0;
    let byte = |names: &[&str], seen: &mut usize| -> Result<u8, Problem> {
        let v = take(o, names, seen)
            .ok_or_else(|| bad(format!("attestation_report.{field}.{} missing", names[0])))?;
        Ok(uint(v, 255, field)? as u8)
    };
    let bl = byte(&["bootloader", "boot_loader"], &mut seen)?;
    let tee = byte(&["tee"], &mut seen)?;
    let reserved = take(o, &["_reserved", "reserved"], &mut seen)
        .ok_or_else(|| bad(format!("attestation_report.{field}._reserved missing")))?;
    let reserved = bytes(reserved, 4, field)?;
    let snp = byte(&["snp"], &mut seen)?;
    let ucode = byte(&["microcode"], &mut seen)?;
    no_other_members(o, seen, &format!(".{field}"))?;
    out.extend_from_slice(&[bl, tee]);
    out.extend_from_slice(&reserved);
    out.extend_from_slice(&[snp, ucode]);
    Ok(())
}

/// Re-assembles the raw report from the sev crate's serde form (or takes it as base64 text).
pub fn report_from_json(value: &Value) -> Result<Vec<u8>, Problem> {
    if let Some(text) = value.as_str() {
        return base64_field("attestation_report", text);
    }
    let o = object(value, "")?;
    if o.contains_key("key_info") {
        return report_from_sev6_json(o);
    }
    let mut out = Vec::with_capacity(scute_snp::REPORT_LEN);
    let mut seen = 0;
    for (names, kind) in LAYOUT {
        let name = names[0];
        let v = take(o, names, &mut seen)
            .ok_or_else(|| bad(format!("attestation_report.{name} missing")))?;
        match kind {
            Field::U8 => out.push(uint(v, 255, name)? as u8),
            Field::U32 => {
                out.extend_from_slice(&(uint(v, u32::MAX.into(), name)? as u32).to_le_bytes())
            }
            Field::U64 => out.extend_from_slice(&uint(v, u64::MAX, name)?.to_le_bytes()),
            Field::Bytes(len) => out.extend_from_slice(&bytes(v, *len, name)?),
            Field::Tcb => tcb(v, name, &mut out)?,
            Field::Signature => {
                let s = object(v, name)?;
                let mut seen_sig = 0;
                for (names, len) in [
                    (&["r"][..], 72),
                    (&["s"][..], 72),
                    (&["_reserved", "reserved"][..], 368),
                ] {
                    let part = take(s, names, &mut seen_sig).ok_or_else(|| {
                        bad(format!("attestation_report.signature.{} missing", names[0]))
                    })?;
                    out.extend_from_slice(&bytes(part, len, "signature")?);
                }
                no_other_members(s, seen_sig, ".signature")?;
            }
        }
    }
    no_other_members(o, seen, "")?;
    Ok(out)
}

/// A sev 6.x TCB_VERSION `{fmc, bootloader, tee, snp, microcode}` as raw bytes.
fn tcb6(value: &Value, field: &str, turin: bool) -> Result<[u8; 8], Problem> {
    let o = object(value, field)?;
    let mut seen = 0;
    let mut byte = |name: &str| -> Result<Option<u8>, Problem> {
        match take(o, &[name], &mut seen) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Ok(Some(uint(v, 255, field)? as u8)),
        }
    };
    let fmc = byte("fmc")?;
    let need = |v: Option<u8>, name: &str| {
        v.ok_or_else(|| bad(format!("attestation_report.{field}.{name} missing")))
    };
    let bl = need(byte("bootloader")?, "bootloader")?;
    let tee = need(byte("tee")?, "tee")?;
    let snp = need(byte("snp")?, "snp")?;
    let ucode = need(byte("microcode")?, "microcode")?;
    no_other_members(o, seen, &format!(".{field}"))?;
    Ok(if turin {
        [fmc.unwrap_or(0), bl, tee, snp, 0, 0, 0, ucode]
    } else {
        if fmc.is_some() {
            return Err(bad(format!(
                "attestation_report.{field}.fmc on a pre-Turin report"
            )));
        }
        [bl, tee, 0, 0, 0, 0, snp, ucode]
    })
}

/// The serde form of sev 6.x (guest-components today), which names the fields but drops the
/// reserved bytes: they are re-assembled as the zeros the firmware writes, so a report whose
/// reserved bytes were not zero simply fails its signature.
fn report_from_sev6_json(o: &Map<String, Value>) -> Result<Vec<u8>, Problem> {
    const KNOWN: [&str; 29] = [
        "version",
        "guest_svn",
        "policy",
        "family_id",
        "image_id",
        "vmpl",
        "sig_algo",
        "current_tcb",
        "plat_info",
        "key_info",
        "report_data",
        "measurement",
        "host_data",
        "id_key_digest",
        "author_key_digest",
        "report_id",
        "report_id_ma",
        "reported_tcb",
        "cpuid_fam_id",
        "cpuid_mod_id",
        "cpuid_step",
        "chip_id",
        "committed_tcb",
        "current",
        "committed",
        "launch_tcb",
        "launch_mit_vector",
        "current_mit_vector",
        "signature",
    ];
    if let Some(other) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!(
            "attestation_report.{other} is not a member this layout knows"
        )));
    }
    let get = |name: &str| -> Result<&Value, Problem> {
        o.get(name)
            .ok_or_else(|| bad(format!("attestation_report.{name} missing")))
    };
    let u32_of = |v: &Value, name: &str| uint(v, u32::MAX.into(), name).map(|v| v as u32);
    let opt_u8 = |v: Option<&Value>, name: &str| -> Result<u8, Problem> {
        match v {
            None | Some(Value::Null) => Ok(0),
            Some(v) => Ok(uint(v, 255, name)? as u8),
        }
    };
    let version = u32_of(get("version")?, "version")?;
    let mut out = Vec::with_capacity(scute_snp::REPORT_LEN);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&u32_of(get("guest_svn")?, "guest_svn")?.to_le_bytes());
    out.extend_from_slice(&uint(get("policy")?, u64::MAX, "policy")?.to_le_bytes());
    out.extend_from_slice(&bytes(get("family_id")?, 16, "family_id")?);
    out.extend_from_slice(&bytes(get("image_id")?, 16, "image_id")?);
    out.extend_from_slice(&u32_of(get("vmpl")?, "vmpl")?.to_le_bytes());
    out.extend_from_slice(&u32_of(get("sig_algo")?, "sig_algo")?.to_le_bytes());
    // The TCB layout follows the product: Turin when its CPUID says so (v3+).
    let cpuid = [
        opt_u8(o.get("cpuid_fam_id"), "cpuid_fam_id")?,
        opt_u8(o.get("cpuid_mod_id"), "cpuid_mod_id")?,
        opt_u8(o.get("cpuid_step"), "cpuid_step")?,
    ];
    let turin =
        scute_snp::Product::from_cpuid(cpuid[0], cpuid[1]) == Some(scute_snp::Product::Turin);
    out.extend_from_slice(&tcb6(get("current_tcb")?, "current_tcb", turin)?);
    out.extend_from_slice(&uint(get("plat_info")?, u64::MAX, "plat_info")?.to_le_bytes());
    out.extend_from_slice(&u32_of(get("key_info")?, "key_info")?.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    for (name, len) in [
        ("report_data", 64),
        ("measurement", 48),
        ("host_data", 32),
        ("id_key_digest", 48),
        ("author_key_digest", 48),
        ("report_id", 32),
        ("report_id_ma", 32),
    ] {
        out.extend_from_slice(&bytes(get(name)?, len, name)?);
    }
    out.extend_from_slice(&tcb6(get("reported_tcb")?, "reported_tcb", turin)?);
    out.extend_from_slice(&cpuid);
    out.extend_from_slice(&[0; 21]);
    out.extend_from_slice(&bytes(get("chip_id")?, 64, "chip_id")?);
    out.extend_from_slice(&tcb6(get("committed_tcb")?, "committed_tcb", turin)?);
    for name in ["current", "committed"] {
        let v = object(get(name)?, name)?;
        let part = |p: &str| -> Result<u8, Problem> {
            let x = v
                .get(p)
                .ok_or_else(|| bad(format!("attestation_report.{name}.{p} missing")))?;
            Ok(uint(x, 255, name)? as u8)
        };
        if v.len() != 3 {
            return Err(bad(format!(
                "attestation_report.{name} is not {{major, minor, build}}"
            )));
        }
        out.extend_from_slice(&[part("build")?, part("minor")?, part("major")?, 0]);
    }
    out.extend_from_slice(&tcb6(get("launch_tcb")?, "launch_tcb", turin)?);
    let mut tail = [0u8; 168];
    for (at, name) in [(0usize, "launch_mit_vector"), (8, "current_mit_vector")] {
        if let Some(v) = o.get(name).filter(|v| !v.is_null()) {
            let value = uint(v, u64::MAX, name)?;
            if let Some(slot) = tail.get_mut(at..at + 8) {
                slot.copy_from_slice(&value.to_le_bytes());
            }
        }
    }
    out.extend_from_slice(&tail);
    let sig = object(get("signature")?, "signature")?;
    let mut seen_sig = 0;
    for name in ["r", "s"] {
        let part = take(sig, &[name], &mut seen_sig)
            .ok_or_else(|| bad(format!("attestation_report.signature.{name} missing")))?;
        out.extend_from_slice(&bytes(part, 72, "signature")?);
    }
    no_other_members(sig, seen_sig, ".signature")?;
    out.extend_from_slice(&[0; 368]);
    Ok(out)
}

/// `{"attestation_report": ..., "cert_chain": [{"cert_type": "VCEK", "data": [..]}, ...] | null}`.
pub fn coco_evidence(evidence: &Value) -> Result<SnpEvidence, Problem> {
    let report = evidence.get("attestation_report").ok_or_else(|| {
        bad("tee-evidence.primary_evidence.attestation_report is required for snp")
    })?;
    let report = report_from_json(report)?;
    let mut out = SnpEvidence {
        report,
        ..SnpEvidence::default()
    };
    let (mut ask, mut ark) = (None, None);
    if let Some(entries) = evidence.get("cert_chain").and_then(Value::as_array) {
        for entry in entries {
            let kind = entry
                .get("cert_type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let data = entry
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("cert_chain entry without data"))?;
            let data: Vec<u8> = data
                .iter()
                .map(|v| uint(v, 255, "cert_chain.data").map(|b| b as u8))
                .collect::<Result<_, _>>()?;
            let slot = match kind {
                "VCEK" | "VLEK" => &mut out.vek,
                "ASK" => &mut ask,
                "ARK" => &mut ark,
                _ => continue,
            };
            if slot.replace(data).is_some() {
                return Err(bad(format!("cert_chain holds more than one {kind}")));
            }
        }
    }
    if let (Some(ask), Some(ark)) = (ask, ark) {
        out.chain = Some(scute_snp::pem_chain(&[&ask, &ark]).into_bytes());
    }
    Ok(out)
}

/// Store names: VCEKs by chip and TCB, VLEKs by TCB, the chains by product and kind.
pub(crate) fn vcek_name(hwid: &[u8], tcb: &[u8; 8]) -> String {
    format!("snp-vcek/{}/{}", hex::encode(hwid), hex::encode(tcb))
}
fn vlek_name(tcb: &[u8; 8]) -> String {
    format!("snp-vlek/{}", hex::encode(tcb))
}
pub(crate) fn chain_name(product: scute_snp::Product, kind: CertRole) -> String {
    format!("snp-chain/{}/{}", product.name(), kind.name())
}

/// The TCB bytes a VEK certifies, in its product's layout.
fn vek_tcb(info: &scute_snp::VekInfo) -> Option<[u8; 8]> {
    let layout = info.product?.tcb_layout();
    let spl = |n: u32| info.spls.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
    let mut out = [0u8; 8];
    for (slot, field) in out.iter_mut().zip(layout.fields()) {
        *slot = match field {
            scute_snp::TcbField::BootLoader => spl(1)?,
            scute_snp::TcbField::Tee => spl(2)?,
            scute_snp::TcbField::Snp => spl(3)?,
            scute_snp::TcbField::Microcode => spl(8)?,
            scute_snp::TcbField::Fmc => spl(9)?,
            scute_snp::TcbField::Reserved(_) => 0,
        };
    }
    Some(out)
}

/// Verifies a VCEK or VLEK (and its chain, if given) at `now` and files it in the store.
/// Returns the name it was filed under.
pub async fn import(
    store: &Store,
    roots: &TrustRoots,
    vek: &[u8],
    chain: Option<&[u8]>,
    now: i64,
) -> Result<String, Problem> {
    let collateral = Collateral {
        vek,
        chain,
        crl: None,
    };
    let (product, kind) = scute_snp::verify_chain(&collateral, roots, now)
        .map_err(|e| Problem::new(Kind::CollateralRejected, format!("{}: {e}", e.kind())))?;
    let info =
        inspect_vek(vek).map_err(|e| Problem::new(Kind::CollateralRejected, e.to_string()))?;
    let tcb = vek_tcb(&info)
        .ok_or_else(|| Problem::new(Kind::CollateralRejected, "VEK without its SPLs"))?;
    let name = match (kind, &info.hwid) {
        (CertRole::Vcek, Some(hwid)) => vcek_name(hwid, &tcb),
        _ => vlek_name(&tcb),
    };
    store.put_secret(&name, vek).await?;
    if let Some(chain) = chain {
        let intermediate = if kind == CertRole::Vlek {
            CertRole::Asvk
        } else {
            CertRole::Ask
        };
        store
            .put_secret(&chain_name(product, intermediate), chain)
            .await?;
    }
    Ok(name)
}

/// The stored VEK (and chain) a report needs, if any.
async fn stored(
    store: &Store,
    report: &scute_snp::Report,
) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), Problem> {
    let tcb = report.reported_tcb.0;
    let (name, kind) = match report.signing_key() {
        scute_snp::SigningKey::Vlek => (vlek_name(&tcb), CertRole::Asvk),
        _ => {
            // Turin HWIDs are the first 8 bytes of chip_id.
            let long = vcek_name(&report.chip_id, &tcb);
            match store.secret(&long).await? {
                Some(_) => (long, CertRole::Ask),
                None => (
                    vcek_name(report.chip_id.get(..8).unwrap_or_default(), &tcb),
                    CertRole::Ask,
                ),
            }
        }
    };
    let Some(vek) = store.secret(&name).await? else {
        return Ok((None, None));
    };
    let chain = match inspect_vek(&vek).ok().and_then(|i| i.product) {
        Some(product) => store.secret(&chain_name(product, kind)).await?,
        None => None,
    };
    Ok((Some(vek), chain))
}

/// An AMD KDS-compatible upstream (`https://kdsintf.amd.com` or a mirror): VCEKs by chip and
/// TCB, and the product's cert_chain (tee-formats.md §5 URL forms), each URL asked at most once
/// per `upstream_negative_cache_secs` and within the upstream's limits (`upstream.rs`; AMD
/// throttles by client address). Nothing it sends is trusted: a VCEK is stored only after the
/// report it was fetched for verifies with it.
pub(crate) struct Kds {
    http: crate::collateral::upstream::Http,
    base: String,
    fetches: crate::collateral::upstream::Upstream<Vec<u8>>,
}

/// Largest KDS answer read (a VCEK is ~1.4 KB, a cert_chain ~4.6 KB).
const MAX_KDS_BYTES: usize = 16 * 1024;

fn kds_failed(detail: impl std::fmt::Display) -> Problem {
    Problem::new(
        Kind::CollateralMissing,
        format!("no VCEK from the KDS: {detail}"),
    )
}

impl Kds {
    pub(crate) fn new(
        url: &str,
        limits: crate::collateral::upstream::Limits,
        counters: &crate::collateral::upstream::Counters,
    ) -> Result<Self, crate::error::ServerError> {
        let http = crate::collateral::upstream::Http::new(None, MAX_KDS_BYTES)
            .map_err(|e| crate::error::ServerError::Config(format!("snp_kds_url {url}: {e}")))?;
        Ok(Self {
            http,
            base: url.trim_end_matches('/').to_string(),
            fetches: crate::collateral::upstream::Upstream::new("amd_kds", limits, counters),
        })
    }

    /// The body of `url` (keyed by the URL: it names product, chip and TCB).
    async fn get(&self, url: &str) -> Result<Vec<u8>, Problem> {
        // The fetch runs on a task of its own (`upstream.rs`): it owns what it uses.
        let (http, owned_url) = (self.http.clone(), url.to_string());
        self.fetches
            .fetch(url, move || async move {
                let answer = http.get(&owned_url, &[]).await.map_err(kds_failed)?;
                if answer.status != reqwest::StatusCode::OK {
                    return Err(kds_failed(format!("{owned_url}: {}", answer.status)));
                }
                Ok(answer.body)
            })
            .await
            .map_err(|r| r.or_limited(kds_failed))
    }

    /// The VCEK and cert_chain for a VCEK-signed report: product from its CPUID (v3+), else
    /// Milan then Genoa (v2 reports predate Turin); Turin's hwid is chip_id's first 8 bytes
    /// and its query adds fmcSPL.
    async fn fetch(&self, report: &scute_snp::Report) -> Result<(Vec<u8>, Vec<u8>), Problem> {
        use scute_snp::{Product, TcbField};
        let products = match report.cpuid() {
            Some((f, m, _)) => Product::from_cpuid(f, m).into_iter().collect(),
            None => vec![Product::Milan, Product::Genoa],
        };
        let mut last = kds_failed("no product line for this report");
        for product in products {
            let layout = product.tcb_layout();
            let spl = |field| report.reported_tcb.get(layout, field).unwrap_or(0);
            let (hwid, fmc) = match product {
                Product::Turin => (
                    hex::encode(report.chip_id.get(..8).unwrap_or_default()),
                    format!("fmcSPL={:02}&", spl(TcbField::Fmc)),
                ),
                _ => (hex::encode(report.chip_id), String::new()),
            };
            let url = format!(
                "{}/vcek/v1/{}/{hwid}?{fmc}blSPL={:02}&teeSPL={:02}&snpSPL={:02}&ucodeSPL={:02}",
                self.base,
                product.name(),
                spl(TcbField::BootLoader),
                spl(TcbField::Tee),
                spl(TcbField::Snp),
                spl(TcbField::Microcode),
            );
            match self.get(&url).await {
                Ok(vek) => {
                    let chain_url = format!("{}/vcek/v1/{}/cert_chain", self.base, product.name());
                    return Ok((vek, self.get(&chain_url).await?));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// Authenticity of SNP evidence: the endorsement key from the evidence, the store, or (for a
/// VCEK-signed report with an unmasked chip ID) the KDS, verified to a trusted ARK at `now`.
pub(crate) async fn verify(
    store: &Store,
    roots: &TrustRoots,
    kds: Option<&Kds>,
    evidence: &SnpEvidence,
    now: i64,
) -> Result<VerifiedReport, Problem> {
    let report = scute_snp::Report::decode(&evidence.report)
        .map_err(|e| Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind())))?;
    let mut fetched = false;
    let (vek, chain) = match &evidence.vek {
        Some(vek) => (Some(vek.clone()), evidence.chain.clone()),
        None => {
            let (vek, chain) = stored(store, &report).await?;
            match (vek, kds) {
                (Some(vek), _) => (Some(vek), evidence.chain.clone().or(chain)),
                (None, Some(kds))
                    if report.signing_key() == scute_snp::SigningKey::Vcek
                        && !report.mask_chip_key() =>
                {
                    let (vek, chain) = kds.fetch(&report).await?;
                    fetched = true;
                    (Some(vek), Some(chain))
                }
                (None, _) => (None, evidence.chain.clone()),
            }
        }
    };
    let vek = vek.ok_or_else(|| {
        Problem::new(Kind::CollateralMissing,
            "no VCEK/VLEK in the evidence and none stored for this chip and TCB (import it with POST /v1/collateral)",
        )
    })?;
    let collateral = Collateral {
        vek: &vek,
        chain: chain.as_deref(),
        crl: None,
    };
    let verified =
        scute_snp::verify(&evidence.report, &collateral, roots, now).map_err(|e: SnpError| {
            Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind()))
        })?;
    if fetched {
        // Cached only now that a report verified with it.
        import(store, roots, &vek, chain.as_deref(), now).await?;
    }
    Ok(verified)
}

/// The measurements a policy compares with reference values.
fn measurements(report: &Value) -> Value {
    let keys = [
        "measurement",
        "host_data",
        "family_id",
        "image_id",
        "id_key_digest",
    ];
    Value::Object(
        keys.iter()
            .filter_map(|k| report.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect(),
    )
}

/// SEV-SNP has no TCB status from AMD: a verified report's endorsement key is AMD's for
/// exactly the reported TCB. This names that state for tokens and metrics.
pub const TCB_STATUS: &str = "VekEndorsed";

/// Claims about a verified report.
pub fn claims(verified: &VerifiedReport) -> Value {
    let report = scute_snp::report_json(verified);
    json!({
        "tee": "snp",
        "quote_version": verified.report().version,
        "tcb_status": TCB_STATUS,
        "debug": verified.is_debug(),
        "product": verified.product().name(),
        "signing_key": verified.signer().name(),
        "collateral_expires": scute_dcap::format_rfc3339(verified.expires()),
        "measurements": measurements(&report),
        "report": report,
    })
}

/// SEV-SNP: report_data, and init-data bound by HOST_DATA (the digest zero-padded or cut to
/// 32 bytes, as guest-components' `pad` and trustee's `regularize_data` do), then
/// authenticity (`crate::tee::snp::verify`). The bindings and the report's own form are checked
/// first: a report that could never be accepted must not make the service look up, let alone
/// fetch from AMD's KDS, a key for it.
pub(crate) async fn verify_bound(
    verifiers: &Verifiers,
    binding: Binding<'_>,
    evidence: &SnpEvidence,
    now: i64,
) -> Result<Verified, Problem> {
    let evidence_rejected =
        |e: scute_snp::SnpError| Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind()));
    let report = scute_snp::Report::decode(&evidence.report).map_err(evidence_rejected)?;
    if report.report_data != *binding.report_data {
        return Err(Problem::new(
            Kind::ReportDataMismatch,
            "the report's report_data does not bind the runtime data",
        ));
    }
    if let Some(digest) = binding.init_data {
        let mut expected = [0u8; 32];
        for (slot, byte) in expected.iter_mut().zip(digest) {
            *slot = *byte;
        }
        if report.host_data != expected {
            return Err(Problem::new(
                Kind::InitDataMismatch,
                "the report's HOST_DATA is not the digest of the init-data sent",
            ));
        }
    }
    scute_snp::check_form(&report).map_err(evidence_rejected)?;
    let verified = verify(
        &verifiers.store,
        &verifiers.snp_roots,
        verifiers.snp_kds.as_ref(),
        evidence,
        now,
    )
    .await?;
    Ok(Verified {
        claims: claims(&verified),
        tcb_status: TCB_STATUS.to_string(),
        expires: verified.expires(),
    })
}
