//! The quote envelope: 48-byte header, the v5 body descriptor, the report body, and the ECDSA
//! signature data with its (nested, for v4/v5) certification data. Decoding checks every
//! declared size; `encode` gives back the exact bytes.

use crate::reader::Reader;
use crate::report::{Body, EnclaveReport};
use crate::QuoteError;

/// Intel's quoting enclave vendor id.
pub const INTEL_QE_VENDOR_ID: [u8; 16] = [
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
];

const ATTESTATION_KEY_ECDSA_P256: u16 = 2;
const CERT_DATA_QE_REPORT: u16 = 6;
const HEADER_LEN: usize = 48;
const BODY_DESCRIPTOR_LEN: usize = 6;

/// The quote header's `tee_type` field (a wire field: 0x00 SGX, 0x81 TDX), not the TEE
/// vocabulary, which is `scute_tee::Tee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeeType {
    Sgx,
    Tdx,
}

impl TeeType {
    pub fn code(self) -> u32 {
        match self {
            TeeType::Sgx => 0x0000_0000,
            TeeType::Tdx => 0x0000_0081,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TeeType::Sgx => "sgx",
            TeeType::Tdx => "tdx",
        }
    }

    fn from_code(code: u32) -> Result<Self, QuoteError> {
        match code {
            0x0000_0000 => Ok(TeeType::Sgx),
            0x0000_0081 => Ok(TeeType::Tdx),
            other => Err(QuoteError::UnknownTeeType(other)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub attestation_key_type: u16,
    pub tee_type: TeeType,
    /// ISVSVN of the QE in SGX quotes; reserved (zero) in TDX quotes.
    pub qe_svn: u16,
    /// PCESVN in SGX quotes; reserved (zero) in TDX quotes.
    pub pce_svn: u16,
    pub qe_vendor_id: [u8; 16],
    /// For Intel QEs: the QE-ID (16 bytes) then zeros.
    pub user_data: [u8; 20],
}

impl Header {
    fn decode(r: &mut Reader<'_>) -> Result<Self, QuoteError> {
        let version = r.u16("header.version")?;
        if !(3..=5).contains(&version) {
            return Err(QuoteError::UnsupportedVersion(version));
        }
        let attestation_key_type = r.u16("header.attestation_key_type")?;
        if attestation_key_type != ATTESTATION_KEY_ECDSA_P256 {
            return Err(QuoteError::UnsupportedAttestationKeyType(
                attestation_key_type,
            ));
        }
        let tee_type = TeeType::from_code(r.u32("header.tee_type")?)?;
        if version == 3 && tee_type != TeeType::Sgx {
            return Err(QuoteError::TeeTypeMismatch {
                version,
                tee: tee_type.name(),
            });
        }
        Ok(Self {
            version,
            attestation_key_type,
            tee_type,
            qe_svn: r.u16("header.qe_svn")?,
            pce_svn: r.u16("header.pce_svn")?,
            qe_vendor_id: r.array("header.qe_vendor_id")?,
            user_data: r.array("header.user_data")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.attestation_key_type.to_le_bytes());
        out.extend_from_slice(&self.tee_type.code().to_le_bytes());
        out.extend_from_slice(&self.qe_svn.to_le_bytes());
        out.extend_from_slice(&self.pce_svn.to_le_bytes());
        out.extend_from_slice(&self.qe_vendor_id);
        out.extend_from_slice(&self.user_data);
    }
}

/// Certification data: how a verifier finds the PCK certificate that signed the QE report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationData {
    /// 1..=3 PPID forms, 4 PCK leaf, 5 PCK chain (PEM leaf, intermediate, root).
    pub cert_type: u16,
    pub data: Vec<u8>,
}

impl CertificationData {
    pub const PCK_CHAIN: u16 = 5;

    /// The PEM PCK chain carried by type 5; `None` for the types that need a lookup.
    pub fn pck_chain_pem(&self) -> Option<&[u8]> {
        (self.cert_type == Self::PCK_CHAIN).then_some(self.data.as_slice())
    }

    fn decode(r: &mut Reader<'_>, position: &'static str) -> Result<Self, QuoteError> {
        let cert_type = r.u16("certification_data.type")?;
        if !(1..=5).contains(&cert_type) {
            return Err(QuoteError::UnsupportedCertificationDataType {
                position,
                cert_type,
            });
        }
        let data = r.sized_u32("certification_data.size")?.rest().to_vec();
        Ok(Self { cert_type, data })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cert_type.to_le_bytes());
        encode_len_u32(out, self.data.len());
        out.extend_from_slice(&self.data);
    }
}

/// ECDSA-256 quote signature data, in one shape for all versions (v4/v5 wrap the QE part in
/// certification data type 6 on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteSignature {
    /// r‖s over the header, v5 descriptor and body, by the attestation key.
    pub signature: [u8; 64],
    /// x‖y of the P-256 attestation key (no 0x04 prefix).
    pub attestation_key: [u8; 64],
    pub qe_report: EnclaveReport,
    /// r‖s over the QE report, by the PCK key.
    pub qe_report_signature: [u8; 64],
    pub qe_auth_data: Vec<u8>,
    pub certification_data: CertificationData,
}

impl QuoteSignature {
    fn decode(r: &mut Reader<'_>, version: u16) -> Result<Self, QuoteError> {
        let signature = r.array("signature.quote_signature")?;
        let attestation_key = r.array("signature.attestation_key")?;
        if version == 3 {
            let (qe_report, qe_report_signature, qe_auth_data, certification_data) =
                Self::decode_qe_part(r)?;
            return Ok(Self {
                signature,
                attestation_key,
                qe_report,
                qe_report_signature,
                qe_auth_data,
                certification_data,
            });
        }
        let outer_type = r.u16("certification_data.type")?;
        if outer_type != CERT_DATA_QE_REPORT {
            return Err(QuoteError::UnsupportedCertificationDataType {
                position: "outer",
                cert_type: outer_type,
            });
        }
        let mut outer = r.sized_u32("certification_data.size")?;
        let (qe_report, qe_report_signature, qe_auth_data, certification_data) =
            Self::decode_qe_part(&mut outer)?;
        outer.finish("qe report certification data")?;
        Ok(Self {
            signature,
            attestation_key,
            qe_report,
            qe_report_signature,
            qe_auth_data,
            certification_data,
        })
    }

    #[allow(clippy::type_complexity)]
    fn decode_qe_part(
        r: &mut Reader<'_>,
    ) -> Result<(EnclaveReport, [u8; 64], Vec<u8>, CertificationData), QuoteError> {
        let qe_report = EnclaveReport::decode(r)?;
        let qe_report_signature = r.array("signature.qe_report_signature")?;
        let auth_len = r.u16("signature.qe_auth_data.size")? as usize;
        let qe_auth_data = r.take(auth_len, "signature.qe_auth_data")?.to_vec();
        let position = "inner";
        let certification_data = CertificationData::decode(r, position)?;
        Ok((
            qe_report,
            qe_report_signature,
            qe_auth_data,
            certification_data,
        ))
    }

    fn encode(&self, out: &mut Vec<u8>, version: u16) {
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.attestation_key);
        if version == 3 {
            self.encode_qe_part(out);
        } else {
            let mut inner = Vec::new();
            self.encode_qe_part(&mut inner);
            out.extend_from_slice(&CERT_DATA_QE_REPORT.to_le_bytes());
            encode_len_u32(out, inner.len());
            out.extend_from_slice(&inner);
        }
    }

    fn encode_qe_part(&self, out: &mut Vec<u8>) {
        self.qe_report.encode(out);
        out.extend_from_slice(&self.qe_report_signature);
        let auth_len = u16::try_from(self.qe_auth_data.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&auth_len.to_le_bytes());
        out.extend_from_slice(&self.qe_auth_data);
        self.certification_data.encode(out);
    }
}

/// A decoded DCAP quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub header: Header,
    pub body: Body,
    pub signature: QuoteSignature,
    /// Zero bytes that followed the quote in its buffer (fixed-size quote buffers exist).
    pub padding_len: usize,
}

impl Quote {
    /// Decodes a quote. Bytes after the quote's own end are accepted only when all are zero.
    pub fn decode(bytes: &[u8]) -> Result<Self, QuoteError> {
        let mut r = Reader::new(bytes);
        let header = Header::decode(&mut r)?;
        let body = match header.version {
            3 | 4 => {
                let body_type = match header.tee_type {
                    TeeType::Sgx => 1,
                    TeeType::Tdx => 2,
                };
                Body::decode_type(&mut r, body_type)?
            }
            _ => {
                let body_type = r.u16("body_descriptor.type")?;
                let declared = r.u32("body_descriptor.size")?;
                let expected = Body::expected_len(body_type)
                    .ok_or(QuoteError::UnsupportedBodyType(body_type))?;
                if declared as usize != expected {
                    return Err(QuoteError::BodySizeMismatch {
                        body_type,
                        declared,
                        expected,
                    });
                }
                let is_td_body = body_type != 1;
                if is_td_body != (header.tee_type == TeeType::Tdx) {
                    return Err(QuoteError::TeeTypeMismatch {
                        version: header.version,
                        tee: header.tee_type.name(),
                    });
                }
                Body::decode_type(&mut r, body_type)?
            }
        };
        let mut sig_block = r.sized_u32("signature_data_len")?;
        let signature = QuoteSignature::decode(&mut sig_block, header.version)?;
        sig_block.finish("signature_data_len")?;

        let tail = r.rest();
        if let Some(pos) = tail.iter().position(|&b| b != 0) {
            return Err(QuoteError::TrailingData {
                offset: bytes.len() - tail.len() + pos,
            });
        }
        Ok(Self {
            header,
            body,
            signature,
            padding_len: tail.len(),
        })
    }

    /// The exact bytes this quote was decoded from, padding included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.signed_bytes();
        let mut sig = Vec::new();
        self.signature.encode(&mut sig, self.header.version);
        encode_len_u32(&mut out, sig.len());
        out.extend_from_slice(&sig);
        out.resize(out.len() + self.padding_len, 0);
        out
    }

    /// What the attestation key signs: header, v5 body descriptor, body.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + BODY_DESCRIPTOR_LEN + self.body.len());
        self.header.encode(&mut out);
        if self.header.version >= 5 {
            out.extend_from_slice(&self.body.body_type().to_le_bytes());
            encode_len_u32(&mut out, self.body.len());
        }
        self.body.encode(&mut out);
        out
    }

    pub fn tee_type(&self) -> TeeType {
        self.header.tee_type
    }

    pub fn report_data(&self) -> &[u8; 64] {
        self.body.report_data()
    }
}

fn encode_len_u32(out: &mut Vec<u8>, len: usize) {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
}
