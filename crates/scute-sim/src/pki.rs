//! The simulated Intel PKI: root CA, PCK Platform CA, TCB signing certificate and a PCK leaf
//! with the Intel SGX extension, plus the Root CA and PCK CRLs. Shapes follow Intel's PCK
//! Certificate and CRL Profile; names say "Scute Simulated" so nobody mistakes them for Intel's.

use crate::keys::SimKey;
use crate::SimError;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, RevokedCertParams,
    SerialNumber,
};
use time::OffsetDateTime;
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, X509Certificate};

const SGX_EXTENSION: [u64; 9] = [1, 2, 840, 113741, 1, 13, 1, 0, 0];
/// The organisation of every certificate the simulator makes, and how its roots are known.
const ORGANIZATION: &str = "Scute Simulation (not Intel)";
const YEAR: i64 = 365 * 24 * 3600;

/// The platform a PCK certificate certifies: what the SGX extension and the quote report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub fmspc: [u8; 6],
    pub pce_id: [u8; 2],
    pub components: [u32; 16],
    pub pce_svn: u16,
    pub cpu_svn: [u8; 16],
    pub ppid: [u8; 16],
    /// TDX TEE_TCB_SVN: module SVN, module major version, late microcode SVN.
    pub tee_tcb_svn: [u8; 16],
}

impl Platform {
    pub fn simulated(seed: u64) -> Self {
        let mut components = [0u32; 16];
        components[..8].copy_from_slice(&[5, 5, 3, 3, 4, 1, 0, 5]);
        let mut cpu_svn = [0u8; 16];
        cpu_svn[..8].copy_from_slice(&[5, 5, 3, 3, 4, 1, 0, 5]);
        let mut tee_tcb_svn = [0u8; 16];
        tee_tcb_svn[..3].copy_from_slice(&[3, 1, 5]);
        Self {
            fmspc: [0x5c, 0x07, 0xe0, 0x00, 0x00, 0x00],
            pce_id: [0, 0],
            components,
            pce_svn: 13,
            cpu_svn,
            ppid: crate::keys::derive_bytes(seed, "ppid"),
            tee_tcb_svn,
        }
    }
}

pub(crate) fn at(t: i64) -> Result<OffsetDateTime, SimError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|e| SimError::State(format!("time {t}: {e}")))
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CountryName, "ZZ");
    dn
}

fn params(
    cn: &str,
    serial: u64,
    not_before: i64,
    not_after: i64,
    ca: bool,
) -> Result<CertificateParams, SimError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.serial_number = Some(SerialNumber::from(serial));
    p.not_before = at(not_before)?;
    p.not_after = at(not_after)?;
    p.key_identifier_method = KeyIdMethod::Sha256;
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
    }
    Ok(p)
}

fn oid(arcs: &[u64]) -> yasna::models::ObjectIdentifier {
    yasna::models::ObjectIdentifier::from_slice(arcs)
}

fn sgx_oid(tail: &[u64]) -> yasna::models::ObjectIdentifier {
    let mut arcs = SGX_EXTENSION[..7].to_vec();
    arcs.extend_from_slice(tail);
    oid(&arcs)
}

/// The Intel SGX extension value of a Platform-CA PCK certificate (7 entries).
fn sgx_extension(p: &Platform, instance_id: &[u8; 16]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_oid(&sgx_oid(&[1]));
                w.next().write_bytes(&p.ppid);
            });
            w.next().write_sequence(|w| {
                w.next().write_oid(&sgx_oid(&[2]));
                w.next().write_sequence(|w| {
                    for (i, svn) in p.components.iter().enumerate() {
                        w.next().write_sequence(|w| {
                            w.next().write_oid(&sgx_oid(&[2, i as u64 + 1]));
                            w.next().write_u32(*svn);
                        });
                    }
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&sgx_oid(&[2, 17]));
                        w.next().write_u16(p.pce_svn);
                    });
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&sgx_oid(&[2, 18]));
                        w.next().write_bytes(&p.cpu_svn);
                    });
                });
            });
            w.next().write_sequence(|w| {
                w.next().write_oid(&sgx_oid(&[3]));
                w.next().write_bytes(&p.pce_id);
            });
            w.next().write_sequence(|w| {
                w.next().write_oid(&sgx_oid(&[4]));
                w.next().write_bytes(&p.fmspc);
            });
            w.next().write_sequence(|w| {
                w.next().write_oid(&sgx_oid(&[5]));
                w.next().write_enum(1); // Scalable
            });
            w.next().write_sequence(|w| {
                w.next().write_oid(&sgx_oid(&[6]));
                w.next().write_bytes(instance_id);
            });
            w.next().write_sequence(|w| {
                w.next().write_oid(&sgx_oid(&[7]));
                w.next().write_sequence(|w| {
                    for (i, value) in [false, true, true].into_iter().enumerate() {
                        w.next().write_sequence(|w| {
                            w.next().write_oid(&sgx_oid(&[7, i as u64 + 1]));
                            w.next().write_bool(value);
                        });
                    }
                });
            });
        })
    })
}

/// Keys, certificates and the parameters needed to issue CRLs.
pub(crate) struct Pki {
    pub root_key: SimKey,
    pub root_params: CertificateParams,
    pub root_der: Vec<u8>,
    pub ca_key: SimKey,
    pub ca_params: CertificateParams,
    pub ca_der: Vec<u8>,
    /// A second PCK CA of the same root, which issued no certificate of this platform (Intel
    /// has a Processor CA beside the Platform CA): another issuer's CRL under the same root.
    pub processor_ca_key: SimKey,
    pub processor_ca_params: CertificateParams,
    pub processor_ca_der: Vec<u8>,
    pub tcb_key: SimKey,
    pub tcb_der: Vec<u8>,
    pub pck_key: SimKey,
    pub pck_der: Vec<u8>,
}

pub(crate) const PCK_SERIAL: u64 = 0x5c07_e001;
/// The PCK Platform CA certificate's serial.
const PCK_CA_SERIAL: u64 = 2;

impl Pki {
    /// A whole PKI for `seed`; certificates valid from an hour before `created` for years.
    pub(crate) fn generate(seed: u64, platform: &Platform, created: i64) -> Result<Self, SimError> {
        let (start, end) = (created - 3600, created + 20 * YEAR);
        let root_key = SimKey::derive(seed, "root")?;
        let root_params = params("Scute Simulated SGX Root CA", 1, start, end, true)?;
        let root_der = root_params.self_signed(&root_key.rcgen)?.der().to_vec();
        let root = Issuer::new(root_params.clone(), &root_key.rcgen);

        let ca_key = SimKey::derive(seed, "pck-platform-ca")?;
        let ca_params = params(
            "Scute Simulated SGX PCK Platform CA",
            PCK_CA_SERIAL,
            start,
            end,
            true,
        )?;
        let ca_der = ca_params.signed_by(&ca_key.rcgen, &root)?.der().to_vec();

        let processor_ca_key = SimKey::derive(seed, "pck-processor-ca")?;
        let processor_ca_params =
            params("Scute Simulated SGX PCK Processor CA", 4, start, end, true)?;
        let processor_ca_der = processor_ca_params
            .signed_by(&processor_ca_key.rcgen, &root)?
            .der()
            .to_vec();

        let tcb_key = SimKey::derive(seed, "tcb-signing")?;
        let tcb_params = params("Scute Simulated SGX TCB Signing", 3, start, end, false)?;
        let tcb_der = tcb_params.signed_by(&tcb_key.rcgen, &root)?.der().to_vec();

        let pck_key = SimKey::derive(seed, "pck")?;
        let mut pck_params = params(
            "Scute Simulated SGX PCK Certificate",
            PCK_SERIAL,
            start,
            created + 7 * YEAR,
            false,
        )?;
        let instance: [u8; 16] = crate::keys::derive_bytes(seed, "platform-instance-id");
        pck_params.custom_extensions = vec![CustomExtension::from_oid_content(
            &SGX_EXTENSION[..7],
            sgx_extension(platform, &instance),
        )];
        let ca = Issuer::new(ca_params.clone(), &ca_key.rcgen);
        let pck_der = pck_params.signed_by(&pck_key.rcgen, &ca)?.der().to_vec();

        Ok(Self {
            root_key,
            root_params,
            root_der,
            ca_key,
            ca_params,
            ca_der,
            processor_ca_key,
            processor_ca_params,
            processor_ca_der,
            tcb_key,
            tcb_der,
            pck_key,
            pck_der,
        })
    }

    /// The Root CA CRL; `revoke_pck_ca` lists the PCK CA's certificate.
    pub(crate) fn root_crl(
        &self,
        this_update: i64,
        next_update: i64,
        revoke_pck_ca: bool,
    ) -> Result<Vec<u8>, SimError> {
        let issuer = Issuer::new(self.root_params.clone(), &self.root_key.rcgen);
        let revoked: &[u64] = if revoke_pck_ca { &[PCK_CA_SERIAL] } else { &[] };
        crl(&issuer, this_update, next_update, revoked)
    }

    pub(crate) fn pck_crl(
        &self,
        this_update: i64,
        next_update: i64,
        revoke_pck: bool,
    ) -> Result<Vec<u8>, SimError> {
        let issuer = Issuer::new(self.ca_params.clone(), &self.ca_key.rcgen);
        let revoked: &[u64] = if revoke_pck {
            &[0x0dead, PCK_SERIAL]
        } else {
            &[0x0dead]
        };
        crl(&issuer, this_update, next_update, revoked)
    }

    /// The Processor CA's CRL (it revokes nothing of this platform).
    pub(crate) fn processor_ca_crl(
        &self,
        this_update: i64,
        next_update: i64,
    ) -> Result<Vec<u8>, SimError> {
        let issuer = Issuer::new(
            self.processor_ca_params.clone(),
            &self.processor_ca_key.rcgen,
        );
        crl(&issuer, this_update, next_update, &[0x0dead])
    }
}

fn crl(
    issuer: &Issuer<'_, &rcgen::KeyPair>,
    this_update: i64,
    next_update: i64,
    revoked: &[u64],
) -> Result<Vec<u8>, SimError> {
    let params = CertificateRevocationListParams {
        this_update: at(this_update)?,
        next_update: at(next_update)?,
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|serial| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from(*serial),
                    revocation_time: at(this_update - 3600)?,
                    reason_code: None,
                    invalidity_date: None,
                })
            })
            .collect::<Result<_, SimError>>()?,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    Ok(params.signed_by(issuer)?.der().to_vec())
}

/// Whether `cert` (DER, or PEM with any number of certificates) holds a root CA a simulator
/// made (the Intel simulator's Root CA or the AMD simulator's ARK): self-issued, in a
/// simulator's organisation. For warnings only: trust decisions
/// never depend on it, and anyone can put that name in a certificate.
pub fn is_simulator_root(cert: &[u8]) -> bool {
    let simulated = |der: &[u8]| {
        X509Certificate::from_der(der).is_ok_and(|(_, c)| {
            c.subject() == c.issuer()
                && c.subject().iter_organization().any(|o| {
                    o.as_str()
                        .is_ok_and(|o| o == ORGANIZATION || o == crate::amd::ORGANIZATION)
                })
        })
    };
    if cert.starts_with(b"-----BEGIN") {
        Pem::iter_from_buffer(cert).any(|p| p.is_ok_and(|p| simulated(&p.contents)))
    } else {
        simulated(cert)
    }
}

/// PEM text of DER certificates, in order.
pub(crate) fn pem_chain(ders: &[&[u8]]) -> String {
    ders.iter()
        .map(|der| pem_block("CERTIFICATE", der))
        .collect()
}

/// RFC 7468 PEM with CRLF line ends and 64-column base64 (byte for byte what the `pem` crate,
/// used here before, wrote).
pub(crate) fn pem_block(label: &str, der: &[u8]) -> String {
    // Fails only for a label outside RFC 7468's grammar or a length past usize; the labels
    // here are constants, and an empty text would be refused by every reader anyway.
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::CRLF, der).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// The layout the `pem` crate wrote before (what files written by `scute sim` hold):
    /// CRLF everywhere, 64-column base64, a line end after the END line.
    #[test]
    fn pem_blocks_keep_the_layout_written_before() {
        let der: Vec<u8> = (0..60).collect();
        let text = super::pem_block("CERTIFICATE", &der);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN CERTIFICATE-----"));
        assert_eq!(lines.get(1).map(|l| l.len()), Some(64));
        assert_eq!(lines.get(2).map(|l| l.len()), Some(80 - 64));
        assert_eq!(lines.get(3), Some(&"-----END CERTIFICATE-----"));
        assert_eq!(lines.get(4), Some(&""));
        assert_eq!(lines.len(), 5);
        assert!(!text.replace("\r\n", "").contains('\n'));
        assert_eq!(
            pem_rfc7468::decode_vec(text.as_bytes()).unwrap(),
            ("CERTIFICATE", der)
        );
    }
}
