//! `scute measure snp`: reads the artefacts named on the command line and computes with
//! `scute_measure::snp`.

use super::{Measured, PutArgs};
use clap::Args;

#[derive(Args)]
pub struct SnpArgs {
    #[command(flatten)]
    pub put: PutArgs,
}

pub fn measure(_args: &SnpArgs) -> anyhow::Result<Measured> {
    anyhow::bail!("scute measure snp is being built")
}
