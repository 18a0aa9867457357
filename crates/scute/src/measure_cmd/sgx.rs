//! `scute measure sgx`: reads the SIGSTRUCT named on the command line and computes with
//! `scute_measure::sgx`. Prints `mr_enclave`, `mr_signer`, `isv_prod_id` and `isv_svn`; the
//! attributes go to stderr only, because a SIGSTRUCT fixes them under a mask (the platform
//! chooses the masked-out XFRM bits), so they are not a value the evidence must equal.

use super::{Measured, PutArgs, Refused};
use anyhow::Context;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct SgxArgs {
    /// The enclave's SIGSTRUCT (1808 bytes), e.g. Gramine's `.sig` file.
    #[arg(long, value_name = "FILE")]
    pub sigstruct: PathBuf,
    #[command(flatten)]
    pub put: PutArgs,
}

pub(super) fn measure(args: &SgxArgs) -> anyhow::Result<Measured> {
    let bytes = std::fs::read(&args.sigstruct)
        .with_context(|| format!("reading {}", args.sigstruct.display()))?;
    let id = scute_measure::sgx::measure(&bytes).map_err(Refused)?;
    eprintln!(
        "scute: SIGSTRUCT verified; attributes {} under mask {}, miscselect {:08x} under mask {:08x}, date {:08x} (not reference values: the enclave's equal them only under the masks)",
        hex::encode(id.attributes),
        hex::encode(id.attribute_mask),
        id.misc_select,
        id.misc_mask,
        id.date,
    );
    let mut out = Measured::new();
    out.insert("mr_enclave".into(), json!([hex::encode(id.mr_enclave)]));
    out.insert("mr_signer".into(), json!([hex::encode(id.mr_signer)]));
    out.insert("isv_prod_id".into(), json!([id.isv_prod_id]));
    out.insert("isv_svn".into(), json!([id.isv_svn]));
    Ok(out)
}
