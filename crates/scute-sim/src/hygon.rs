//! A simulated Hygon PKI that is cryptographically real: from a seed, SM2 keys for an HRK
//! (self-signed), HSK, CEK and PEK in Hygon's certificate formats, and a PSP that signs CSV
//! reports V1 (anonce XOR, MAC over the signer block) and V2 (RTMRs), raw or in the form the
//! CoCo CSV attester sends. Its root verifies only where it is passed as a trust root.

use crate::SimError;
use scute_csv::{
    usage, xor_anonce, CaCert, Container, CsvCert, EccKey, Fields, HskCek, Le72, Policy, Report,
    RootKey, SigSlot, Signer, SignerForm, Sm2Sig, TeeInfo, TeeInfoV1, TeeInfoV2, TrusteeEvidence,
    ALGO_SM2_SA, CURVE_SM2_256, USER_ID_LEN,
};
use sm2::dsa::signature::Signer as _;
use sm2::dsa::{Signature, SigningKey};
use sm3::{Digest, Sm3};

/// The GM/T 0009 default distinguishing ID (what Hygon signatures must NOT be made with).
pub const GMT_DEFAULT_ID: &str = "1234567812345678";

struct Key {
    signing: SigningKey,
    uid: &'static str,
}

impl Key {
    fn derive(seed: &[u8], label: &str, uid: &'static str) -> Result<Self, SimError> {
        for counter in 0u8..=255 {
            let mut h = Sm3::new();
            h.update(seed);
            h.update(label.as_bytes());
            h.update([counter]);
            let scalar = h.finalize();
            if let Ok(signing) = SigningKey::from_slice(uid, &scalar) {
                return Ok(Self { signing, uid });
            }
        }
        Err(SimError::Key(label.into()))
    }

    fn public(&self) -> EccKey {
        let point = self.signing.verifying_key().to_sec1_bytes();
        let coord = |range: std::ops::Range<usize>| -> [u8; 32] {
            let mut out = [0u8; 32];
            if let Some(bytes) = point.get(range) {
                out.copy_from_slice(bytes);
            }
            out
        };
        EccKey {
            curve: CURVE_SM2_256,
            x: Le72::from_be(coord(1..33)),
            y: Le72::from_be(coord(33..65)),
        }
    }

    fn sign(&self, message: &[u8]) -> Sm2Sig {
        to_sig(&self.signing.sign(message))
    }

    /// A signature under another distinguishing ID (to test that verifiers refuse it).
    fn sign_with_id(&self, id: &str, message: &[u8]) -> Result<Sm2Sig, SimError> {
        let other =
            SigningKey::from_bytes(id, &self.signing.to_bytes()).map_err(|_| SimError::Signing)?;
        Ok(to_sig(&other.sign(message)))
    }

    fn user_id(&self) -> (u16, [u8; USER_ID_LEN]) {
        let mut id = [0u8; USER_ID_LEN];
        let bytes = self.uid.as_bytes();
        if let Some(slot) = id.get_mut(..bytes.len()) {
            slot.copy_from_slice(bytes);
        }
        (bytes.len() as u16, id)
    }
}

fn to_sig(sig: &Signature) -> Sm2Sig {
    Sm2Sig {
        r: Le72::from_be(sig.r_bytes().into()),
        s: Le72::from_be(sig.s_bytes().into()),
    }
}

fn kid(seed: &[u8], label: &str) -> [u8; 16] {
    let mut h = Sm3::new();
    h.update(seed);
    h.update(b"kid");
    h.update(label.as_bytes());
    let d = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(d.get(..16).unwrap_or(&[0u8; 16]));
    out
}

fn ca_cert(key: &Key, kid: [u8; 16], signer: &Key, sid: [u8; 16], usage: u32) -> CaCert {
    let (uid_size, user_id) = key.user_id();
    let mut cert = CaCert {
        ver: 1,
        kid,
        sid,
        usage,
        reserved: [0; 24],
        key: key.public(),
        uid_size,
        user_id,
        reserved2: [0; 108],
        signature: Sm2Sig::default(),
        reserved3: [0; 112],
    };
    cert.signature = signer.sign(&cert.body());
    cert
}

fn empty_slot() -> SigSlot {
    SigSlot {
        usage: usage::INVALID,
        algo: 0,
        sig: Sm2Sig::default(),
        reserved: [0; 368],
    }
}

fn csv_cert(key: &Key, usage: u32, sid: [u8; 16], signer: &Key, signer_usage: u32) -> CsvCert {
    let (uid_size, user_id) = key.user_id();
    let mut cert = CsvCert {
        ver: 1,
        fw_major: 1,
        fw_minor: 4,
        reserved1: 0,
        usage,
        algo: ALGO_SM2_SA,
        key: key.public(),
        uid_size,
        user_id,
        sid,
        reserved2: [0; 608],
        sigs: [empty_slot(), empty_slot()],
    };
    let sig = signer.sign(&cert.body());
    cert.sigs[0] = SigSlot {
        usage: signer_usage,
        algo: ALGO_SM2_SA,
        sig,
        reserved: [0; 368],
    };
    cert
}

/// What a simulated CSV guest's report says.
#[derive(Debug, Clone)]
pub struct CsvReportSpec {
    /// 1 (legacy, anonce XOR) or 2 (extended, RTMRs).
    pub version: u8,
    pub report_data: [u8; 64],
    pub mnonce: [u8; 16],
    pub measure: [u8; 32],
    /// Guest policy bits (bit 0 NODBG).
    pub policy: u32,
    pub vm_id: [u8; 16],
    pub vm_version: [u8; 16],
    pub anonce: u32,
    /// V2: rtmr1..rtmr4 (rtmr0 is `measure`).
    pub rtmr: [[u8; 32]; 4],
    pub build: u32,
    /// Sign the report under the GM/T default ID instead of the PEK's user ID.
    pub sign_with_default_id: bool,
}

impl Default for CsvReportSpec {
    fn default() -> Self {
        Self {
            version: 1,
            report_data: [0; 64],
            mnonce: *b"scute-sim-mnonce",
            measure: [0x5c; 32],
            // NODBG | NOKS | ES | CSV, API 1.4.
            policy: 0x0401_0027,
            vm_id: [0; 16],
            vm_version: [0; 16],
            anonce: 0x5ca1_ab1e,
            rtmr: [[0; 32]; 4],
            build: 2024,
            sign_with_default_id: false,
        }
    }
}

/// A simulated Hygon chip with its PKI.
pub struct HygonSim {
    hrk: Key,
    pek: Key,
    pub hrk_cert: CaCert,
    pub hsk_cert: CaCert,
    pub cek_cert: CsvCert,
    pub pek_cert: CsvCert,
    pub chip_serial: String,
}

impl HygonSim {
    pub fn new(seed: &[u8], chip_serial: &str) -> Result<Self, SimError> {
        let hrk = Key::derive(seed, "hrk", "HYGON-SSD-HRK")?;
        let hsk = Key::derive(seed, "hsk", "HYGON-SSD-HSK")?;
        let cek = Key::derive(seed, "cek", "HYGON-SSD-CEK")?;
        let pek = Key::derive(seed, "pek", "HYGON-SSD-PEK")?;
        let hrk_kid = kid(seed, "hrk");
        let hsk_kid = kid(seed, "hsk");
        let hrk_cert = ca_cert(&hrk, hrk_kid, &hrk, hrk_kid, usage::HRK);
        let hsk_cert = ca_cert(&hsk, hsk_kid, &hrk, hrk_kid, usage::HSK);
        let cek_cert = csv_cert(&cek, usage::CEK, hsk_kid, &hsk, usage::HSK);
        let pek_cert = csv_cert(&pek, usage::PEK, [0; 16], &cek, usage::CEK);
        if chip_serial.is_empty() || chip_serial.len() >= 64 {
            return Err(SimError::Unsupported(
                "a chip serial is 1..63 ASCII bytes".into(),
            ));
        }
        Ok(Self {
            hrk,
            pek,
            hrk_cert,
            hsk_cert,
            cek_cert,
            pek_cert,
            chip_serial: chip_serial.into(),
        })
    }

    /// The simulated HRK as a trust root.
    pub fn root(&self) -> RootKey {
        RootKey {
            kid: self.hrk_cert.kid,
            key: self.hrk_cert.key,
            user_id: self.hrk.uid.as_bytes().to_vec(),
        }
    }

    pub fn hsk_cek(&self) -> HskCek {
        HskCek {
            hsk: self.hsk_cert.clone(),
            cek: self.cek_cert.clone(),
        }
    }

    fn sn(&self) -> [u8; 64] {
        let mut sn = [0u8; 64];
        let bytes = self.chip_serial.as_bytes();
        if let Some(slot) = sn.get_mut(..bytes.len()) {
            slot.copy_from_slice(bytes);
        }
        sn
    }

    /// The report as the PSP writes it (signer block raw: XOR-ed for V1, MAC over it).
    pub fn report(&self, spec: &CsvReportSpec) -> Result<Report, SimError> {
        let fields = Fields {
            user_pubkey_digest: [0; 32],
            vm_id: spec.vm_id,
            vm_version: spec.vm_version,
            report_data: spec.report_data,
            mnonce: spec.mnonce,
            measure: spec.measure,
            policy: Policy(spec.policy),
            sig_usage: usage::PEK,
            sig_algo: ALGO_SM2_SA,
        };
        let mut tee_info = match spec.version {
            1 => TeeInfo::V1(Box::new(TeeInfoV1 {
                stored: fields.xor(spec.anonce),
                anonce: spec.anonce,
                sig: Sm2Sig::default(),
            })),
            2 => {
                let [r1, r2, r3, r4] = spec.rtmr;
                TeeInfo::V2(Box::new(TeeInfoV2 {
                    fields,
                    build: spec.build,
                    rtmr_version: 1,
                    reserved0: [0; 14],
                    rtmr: [spec.measure, r1, r2, r3, r4],
                    reserved1: [0; 656],
                    sig: Sm2Sig::default(),
                }))
            }
            v => return Err(SimError::Unsupported(format!("CSV report version {v}"))),
        };
        let signed = tee_info.signed_bytes();
        let sig = if spec.sign_with_default_id {
            self.pek.sign_with_id(GMT_DEFAULT_ID, &signed)?
        } else {
            self.pek.sign(&signed)
        };
        match &mut tee_info {
            TeeInfo::V1(t) => t.sig = sig,
            TeeInfo::V2(t) => t.sig = sig,
        }
        let anonce = tee_info.anonce();
        let mut pek_cert = [0u8; scute_csv::CSV_CERT_LEN];
        pek_cert.copy_from_slice(&self.pek_cert.encode());
        xor_anonce(&mut pek_cert, anonce);
        let mut sn = self.sn();
        xor_anonce(&mut sn, anonce);
        let mut signer = Signer {
            pek_cert,
            sn,
            reserved: [0xa5; 32],
            mac: [0; 32],
        };
        signer.mac = mac(&spec.mnonce, &signer.mac_input())?;
        Ok(Report {
            tee_info,
            signer,
            container: Container::Bare,
            signer_form: SignerForm::Raw,
        })
    }

    /// The evidence the CoCo CSV attester sends: csv-rs's wrapper with the signer block
    /// restored, the PEK, optionally HSK/CEK, the serial and the event log.
    pub fn trustee_evidence(
        &self,
        spec: &CsvReportSpec,
        include_hsk_cek: bool,
        cc_eventlog: Option<&[u8]>,
    ) -> Result<serde_json::Value, SimError> {
        let mut report = self.report(spec)?;
        report
            .signer
            .pek_cert
            .copy_from_slice(&self.pek_cert.encode());
        report.signer.sn = self.sn();
        report.signer.reserved = [0; 32];
        report.signer_form = SignerForm::Restored;
        report.container = match spec.version {
            1 => Container::Wrapped {
                magic: [0; 16],
                flags: 0,
            },
            _ => Container::Wrapped {
                magic: scute_csv::EXT_MAGIC,
                flags: 1,
            },
        };
        let evidence = TrusteeEvidence {
            report,
            pek: self.pek_cert.clone(),
            hsk_cek: include_hsk_cek.then(|| self.hsk_cek()),
            serial_number: self.sn().to_vec(),
            cc_eventlog: cc_eventlog.map(<[u8]>::to_vec),
        };
        Ok(evidence.to_value())
    }
}

fn mac(key: &[u8; 16], message: &[u8]) -> Result<[u8; 32], SimError> {
    use hmac::{KeyInit, Mac};
    let mut m = hmac::Hmac::<Sm3>::new_from_slice(key).map_err(|_| SimError::Signing)?;
    m.update(message);
    let mut out = [0u8; 32];
    out.copy_from_slice(&m.finalize().into_bytes());
    Ok(out)
}
