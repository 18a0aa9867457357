//! The launch-measurement options of `scute sim machine`: the values a simulated machine
//! reports instead of its defaults, so that a measurement computed from build artefacts
//! (`scute measure`) and the reported one meet. Parsed here (hex of the exact length, exit 2
//! otherwise); kept in the machine's `machine.json` by scute-attester.

use clap::Args;
use scute_attester::{GuestTee, LaunchMeasurements};

/// `N` bytes of hex, kept lowercase as the verifier prints it.
fn hex_of<const N: usize>(text: &str) -> Result<String, String> {
    let bytes = hex::decode(text).map_err(|e| format!("not hex: {e}"))?;
    if bytes.len() != N {
        return Err(format!("{} bytes of hex, not {N}", bytes.len()));
    }
    Ok(hex::encode(bytes))
}

fn hex32(text: &str) -> Result<String, String> {
    hex_of::<32>(text)
}

fn hex48(text: &str) -> Result<String, String> {
    hex_of::<48>(text)
}

#[derive(Args)]
pub(crate) struct LaunchArgs {
    /// TDX: the MRTD the machine reports, 48 bytes hex [default: derived from the seed].
    #[arg(long, value_parser = hex48)]
    mr_td: Option<String>,
    /// TDX: RTMR0, 48 bytes hex (the machine sends no event log, so any value is consistent).
    #[arg(long, value_parser = hex48)]
    rtmr0: Option<String>,
    /// TDX: RTMR1, 48 bytes hex.
    #[arg(long, value_parser = hex48)]
    rtmr1: Option<String>,
    /// TDX: RTMR2, 48 bytes hex.
    #[arg(long, value_parser = hex48)]
    rtmr2: Option<String>,
    /// TDX: RTMR3, 48 bytes hex.
    #[arg(long, value_parser = hex48)]
    rtmr3: Option<String>,
    /// SGX: the MRENCLAVE the machine reports, 32 bytes hex.
    #[arg(long, value_parser = hex32)]
    mr_enclave: Option<String>,
    /// SGX: the MRSIGNER, 32 bytes hex.
    #[arg(long, value_parser = hex32)]
    mr_signer: Option<String>,
    /// SGX: the ISVPRODID [default: 1].
    #[arg(long)]
    isv_prod_id: Option<u16>,
    /// SGX: the ISVSVN [default: 1].
    #[arg(long)]
    isv_svn: Option<u16>,
    /// SEV-SNP: the launch MEASUREMENT the machine reports, 48 bytes hex.
    #[arg(long, value_parser = hex48)]
    measurement: Option<String>,
    /// CSV: the launch MEASURE the machine reports, 32 bytes hex.
    #[arg(long, value_parser = hex32)]
    measure: Option<String>,
}

impl LaunchArgs {
    /// The chosen measurements, refused when one belongs to another TEE than `tee`; `None`
    /// when none is chosen (the machine keeps its defaults and its `machine.json` as before).
    pub(crate) fn for_tee(self, tee: GuestTee) -> anyhow::Result<Option<LaunchMeasurements>> {
        let launch = LaunchMeasurements {
            mr_td: self.mr_td,
            rtmr0: self.rtmr0,
            rtmr1: self.rtmr1,
            rtmr2: self.rtmr2,
            rtmr3: self.rtmr3,
            mr_enclave: self.mr_enclave,
            mr_signer: self.mr_signer,
            isv_prod_id: self.isv_prod_id,
            isv_svn: self.isv_svn,
            measurement: self.measurement,
            measure: self.measure,
        };
        if launch == LaunchMeasurements::default() {
            return Ok(None);
        }
        if let Some((name, owner)) = launch.foreign_field(tee) {
            anyhow::bail!(
                "--{} is for {} machines, not {}",
                name.replace('_', "-"),
                owner.name(),
                tee.name()
            );
        }
        launch.check(tee)?;
        Ok(Some(launch))
    }
}
