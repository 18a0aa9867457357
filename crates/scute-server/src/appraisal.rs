//! Appraisal: a verified quote (and replayed event log) becomes claims; Rego policies (regorus)
//! turn claims and reference values into an AR4SI trustworthiness vector and optional denials;
//! the vector's worst tier is the EAR status. Policies are compiled once and cloned per request.

use regorus::{Engine, Value as RegoValue};
use scute_dcap::{format_rfc3339, report_json, VerifiedQuote};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub const DEFAULT_POLICY_ID: &str = "default";

/// The built-in policy: hardware affirming only when UpToDate (SEV-SNP: when the chain and TCB
/// match); warning when hardening or configuration is needed; contraindicated when out of date
/// or debug. Executables affirming only
/// when every measurement with reference values matches one of them.
pub const DEFAULT_POLICY: &str = r#"package scute

import rego.v1

needs_update := {"SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
	"TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded"}

default hardware := 97

hardware := 2 if {
	input.tcb_status == "UpToDate"
	not input.debug
}

hardware := 32 if {
	input.tcb_status in needs_update
	not input.debug
}

hardware := 96 if input.tcb_status in {"OutOfDate", "OutOfDateConfigurationNeeded"}

# SEV-SNP: verification proved the chain to AMD's root and that the VCEK/VLEK is AMD's for
# exactly the reported TCB. AMD publishes no status to rank a TCB, and its KDS certifies old
# ones too: an operator's minimum (reference value `snp_min_tcb`: objects of SPL values, e.g.
# {"bootloader": 9, "tee": 0, "snp": 23, "microcode": 213}) marks older TCBs as needing an
# update. A report from above VMPL 0 (an SVSM's or paravisor's guest OS asking for its own
# report data) is not the launch-measured firmware speaking: not affirming.
snp_tcb_below_minimum if {
	some minimum in data.reference.snp_min_tcb
	some component, value in minimum
	input.report.reported_tcb[component] < value
}

hardware := 2 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	input.report.vmpl == 0
	not snp_tcb_below_minimum
	not input.debug
}

hardware := 32 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	not input.debug
	snp_tcb_below_minimum
}

hardware := 32 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	not input.debug
	not snp_tcb_below_minimum
	input.report.vmpl != 0
}

# Hygon CSV has no TCB status: a verified chain is affirming unless the guest is debug. A V1
# report signs only its first 0xB4 bytes; the rest is XOR-ed with an anonce the host (of a
# debug guest) can choose, compensated in report_data. The decoded fields, the debug bit among
# them, are proven only when `measure` is one the operator trusts (any XOR pattern changes it)
# or the report is V2 (signed whole).
csv_fields_proven if input.quote_version == 2

csv_fields_proven if {
	input.quote_version == 1
	input.measurements.measure in data.reference.measure
}

hardware := 2 if {
	input.tee == "csv"
	csv_fields_proven
	not input.debug
}

hardware := 32 if {
	input.tee == "csv"
	not csv_fields_proven
	not input.debug
}

hardware := 96 if input.debug

# Measurements that have reference values.
checked contains name if {
	input.measurements[name]
	data.reference[name]
}

default executables := 33

executables := 2 if {
	count(checked) > 0
	every name in checked {
		input.measurements[name] in data.reference[name]
	}
}

default configuration := 2

configuration := 32 if {
	contains(input.tcb_status, "Configuration")
	not input.debug
}

configuration := 96 if input.debug

default runtime_opaque := 2

runtime_opaque := 96 if input.debug

trust_vector := {
	"instance-identity": 2,
	"configuration": configuration,
	"executables": executables,
	"hardware": hardware,
	"runtime-opaque": runtime_opaque,
}
"#;

/// Compiles a policy; it must declare `package scute` and define `trust_vector`.
pub fn compile(id: &str, rego: &str) -> Result<Engine, String> {
    let mut engine = Engine::new();
    let package = engine
        .add_policy(format!("{id}.rego"), rego.to_string())
        .map_err(|e| e.to_string())?;
    if package != "data.scute" {
        return Err(format!(
            "policy declares {package}; it must be `package scute`"
        ));
    }
    Ok(engine)
}

/// Compiled policies with the current reference values loaded as `data.reference`.
#[derive(Default)]
pub struct Policies {
    /// Each policy, and whether it declares `deny`.
    engines: HashMap<String, (Arc<Engine>, bool)>,
}

impl Policies {
    /// Builds every policy (the stored ones override the built-in default).
    pub fn build(stored: &[(String, String)], reference: &Value) -> Result<Self, String> {
        let mut engines = HashMap::new();
        let data = RegoValue::from_json_str(&json!({ "reference": reference }).to_string())
            .map_err(|e| e.to_string())?;
        let mut add = |id: &str, rego: &str| -> Result<(), String> {
            let mut engine = compile(id, rego).map_err(|e| format!("policy {id}: {e}"))?;
            engine.add_data(data.clone()).map_err(|e| e.to_string())?;
            let has_deny = engine
                .has_declared_rule_rooted_at(&format!("{id}.rego"), "deny")
                .map_err(|e| format!("policy {id}: {e}"))?;
            engines.insert(id.to_string(), (Arc::new(engine), has_deny));
            Ok(())
        };
        add(DEFAULT_POLICY_ID, DEFAULT_POLICY)?;
        for (id, rego) in stored {
            add(id, rego)?;
        }
        Ok(Self { engines })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.engines.contains_key(id)
    }

    /// Evaluates one policy on `claims`: its trust vector and its denials.
    pub fn evaluate(
        &self,
        id: &str,
        claims: &Value,
    ) -> Result<(BTreeMap<String, i64>, Vec<String>), String> {
        let (engine, has_deny) = self
            .engines
            .get(id)
            .ok_or_else(|| format!("no policy {id:?}"))?;
        let mut engine = (**engine).clone();
        engine.set_input(RegoValue::from_json_str(&claims.to_string()).map_err(|e| e.to_string())?);
        let vector = engine
            .eval_rule("data.scute.trust_vector".into())
            .map_err(|e| format!("policy {id}: {e}"))?;
        let vector: BTreeMap<String, i64> = serde_json::from_str(
            &vector.to_json_str().map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("policy {id}: trust_vector is not an object of integers: {e}"))?;
        // A declared `deny` that fails to evaluate fails the appraisal: an error is not "no
        // reasons to deny" (the attester may have chosen input that makes the rule fail).
        let deny = if !*has_deny {
            Vec::new()
        } else {
            match engine
                .eval_rule("data.scute.deny".into())
                .map_err(|e| format!("policy {id}: deny: {e}"))?
            {
                RegoValue::Undefined => Vec::new(),
                v => {
                    let text = v.to_json_str().map_err(|e| e.to_string())?;
                    serde_json::from_str::<Vec<String>>(&text)
                        .map_err(|e| format!("policy {id}: deny is not a set of strings: {e}"))?
                }
            }
        };
        Ok((vector, deny))
    }
}

/// AR4SI tier of one claim value: 2..31 affirming, 32..95 warning, 96..127 contraindicated.
pub fn tier(value: i64) -> u8 {
    match value.unsigned_abs() {
        96.. => 96,
        32..=95 => 32,
        2..=31 => 2,
        _ => 0,
    }
}

pub fn status_name(tier: u8) -> &'static str {
    match tier {
        96 => "contraindicated",
        32 => "warning",
        2 => "affirming",
        _ => "none",
    }
}

/// The measurements a policy compares with reference values.
fn measurements(report: &Value) -> Value {
    let keys: &[&str] = if report["kind"] == "SgxEnclave" {
        &[
            "mr_enclave",
            "mr_signer",
            "isv_prod_id",
            "isv_svn",
            "attributes",
            "config_id",
        ]
    } else {
        &[
            "mr_td",
            "rtmr0",
            "rtmr1",
            "rtmr2",
            "rtmr3",
            "mr_config_id",
            "mr_owner",
            "mr_owner_config",
            "td_attributes",
            "xfam",
            "mr_seam",
        ]
    };
    Value::Object(
        keys.iter()
            .filter_map(|k| report.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// Claims about a verified quote, the runtime data it binds, and the decoded event log.
pub fn claims(verified: &VerifiedQuote, runtime_data: &Value, event_log: Option<Value>) -> Value {
    let quote = verified.quote();
    let report = report_json(&quote.body);
    let mut claims = json!({
        "tee": quote.tee_type().name(),
        "quote_version": quote.header.version,
        "tcb_status": verified.tcb_status().name(),
        "advisory_ids": verified.advisory_ids(),
        "platform_tcb_status": verified.platform().status.name(),
        "qe_tcb_status": verified.qe().status.name(),
        "tcb_evaluation_data_number": verified.tcb_evaluation_data_number(),
        "fmspc": hex::encode(verified.pck().fmspc),
        "debug": verified.is_debug(),
        "attributes": scute_dcap::attributes_json(&quote.body),
        "collateral_expires": format_rfc3339(verified.collateral_expires()),
        "measurements": measurements(&report),
        "report": report,
        "runtime_data": runtime_data,
    });
    if let Some(log) = event_log {
        claims["event_log"] = log;
    }
    claims
}

/// Most policies one request may add.
pub const MAX_REQUEST_POLICIES: usize = 16;

pub fn check_request_policy_ids(ids: &[String]) -> Result<(), crate::ApiError> {
    if ids.len() > MAX_REQUEST_POLICIES {
        return Err(crate::ApiError::bad_request(
            "bad_field",
            format!(
                "policy_ids names {} policies; at most {MAX_REQUEST_POLICIES}",
                ids.len()
            ),
        ));
    }
    Ok(())
}

/// The relying side chooses the judge: the mandatory policies always apply, a request can only
/// add to them. Order kept, duplicates dropped.
pub fn applied_policy_ids(
    config: &crate::Config,
    extra: &[String],
) -> Result<Vec<String>, crate::ApiError> {
    check_request_policy_ids(extra)?;
    let mut ids: Vec<String> = Vec::new();
    for id in config.mandatory_policies.iter().chain(extra) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    Ok(ids)
}
