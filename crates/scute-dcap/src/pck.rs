//! The Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1): PPID, the 16 TCB
//! component SVNs, PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type and the Platform-CA fields. SVNs
//! are DER INTEGERs and may exceed 255.

use crate::error::DcapError;
use x509_parser::der_parser::ber::BerObject;
use x509_parser::der_parser::der::parse_der;

const ITEM: &str = "PCK certificate SGX extension";
const ARC: &str = "1.2.840.113741.1.13.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SgxType {
    Standard,
    Scalable,
    ScalableWithIntegrity,
}

impl SgxType {
    pub fn code(self) -> u8 {
        match self {
            SgxType::Standard => 0,
            SgxType::Scalable => 1,
            SgxType::ScalableWithIntegrity => 2,
        }
    }
}

/// The platform TCB the PCK certificate was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PckTcb {
    pub components: [u32; 16],
    pub pce_svn: u32,
    pub cpu_svn: [u8; 16],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformConfiguration {
    pub dynamic_platform: Option<bool>,
    pub cached_keys: Option<bool>,
    pub smt_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PckExtension {
    pub ppid: [u8; 16],
    pub tcb: PckTcb,
    pub pce_id: [u8; 2],
    pub fmspc: [u8; 6],
    pub sgx_type: SgxType,
    /// Platform-CA certificates only.
    pub platform_instance_id: Option<[u8; 16]>,
    pub configuration: Option<PlatformConfiguration>,
}

fn bad(reason: impl Into<String>) -> DcapError {
    DcapError::CollateralDecode {
        item: ITEM,
        reason: reason.into(),
    }
}

/// The `{OID, value}` pairs of an extension SEQUENCE, keyed by the OID's last arc under `parent`.
fn entries<'a>(
    seq: &'a BerObject<'a>,
    parent: &str,
) -> Result<Vec<(u64, &'a BerObject<'a>)>, DcapError> {
    // Compared arc by arc: formatting every OID as text cost more than the rest of the parse.
    let parent_arcs: Vec<u64> = parent.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut out = Vec::new();
    for entry in seq
        .as_sequence()
        .map_err(|_| bad(format!("{parent} is not a SEQUENCE")))?
    {
        let pair = entry
            .as_sequence()
            .map_err(|_| bad(format!("{parent} entry is not a SEQUENCE")))?;
        let [oid, value] = pair.as_slice() else {
            return Err(bad(format!("{parent} entry is not an OID/value pair")));
        };
        let oid = oid
            .as_oid()
            .map_err(|_| bad(format!("{parent} entry has no OID")))?;
        let last_arc = oid.iter().and_then(|mut arcs| {
            let under_parent = parent_arcs.iter().all(|p| arcs.next() == Some(*p));
            let last = arcs.next();
            (under_parent && arcs.next().is_none())
                .then_some(last)
                .flatten()
        });
        let arc = last_arc.ok_or_else(|| {
            bad(format!(
                "unexpected OID {} under {parent}",
                oid.to_id_string()
            ))
        })?;
        out.push((arc, value));
    }
    Ok(out)
}

fn octets<const N: usize>(value: &BerObject<'_>, field: &str) -> Result<[u8; N], DcapError> {
    let bytes = value
        .as_slice()
        .map_err(|_| bad(format!("{field} is not an OCTET STRING")))?;
    bytes
        .try_into()
        .map_err(|_| bad(format!("{field} has {} bytes, expected {N}", bytes.len())))
}

fn integer(value: &BerObject<'_>, field: &str) -> Result<u32, DcapError> {
    value
        .as_u32()
        .map_err(|_| bad(format!("{field} is not a small non-negative INTEGER")))
}

fn boolean(value: &BerObject<'_>, field: &str) -> Result<bool, DcapError> {
    value
        .as_bool()
        .map_err(|_| bad(format!("{field} is not a BOOLEAN")))
}

fn once<T>(slot: &mut Option<T>, value: T, field: &str) -> Result<(), DcapError> {
    if slot.replace(value).is_some() {
        return Err(bad(format!("{field} appears twice")));
    }
    Ok(())
}

impl PckExtension {
    /// The extension of a PCK certificate; a certificate without one is not a PCK certificate.
    pub(crate) fn of(cert: &crate::x509::Cert) -> Result<Self, DcapError> {
        let der = cert
            .sgx_extension
            .as_deref()
            .ok_or(DcapError::Certificate {
                item: cert.item,
                reason: "no Intel SGX extension".into(),
            })?;
        Self::decode(der)
    }

    pub fn decode(der: &[u8]) -> Result<Self, DcapError> {
        let (rest, root) = parse_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes"));
        }
        let (mut ppid, mut tcb, mut pce_id, mut fmspc, mut sgx_type) =
            (None, None, None, None, None);
        let (mut instance, mut configuration) = (None, None);
        for (arc, value) in entries(&root, ARC)? {
            match arc {
                1 => once(&mut ppid, octets::<16>(value, "PPID")?, "PPID")?,
                2 => once(&mut tcb, decode_tcb(value)?, "TCB")?,
                3 => once(&mut pce_id, octets::<2>(value, "PCE-ID")?, "PCE-ID")?,
                4 => once(&mut fmspc, octets::<6>(value, "FMSPC")?, "FMSPC")?,
                5 => {
                    let code = value
                        .as_u64()
                        .map_err(|_| bad("SGX Type is not ENUMERATED"))?;
                    let t = match code {
                        0 => SgxType::Standard,
                        1 => SgxType::Scalable,
                        2 => SgxType::ScalableWithIntegrity,
                        other => return Err(bad(format!("unknown SGX Type {other}"))),
                    };
                    once(&mut sgx_type, t, "SGX Type")?
                }
                6 => once(
                    &mut instance,
                    octets::<16>(value, "Platform Instance ID")?,
                    "Platform Instance ID",
                )?,
                7 => once(
                    &mut configuration,
                    decode_configuration(value)?,
                    "Configuration",
                )?,
                other => return Err(bad(format!("unknown entry {ARC}.{other}"))),
            }
        }
        Ok(Self {
            ppid: ppid.ok_or_else(|| bad("PPID missing"))?,
            tcb: tcb.ok_or_else(|| bad("TCB missing"))?,
            pce_id: pce_id.ok_or_else(|| bad("PCE-ID missing"))?,
            fmspc: fmspc.ok_or_else(|| bad("FMSPC missing"))?,
            sgx_type: sgx_type.ok_or_else(|| bad("SGX Type missing"))?,
            platform_instance_id: instance,
            configuration,
        })
    }
}

fn decode_tcb(value: &BerObject<'_>) -> Result<PckTcb, DcapError> {
    let parent = format!("{ARC}.2");
    let mut components: [Option<u32>; 16] = [None; 16];
    let (mut pce_svn, mut cpu_svn) = (None, None);
    for (arc, value) in entries(value, &parent)? {
        match arc {
            1..=16 => {
                let slot = components
                    .get_mut(arc as usize - 1)
                    .ok_or_else(|| bad("TCB component index out of range"))?;
                once(
                    slot,
                    integer(value, "TCB component SVN")?,
                    "TCB component SVN",
                )?
            }
            17 => once(&mut pce_svn, integer(value, "PCESVN")?, "PCESVN")?,
            18 => once(&mut cpu_svn, octets::<16>(value, "CPUSVN")?, "CPUSVN")?,
            other => return Err(bad(format!("unknown TCB entry {parent}.{other}"))),
        }
    }
    let mut svns = [0u32; 16];
    for (i, (svn, slot)) in svns.iter_mut().zip(components).enumerate() {
        *svn = slot.ok_or_else(|| bad(format!("TCB component {} missing", i + 1)))?;
    }
    Ok(PckTcb {
        components: svns,
        pce_svn: pce_svn.ok_or_else(|| bad("PCESVN missing"))?,
        cpu_svn: cpu_svn.ok_or_else(|| bad("CPUSVN missing"))?,
    })
}

fn decode_configuration(value: &BerObject<'_>) -> Result<PlatformConfiguration, DcapError> {
    let parent = format!("{ARC}.7");
    let mut config = PlatformConfiguration {
        dynamic_platform: None,
        cached_keys: None,
        smt_enabled: None,
    };
    for (arc, value) in entries(value, &parent)? {
        match arc {
            1 => once(
                &mut config.dynamic_platform,
                boolean(value, "dynamicPlatform")?,
                "dynamicPlatform",
            )?,
            2 => once(
                &mut config.cached_keys,
                boolean(value, "cachedKeys")?,
                "cachedKeys",
            )?,
            3 => once(
                &mut config.smt_enabled,
                boolean(value, "SMTEnabled")?,
                "SMTEnabled",
            )?,
            other => return Err(bad(format!("unknown Configuration entry {parent}.{other}"))),
        }
    }
    Ok(config)
}
