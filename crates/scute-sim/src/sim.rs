//! The simulator as a whole: a platform and its PKI from a seed, state that can be saved and
//! loaded (so a guest-side attester and a verifier can share it), collateral and quotes.

use crate::collateral::{collateral, CollateralSpec};
use crate::pki::{pem_block, Pki, Platform, PCK_SERIAL};
use crate::quote::{qe_mr_signer, quote, LaunchMeasurements, QuotingEnclave, Workload};
use crate::{SimError, Tee};
use serde::{Deserialize, Serialize};

/// Statuses Intel uses in TCB levels; any of them can be asked of the platform or the QE.
pub const TCB_STATUSES: [&str; 7] = [
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked",
];

/// What `scute sim case --tcb-status` may ask for: Intel's level statuses, and the two a TD 1.5
/// quote gets when only its launch TCB is out of date (QVL's TD-preserving evaluation): the
/// simulator launches the TD on an out-of-date TDX module and reports the current one in
/// TEE_TCB_SVN2.
pub const CASE_TCB_STATUSES: [&str; 9] = [
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked",
    "TDRelaunchAdvised",
    "TDRelaunchAdvisedConfigurationNeeded",
];

pub struct Simulator {
    seed: u64,
    created: i64,
    platform: Platform,
    pki: Pki,
    qe: QuotingEnclave,
}

#[derive(Serialize, Deserialize)]
struct State {
    seed: u64,
    created: i64,
    root: String,
    pck_platform_ca: String,
    tcb_signing: String,
    pck: String,
}

/// What the collateral says about the platform, and when it is valid.
#[derive(Debug, Clone)]
pub struct CollateralOptions {
    pub tee: Tee,
    pub tcb_status: String,
    pub qe_tcb_status: String,
    /// TDX only: the TCB status of the running TDX module's identity level.
    pub module_tcb_status: String,
    /// (issueDate / thisUpdate, nextUpdate) of TCB Info, QE Identity and both CRLs.
    pub window: (i64, i64),
    pub revoke_pck: bool,
    /// The Root CA CRL revokes the PCK CA's certificate.
    pub revoke_pck_ca: bool,
    /// The PCK CRL (and its issuer chain) is the simulated Processor CA's, which issued no
    /// certificate of this platform: a set of the same FMSPC under another CA.
    pub processor_ca_crl: bool,
    /// Collateral for another platform (a different FMSPC).
    pub wrong_fmspc: bool,
}

impl CollateralOptions {
    /// UpToDate collateral valid from an hour before `now` for 30 days.
    pub fn valid_at(tee: Tee, now: i64) -> Self {
        Self {
            tee,
            tcb_status: "UpToDate".into(),
            qe_tcb_status: "UpToDate".into(),
            module_tcb_status: "UpToDate".into(),
            window: (now - 3600, now + 30 * 24 * 3600),
            revoke_pck: false,
            revoke_pck_ca: false,
            processor_ca_crl: false,
            wrong_fmspc: false,
        }
    }
}

/// Where a fleet platform's TCB stands against the simulator's own (`Simulator::fleet_platform`),
/// in the levels the simulated TCB Info lays out around the simulator's platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetLevel {
    /// Every SGX TCB component, the PCESVN and the TDX late microcode SVN one higher: the
    /// level the collateral puts above the platform's when the platform's is not UpToDate
    /// (UpToDate there), and the platform's own level otherwise.
    Newer,
    /// The PCESVN one lower: below the platform's level, only the collateral's oldest level
    /// (OutOfDate) matches it.
    Older,
}

impl Simulator {
    /// Another platform of this one's model (FMSPC) and PKI at another TCB `level`: a PCK
    /// certificate of its own (another PPID, its TCB) from the same PCK CA, and a quoting
    /// enclave certified by it. This simulator's collateral judges it, so a fleet at
    /// several TCB levels shares one collateral set. Not kept by `to_state`.
    pub fn fleet_platform(&self, level: FleetLevel) -> Result<Self, SimError> {
        let mut platform = self.platform.clone();
        match level {
            FleetLevel::Newer => {
                platform.components = platform.components.map(|c| c + 1);
                platform.cpu_svn = platform.cpu_svn.map(|c| c.saturating_add(1));
                platform.pce_svn += 1;
                platform.tee_tcb_svn[2] = platform.tee_tcb_svn[2].saturating_add(1);
                platform.ppid[0] ^= 0x01;
            }
            FleetLevel::Older => {
                platform.pce_svn = platform.pce_svn.saturating_sub(1);
                platform.ppid[0] ^= 0x02;
            }
        }
        let mut pki = Pki::generate(self.seed, &platform, self.created)?;
        // The same keys (one seed) issued the new PCK certificate; the certificates above it
        // are this simulator's, as issued (ECDSA signatures differ between issuances).
        pki.root_der = self.pki.root_der.clone();
        pki.ca_der = self.pki.ca_der.clone();
        pki.processor_ca_der = self.pki.processor_ca_der.clone();
        pki.tcb_der = self.pki.tcb_der.clone();
        let qe = QuotingEnclave::new(&pki, self.seed, &platform)?;
        Ok(Self {
            seed: self.seed,
            created: self.created,
            platform,
            pki,
            qe,
        })
    }

    /// The platform this simulator certifies (its FMSPC and TCB values).
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// A new simulated platform and PKI; certificates valid from an hour before `created`.
    pub fn new(seed: u64, created: i64) -> Result<Self, SimError> {
        let platform = Platform::simulated(seed);
        let pki = Pki::generate(seed, &platform, created)?;
        let qe = QuotingEnclave::new(&pki, seed, &platform)?;
        Ok(Self {
            seed,
            created,
            platform,
            pki,
            qe,
        })
    }

    /// The state to keep (seed and certificates; keys are derived again from the seed).
    pub fn to_state(&self) -> Vec<u8> {
        let state = State {
            seed: self.seed,
            created: self.created,
            root: hex::encode(&self.pki.root_der),
            pck_platform_ca: hex::encode(&self.pki.ca_der),
            tcb_signing: hex::encode(&self.pki.tcb_der),
            pck: hex::encode(&self.pki.pck_der),
        };
        serde_json::to_vec_pretty(&state).unwrap_or_default()
    }

    pub fn from_state(bytes: &[u8]) -> Result<Self, SimError> {
        let bad = |e: String| SimError::State(e);
        let state: State = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let der = |h: &str| hex::decode(h).map_err(|e| bad(e.to_string()));
        let mut sim = Self::new(state.seed, state.created)?;
        // Certificates as they were issued (ECDSA signatures differ between issuances).
        sim.pki.root_der = der(&state.root)?;
        sim.pki.ca_der = der(&state.pck_platform_ca)?;
        sim.pki.tcb_der = der(&state.tcb_signing)?;
        sim.pki.pck_der = der(&state.pck)?;
        sim.qe = QuotingEnclave::new(&sim.pki, sim.seed, &sim.platform)?;
        Ok(sim)
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The TEE_TCB_SVN this platform's TDX module reports (the TD's launch TCB).
    pub fn tee_tcb_svn(&self) -> [u8; 16] {
        self.platform.tee_tcb_svn
    }

    pub fn root_ca_der(&self) -> &[u8] {
        &self.pki.root_der
    }

    pub fn root_ca_pem(&self) -> String {
        pem_block("CERTIFICATE", &self.pki.root_der)
    }

    pub fn pck_serial(&self) -> u64 {
        PCK_SERIAL
    }

    /// The files of a collateral directory for this platform.
    pub fn collateral(
        &self,
        options: &CollateralOptions,
    ) -> Result<Vec<(&'static str, Vec<u8>)>, SimError> {
        for status in [
            &options.tcb_status,
            &options.qe_tcb_status,
            &options.module_tcb_status,
        ] {
            if !TCB_STATUSES.contains(&status.as_str()) {
                return Err(SimError::Unsupported(format!(
                    "TCB status {status:?}; one of {TCB_STATUSES:?}"
                )));
            }
        }
        let mut fmspc = self.platform.fmspc;
        if options.wrong_fmspc {
            fmspc[5] ^= 0xff;
        }
        let spec = CollateralSpec {
            tee: options.tee,
            platform: &self.platform,
            fmspc,
            platform_status: &options.tcb_status,
            module_status: &options.module_tcb_status,
            qe_status: &options.qe_tcb_status,
            qe_mr_signer: qe_mr_signer(self.seed),
            window: options.window,
            revoke_pck: options.revoke_pck,
            revoke_pck_ca: options.revoke_pck_ca,
            processor_ca_crl: options.processor_ca_crl,
        };
        Ok(collateral(&self.pki, &spec)?.files)
    }

    /// A quote signed by the simulated QE for `workload`.
    pub fn quote(&self, workload: &Workload) -> Result<scute_quote::Quote, SimError> {
        self.quote_launched(workload, &LaunchMeasurements::default())
    }

    /// A quote signed by the simulated QE for `workload`, reporting the `launch` measurements
    /// that are set in place of the derived ones (signed after they are set, as a QE signs).
    pub fn quote_launched(
        &self,
        workload: &Workload,
        launch: &LaunchMeasurements,
    ) -> Result<scute_quote::Quote, SimError> {
        quote(&self.qe, self.seed, &self.platform, workload, launch, None)
    }

    /// A TDX v5 quote whose body descriptor names `td_body_type` (one of
    /// [`TD_BODY_TYPES`](crate::TD_BODY_TYPES): 2 TD 1.0, 3 TD 1.5, 4 TD 1.5 extended);
    /// `quote_launched` picks 3 for v5. Anything else is `SimError::Unsupported`.
    pub fn quote_td_body(
        &self,
        workload: &Workload,
        launch: &LaunchMeasurements,
        td_body_type: u16,
    ) -> Result<scute_quote::Quote, SimError> {
        quote(
            &self.qe,
            self.seed,
            &self.platform,
            workload,
            launch,
            Some(td_body_type),
        )
    }

    /// Signs `quote` again with the attestation key, as the QE would have signed it: for
    /// genuine quotes of bodies no `Workload` describes (TD attributes, say).
    pub fn resign(&self, quote: &mut scute_quote::Quote) -> Result<(), SimError> {
        quote.signature.signature = self.qe.sign(&quote.signed_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{FleetLevel, Simulator};

    #[test]
    fn fleet_platforms_share_the_pki_and_differ_in_tcb_and_pck() {
        let sim = Simulator::new(7, 1_800_000_000).unwrap();
        let newer = sim.fleet_platform(FleetLevel::Newer).unwrap();
        let older = sim.fleet_platform(FleetLevel::Older).unwrap();
        for other in [&newer, &older] {
            assert_eq!(other.root_ca_der(), sim.root_ca_der());
            assert_eq!(other.pki.ca_der, sim.pki.ca_der);
            assert_eq!(other.platform.fmspc, sim.platform.fmspc);
            assert_ne!(other.pki.pck_der, sim.pki.pck_der);
            assert_ne!(other.platform.ppid, sim.platform.ppid);
        }
        assert_eq!(newer.platform.pce_svn, sim.platform.pce_svn + 1);
        assert!(newer
            .platform
            .components
            .iter()
            .zip(sim.platform.components)
            .all(|(n, s)| *n == s + 1));
        assert_eq!(newer.tee_tcb_svn()[2], sim.tee_tcb_svn()[2] + 1);
        assert_eq!(older.platform.pce_svn + 1, sim.platform.pce_svn);
        assert_eq!(older.platform.components, sim.platform.components);
    }
}
