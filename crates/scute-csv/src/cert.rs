//! Hygon's two certificate formats, decoded field by field with every length checked
//! (`shared/research/tee-formats.md` §6): the 832-byte CA format of the HRK and HSK, and the
//! 2084-byte CSV format of the CEK, PEK and OCA. Keys and signature scalars are little-endian
//! 32-byte values in 72-byte fields whose upper 40 bytes must be zero.

use crate::reader::{layout, Reader};
use crate::CsvError;
use sm2::dsa::signature::Verifier;
use sm2::dsa::{Signature, VerifyingKey};

/// Curve id of SM2-256 in Hygon keys.
pub const CURVE_SM2_256: u32 = 3;
/// Algorithm id of SM2 signatures (SM2_SA).
pub const ALGO_SM2_SA: u32 = 4;

/// Key usages (`usage` fields of keys and signatures).
pub mod usage {
    pub const HRK: u32 = 0x0;
    pub const HSK: u32 = 0x13;
    /// An empty signature slot.
    pub const INVALID: u32 = 0x1000;
    pub const OCA: u32 = 0x1001;
    pub const PEK: u32 = 0x1002;
    pub const PDH: u32 = 0x1003;
    pub const CEK: u32 = 0x1004;
}

/// Length of a CA-format certificate (HRK, HSK).
pub const CA_CERT_LEN: usize = 832;
/// Length of the signed body of a CA-format certificate.
pub const CA_BODY_LEN: usize = 576;
/// Length of a CSV-format certificate (CEK, PEK, OCA).
pub const CSV_CERT_LEN: usize = 2084;
/// Length of the signed body of a CSV-format certificate.
pub const CSV_BODY_LEN: usize = 1044;
/// Length of the user ID field (the distinguishing ID is its first `uid_size` bytes).
pub const USER_ID_LEN: usize = 254;

/// A 32-byte value stored little-endian in a 72-byte field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Le72(pub [u8; 32]);

impl Le72 {
    fn decode(r: &mut Reader<'_>, field: &'static str) -> Result<Self, CsvError> {
        let low: [u8; 32] = r.array(field)?;
        let high: [u8; 40] = r.array(field)?;
        if high.iter().any(|b| *b != 0) {
            return Err(CsvError::HighBytes { field });
        }
        Ok(Self(low))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
        out.extend_from_slice(&[0u8; 40]);
    }

    /// The value big-endian, as SEC 1 and the sm2 crate read it.
    pub fn to_be(self) -> [u8; 32] {
        let mut be = self.0;
        be.reverse();
        be
    }

    pub fn from_be(be: [u8; 32]) -> Self {
        let mut le = be;
        le.reverse();
        Self(le)
    }
}

/// An SM2 public key: curve id and affine coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EccKey {
    pub curve: u32,
    pub x: Le72,
    pub y: Le72,
}

impl EccKey {
    fn decode(
        r: &mut Reader<'_>,
        field: &'static str,
        x: &'static str,
        y: &'static str,
    ) -> Result<Self, CsvError> {
        Ok(Self {
            curve: r.u32(field)?,
            x: Le72::decode(r, x)?,
            y: Le72::decode(r, y)?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.curve.to_le_bytes());
        self.x.encode(out);
        self.y.encode(out);
    }

    /// The SM2DSA verifier of this key for the signer's distinguishing ID `uid`.
    pub(crate) fn verifier(
        &self,
        uid: &[u8],
        item: &'static str,
    ) -> Result<VerifyingKey, CsvError> {
        if self.curve != CURVE_SM2_256 {
            return Err(CsvError::Field {
                field: item,
                reason: format!("curve {} is not SM2-256 ({CURVE_SM2_256})", self.curve),
            });
        }
        let mut sec1 = [0u8; 65];
        let (tag, xy) = sec1.split_at_mut(1);
        let (x, y) = xy.split_at_mut(32);
        tag.fill(0x04);
        x.copy_from_slice(&self.x.to_be());
        y.copy_from_slice(&self.y.to_be());
        let distid = std::str::from_utf8(uid).map_err(|_| CsvError::Field {
            field: item,
            reason: "user ID is not UTF-8".into(),
        })?;
        VerifyingKey::from_sec1_bytes(distid, &sec1).map_err(|_| CsvError::PublicKey { item })
    }
}

/// An SM2 signature (r, s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sm2Sig {
    pub r: Le72,
    pub s: Le72,
}

impl Sm2Sig {
    pub(crate) fn decode(
        r: &mut Reader<'_>,
        rf: &'static str,
        sf: &'static str,
    ) -> Result<Self, CsvError> {
        Ok(Self {
            r: Le72::decode(r, rf)?,
            s: Le72::decode(r, sf)?,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        self.r.encode(out);
        self.s.encode(out);
    }
}

/// Verifies an SM2 signature over SM3 with the signer's own user ID as distinguishing ID.
pub(crate) fn sm2_verify(
    key: &EccKey,
    uid: &[u8],
    message: &[u8],
    sig: &Sm2Sig,
    item: &'static str,
) -> Result<(), CsvError> {
    let verifier = key.verifier(uid, item)?;
    let signature = Signature::from_scalars(sig.r.to_be(), sig.s.to_be())
        .map_err(|_| CsvError::Signature { item })?;
    verifier
        .verify(message, &signature)
        .map_err(|_| CsvError::Signature { item })
}

fn user_id(r: &mut Reader<'_>, field: &'static str) -> Result<(u16, [u8; USER_ID_LEN]), CsvError> {
    let size = r.u16(field)?;
    let id: [u8; USER_ID_LEN] = r.array(field)?;
    if usize::from(size) > USER_ID_LEN {
        return Err(CsvError::Field {
            field,
            reason: format!("uid_size {size} exceeds {USER_ID_LEN}"),
        });
    }
    Ok((size, id))
}

fn uid_slice(size: u16, id: &[u8; USER_ID_LEN]) -> &[u8] {
    id.get(..usize::from(size)).unwrap_or(id)
}

/// A certificate in Hygon's CA format: the HRK (self-signed root) or an HSK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCert {
    pub ver: u32,
    /// This key's ID.
    pub kid: [u8; 16],
    /// The signing key's ID.
    pub sid: [u8; 16],
    pub usage: u32,
    pub reserved: [u8; 24],
    pub key: EccKey,
    pub uid_size: u16,
    pub user_id: [u8; USER_ID_LEN],
    pub reserved2: [u8; 108],
    pub signature: Sm2Sig,
    pub reserved3: [u8; 112],
}

impl CaCert {
    pub fn decode(bytes: &[u8]) -> Result<Self, CsvError> {
        if bytes.len() != CA_CERT_LEN {
            return Err(CsvError::Length {
                item: "CA-format certificate",
                len: bytes.len(),
                expected: "832",
            });
        }
        let mut r = Reader::new(bytes);
        let cert = Self::read(&mut r)?;
        r.finish("CA-format certificate").map_err(layout("832"))?;
        Ok(cert)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, CsvError> {
        let ver = r.u32("ca.ver")?;
        let kid = r.array("ca.kid")?;
        let sid = r.array("ca.sid")?;
        let usage = r.u32("ca.usage")?;
        let reserved = r.array("ca.reserved")?;
        let key = EccKey::decode(r, "ca.pubkey.curve", "ca.pubkey.x", "ca.pubkey.y")?;
        let (uid_size, user_id) = user_id(r, "ca.user_id")?;
        Ok(Self {
            ver,
            kid,
            sid,
            usage,
            reserved,
            key,
            uid_size,
            user_id,
            reserved2: r.array("ca.reserved2")?,
            signature: Sm2Sig::decode(r, "ca.signature.r", "ca.signature.s")?,
            reserved3: r.array("ca.reserved3")?,
        })
    }

    /// The signed body (the first 576 bytes).
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CA_CERT_LEN);
        out.extend_from_slice(&self.ver.to_le_bytes());
        out.extend_from_slice(&self.kid);
        out.extend_from_slice(&self.sid);
        out.extend_from_slice(&self.usage.to_le_bytes());
        out.extend_from_slice(&self.reserved);
        self.key.encode(&mut out);
        out.extend_from_slice(&self.uid_size.to_le_bytes());
        out.extend_from_slice(&self.user_id);
        out.extend_from_slice(&self.reserved2);
        out
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.body();
        self.signature.encode(&mut out);
        out.extend_from_slice(&self.reserved3);
        out
    }

    /// The distinguishing ID this key signs with.
    pub fn uid(&self) -> &[u8] {
        uid_slice(self.uid_size, &self.user_id)
    }
}

/// One of the two signature slots of a CSV-format certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigSlot {
    /// Usage of the signing key (0x1000: empty slot).
    pub usage: u32,
    pub algo: u32,
    pub sig: Sm2Sig,
    pub reserved: [u8; 368],
}

/// A certificate in Hygon's CSV format: CEK, PEK, OCA (or PDH).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvCert {
    pub ver: u32,
    pub fw_major: u8,
    pub fw_minor: u8,
    pub reserved1: u16,
    pub usage: u32,
    pub algo: u32,
    pub key: EccKey,
    pub uid_size: u16,
    pub user_id: [u8; USER_ID_LEN],
    /// The signing key's ID (the HSK's `kid` on a CEK).
    pub sid: [u8; 16],
    pub reserved2: [u8; 608],
    pub sigs: [SigSlot; 2],
}

impl CsvCert {
    pub fn decode(bytes: &[u8]) -> Result<Self, CsvError> {
        if bytes.len() != CSV_CERT_LEN {
            return Err(CsvError::Length {
                item: "CSV-format certificate",
                len: bytes.len(),
                expected: "2084",
            });
        }
        let mut r = Reader::new(bytes);
        let cert = Self::read(&mut r)?;
        r.finish("CSV-format certificate").map_err(layout("2084"))?;
        Ok(cert)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, CsvError> {
        let ver = r.u32("csv.ver")?;
        let fw_major = r.u8("csv.firmware.major")?;
        let fw_minor = r.u8("csv.firmware.minor")?;
        let reserved1 = r.u16("csv.reserved1")?;
        let usage = r.u32("csv.pubkey.usage")?;
        let algo = r.u32("csv.pubkey.algo")?;
        let key = EccKey::decode(r, "csv.pubkey.curve", "csv.pubkey.x", "csv.pubkey.y")?;
        let (uid_size, user_id) = user_id(r, "csv.user_id")?;
        let sid = r.array("csv.sid")?;
        let reserved2 = r.array("csv.reserved2")?;
        let mut slot = |n: usize| -> Result<SigSlot, CsvError> {
            let (u, a, rs, ss, res) = if n == 0 {
                (
                    "csv.sigs[0].usage",
                    "csv.sigs[0].algo",
                    "csv.sigs[0].r",
                    "csv.sigs[0].s",
                    "csv.sigs[0].reserved",
                )
            } else {
                (
                    "csv.sigs[1].usage",
                    "csv.sigs[1].algo",
                    "csv.sigs[1].r",
                    "csv.sigs[1].s",
                    "csv.sigs[1].reserved",
                )
            };
            Ok(SigSlot {
                usage: r.u32(u)?,
                algo: r.u32(a)?,
                sig: Sm2Sig::decode(r, rs, ss)?,
                reserved: r.array(res)?,
            })
        };
        let sigs = [slot(0)?, slot(1)?];
        Ok(Self {
            ver,
            fw_major,
            fw_minor,
            reserved1,
            usage,
            algo,
            key,
            uid_size,
            user_id,
            sid,
            reserved2,
            sigs,
        })
    }

    /// The signed body (the first 1044 bytes).
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CSV_CERT_LEN);
        out.extend_from_slice(&self.ver.to_le_bytes());
        out.push(self.fw_major);
        out.push(self.fw_minor);
        out.extend_from_slice(&self.reserved1.to_le_bytes());
        out.extend_from_slice(&self.usage.to_le_bytes());
        out.extend_from_slice(&self.algo.to_le_bytes());
        self.key.encode(&mut out);
        out.extend_from_slice(&self.uid_size.to_le_bytes());
        out.extend_from_slice(&self.user_id);
        out.extend_from_slice(&self.sid);
        out.extend_from_slice(&self.reserved2);
        out
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.body();
        for slot in &self.sigs {
            out.extend_from_slice(&slot.usage.to_le_bytes());
            out.extend_from_slice(&slot.algo.to_le_bytes());
            slot.sig.encode(&mut out);
            out.extend_from_slice(&slot.reserved);
        }
        out
    }

    pub fn uid(&self) -> &[u8] {
        uid_slice(self.uid_size, &self.user_id)
    }
}
