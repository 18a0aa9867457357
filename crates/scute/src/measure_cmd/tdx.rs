//! `scute measure tdx`: reads the artefacts named on the command line and computes with
//! `scute_measure::tdx`.

use super::{Measured, PutArgs};
use clap::Args;

#[derive(Args)]
pub struct TdxArgs {
    #[command(flatten)]
    pub put: PutArgs,
}

pub fn measure(_args: &TdxArgs) -> anyhow::Result<Measured> {
    anyhow::bail!("scute measure tdx is being built")
}
