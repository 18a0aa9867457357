//! What a verified report says, as JSON claims for policies, tokens and the CLI: measurement,
//! host_data, report_data, guest_svn, the policy bits, vmpl, platform_info, the TCB values
//! (in the product's layout) and the chip or VLEK identity.

use crate::report::{platform_info, policy};
use crate::verify::VerifiedReport;
use serde_json::{json, Value};

/// The claims of a verified report.
pub fn report_json(verified: &VerifiedReport) -> Value {
    let r = verified.report();
    let layout = verified.tcb_layout();
    let p = r.policy;
    let bit = |mask: u64| p & mask != 0;
    let pi = r.platform_info;
    let version = |v: &[u8; 4]| match v {
        [build, minor, major, _] => format!("{major}.{minor}.{build}"),
    };
    let mut out = json!({
        "version": r.version,
        "product": verified.product().name(),
        "product_name": verified.product_name(),
        "signing_key": verified.signer().name(),
        "guest_svn": r.guest_svn,
        "measurement": hex::encode(r.measurement),
        "host_data": hex::encode(r.host_data),
        "report_data": hex::encode(r.report_data),
        "family_id": hex::encode(r.family_id),
        "image_id": hex::encode(r.image_id),
        "id_key_digest": hex::encode(r.id_key_digest),
        "author_key_digest": hex::encode(r.author_key_digest),
        "author_key_en": r.author_key_en(),
        "report_id": hex::encode(r.report_id),
        "report_id_ma": hex::encode(r.report_id_ma),
        "vmpl": r.vmpl,
        "policy": {
            "raw": format!("{p:#x}"),
            "abi_minor": p & 0xff,
            "abi_major": (p >> 8) & 0xff,
            "smt_allowed": bit(policy::SMT),
            "migrate_ma_allowed": bit(policy::MIGRATE_MA),
            "debug_allowed": bit(policy::DEBUG),
            "single_socket_required": bit(policy::SINGLE_SOCKET),
            "cxl_allowed": bit(policy::CXL_ALLOW),
            "mem_aes_256_xts_required": bit(policy::MEM_AES_256_XTS),
            "rapl_disabled": bit(policy::RAPL_DIS),
            "ciphertext_hiding_required": bit(policy::CIPHERTEXT_HIDING),
            "page_swap_disabled": bit(policy::PAGE_SWAP_DISABLE),
        },
        "platform_info": {
            "raw": format!("{pi:#x}"),
            "smt_enabled": pi & platform_info::SMT_EN != 0,
            "tsme_enabled": pi & platform_info::TSME_EN != 0,
            "ecc_enabled": pi & platform_info::ECC_EN != 0,
            "rapl_disabled": pi & platform_info::RAPL_DIS != 0,
            "ciphertext_hiding_enabled": pi & platform_info::CIPHERTEXT_HIDING_EN != 0,
            "alias_check_complete": pi & platform_info::ALIAS_CHECK_COMPLETE != 0,
            "tio_enabled": pi & platform_info::TIO_EN != 0,
        },
        "reported_tcb": r.reported_tcb.to_json(layout),
        "current_tcb": r.current_tcb.to_json(layout),
        "committed_tcb": r.committed_tcb.to_json(layout),
        "launch_tcb": r.launch_tcb.to_json(layout),
        "current_version": version(&r.current_version),
        "committed_version": version(&r.committed_version),
        "mask_chip_key": r.mask_chip_key(),
        "chip_id": hex::encode(r.chip_id),
        "hwid": verified.hwid().map(hex::encode),
        "csp_id": verified.csp_id(),
    });
    if let Some(map) = out.as_object_mut() {
        if let Some((family, model, stepping)) = r.cpuid() {
            map.insert(
                "cpuid".into(),
                json!({ "family": family, "model": model, "stepping": stepping }),
            );
        }
        if let Some((launch, current)) = r.mit_vectors() {
            map.insert("launch_mit_vector".into(), json!(format!("{launch:#x}")));
            map.insert("current_mit_vector".into(), json!(format!("{current:#x}")));
        }
    }
    out
}
