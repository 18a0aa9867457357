//! A simulated AMD SEV-SNP machine kept in a directory: its own ARK, ASK and ASVK (RSA-4096,
//! generated when the machine is made, so no two machines share a root) and a VCEK for its chip
//! and TCB, all under `pki/`; the trust root `ark.pem`; `collateral/` with `vcek.der` and
//! `ask_ark_chain.pem` in the layout `scute verify --tee snp --collateral` reads; and
//! `machine.json` (product, TCB, debug). Reports are signed by the VCEK as the firmware signs
//! them (scute-sim's AMD simulator) and carry the VCEK and its chain, as a host's certificate
//! table does.

use crate::error::io;
use crate::files::{write_atomic, write_private};
use crate::machine::{now, random_bytes, MachineOptions};
use crate::{AttesterError, GuestAttester, GuestEvidence, GuestTee, SnpGuestEvidence};
use scute_sim::amd::{guest_report, AmdPki, Vek, VekKind};
use scute_snp::{Product, TcbVersion};
use std::path::{Path, PathBuf};

const PKI: &str = "pki";
/// A Milan TCB: boot loader 3, TEE 0, SNP 8, microcode 0x73.
const DEFAULT_TCB: TcbVersion = TcbVersion([3, 0, 0, 0, 0, 0, 8, 0x73]);

pub struct SimulatedSnp {
    dir: PathBuf,
    pki: AmdPki,
    vcek: Vek,
    chip_id: [u8; 64],
    tcb: TcbVersion,
    debug: bool,
    /// The MEASUREMENT chosen when the machine was made; the simulator's default otherwise.
    measurement: Option<[u8; 48]>,
}

fn product_of(options: &MachineOptions) -> Result<Product, AttesterError> {
    match options.product.as_deref() {
        None => Ok(Product::Milan),
        Some(name) => Product::from_name(name).ok_or_else(|| AttesterError::BadMachine {
            path: PathBuf::from(crate::machine::MACHINE),
            reason: format!("unknown SEV-SNP product {name:?} (Milan, Genoa, Turin)"),
        }),
    }
}

fn tcb_of(options: &MachineOptions) -> Result<TcbVersion, AttesterError> {
    let Some(text) = &options.snp_tcb else {
        return Ok(DEFAULT_TCB);
    };
    let bad = || AttesterError::BadMachine {
        path: PathBuf::from(crate::machine::MACHINE),
        reason: format!("snp_tcb {text:?} is not 8 bytes of hex"),
    };
    let bytes = hex::decode(text).map_err(|_| bad())?;
    Ok(TcbVersion(bytes.try_into().map_err(|_| bad())?))
}

fn read(path: &Path) -> Result<Vec<u8>, AttesterError> {
    std::fs::read(path).map_err(io("reading", path))
}

impl SimulatedSnp {
    /// Opens the SEV-SNP machine kept in `dir`, making it (with `options`) if the directory has
    /// no machine yet. Making one generates three RSA-4096 keys: seconds.
    pub fn open(dir: PathBuf, options: &MachineOptions) -> Result<Self, AttesterError> {
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        match crate::sim_dir_tee(&dir)? {
            Some(GuestTee::Snp) => Self::load(dir),
            Some(other) => Err(AttesterError::OtherSimulator {
                dir,
                found: other.name(),
                asked: "snp",
            }),
            None => Self::make(dir, options),
        }
    }

    fn make(dir: PathBuf, options: &MachineOptions) -> Result<Self, AttesterError> {
        options.launch_for(GuestTee::Snp)?;
        let product = product_of(options)?;
        let tcb = tcb_of(options)?;
        let not_before = now() - 3600;
        let pki = AmdPki::generate(product, not_before)?;
        let chip_id = random_bytes::<64>()?;
        let vcek = pki.issue_vek(&pki.vek_spec(VekKind::Vcek, tcb, chip_id.to_vec()))?;
        let keys = dir.join(PKI);
        std::fs::create_dir_all(&keys).map_err(io("creating", &keys))?;
        let [ark, ask, asvk] = pki.keys_pkcs8()?;
        for (name, bytes) in [
            ("ark.pk8", &ark),
            ("ask.pk8", &ask),
            ("asvk.pk8", &asvk),
            ("vcek.pk8", &vcek.key_pkcs8()?),
            ("ark.der", &pki.ark_der),
            ("ask.der", &pki.ask_der),
            ("asvk.der", &pki.asvk_der),
            ("vcek.der", &vcek.der),
            ("chip_id", &chip_id.to_vec()),
            ("not_before", &not_before.to_string().into_bytes()),
        ] {
            if name.ends_with(".pk8") {
                write_private(&keys.join(name), bytes)?;
            } else {
                write_atomic(&keys.join(name), bytes)?;
            }
        }
        let collateral = dir.join("collateral");
        std::fs::create_dir_all(&collateral).map_err(io("creating", &collateral))?;
        write_atomic(&collateral.join("vcek.der"), &vcek.der)?;
        write_atomic(
            &collateral.join("ask_ark_chain.pem"),
            pki.cert_chain_pem(VekKind::Vcek).as_bytes(),
        )?;
        write_atomic(&dir.join("ark.pem"), pki.ark_pem().as_bytes())?;
        let mut kept = options.clone();
        kept.product = Some(product.name().to_string());
        kept.snp_tcb = Some(hex::encode(tcb.0));
        kept.write(&dir)?;
        // Last: a directory with a `tee` file is a whole machine.
        write_atomic(&dir.join("tee"), b"snp\n")?;
        Self::load(dir)
    }

    fn load(dir: PathBuf) -> Result<Self, AttesterError> {
        let options = MachineOptions::read(&dir)?;
        let keys = dir.join(PKI);
        let k = |name: &str| read(&keys.join(name));
        let bad = |reason: &str| AttesterError::BadMachine {
            path: keys.clone(),
            reason: reason.into(),
        };
        let not_before: i64 = String::from_utf8_lossy(&k("not_before")?)
            .trim()
            .parse()
            .map_err(|_| bad("not_before is not a number"))?;
        let pki = AmdPki::restore(
            product_of(&options)?,
            not_before,
            [&k("ark.pk8")?, &k("ask.pk8")?, &k("asvk.pk8")?],
            [k("ark.der")?, k("ask.der")?, k("asvk.der")?],
        )?;
        let vcek = Vek::restore(k("vcek.der")?, &k("vcek.pk8")?)?;
        let chip_id: [u8; 64] = k("chip_id")?
            .try_into()
            .map_err(|_| bad("chip_id is not 64 bytes"))?;
        Ok(Self {
            tcb: tcb_of(&options)?,
            debug: options.debug,
            measurement: options.launch_for(GuestTee::Snp)?.snp_measurement()?,
            dir,
            pki,
            vcek,
            chip_id,
        })
    }

    /// The machine's trust root (the simulated ARK), PEM.
    pub fn ark_pem(&self) -> String {
        self.pki.ark_pem()
    }
}

impl GuestAttester for SimulatedSnp {
    fn name(&self) -> &'static str {
        "snp (simulated)"
    }

    fn guest_tee(&self) -> GuestTee {
        GuestTee::Snp
    }

    fn collect_guest(&self, report_data: &[u8; 64]) -> Result<GuestEvidence, AttesterError> {
        let mut report = guest_report(self.pki.product, self.tcb, self.chip_id, *report_data);
        if self.debug {
            report.policy |= scute_snp::policy::DEBUG;
        }
        if let Some(measurement) = self.measurement {
            report.measurement = measurement;
        }
        self.vcek.sign(&mut report)?;
        Ok(GuestEvidence::Snp(SnpGuestEvidence {
            report: report.encode(),
            vek: Some(("VCEK", self.vcek.der.clone())),
            ask: Some(self.pki.ask_der.clone()),
            ark: Some(self.pki.ark_der.clone()),
        }))
    }

    fn sim_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }
}
