//! The simulated quoting enclave: builds the report body, a QE report that binds a fresh
//! attestation key, signs both, and encodes the quote with `scute-quote` — the same encoder
//! the verifier's decoder round-trips with.

use crate::keys::{derive_bytes, SimKey};
use crate::pki::{pem_chain, Pki, Platform};
use crate::{SimError, Tee};
use aws_lc_rs::digest::{digest, SHA256};
use scute_quote::{
    td_attributes, Body, CertificationData, EnclaveReport, Header, Quote, QuoteSignature,
    TdReport10, TdReport15, TdReport15Ex, TeeType, INTEL_QE_VENDOR_ID,
};

/// What the simulated workload looks like.
#[derive(Debug, Clone)]
pub struct Workload {
    pub tee: Tee,
    pub quote_version: u16,
    pub debug: bool,
    pub report_data: [u8; 64],
    /// TDX RTMR0..3 (e.g. the replay of an event log); derived from the seed when `None`.
    pub rtmrs: Option<[[u8; 48]; 4]>,
    /// TDX 1.5 (v5): TEE_TCB_SVN2, the module running now; the launch module's when `None`.
    pub tee_tcb_svn2: Option<[u8; 16]>,
    /// TDX MRCONFIGID (e.g. the digest of the guest's init-data); zeros when `None`.
    pub mr_config_id: Option<[u8; 48]>,
}

impl Workload {
    pub fn new(tee: Tee, quote_version: u16, report_data: [u8; 64]) -> Self {
        Self {
            tee,
            quote_version,
            debug: false,
            report_data,
            rtmrs: None,
            tee_tcb_svn2: None,
            mr_config_id: None,
        }
    }
}

/// Launch measurements a machine reports instead of the ones derived from its seed, so that a
/// value computed offline (`scute measure`) and the reported one can meet. Kept apart from
/// `Workload` so that its struct literals stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchMeasurements {
    /// TDX MRTD.
    pub mr_td: Option<[u8; 48]>,
    /// TDX RTMR0..3, each in place of the `Workload`'s or the derived one.
    pub rtmrs: [Option<[u8; 48]>; 4],
    /// SGX MRENCLAVE.
    pub mr_enclave: Option<[u8; 32]>,
    /// SGX MRSIGNER.
    pub mr_signer: Option<[u8; 32]>,
    /// SGX ISVPRODID.
    pub isv_prod_id: Option<u16>,
    /// SGX ISVSVN.
    pub isv_svn: Option<u16>,
}

impl LaunchMeasurements {
    fn apply(&self, body: &mut Body) {
        match body {
            Body::Sgx(report) => {
                if let Some(v) = self.mr_enclave {
                    report.mr_enclave = v;
                }
                if let Some(v) = self.mr_signer {
                    report.mr_signer = v;
                }
                if let Some(v) = self.isv_prod_id {
                    report.isv_prod_id = v;
                }
                if let Some(v) = self.isv_svn {
                    report.isv_svn = v;
                }
            }
            Body::Td10(td) => self.apply_td(td),
            Body::Td15(td15) => self.apply_td(&mut td15.base),
            Body::Td15Ex(ex) => self.apply_td(&mut ex.base.base),
        }
    }

    fn apply_td(&self, td: &mut TdReport10) {
        if let Some(v) = self.mr_td {
            td.mr_td = v;
        }
        for (rtmr, chosen) in td.rtmr.iter_mut().zip(self.rtmrs) {
            if let Some(v) = chosen {
                *rtmr = v;
            }
        }
    }
}

fn enclave_report(
    seed: u64,
    label: &str,
    attributes: [u8; 16],
    report_data: [u8; 64],
) -> EnclaveReport {
    EnclaveReport {
        cpu_svn: [0; 16],
        misc_select: 0,
        reserved1: [0; 12],
        isv_ext_prod_id: [0; 16],
        attributes,
        mr_enclave: derive_bytes(seed, &format!("{label}-mrenclave")),
        reserved2: [0; 32],
        mr_signer: derive_bytes(seed, &format!("{label}-mrsigner")),
        reserved3: [0; 32],
        config_id: [0; 64],
        isv_prod_id: 0,
        isv_svn: 0,
        config_svn: 0,
        reserved4: [0; 42],
        isv_family_id: [0; 16],
        report_data,
    }
}

/// MRSIGNER of the simulated QE (in QE Identity and in every QE report).
pub(crate) fn qe_mr_signer(seed: u64) -> [u8; 32] {
    derive_bytes(seed, "qe-mrsigner")
}

/// The v5 body types a TDX quote may carry (Intel QVL `QuoteConstants.h`: 2 TD 1.0, 3 TD 1.5,
/// 4 TD 1.5 extended); a v4 quote always carries a TD 1.0 body without a descriptor.
pub const TD_BODY_TYPES: [u16; 3] = [2, 3, 4];

fn body(
    seed: u64,
    platform: &Platform,
    w: &Workload,
    td_body_type: Option<u16>,
) -> Result<Body, SimError> {
    match w.tee {
        Tee::Sgx => {
            // MODE64BIT, plus DEBUG when asked; XFRM x87|SSE|AVX.
            let mut attributes = [0u8; 16];
            attributes[0] = 0x04 | if w.debug { 0x02 } else { 0 };
            attributes[8] = 0x07;
            let mut report = enclave_report(seed, "app", attributes, w.report_data);
            report.cpu_svn = platform.cpu_svn;
            report.isv_prod_id = 1;
            report.isv_svn = 1;
            Ok(Body::Sgx(report))
        }
        Tee::Tdx => {
            let attrs =
                td_attributes::SEPT_VE_DISABLE | if w.debug { td_attributes::DEBUG } else { 0 };
            let td = TdReport10 {
                tee_tcb_svn: platform.tee_tcb_svn,
                mr_seam: derive_bytes(seed, "mr-seam"),
                mr_signer_seam: [0; 48],
                seam_attributes: [0; 8],
                td_attributes: attrs.to_le_bytes(),
                xfam: 0x0006_02e7u64.to_le_bytes(),
                mr_td: derive_bytes(seed, "mr-td"),
                mr_config_id: w.mr_config_id.unwrap_or([0; 48]),
                mr_owner: [0; 48],
                mr_owner_config: [0; 48],
                rtmr: w.rtmrs.unwrap_or([
                    derive_bytes(seed, "rtmr0"),
                    derive_bytes(seed, "rtmr1"),
                    [0; 48],
                    [0; 48],
                ]),
                report_data: w.report_data,
            };
            let td15 = |td| TdReport15 {
                base: td,
                tee_tcb_svn2: w.tee_tcb_svn2.unwrap_or(platform.tee_tcb_svn),
                mr_service_td: [0; 48],
            };
            Ok(match (w.quote_version, td_body_type) {
                (4, None) => Body::Td10(td),
                (5, Some(2)) => Body::Td10(td),
                (5, None | Some(3)) => Body::Td15(td15(td)),
                // TD 1.5 extended (QVL `QuoteStructures.h` `TDReport15Ex`): what the one public
                // type-4 quote (dcap-qvl's `sample/tdx_quote_td15ex`) carries for a TD without
                // partitioning, devices or a service TD: VM index 0, a TD id, the rest zero.
                (5, Some(4)) => Body::Td15Ex(TdReport15Ex {
                    base: td15(td),
                    vm_index: 0,
                    td_id: derive_bytes(seed, "td-id"),
                    dev_info: [0; 48],
                    init_service_td_hash: [0; 48],
                    init_service_td_attributes: [0; 8],
                    init_cpu_svn: [0; 16],
                    init_tee_tcb_svn: [0; 16],
                    init_tee_fmspc: [0; 12],
                    cur_service_td_hash: [0; 48],
                    cur_service_td_attributes: [0; 8],
                }),
                (version, Some(body_type)) => {
                    return Err(SimError::Unsupported(format!(
                        "TDX quotes of version {version} with body type {body_type} (v5 carries {TD_BODY_TYPES:?})"
                    )))
                }
                (version, None) => {
                    return Err(SimError::Unsupported(format!(
                        "TDX quotes of version {version}"
                    )))
                }
            })
        }
    }
}

/// The simulated quoting enclave: its attestation key, certified once by a QE report signed
/// with the PCK key (one report per QE flavour: SGX QE and TDX TD-QE), and its PCK chain.
pub(crate) struct QuotingEnclave {
    attestation_key: SimKey,
    attestation_xy: [u8; 64],
    qe_auth_data: Vec<u8>,
    /// (QE report, its PCK signature) for SGX, then TDX.
    reports: [(EnclaveReport, [u8; 64]); 2],
    user_data: [u8; 20],
    chain_pem: Vec<u8>,
}

impl QuotingEnclave {
    pub(crate) fn new(pki: &Pki, seed: u64, platform: &Platform) -> Result<Self, SimError> {
        let attestation_key = SimKey::derive(seed, "attestation-key")?;
        let attestation_xy = attestation_key.public_xy()?;
        let qe_auth_data: Vec<u8> = (0u8..32).collect();
        let mut binding = attestation_xy.to_vec();
        binding.extend_from_slice(&qe_auth_data);
        let mut qe_report_data = [0u8; 64];
        qe_report_data[..32].copy_from_slice(digest(&SHA256, &binding).as_ref());
        let mut qe_attributes = [0u8; 16];
        qe_attributes[0] = 0x11;
        let report = |isv_prod_id: u16| -> Result<(EnclaveReport, [u8; 64]), SimError> {
            let mut qe_report = enclave_report(seed, "qe", qe_attributes, qe_report_data);
            qe_report.cpu_svn = platform.cpu_svn;
            qe_report.mr_signer = qe_mr_signer(seed);
            qe_report.isv_prod_id = isv_prod_id;
            qe_report.isv_svn = crate::collateral::QE_SVN;
            let signature = pki.pck_key.sign(&qe_report.to_bytes())?;
            Ok((qe_report, signature))
        };
        let mut user_data = [0u8; 20];
        user_data[..16].copy_from_slice(&derive_bytes::<16>(seed, "qe-id"));
        Ok(Self {
            attestation_key,
            attestation_xy,
            qe_auth_data,
            reports: [report(1)?, report(2)?],
            user_data,
            chain_pem: pem_chain(&[&pki.pck_der, &pki.ca_der, &pki.root_der]).into_bytes(),
        })
    }
}

impl QuotingEnclave {
    pub(crate) fn sign(&self, message: &[u8]) -> Result<[u8; 64], SimError> {
        self.attestation_key.sign(message)
    }
}

pub(crate) fn quote(
    qe: &QuotingEnclave,
    seed: u64,
    platform: &Platform,
    w: &Workload,
    launch: &LaunchMeasurements,
    td_body_type: Option<u16>,
) -> Result<Quote, SimError> {
    let supported = matches!(
        (w.tee, w.quote_version),
        (Tee::Sgx, 3) | (Tee::Tdx, 4) | (Tee::Tdx, 5)
    );
    if !supported {
        return Err(SimError::Unsupported(format!(
            "{:?} quotes of version {}",
            w.tee, w.quote_version
        )));
    }
    let [sgx_report, tdx_report] = &qe.reports;
    let (qe_report, qe_report_signature) = if w.tee == Tee::Tdx {
        tdx_report.clone()
    } else {
        sgx_report.clone()
    };
    let sgx = w.tee == Tee::Sgx;
    let header = Header {
        version: w.quote_version,
        attestation_key_type: 2,
        tee_type: if sgx { TeeType::Sgx } else { TeeType::Tdx },
        qe_svn: if sgx { crate::collateral::QE_SVN } else { 0 },
        pce_svn: if sgx { platform.pce_svn } else { 0 },
        qe_vendor_id: INTEL_QE_VENDOR_ID,
        user_data: qe.user_data,
    };
    if td_body_type.is_some() && w.tee != Tee::Tdx {
        return Err(SimError::Unsupported(
            "a v5 body type for an SGX quote".into(),
        ));
    }
    let mut body = body(seed, platform, w, td_body_type)?;
    launch.apply(&mut body);
    let mut quote = Quote {
        header,
        body,
        signature: QuoteSignature {
            signature: [0; 64],
            attestation_key: qe.attestation_xy,
            qe_report,
            qe_report_signature,
            qe_auth_data: qe.qe_auth_data.clone(),
            certification_data: CertificationData {
                cert_type: CertificationData::PCK_CHAIN,
                data: qe.chain_pem.clone(),
            },
        },
        padding_len: 0,
    };
    quote.signature.signature = qe.sign(&quote.signed_bytes())?;
    Ok(quote)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Simulator;

    /// Chosen values land in every TDX body version and in SGX, and survive encoding; the
    /// rest stays as the seed derives it.
    #[test]
    fn launch_measurements_replace_only_what_is_chosen() {
        let sim = Simulator::new(9, 1_790_000_000).unwrap();
        let launch = LaunchMeasurements {
            mr_td: Some([0x11; 48]),
            rtmrs: [None, None, Some([0x22; 48]), None],
            mr_enclave: Some([0x33; 32]),
            isv_svn: Some(9),
            ..LaunchMeasurements::default()
        };
        for version in [4, 5] {
            let w = Workload::new(Tee::Tdx, version, [1; 64]);
            let plain = sim.quote(&w).unwrap().body.td10().unwrap().clone();
            let quote = sim.quote_launched(&w, &launch).unwrap();
            let td = Quote::decode(&quote.encode())
                .unwrap()
                .body
                .td10()
                .unwrap()
                .clone();
            assert_eq!(td.mr_td, [0x11; 48]);
            assert_eq!(td.rtmr[2], [0x22; 48]);
            assert_eq!(
                [td.rtmr[0], td.rtmr[1], td.rtmr[3]],
                [plain.rtmr[0], plain.rtmr[1], plain.rtmr[3]]
            );
            assert_eq!(td.mr_seam, plain.mr_seam);
            assert_ne!(plain.mr_td, [0x11; 48]);
        }
        let quote = sim
            .quote_launched(&Workload::new(Tee::Sgx, 3, [1; 64]), &launch)
            .unwrap();
        let Body::Sgx(report) = Quote::decode(&quote.encode()).unwrap().body else {
            panic!("not SGX");
        };
        assert_eq!(report.mr_enclave, [0x33; 32]);
        assert_eq!(report.isv_svn, 9);
        assert_eq!(report.isv_prod_id, 1, "the default");
    }

    /// Each v5 body type the descriptor may name comes out as that body, signed over its
    /// descriptor; type 4 with the shape of the public type-4 quote. Other shapes are refused.
    #[test]
    fn v5_quotes_carry_the_chosen_td_body_type() {
        let sim = Simulator::new(9, 1_790_000_000).unwrap();
        let w = Workload::new(Tee::Tdx, 5, [7; 64]);
        let launch = LaunchMeasurements::default();
        for body_type in TD_BODY_TYPES {
            let quote = sim.quote_td_body(&w, &launch, body_type).unwrap();
            let bytes = quote.encode();
            assert_eq!(bytes[48..50], body_type.to_le_bytes());
            let decoded = Quote::decode(&bytes).unwrap();
            assert_eq!(decoded.body.body_type(), body_type);
            assert_eq!(decoded.report_data(), &[7; 64]);
        }
        let Body::Td15Ex(ex) = sim.quote_td_body(&w, &launch, 4).unwrap().body else {
            panic!("not TD 1.5 extended");
        };
        assert_eq!(ex.vm_index, 0);
        assert_ne!(ex.td_id, [0; 32]);
        assert_eq!(ex.cur_service_td_hash, [0; 48]);
        assert_eq!(ex.base.tee_tcb_svn2, ex.base.base.tee_tcb_svn);
        for (tee, version, body_type) in [
            (Tee::Tdx, 5, 1),
            (Tee::Tdx, 5, 5),
            (Tee::Tdx, 4, 4),
            (Tee::Sgx, 3, 4),
        ] {
            let w = Workload::new(tee, version, [0; 64]);
            assert!(
                matches!(
                    sim.quote_td_body(&w, &launch, body_type),
                    Err(SimError::Unsupported(_))
                ),
                "{tee:?} v{version} type {body_type}"
            );
        }
    }
}
