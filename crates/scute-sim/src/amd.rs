//! A simulated AMD SEV-SNP PKI and firmware: an ARK (RSA-4096, self-signed), an ASK and an ASVK
//! it signs, VCEKs and VLEKs (P-384) with the VEK extensions of AMD's VCEK specification, all
//! with RSASSA-PSS SHA-384 salt 48; a revocation list; and spec-exact attestation reports
//! signed by a VEK. Names say "Scute Simulation (not AMD)"; the verifier trusts the ARK only
//! when it is passed as a root.

use crate::SimError;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, ECDSA_P384_SHA384_FIXED_SIGNING, RSA_PSS_SHA384,
};
use scute_snp::{Product, Report, TcbVersion, SIGNED_LEN};
use yasna::models::{ObjectIdentifier, UTCTime};
use yasna::{DERWriter, Tag};

pub(crate) const ORGANIZATION: &str = "Scute Simulation (not AMD)";
const OID_RSASSA_PSS: &[u64] = &[1, 2, 840, 113549, 1, 1, 10];
const OID_SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
const OID_MGF1: &[u64] = &[1, 2, 840, 113549, 1, 1, 8];
const OID_CN: &[u64] = &[2, 5, 4, 3];
const OID_O: &[u64] = &[2, 5, 4, 10];
const AMD_ARC: [u64; 9] = [1, 3, 6, 1, 4, 1, 3704, 1, 0];

fn oid(arcs: &[u64]) -> ObjectIdentifier {
    ObjectIdentifier::from_slice(arcs)
}

fn amd_oid(tail: &[u64]) -> ObjectIdentifier {
    let mut arcs = AMD_ARC[..8].to_vec();
    arcs.extend_from_slice(tail);
    oid(&arcs)
}

/// RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, the trailer field spelled out as AMD's
/// certificates do.
fn write_pss(w: DERWriter<'_>) {
    write_pss_params(w, PssParams::AMD)
}

/// The RSASSA-PSS parameters a certificate declares (the signature is always made with
/// SHA-384 and salt 48): AMD's, or others to test that a verifier reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PssParams {
    pub salt: u64,
    /// Write the default trailer field (1) explicitly.
    pub explicit_trailer: bool,
}

impl PssParams {
    pub const AMD: Self = Self {
        salt: 48,
        explicit_trailer: true,
    };
}

fn write_pss_params(w: DERWriter<'_>, params: PssParams) {
    w.write_sequence(|w| {
        w.next().write_oid(&oid(OID_RSASSA_PSS));
        w.next().write_sequence(|w| {
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_sequence(|w| w.next().write_oid(&oid(OID_SHA384)))
            });
            w.next().write_tagged(Tag::context(1), |w| {
                w.write_sequence(|w| {
                    w.next().write_oid(&oid(OID_MGF1));
                    w.next()
                        .write_sequence(|w| w.next().write_oid(&oid(OID_SHA384)));
                })
            });
            w.next()
                .write_tagged(Tag::context(2), |w| w.write_u64(params.salt));
            if params.explicit_trailer {
                w.next().write_tagged(Tag::context(3), |w| w.write_u64(1));
            }
        });
    });
}

fn write_name(w: DERWriter<'_>, cn: &str) {
    w.write_sequence(|w| {
        for (id, value) in [(OID_O, ORGANIZATION), (OID_CN, cn)] {
            w.next().write_set(|w| {
                w.next().write_sequence(|w| {
                    w.next().write_oid(&oid(id));
                    w.next().write_utf8_string(value);
                })
            });
        }
    });
}

fn utc(t: i64) -> Result<UTCTime, SimError> {
    let at = crate::pki::at(t)?;
    UTCTime::from_datetime_opt(at).ok_or_else(|| SimError::State(format!("UTCTime {t}")))
}

/// A DER extension value.
struct Ext {
    oid: ObjectIdentifier,
    value: Vec<u8>,
}

struct CertSpec<'a> {
    pss: PssParams,
    serial: u64,
    issuer_cn: &'a str,
    subject_cn: &'a str,
    not_before: i64,
    not_after: i64,
    spki: &'a [u8],
    extensions: Vec<Ext>,
}

fn sign_pss(key: &RsaKeyPair, message: &[u8]) -> Result<Vec<u8>, SimError> {
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(&RSA_PSS_SHA384, &SystemRandom::new(), message, &mut sig)
        .map_err(|_| SimError::State("RSA-PSS signing failed".into()))?;
    Ok(sig)
}

fn certificate(spec: &CertSpec<'_>, issuer: &RsaKeyPair) -> Result<Vec<u8>, SimError> {
    let (not_before, not_after) = (utc(spec.not_before)?, utc(spec.not_after)?);
    let tbs = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_tagged(Tag::context(0), |w| w.write_u64(2));
            w.next().write_u64(spec.serial);
            write_pss_params(w.next(), spec.pss);
            write_name(w.next(), spec.issuer_cn);
            w.next().write_sequence(|w| {
                w.next().write_utctime(&not_before);
                w.next().write_utctime(&not_after);
            });
            write_name(w.next(), spec.subject_cn);
            w.next().write_der(spec.spki);
            if !spec.extensions.is_empty() {
                w.next().write_tagged(Tag::context(3), |w| {
                    w.write_sequence(|w| {
                        for ext in &spec.extensions {
                            w.next().write_sequence(|w| {
                                w.next().write_oid(&ext.oid);
                                w.next().write_bytes(&ext.value);
                            });
                        }
                    })
                });
            }
        })
    });
    let signature = sign_pss(issuer, &tbs)?;
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&tbs);
            write_pss_params(w.next(), spec.pss);
            w.next().write_bitvec_bytes(&signature, signature.len() * 8);
        })
    }))
}

fn pem(der: &[u8]) -> String {
    crate::pki::pem_block("CERTIFICATE", der)
}

fn rsa_spki(key: &RsaKeyPair) -> Result<Vec<u8>, SimError> {
    key.public_key()
        .as_der()
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| SimError::State("RSA public key encoding".into()))
}

/// Which endorsement key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VekKind {
    Vcek,
    Vlek,
}

/// What a VCEK or VLEK certifies, and how it is written.
#[derive(Debug, Clone)]
pub struct VekSpec {
    pub kind: VekKind,
    /// Extension 1.3.6.1.4.1.3704.1.2, e.g. `Milan-B0`.
    pub product_name: String,
    /// The TCB the key is derived for (bytes in the product's layout).
    pub tcb: TcbVersion,
    /// VCEK: the chip's HWID (64 bytes; Turin 8).
    pub hwid: Vec<u8>,
    /// Write the HWID wrapped in an OCTET STRING (newer KDS certificates) instead of raw.
    pub hwid_wrapped: bool,
    pub not_before: i64,
    pub not_after: i64,
    /// The signature parameters the certificate declares.
    pub pss: PssParams,
}

/// A simulated endorsement key: its certificate and private key.
pub struct Vek {
    pub der: Vec<u8>,
    key: EcdsaKeyPair,
}

impl std::fmt::Debug for Vek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vek").finish_non_exhaustive()
    }
}

/// The simulated AMD key hierarchy of one product line.
pub struct AmdPki {
    pub product: Product,
    ark: RsaKeyPair,
    ask: RsaKeyPair,
    asvk: RsaKeyPair,
    pub ark_der: Vec<u8>,
    pub ask_der: Vec<u8>,
    pub asvk_der: Vec<u8>,
    not_before: i64,
}

impl std::fmt::Debug for AmdPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmdPki")
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

const YEAR: i64 = 365 * 24 * 3600;

impl AmdPki {
    /// The simulator's fixed ARK, ASK and ASVK keys (RSA-4096, generated once and kept in
    /// `amd_keys/`: simulation keys, public by design), certificates valid for 20 years from
    /// `not_before`. Every product shares these keys; use [`AmdPki::generate`] for distinct ones.
    pub fn new(product: Product, not_before: i64) -> Result<Self, SimError> {
        let load = |der: &[u8]| {
            RsaKeyPair::from_der(der)
                .map_err(|_| SimError::State("simulated AMD key does not load".into()))
        };
        Self::with_keys(
            product,
            not_before,
            load(include_bytes!("amd_keys/ark.der"))?,
            load(include_bytes!("amd_keys/ask.der"))?,
            load(include_bytes!("amd_keys/asvk.der"))?,
        )
    }

    /// Like [`AmdPki::new`] with freshly generated keys (RSA-4096 each: seconds).
    pub fn generate(product: Product, not_before: i64) -> Result<Self, SimError> {
        let gen = || {
            RsaKeyPair::generate(KeySize::Rsa4096)
                .map_err(|_| SimError::State("RSA-4096 key generation failed".into()))
        };
        Self::with_keys(product, not_before, gen()?, gen()?, gen()?)
    }

    fn with_keys(
        product: Product,
        not_before: i64,
        ark: RsaKeyPair,
        ask: RsaKeyPair,
        asvk: RsaKeyPair,
    ) -> Result<Self, SimError> {
        let p = product.name();
        let ark_cn = format!("ARK-{p}");
        let not_after = not_before + 20 * YEAR;
        let mut spec = CertSpec {
            pss: PssParams::AMD,
            serial: 1,
            issuer_cn: &ark_cn,
            subject_cn: &ark_cn,
            not_before,
            not_after,
            spki: &rsa_spki(&ark)?,
            extensions: Vec::new(),
        };
        let ark_der = certificate(&spec, &ark)?;
        let ask_cn = format!("SEV-{p}");
        let ask_spki = rsa_spki(&ask)?;
        spec.serial = 2;
        spec.subject_cn = &ask_cn;
        spec.spki = &ask_spki;
        let ask_der = certificate(&spec, &ark)?;
        let asvk_cn = format!("SEV-VLEK-{p}");
        let asvk_spki = rsa_spki(&asvk)?;
        spec.serial = 3;
        spec.subject_cn = &asvk_cn;
        spec.spki = &asvk_spki;
        let asvk_der = certificate(&spec, &ark)?;
        Ok(Self {
            product,
            ark,
            ask,
            asvk,
            ark_der,
            ask_der,
            asvk_der,
            not_before,
        })
    }

    /// The ARK, ASK and ASVK private keys (PKCS#8 DER), to keep a generated PKI in a file.
    pub fn keys_pkcs8(&self) -> Result<[Vec<u8>; 3], SimError> {
        let der = |key: &RsaKeyPair| -> Result<Vec<u8>, SimError> {
            let doc: aws_lc_rs::encoding::Pkcs8V1Der<'static> = key
                .as_der()
                .map_err(|_| SimError::State("RSA private key encoding".into()))?;
            Ok(doc.as_ref().to_vec())
        };
        Ok([der(&self.ark)?, der(&self.ask)?, der(&self.asvk)?])
    }

    /// A PKI kept as its keys (PKCS#8, `keys_pkcs8`) and certificates (DER, `ark_der`,
    /// `ask_der`, `asvk_der`): the same machine again, certificates byte for byte.
    pub fn restore(
        product: Product,
        not_before: i64,
        keys: [&[u8]; 3],
        certs: [Vec<u8>; 3],
    ) -> Result<Self, SimError> {
        let load = |der: &[u8]| {
            RsaKeyPair::from_pkcs8(der)
                .map_err(|_| SimError::State("simulated AMD key does not load".into()))
        };
        let [ark_der, ask_der, asvk_der] = certs;
        Ok(Self {
            product,
            ark: load(keys[0])?,
            ask: load(keys[1])?,
            asvk: load(keys[2])?,
            ark_der,
            ask_der,
            asvk_der,
            not_before,
        })
    }

    pub fn ark_pem(&self) -> String {
        pem(&self.ark_der)
    }

    /// KDS's `cert_chain` for the kind: ASK (or ASVK) then ARK, PEM.
    pub fn cert_chain_pem(&self, kind: VekKind) -> String {
        let intermediate = match kind {
            VekKind::Vcek => &self.ask_der,
            VekKind::Vlek => &self.asvk_der,
        };
        format!("{}{}", pem(intermediate), pem(&self.ark_der))
    }

    /// A VEK spec for this product at `tcb` with `hwid`, valid 7 years from the PKI's start.
    pub fn vek_spec(&self, kind: VekKind, tcb: TcbVersion, hwid: Vec<u8>) -> VekSpec {
        VekSpec {
            kind,
            product_name: match self.product {
                Product::Milan => "Milan-B0".into(),
                Product::Genoa => "Genoa-B1".into(),
                Product::Turin => "Turin".into(),
            },
            tcb,
            hwid,
            hwid_wrapped: true,
            not_before: self.not_before,
            not_after: self.not_before + 7 * YEAR,
            pss: PssParams::AMD,
        }
    }

    /// Issues a VCEK (signed by the ASK) or VLEK (by the ASVK).
    pub fn issue_vek(&self, spec: &VekSpec) -> Result<Vek, SimError> {
        let key = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING)
            .map_err(|_| SimError::State("P-384 key generation failed".into()))?;
        let spki = key
            .public_key()
            .as_der()
            .map_err(|_| SimError::State("P-384 public key encoding".into()))?;
        let int = |v: u8| yasna::construct_der(|w| w.write_u8(v));
        let layout = scute_snp::Product::from_name(&spec.product_name)
            .unwrap_or(self.product)
            .tcb_layout();
        let spl = |field| spec.tcb.get(layout, field).unwrap_or(0);
        use scute_snp::TcbField::*;
        let mut extensions = vec![
            Ext {
                oid: amd_oid(&[1]),
                value: int(0),
            },
            Ext {
                oid: amd_oid(&[2]),
                value: yasna::construct_der(|w| w.write_ia5_string(&spec.product_name)),
            },
        ];
        for (n, field) in [(1, BootLoader), (2, Tee), (3, Snp), (8, Microcode)] {
            extensions.push(Ext {
                oid: amd_oid(&[3, n]),
                value: int(spl(field)),
            });
        }
        for n in 4..=7 {
            extensions.push(Ext {
                oid: amd_oid(&[3, n]),
                value: int(0),
            });
        }
        if layout == scute_snp::TcbLayout::Turin {
            extensions.push(Ext {
                oid: amd_oid(&[3, 9]),
                value: int(spl(Fmc)),
            });
        }
        let (subject, issuer_cn, issuer) = match spec.kind {
            VekKind::Vcek => {
                extensions.push(Ext {
                    oid: amd_oid(&[4]),
                    value: if spec.hwid_wrapped {
                        yasna::construct_der(|w| w.write_bytes(&spec.hwid))
                    } else {
                        spec.hwid.clone()
                    },
                });
                ("SEV-VCEK", format!("SEV-{}", self.product), &self.ask)
            }
            VekKind::Vlek => {
                extensions.push(Ext {
                    oid: amd_oid(&[5]),
                    value: yasna::construct_der(|w| {
                        w.write_ia5_string("CN=cloud.simulated.invalid")
                    }),
                });
                ("SEV-VLEK", format!("SEV-VLEK-{}", self.product), &self.asvk)
            }
        };
        let der = certificate(
            &CertSpec {
                pss: spec.pss,
                serial: 0,
                issuer_cn: &issuer_cn,
                subject_cn: subject,
                not_before: spec.not_before,
                not_after: spec.not_after,
                spki: spki.as_ref(),
                extensions,
            },
            issuer,
        )?;
        Ok(Vek { der, key })
    }

    /// The ARK's CRL (DER), revoking the ASK and/or ASVK by serial.
    pub fn crl(
        &self,
        revoke: &[VekKind],
        this_update: i64,
        next_update: i64,
    ) -> Result<Vec<u8>, SimError> {
        let (this_update, next_update) = (utc(this_update)?, utc(next_update)?);
        let ark_cn = format!("ARK-{}", self.product);
        let tbs = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_u64(1);
                write_pss(w.next());
                write_name(w.next(), &ark_cn);
                w.next().write_utctime(&this_update);
                w.next().write_utctime(&next_update);
                if !revoke.is_empty() {
                    w.next().write_sequence(|w| {
                        for kind in revoke {
                            w.next().write_sequence(|w| {
                                w.next().write_u64(match kind {
                                    VekKind::Vcek => 2,
                                    VekKind::Vlek => 3,
                                });
                                w.next().write_utctime(&this_update);
                            });
                        }
                    });
                }
            })
        });
        let signature = sign_pss(&self.ark, &tbs)?;
        Ok(yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_der(&tbs);
                write_pss(w.next());
                w.next().write_bitvec_bytes(&signature, signature.len() * 8);
            })
        }))
    }
}

impl Vek {
    /// The private key (PKCS#8 DER), to keep the key in a file.
    pub fn key_pkcs8(&self) -> Result<Vec<u8>, SimError> {
        self.key
            .to_pkcs8v1()
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| SimError::State("P-384 private key encoding".into()))
    }

    /// A VEK kept as its certificate (DER) and private key (PKCS#8, `key_pkcs8`).
    pub fn restore(der: Vec<u8>, key_pkcs8: &[u8]) -> Result<Self, SimError> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, key_pkcs8)
            .map_err(|_| SimError::State("simulated VEK key does not load".into()))?;
        Ok(Self { der, key })
    }

    /// Signs a report as the firmware does: ECDSA P-384 SHA-384 over bytes 0x000–0x29F, R and
    /// S written little-endian in 72-byte fields. Every other field is the caller's.
    pub fn sign(&self, report: &mut Report) -> Result<(), SimError> {
        report.signature_r = [0; 72];
        report.signature_s = [0; 72];
        let bytes = report.encode();
        let signed = bytes
            .get(..SIGNED_LEN)
            .ok_or_else(|| SimError::State("report length".into()))?;
        let sig = self
            .key
            .sign(&SystemRandom::new(), signed)
            .map_err(|_| SimError::State("ECDSA signing failed".into()))?;
        let (r, s) = sig.as_ref().split_at(48);
        for (out, be) in [(&mut report.signature_r, r), (&mut report.signature_s, s)] {
            for (o, b) in out.iter_mut().zip(be.iter().rev()) {
                *o = *b;
            }
        }
        Ok(())
    }
}

/// A report of a simulated guest: version 3 with the product's CPUID, `report_data`, policy
/// 0x30000 (SMT allowed, no debug), reported/current/committed/launch TCB `tcb`, `chip_id`,
/// unsigned. `Vek::sign` signs it.
pub fn guest_report(
    product: Product,
    tcb: TcbVersion,
    chip_id: [u8; 64],
    report_data: [u8; 64],
) -> Report {
    let (family, model) = match product {
        Product::Milan => (0x19, 0x01),
        Product::Genoa => (0x19, 0x11),
        Product::Turin => (0x1A, 0x02),
    };
    let mut bytes_188 = [0u8; 24];
    bytes_188[..3].copy_from_slice(&[family, model, 1]);
    Report {
        version: 3,
        guest_svn: 1,
        policy: 0x30000,
        family_id: [0x11; 16],
        image_id: [0x22; 16],
        vmpl: 0,
        signature_algo: 1,
        current_tcb: tcb,
        platform_info: 0x3,
        signer_info: 0,
        reserved_04c: [0; 4],
        report_data,
        measurement: [0x5e; 48],
        host_data: [0; 32],
        id_key_digest: [0; 48],
        author_key_digest: [0; 48],
        report_id: [0x33; 32],
        report_id_ma: [0xff; 32],
        reported_tcb: tcb,
        bytes_188,
        chip_id,
        committed_tcb: tcb,
        current_version: [23, 55, 1, 0],
        committed_version: [23, 55, 1, 0],
        launch_tcb: tcb,
        bytes_1f8: [0; 168],
        signature_r: [0; 72],
        signature_s: [0; 72],
        signature_reserved: [0; 368],
    }
}
