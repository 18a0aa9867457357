//! Report bodies as JSON objects with hex byte fields: the names used by the vectors'
//! expected.json (`result.report`), the `scute verify --json` contract and token claims.

use scute_quote::{Body, TdReport10};
use serde_json::{json, Map, Value};

fn td10_fields(td: &TdReport10, out: &mut Map<String, Value>) {
    fn h(bytes: impl AsRef<[u8]>) -> String {
        hex::encode(bytes)
    }
    let fields = [
        ("tee_tcb_svn", h(td.tee_tcb_svn)),
        ("mr_seam", h(td.mr_seam)),
        ("mr_signer_seam", h(td.mr_signer_seam)),
        ("seam_attributes", h(td.seam_attributes)),
        ("td_attributes", h(td.td_attributes)),
        ("xfam", h(td.xfam)),
        ("mr_td", h(td.mr_td)),
        ("mr_config_id", h(td.mr_config_id)),
        ("mr_owner", h(td.mr_owner)),
        ("mr_owner_config", h(td.mr_owner_config)),
        ("rtmr0", h(td.rtmr[0])),
        ("rtmr1", h(td.rtmr[1])),
        ("rtmr2", h(td.rtmr[2])),
        ("rtmr3", h(td.rtmr[3])),
        ("report_data", h(td.report_data)),
    ];
    for (name, value) in fields {
        out.insert(name.into(), Value::String(value));
    }
}

/// The report body as a JSON object; `kind` is SgxEnclave, TD10, TD15 or TD15Ex.
pub fn report_json(body: &Body) -> Value {
    let mut out = Map::new();
    match body {
        Body::Sgx(r) => {
            return json!({
                "kind": "SgxEnclave",
                "mr_enclave": hex::encode(r.mr_enclave),
                "mr_signer": hex::encode(r.mr_signer),
                "isv_prod_id": r.isv_prod_id,
                "isv_svn": r.isv_svn,
                "attributes": hex::encode(r.attributes),
                "misc_select": r.misc_select,
                "cpu_svn": hex::encode(r.cpu_svn),
                "config_id": hex::encode(r.config_id),
                "config_svn": r.config_svn,
                "isv_ext_prod_id": hex::encode(r.isv_ext_prod_id),
                "isv_family_id": hex::encode(r.isv_family_id),
                "report_data": hex::encode(r.report_data),
            });
        }
        Body::Td10(td) => {
            out.insert("kind".into(), "TD10".into());
            td10_fields(td, &mut out);
        }
        Body::Td15(td) => {
            out.insert("kind".into(), "TD15".into());
            td10_fields(&td.base, &mut out);
        }
        Body::Td15Ex(td) => {
            out.insert("kind".into(), "TD15Ex".into());
            td10_fields(&td.base.base, &mut out);
            out.insert("vmid".into(), td.vm_index.into());
            out.insert("td_id".into(), hex::encode(td.td_id).into());
            out.insert("dev_info".into(), hex::encode(td.dev_info).into());
            out.insert(
                "cur_service_td_hash".into(),
                hex::encode(td.cur_service_td_hash).into(),
            );
        }
    }
    if let Some(td15) = body.td15() {
        out.insert("tee_tcb_svn2".into(), hex::encode(td15.tee_tcb_svn2).into());
        out.insert(
            "mr_service_td".into(),
            hex::encode(td15.mr_service_td).into(),
        );
    }
    Value::Object(out)
}

/// The attribute flags the debug rule reads (SGX ATTRIBUTES.FLAGS, TDX TD_ATTRIBUTES) as a claim:
/// `flags` is the 64-bit value in hex (not the report's little-endian bytes), `set` names each
/// set bit. Whether they make the TEE a debug one is `Body::is_debug`.
pub fn attributes_json(body: &Body) -> Value {
    json!({
        "flags": format!("{:016x}", body.attribute_flags()),
        "set": body.attribute_names(),
    })
}
