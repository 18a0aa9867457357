//! SEV-SNP verification, in the order of the steps below: the endorsement key and its kind
//! (signer_info), the chain ARK → ASK/ASVK → VCEK/VLEK (RSASSA-PSS SHA-384) to a pinned ARK,
//! the product line, the optional CRL, validity at the given instant, the report signature
//! (ECDSA P-384 over the exact bytes 0x000–0x29F received), the TCB against the VEK's SPL
//! extensions, the chip identity. Only `verify` builds a [`VerifiedReport`].

use crate::cert::{pem_certificates, AmdCert, Crl, Key};
use crate::error::{CertRole, SnpError};
use crate::report::{signed_bytes, Product, Report, SigningKey, TcbField, TcbLayout, TcbVersion};
use crate::roots::TrustRoots;
use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P384_SHA384_FIXED};

/// What endorses a report: its VCEK or VLEK (DER or PEM) and optionally the KDS `cert_chain`
/// (ASK or ASVK, then ARK; PEM) and the ARK's CRL (DER or PEM). Without a chain, the trusted
/// roots' built-in intermediates serve.
#[derive(Debug, Clone, Copy, Default)]
pub struct Collateral<'a> {
    pub vek: &'a [u8],
    pub chain: Option<&'a [u8]>,
    pub crl: Option<&'a [u8]>,
}

/// A report whose signature, chain, TCB and identity were verified. Only [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedReport {
    report: Report,
    product: Product,
    /// The VEK's product name as it reads (`Milan-B0`).
    product_name: String,
    signer: CertRole,
    hwid: Option<Vec<u8>>,
    csp_id: Option<String>,
    expires: i64,
    vek_der: Vec<u8>,
}

impl VerifiedReport {
    /// The same verdict about another report and product: for tests of what claims are drawn
    /// from fields no vector has (v3+ CPUID, v5 mitigation vectors, Turin's layout).
    #[cfg(test)]
    pub(crate) fn with_report(self, report: Report, product: Product) -> Self {
        Self {
            report,
            product,
            ..self
        }
    }

    pub fn report(&self) -> &Report {
        &self.report
    }
    pub fn product(&self) -> Product {
        self.product
    }
    pub fn product_name(&self) -> &str {
        &self.product_name
    }
    /// `CertRole::Vcek` or `CertRole::Vlek`.
    pub fn signer(&self) -> CertRole {
        self.signer
    }
    /// The VCEK's HWID (64 bytes; 8 on Turin).
    pub fn hwid(&self) -> Option<&[u8]> {
        self.hwid.as_deref()
    }
    /// The VLEK's CSP_ID.
    pub fn csp_id(&self) -> Option<&str> {
        self.csp_id.as_deref()
    }
    /// The one debug rule (`Report::is_debug`, policy bit 19).
    pub fn is_debug(&self) -> bool {
        self.report.is_debug()
    }
    /// The first instant at which a certificate of the chain (or the CRL) has expired.
    pub fn expires(&self) -> i64 {
        self.expires
    }
    pub fn tcb_layout(&self) -> TcbLayout {
        self.product.tcb_layout()
    }
    /// The endorsement key certificate that signed the report (DER).
    pub fn vek_der(&self) -> &[u8] {
        &self.vek_der
    }
}

/// Checks a root: RSA-4096 and self-signed with RSASSA-PSS SHA-384.
pub(crate) fn check_ark(ark: &AmdCert) -> Result<(), SnpError> {
    if !ark.is_self_issued() {
        return Err(SnpError::Certificate {
            role: CertRole::Ark,
            reason: "ARK is not self-issued".into(),
        });
    }
    if ark.rsa_bits() != Some(4096) {
        return Err(SnpError::Certificate {
            role: CertRole::Ark,
            reason: "ARK key is not RSA-4096".into(),
        });
    }
    ark.check_issued_by(ark)
}

/// Step 1: the endorsement key, its kind from its name, and agreement with signer_info.
fn endorsement_key(report: &Report, vek: &[u8]) -> Result<AmdCert, SnpError> {
    let expected = match report.signing_key() {
        SigningKey::Vcek => CertRole::Vcek,
        SigningKey::Vlek => CertRole::Vlek,
        other => {
            return Err(SnpError::ReportField {
                field: "signer_info",
                reason: format!("signed by {}", other.name()),
            })
        }
    };
    let mut cert = AmdCert::from_pem_or_der(vek, expected)?;
    let kind = match cert.common_name.as_str() {
        "SEV-VCEK" => CertRole::Vcek,
        "SEV-VLEK" => CertRole::Vlek,
        other => {
            return Err(SnpError::Certificate {
                role: expected,
                reason: format!("common name {other:?} is neither SEV-VCEK nor SEV-VLEK"),
            })
        }
    };
    cert.role = kind;
    if kind != expected {
        return Err(SnpError::SignerMismatch {
            reported: report.signing_key().name(),
            found: kind,
        });
    }
    if !matches!(cert.key, Key::P384(_)) {
        return Err(SnpError::Certificate {
            role: kind,
            reason: "key is not ECDSA P-384".into(),
        });
    }
    // The kind's own extensions: a VCEK names its chip, a VLEK its cloud provider.
    match kind {
        CertRole::Vcek if cert.extensions.hwid.is_none() => Err(SnpError::Certificate {
            role: kind,
            reason: "VCEK without the HWID extension".into(),
        }),
        CertRole::Vlek if cert.extensions.csp_id.is_none() => Err(SnpError::Certificate {
            role: kind,
            reason: "VLEK without the CSP_ID extension".into(),
        }),
        _ => Ok(cert),
    }
}

/// Step 2: the product line the VEK names (extension 1.3.6.1.4.1.3704.1.2).
fn vek_product(vek: &AmdCert) -> Result<(Product, String), SnpError> {
    let name = vek
        .extensions
        .product_name
        .clone()
        .ok_or_else(|| SnpError::Certificate {
            role: vek.role,
            reason: "no product name extension".into(),
        })?;
    let product = Product::from_name(&name).ok_or_else(|| SnpError::ProductMismatch {
        what: "the endorsement key",
        found: name.clone(),
        expected: "Milan, Genoa or Turin".into(),
    })?;
    Ok((product, name))
}

/// Step 3: the intermediate and the root, from the given chain or the trusted roots.
fn chain(
    collateral: &Collateral<'_>,
    roots: &TrustRoots,
    product: Product,
    intermediate_role: CertRole,
) -> Result<(AmdCert, AmdCert), SnpError> {
    match collateral.chain {
        Some(pem) => {
            let certs = pem_certificates(pem, intermediate_role)?;
            let mut parsed = Vec::with_capacity(certs.len());
            for der in &certs {
                parsed.push(AmdCert::from_der(der, intermediate_role)?);
            }
            if parsed.len() != 2 {
                return Err(SnpError::CertificateDecode {
                    role: intermediate_role,
                    reason: format!("cert_chain holds {} certificates, not 2", parsed.len()),
                });
            }
            let ark_at = parsed
                .iter()
                .position(AmdCert::is_self_issued)
                .ok_or(SnpError::Missing(CertRole::Ark))?;
            let mut ark = parsed.swap_remove(ark_at);
            ark.role = CertRole::Ark;
            let intermediate = parsed.pop().ok_or(SnpError::Missing(intermediate_role))?;
            if intermediate.is_self_issued() {
                return Err(SnpError::Certificate {
                    role: intermediate_role,
                    reason: "cert_chain holds two self-issued certificates".into(),
                });
            }
            Ok((intermediate, ark))
        }
        None => {
            let trusted = roots
                .arks
                .iter()
                .filter(|a| a.product == product)
                .find_map(|a| {
                    let i = match intermediate_role {
                        CertRole::Asvk => a.asvk.as_ref(),
                        _ => a.ask.as_ref(),
                    }?;
                    Some((i.clone(), a.ark.clone()))
                });
            trusted.ok_or(SnpError::Missing(intermediate_role))
        }
    }
}

/// Step 4: the root is one of the trusted keys, for the VEK's product, and signs itself; the
/// intermediate is the right kind for the product and signed by the root; the VEK by the
/// intermediate.
fn check_chain(
    roots: &TrustRoots,
    product: Product,
    ark: &AmdCert,
    intermediate: &AmdCert,
    vek: &AmdCert,
) -> Result<(), SnpError> {
    let trusted = roots
        .by_key(&ark.spki_sha256)
        .ok_or(SnpError::UntrustedRoot)?;
    if trusted.product != product {
        return Err(SnpError::ProductMismatch {
            what: "the ARK",
            found: trusted.product.name().into(),
            expected: product.name().into(),
        });
    }
    check_ark(ark)?;
    let expected_cn = match intermediate.role {
        CertRole::Asvk => format!("SEV-VLEK-{product}"),
        _ => format!("SEV-{product}"),
    };
    if intermediate.common_name != expected_cn {
        return Err(SnpError::Certificate {
            role: intermediate.role,
            reason: format!(
                "common name {:?} is not {expected_cn:?}",
                intermediate.common_name
            ),
        });
    }
    if intermediate.rsa_bits() != Some(4096) {
        return Err(SnpError::Certificate {
            role: intermediate.role,
            reason: "key is not RSA-4096".into(),
        });
    }
    intermediate.check_issued_by(ark)?;
    vek.check_issued_by(intermediate)
}

/// R ‖ S as big-endian scalars, from the 72-byte little-endian fields whose bytes above the
/// 48-byte scalar must be zero, with the rest of the signature area zero and algorithm 1.
fn signature_scalars(report: &Report) -> Result<[u8; 96], SnpError> {
    if report.signature_algo != 1 {
        return Err(SnpError::SignatureAlgorithm(report.signature_algo));
    }
    let mut fixed = [0u8; 96];
    let (r_out, s_out) = fixed.split_at_mut(48);
    for (field, le, out) in [
        ("R", &report.signature_r, r_out),
        ("S", &report.signature_s, s_out),
    ] {
        let (scalar, high) = le.split_at(48);
        if high.iter().any(|&b| b != 0) {
            return Err(SnpError::SignatureEncoding { field });
        }
        out.copy_from_slice(scalar);
        out.reverse();
    }
    if report.signature_reserved.iter().any(|&b| b != 0) {
        return Err(SnpError::SignatureEncoding {
            field: "reserved signature bytes",
        });
    }
    Ok(fixed)
}

/// The order n of the P-384 group, big-endian (SEC 2 v2, §2.5.1).
const P384_ORDER: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

/// What can be checked of a report before its endorsement key is looked up (no certificate,
/// no network): the signature algorithm and encoding, and that R and S are scalars in
/// 1..n-1, which every ECDSA signature's are. An unsigned report (a zero signature) fails here,
/// so a service never fetches a VCEK for it. `verify` makes the same encoding checks.
pub fn check_form(report: &Report) -> Result<(), SnpError> {
    let fixed = signature_scalars(report)?;
    let (r, s) = fixed.split_at(48);
    for (field, scalar) in [("signature R", r), ("signature S", s)] {
        // Equal-length big-endian byte strings compare as the numbers they are.
        if scalar.iter().all(|&b| b == 0) || scalar >= P384_ORDER.as_slice() {
            return Err(SnpError::ReportField {
                field,
                reason: "not in 1..n-1 of P-384: the report is not signed".into(),
            });
        }
    }
    Ok(())
}

/// Step 7: ECDSA P-384 over the exact bytes received (`signature_scalars` for the encoding).
fn check_signature(report: &Report, bytes: &[u8], vek: &AmdCert) -> Result<(), SnpError> {
    let fixed = signature_scalars(report)?;
    let Key::P384(point) = &vek.key else {
        return Err(SnpError::ReportSignature(vek.role));
    };
    UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point)
        .verify(signed_bytes(bytes)?, &fixed)
        .map_err(|_| SnpError::ReportSignature(vek.role))
}

/// The VEK extension (1.3.6.1.4.1.3704.1.3.n) that certifies a TCB component.
fn spl_extension(field: TcbField) -> Option<u32> {
    match field {
        TcbField::BootLoader => Some(1),
        TcbField::Tee => Some(2),
        TcbField::Snp => Some(3),
        TcbField::Microcode => Some(8),
        TcbField::Fmc => Some(9),
        TcbField::Reserved(_) => None,
    }
}

/// Step 8: every SPL of reported_tcb equals the VEK's (the VEK is derived for exactly that
/// TCB); reserved bytes are zero.
fn check_tcb(tcb: &TcbVersion, layout: TcbLayout, vek: &AmdCert) -> Result<(), SnpError> {
    for (field, &byte) in layout.fields().iter().zip(tcb.0.iter()) {
        let cert = match spl_extension(*field) {
            Some(n) => *vek
                .extensions
                .spls
                .get(&n)
                .ok_or_else(|| SnpError::Certificate {
                    role: vek.role,
                    reason: format!(
                        "no {} SPL extension (1.3.6.1.4.1.3704.1.3.{n})",
                        field.name()
                    ),
                })?,
            None => 0,
        };
        if byte != cert {
            return Err(SnpError::TcbMismatch {
                field: field.name(),
                report: byte,
                cert,
                role: vek.role,
            });
        }
    }
    Ok(())
}

/// Step 9: the VCEK's HWID is the report's chip_id (Turin: its first 8 bytes), unless the
/// guest masked the chip ID, which then must be zero.
fn check_chip_id(report: &Report, product: Product, vek: &AmdCert) -> Result<(), SnpError> {
    if report.mask_chip_key() && report.chip_id.iter().any(|&b| b != 0) {
        return Err(SnpError::ReportField {
            field: "chip_id",
            reason: "MASK_CHIP_KEY is set but chip_id is not zero".into(),
        });
    }
    if vek.role != CertRole::Vcek {
        return Ok(());
    }
    let hwid = vek.extensions.hwid.as_deref().unwrap_or_default();
    let expected_len = match product {
        Product::Turin => 8,
        Product::Milan | Product::Genoa => 64,
    };
    if hwid.len() != expected_len {
        return Err(SnpError::Certificate {
            role: CertRole::Vcek,
            reason: format!(
                "HWID is {} bytes; {product} uses {expected_len}",
                hwid.len()
            ),
        });
    }
    if report.mask_chip_key() {
        return Ok(());
    }
    if report.chip_id.get(..expected_len) != Some(hwid) {
        return Err(SnpError::ChipIdMismatch);
    }
    Ok(())
}

/// Verifies a report (the exact bytes received) with its collateral, at instant `now` (Unix
/// seconds), against `roots`.
pub fn verify(
    bytes: &[u8],
    collateral: &Collateral<'_>,
    roots: &TrustRoots,
    now: i64,
) -> Result<VerifiedReport, SnpError> {
    let report = Report::decode(bytes)?;
    // Step 1–2: the endorsement key, its kind and product.
    let vek = endorsement_key(&report, collateral.vek)?;
    let (product, product_name) = vek_product(&vek)?;
    let intermediate_role = match vek.role {
        CertRole::Vlek => CertRole::Asvk,
        _ => CertRole::Ask,
    };
    // Step 3–4: the chain to a pinned root of the same product line.
    let (mut intermediate, ark) = chain(collateral, roots, product, intermediate_role)?;
    intermediate.role = intermediate_role;
    check_chain(roots, product, &ark, &intermediate, &vek)?;
    // Step 5: the report's own product line (CPUID, v3 and later).
    if let Some((family, model, stepping)) = report.cpuid() {
        let found = Product::from_cpuid(family, model);
        if found != Some(product) {
            return Err(SnpError::ProductMismatch {
                what: "the report's CPUID",
                found: found.map_or_else(
                    || format!("family {family:#x} model {model:#x} stepping {stepping:#x}"),
                    |p| p.name().to_string(),
                ),
                expected: product.name().into(),
            });
        }
    }
    // Step 6: revocation and validity at `now`.
    let mut expires = [&ark, &intermediate, &vek]
        .iter()
        .map(|c| c.not_after)
        .min()
        .unwrap_or(i64::MIN);
    if let Some(crl) = collateral.crl {
        let crl = Crl::decode(crl, &ark)?;
        crl.check(&intermediate, now)?;
        expires = expires.min(crl.next_update);
    }
    for cert in [&ark, &intermediate, &vek] {
        cert.check_valid_at(now)?;
    }
    // Step 7: the signature over the bytes as received.
    check_signature(&report, bytes, &vek)?;
    // Step 8–9: TCB and chip identity.
    check_tcb(&report.reported_tcb, product.tcb_layout(), &vek)?;
    check_chip_id(&report, product, &vek)?;
    Ok(VerifiedReport {
        product,
        product_name,
        signer: vek.role,
        hwid: vek.extensions.hwid.clone(),
        csp_id: vek.extensions.csp_id.clone(),
        expires,
        vek_der: vek.der.clone(),
        report,
    })
}

/// Verifies only a chain (no report): VEK (DER or PEM) → intermediate → a trusted ARK, at
/// `now`. Returns the product line and the VEK's kind.
pub fn verify_chain(
    collateral: &Collateral<'_>,
    roots: &TrustRoots,
    now: i64,
) -> Result<(Product, CertRole), SnpError> {
    let mut vek = AmdCert::from_pem_or_der(collateral.vek, CertRole::Vcek)?;
    vek.role = match vek.common_name.as_str() {
        "SEV-VLEK" => CertRole::Vlek,
        _ => CertRole::Vcek,
    };
    let (product, _) = vek_product(&vek)?;
    let role = match vek.role {
        CertRole::Vlek => CertRole::Asvk,
        _ => CertRole::Ask,
    };
    let (mut intermediate, ark) = chain(collateral, roots, product, role)?;
    intermediate.role = role;
    check_chain(roots, product, &ark, &intermediate, &vek)?;
    if let Some(crl) = collateral.crl {
        Crl::decode(crl, &ark)?.check(&intermediate, now)?;
    }
    for cert in [&ark, &intermediate, &vek] {
        cert.check_valid_at(now)?;
    }
    Ok((product, vek.role))
}

/// What an endorsement key certificate says, read but NOT verified (for filing collateral by
/// chip and TCB; `verify` checks everything again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VekInfo {
    /// `CertRole::Vcek` or `CertRole::Vlek` (by its common name).
    pub kind: CertRole,
    pub product_name: Option<String>,
    pub product: Option<Product>,
    pub hwid: Option<Vec<u8>>,
    pub csp_id: Option<String>,
    /// SPL extension number (1.3.6.1.4.1.3704.1.3.n) → value.
    pub spls: Vec<(u32, u8)>,
    pub not_after: i64,
}

/// Reads a VCEK or VLEK (DER or PEM) without verifying it.
pub fn inspect_vek(bytes: &[u8]) -> Result<VekInfo, SnpError> {
    let cert = AmdCert::from_pem_or_der(bytes, CertRole::Vcek)?;
    let kind = match cert.common_name.as_str() {
        "SEV-VCEK" => CertRole::Vcek,
        "SEV-VLEK" => CertRole::Vlek,
        other => {
            return Err(SnpError::Certificate {
                role: CertRole::Vcek,
                reason: format!("common name {other:?} is neither SEV-VCEK nor SEV-VLEK"),
            })
        }
    };
    let ext = cert.extensions;
    Ok(VekInfo {
        kind,
        product: ext.product_name.as_deref().and_then(Product::from_name),
        product_name: ext.product_name,
        hwid: ext.hwid,
        csp_id: ext.csp_id,
        spls: ext.spls.into_iter().collect(),
        not_after: cert.not_after,
    })
}
