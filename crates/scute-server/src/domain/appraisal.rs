//! Appraisal: a verified quote (and replayed event log) becomes claims; Rego policies (regorus)
//! turn claims and reference values into an AR4SI trustworthiness vector and optional denials;
//! the vector's worst tier is the EAR status. Policies are compiled and prepared once; a request
//! converts its claims once and only evaluates.

pub use crate::config::DEFAULT_POLICY_ID;
use crate::problem::Kind;
use crate::store::Store;
use regorus::{CompiledPolicy, Engine, Value as RegoValue};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The built-in policy: hardware affirming only when UpToDate (SEV-SNP: when the chain and TCB
/// match); warning when hardening or configuration is needed; contraindicated when out of date
/// or debug. Executables affirming only when the root of the TEE's measurement chain matches a
/// reference value and every other measured value with reference values matches one of them;
/// the fields a host or owner chooses at launch feed configuration and instance-identity.
pub const DEFAULT_POLICY: &str = r#"package scute

import rego.v1

# Each property is decided by one rule: an `else` chain whose first matching branch wins, so
# no two branches can disagree, and a request evaluates only the branches before its own.

needs_update := {"SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded"}

# A TD launched on an out-of-date TCB that the platform has since left (QVL 2026).
relaunch_advised := {"TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded"}

out_of_date := {"OutOfDate", "OutOfDateConfigurationNeeded"}

default hardware := 97

hardware := 96 if {
	input.debug
} else := 2 if {
	# SEV-SNP: verification proved the chain to AMD's root and that the VCEK/VLEK is AMD's
	# for exactly the reported TCB. AMD publishes no status to rank a TCB, and its KDS
	# certifies old ones too: an operator's minimums (reference values `snp_min_tcb`,
	# `snp_min_launch_tcb`, `snp_min_mit_vector`; docs/tcb-baselines.md) mark older TCBs as
	# needing an update. A report from above VMPL 0 (an SVSM's or paravisor's guest OS asking
	# for its own report data) is not the launch-measured firmware speaking.
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	input.report.vmpl == 0
	not snp_below_minimum
} else := 32 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	snp_below_minimum
} else := 32 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	input.report.vmpl != 0
} else := 2 if {
	# Hygon CSV has no TCB status: a verified chain is affirming, once its fields are proven.
	input.tee == "csv"
	csv_fields_proven
} else := 32 if {
	input.tee == "csv"
} else := 96 if {
	# DCAP collateral older than the operator's `tcb_min_evaluation_data_number` is not
	# appraised against, whatever status it gives.
	input.tee in {"sgx", "tdx"}
	evaluation_data_below_minimum
} else := 2 if {
	input.tcb_status == "UpToDate"
} else := 32 if {
	input.tcb_status in needs_update
} else := 32 if {
	# A TD that only needs a relaunch: a warning, unless the operator set how long it
	# tolerates an out-of-date TCB (then it is judged as one, below: its launch TCB is).
	input.tcb_status in relaunch_advised
	not tolerance_set
} else := 32 if {
	# An out-of-date platform the operator tolerates for now (`tcb_baseline_date`,
	# `tcb_grace_days`): a warning, not contraindicated. Debug (above) and Revoked never.
	input.tee in {"sgx", "tdx"}
	input.tcb_status in tolerable
	out_of_date_tolerated
} else := 96 if {
	input.tcb_status in tolerable
}

tolerable := out_of_date | relaunch_advised

# SEV-SNP minimums: a reported TCB below any minimum of `snp_min_tcb`, a launch TCB below any of
# `snp_min_launch_tcb` (objects of SPL values, e.g. {"bootloader": 9, "tee": 0, "snp": 23,
# "microcode": 213}), or a current mitigation vector (report v5) lacking a bit of
# `snp_min_mit_vector`.
snp_below_minimum if snp_tcb_below_minimum

snp_below_minimum if {
	some minimum in data.reference.snp_min_launch_tcb
	some component, value in minimum
	input.report.launch_tcb[component] < value
}

snp_below_minimum if {
	some minimum in data.reference.snp_min_mit_vector
	not mit_vector_covers(input.report.current_mit_vector, minimum)
}

snp_tcb_below_minimum if {
	some minimum in data.reference.snp_min_tcb
	some component, value in minimum
	input.report.reported_tcb[component] < value
}

# Whether a report's mitigation vector (`0x..` hex, as the claims write it) has every bit set
# that `minimum` (an integer) has. Undefined for a report without one (before v5): it fails.
mit_vector_covers(vector, minimum) if {
	is_string(vector)
	startswith(vector, "0x")
	is_number(minimum)
	digits := split(trim_prefix(vector, "0x"), "")
	missing := [bit |
		some nibble in numbers.range(0, 15)
		some offset in numbers.range(0, 3)
		bit := (4 * nibble) + offset
		bits.and(bits.rsh(minimum, bit), 1) == 1
		not hex_bit(digits, nibble, offset)
	]
	count(missing) == 0
}

hex_digit := {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9,
	"a": 10, "b": 11, "c": 12, "d": 13, "e": 14, "f": 15}

# Bit `offset` of hex digit `nibble`, counted from the last digit.
hex_bit(digits, nibble, offset) if {
	position := (count(digits) - 1) - nibble
	position >= 0
	bits.and(bits.rsh(hex_digit[digits[position]], offset), 1) == 1
}

# DCAP baselines and grace windows (reference values; docs/tcb-baselines.md). Where several
# values are in force (the admin's beside signed documents'), the strictest holds: each one
# must be met.
evaluation_data_below_minimum if {
	some minimum in data.reference.tcb_min_evaluation_data_number
	not input.tcb_evaluation_data_number >= minimum
}

# Some tolerance is set. When both are, both must hold: a setting can only narrow what the
# other tolerates, so a value from one source (a signed document) cannot widen what another
# (the admin) allows.
tolerance_set if {
	some _ in data.reference.tcb_baseline_date
}

tolerance_set if {
	some _ in data.reference.tcb_grace_days
}

out_of_date_tolerated if {
	tolerance_set
	baseline_met
	grace_met
}

# The platform's TCB date is at or after every `tcb_baseline_date` (none set: met).
baseline_met if {
	baselines := object.get(data.reference, "tcb_baseline_date", [])
	count([b | some b in baselines; tcb_date_at_or_after(b)]) == count(baselines)
}

# The level that superseded the platform's was published fewer than every `tcb_grace_days`
# days ago (none set: met; `days_behind` null, when nothing superseded it, meets no window).
grace_met if {
	not data.reference.tcb_grace_days
}

grace_met if {
	windows := data.reference.tcb_grace_days
	is_number(input.days_behind)
	count([n | some n in windows; is_number(n); input.days_behind < n]) == count(windows)
}

tcb_date_at_or_after(baseline) if {
	utc_instant(input.tcb_date) >= utc_instant(baseline)
}

# An instant as fixed-width UTC text, `YYYY-MM-DDThh:mm:ssZ` (Intel's tcbDate form; a date is
# its midnight), so text order is time order. Undefined for any other form: no grace.
utc_instant(text) := concat("", [text, "T00:00:00Z"]) if {
	is_string(text)
	count(text) == 10
}

utc_instant(text) := text if {
	is_string(text)
	count(text) == 20
	substring(text, 10, 1) == "T"
	endswith(text, "Z")
}

# A CSV V1 report signs only its first 0xB4 bytes; the rest is XOR-ed with an anonce the host
# (of a debug guest) can choose, compensated in report_data. The decoded fields, the debug bit
# among them, are proven only when `measure` is one the operator trusts (any XOR pattern
# changes it) or the report is V2 (signed whole).
csv_fields_proven if input.quote_version == 2

csv_fields_proven if {
	input.quote_version == 1
	input.measurements.measure in data.reference.measure
}

# Code identity (README "Code identity"): executables is affirming only when the root of the
# TEE's own measurement chain matches a reference value, and every other measurement that has
# reference values matches one too. The roots: TDX `mr_td`; SGX `mr_enclave`, or `mr_signer`
# with `isv_prod_id` and an `isv_svn` at or above one of `isv_svn_min`; SEV-SNP `measurement`;
# CSV `measure`. RTMRs (any guest can extend them with the digests an honest boot logs) and the
# fields the host or owner chooses at launch never suffice alone; the chosen fields are not
# code at all and are judged by configuration and instance-identity below.
default executables := 33

executables := 2 if {
	code_root
	not code_mismatch
}

code_root if {
	input.tee == "tdx"
	input.measurements.mr_td in data.reference.mr_td
}

code_root if {
	input.tee == "sgx"
	input.measurements.mr_enclave in data.reference.mr_enclave
}

code_root if {
	input.tee == "sgx"
	input.measurements.mr_signer in data.reference.mr_signer
	input.measurements.isv_prod_id in data.reference.isv_prod_id
	some minimum in data.reference.isv_svn_min
	is_number(minimum)
	input.measurements.isv_svn >= minimum
}

code_root if {
	input.tee == "snp"
	input.measurements.measurement in data.reference.measurement
}

code_root if {
	input.tee == "csv"
	input.measurements.measure in data.reference.measure
}

# Fields the host or the guest owner chooses at launch, by the claim they feed. Configuration:
# TDX MRCONFIGID (Confidential Containers' init-data digest) and MROWNERCONFIG, SEV-SNP
# HOST_DATA (init-data digest), SGX CONFIGID. Instance identity: TDX MROWNER, SEV-SNP FAMILY_ID
# and IMAGE_ID (the ID block's names for the guest).
configuration_fields := {"mr_config_id", "mr_owner_config", "host_data", "config_id"}

identity_fields := {"mr_owner", "family_id", "image_id"}

# Reference values that are settings of the rules above, never measurements.
settings := {"snp_min_tcb", "snp_min_launch_tcb", "snp_min_mit_vector",
	"tcb_min_evaluation_data_number", "tcb_baseline_date", "tcb_grace_days"}

code_mismatch if {
	some name, _ in data.reference
	not name in configuration_fields
	not name in identity_fields
	not name in settings
	reference_mismatch(name)
}

# The evidence carries a measurement `name` has reference values for, and it is none of them.
reference_mismatch(name) if {
	value := input.measurements[name]
	values := data.reference[name]
	values
	not value in values
}

default configuration := 2

configuration := 96 if {
	input.debug
} else := 96 if {
	some name in configuration_fields
	reference_mismatch(name)
} else := 32 if {
	contains(input.tcb_status, "Configuration")
}

# Unrecognized (97) when a registered identity field names another instance; with none
# registered, or all matching, the verified chain identifies the instance as before.
default instance_identity := 2

instance_identity := 97 if {
	some name in identity_fields
	reference_mismatch(name)
}

default runtime_opaque := 2

runtime_opaque := 96 if input.debug

trust_vector := {
	"instance-identity": instance_identity,
	"configuration": configuration,
	"executables": executables,
	"hardware": hardware,
	"runtime-opaque": runtime_opaque,
}
"#;

/// Compiles a policy; it must declare `package scute` and define `trust_vector`.
pub(crate) fn compile(id: &str, rego: &str) -> Result<Engine, String> {
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

const TRUST_VECTOR_RULE: &str = "data.scute.trust_vector";
const DENY_RULE: &str = "data.scute.deny";

/// One policy, compiled and prepared once (analysis, scheduling, loop hoisting) with the
/// reference values it reads as `data`: a request only evaluates it. Any faster path is held
/// to a fresh interpreter's verdicts by `the_prepared_policy_judges_as_a_fresh_interpreter_does`
/// (regorus 0.14's bytecode VM was five times faster, and failed it: its `every` affirmed a
/// mismatched measurement).
struct CompiledRules {
    trust_vector: CompiledPolicy,
    deny: Option<CompiledPolicy>,
}

impl CompiledRules {
    fn new(id: &str, rego: &str, data: RegoValue) -> Result<Self, String> {
        let mut engine = compile(id, rego).map_err(|e| format!("policy {id}: {e}"))?;
        engine.add_data(data).map_err(|e| e.to_string())?;
        let has_deny = engine
            .has_declared_rule_rooted_at(&format!("{id}.rego"), "deny")
            .map_err(|e| format!("policy {id}: {e}"))?;
        let mut entry = |rule: &str| {
            engine
                .compile_with_entrypoint(&rule.into())
                .map_err(|e| format!("policy {id}: {rule}: {e}"))
        };
        let trust_vector = entry(TRUST_VECTOR_RULE)?;
        let deny = if has_deny {
            Some(entry(DENY_RULE)?)
        } else {
            None
        };
        Ok(Self { trust_vector, deny })
    }

    fn run(&self, input: &RegoInput, rule: &str) -> Result<RegoValue, String> {
        let policy = match rule {
            DENY_RULE => self.deny.as_ref().ok_or("the policy declares no deny")?,
            _ => &self.trust_vector,
        };
        policy
            .eval_with_input(input.0.clone())
            .map_err(|e| e.to_string())
    }
}

/// Checks that `rego` is a policy this service can evaluate: `package scute`, and a
/// `trust_vector` (and any `deny`) that compile.
pub(crate) fn check(id: &str, rego: &str) -> Result<(), String> {
    CompiledRules::new(id, rego, RegoValue::new_object()).map(|_| ())
}

/// What every policy of one appraisal reads as `input` (docs/policy-input.md): the verified
/// evidence's claims, and beside them, under their own names so they can never shadow a claim,
/// what the attester chose (`runtime_data`) and the init-data its digest binds (`init_data`).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct PolicyInput {
    #[serde(flatten)]
    pub claims: crate::tee::Claims,
    /// Attester-chosen: open JSON (the KBS's `runtime-data`, `/v1/attest`'s `runtime_data`).
    pub runtime_data: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_data: Option<InitDataClaims>,
}

/// Init-data as a policy reads it: the digest the TEE's init-data field carries, and the
/// `data` table of the TOML that digest proves (attester-chosen content: open JSON).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct InitDataClaims {
    pub digest: scute_tee::Hex<Vec<u8>>,
    pub data: Value,
}

/// The policy input converted once to what the Rego engine reads.
#[derive(Debug)]
pub(crate) struct RegoInput(RegoValue);

impl RegoInput {
    /// JSON as policy input (the Rego boundary).
    pub(crate) fn from_json(claims: &Value) -> Result<Self, String> {
        use serde::Deserialize as _;
        // regorus reads an object keyed `$serde_json::private::Number` as a number of any size
        // (`1e2000000000` is a bignum of gigabytes): attester-chosen runtime or init data must
        // not smuggle one in.
        if let Some(key) = scute_api::serde_private_key(claims) {
            return Err(format!("claims carry the reserved key {key:?}"));
        }
        RegoValue::deserialize(claims)
            .map(Self)
            .map_err(|e| format!("claims as policy input: {e}"))
    }

    /// The Rego value, for an engine other than these policies' (the key broker's resource
    /// policy).
    pub(crate) fn into_value(self) -> RegoValue {
        self.0
    }
}

/// Compiled policies with the current reference values loaded as `data.reference`.
#[derive(Default)]
pub(crate) struct Policies {
    engines: HashMap<String, Arc<CompiledRules>>,
    /// The reference values compiled in, with their provenance (what the token reports).
    reference: crate::domain::reference::InForce,
}

impl Policies {
    /// Builds every policy (the stored ones override the built-in default).
    pub(crate) fn build(stored: &[(String, String)], reference: &Value) -> Result<Self, String> {
        let mut engines = HashMap::new();
        let data = RegoValue::from_json_str(&json!({ "reference": reference }).to_string())
            .map_err(|e| e.to_string())?;
        let mut add = |id: &str, rego: &str| -> Result<(), String> {
            engines.insert(
                id.to_string(),
                Arc::new(CompiledRules::new(id, rego, data.clone())?),
            );
            Ok(())
        };
        add(DEFAULT_POLICY_ID, DEFAULT_POLICY)?;
        for (id, rego) in stored {
            add(id, rego)?;
        }
        Ok(Self {
            engines,
            reference: Default::default(),
        })
    }

    /// Builds every policy with the reference values in force as `data.reference`.
    pub(crate) fn build_in_force(
        stored: &[(String, String)],
        reference: crate::domain::reference::InForce,
    ) -> Result<Self, String> {
        let mut policies = Self::build(stored, &reference.data())?;
        policies.reference = reference;
        Ok(policies)
    }

    /// The reference values the policies read, with their provenance.
    pub(crate) fn reference(&self) -> &crate::domain::reference::InForce {
        &self.reference
    }

    /// Whether a signed document started or stopped counting since these were built.
    pub(crate) fn stale_at(&self, now: i64) -> bool {
        self.reference.stale_at(now)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.engines.contains_key(id)
    }

    /// Evaluates one policy on the claims: its trust vector and its denials.
    pub(crate) fn evaluate(
        &self,
        id: &str,
        input: &RegoInput,
    ) -> Result<(BTreeMap<String, i64>, Vec<String>), String> {
        let rules = self
            .engines
            .get(id)
            .ok_or_else(|| format!("no policy {id:?}"))?;
        let vector = rules
            .run(input, TRUST_VECTOR_RULE)
            .map_err(|e| format!("policy {id}: {e}"))?;
        let vector = trust_vector(&vector)
            .map_err(|e| format!("policy {id}: trust_vector is not an object of integers: {e}"))?;
        // A declared `deny` that fails to evaluate fails the appraisal: an error is not "no
        // reasons to deny" (the attester may have chosen input that makes the rule fail).
        let deny = if rules.deny.is_none() {
            Vec::new()
        } else {
            match rules
                .run(input, DENY_RULE)
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

/// A trust vector as the policy produced it: an object of integer claims.
fn trust_vector(value: &RegoValue) -> Result<BTreeMap<String, i64>, String> {
    let object = value.as_object().map_err(|e| e.to_string())?;
    object
        .iter()
        .map(|(claim, value)| {
            let claim = claim.as_string().map_err(|e| e.to_string())?;
            let value = value.as_i64().map_err(|e| format!("{claim}: {e}"))?;
            Ok((claim.to_string(), value))
        })
        .collect()
}

/// Most policies one request may add.
pub(crate) const MAX_REQUEST_POLICIES: usize = scute_api::MAX_POLICY_IDS;

pub(crate) fn check_request_policy_ids(ids: &[String]) -> Result<(), crate::problem::Problem> {
    if ids.len() > MAX_REQUEST_POLICIES {
        return Err(crate::problem::Problem::new(
            Kind::BadField,
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
pub(crate) fn applied_policy_ids(
    config: &crate::config::Config,
    extra: &[String],
) -> Result<Vec<String>, crate::problem::Problem> {
    check_request_policy_ids(extra)?;
    let mut ids: Vec<String> = Vec::new();
    for id in config.mandatory_policies.iter().chain(extra) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    Ok(ids)
}

/// Every policy, compiled with the reference values in force at `now` (the admin's unless
/// `admin_values_count` is false, and the valid signed documents of the configured `signers`).
pub(crate) async fn load_policies(
    store: &Store,
    now: i64,
    admin_values_count: bool,
    signers: &[scute_refvalues::Signer],
) -> Result<Policies, String> {
    let reference =
        crate::domain::reference::InForce::load(store, now, admin_values_count, signers).await?;
    let ids = store_policy_ids(store).await.map_err(|e| e.to_string())?;
    let mut stored = Vec::new();
    for id in ids {
        if let Some(rego) = store.policy(&id).await.map_err(|e| e.to_string())? {
            stored.push((id, rego));
        }
    }
    Policies::build_in_force(&stored, reference)
}

async fn store_policy_ids(store: &Store) -> Result<Vec<String>, sqlx::Error> {
    store.policy_ids().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ear::EarStatus;

    fn tier(value: i64) -> EarStatus {
        EarStatus::of_claim(value)
    }

    /// The tree-walking interpreter, evaluating `rule` of a policy as the service once did.
    fn interpret(
        rego: &str,
        reference: &Value,
        claims: &Value,
        rule: &str,
    ) -> Result<RegoValue, String> {
        let mut engine = compile("p", rego).unwrap();
        engine
            .add_data(
                RegoValue::from_json_str(&json!({ "reference": reference }).to_string()).unwrap(),
            )
            .unwrap();
        engine.set_input(RegoValue::from_json_str(&claims.to_string()).unwrap());
        engine.eval_rule(rule.into()).map_err(|e| e.to_string())
    }

    fn prepared(
        rego: &str,
        reference: &Value,
        claims: &Value,
        rule: &str,
    ) -> Result<RegoValue, String> {
        let data =
            RegoValue::from_json_str(&json!({ "reference": reference }).to_string()).unwrap();
        let rules = CompiledRules::new("p", rego, data).unwrap();
        rules.run(&RegoInput::from_json(claims).unwrap(), rule)
    }

    /// Claims in every shape the default policy distinguishes: each TEE, each TCB status,
    /// debug or not, measurements that match, miss or have no reference value, the root of each
    /// TEE's measurement chain registered or not, host- and owner-chosen fields registered alone
    /// or beside the root, matching or not, SEV-SNP VMPLs and TCBs around the minimum, CSV
    /// report versions.
    fn cases() -> Vec<(Value, Value)> {
        let references = [
            json!({}),
            json!({"mr_td": ["aa"], "mr_enclave": ["aa"], "measure": ["aa"]}),
            json!({"mr_td": ["bb"], "mr_enclave": ["bb"], "measure": ["bb"], "rtmr0": ["cc"]}),
            json!({"snp_min_tcb": [{"bootloader": 3, "snp": 8}]}),
            json!({"snp_min_tcb": [{"bootloader": 1}, {"snp": 9}], "measurement": ["aa"]}),
            json!({"mr_td": ["bb", "aa"], "rtmr1": ["zz"], "mr_signer": ["dd"]}),
            json!({"rtmr3": ["aa"], "config_id": ["aa"]}),
            json!({"mr_td": ["aa"], "rtmr0": ["cc"], "mr_enclave": [], "measurement": ["bb"]}),
            // Host- and owner-chosen fields alone, beside a wrong root, beside the right one.
            json!({"mr_config_id": ["cf"]}),
            json!({"mr_config_id": ["cf"], "mr_td": ["bb"]}),
            json!({"mr_td": ["aa"], "mr_config_id": ["00"], "measure": ["aa"]}),
            json!({"mr_td": ["aa"], "mr_owner": ["0a"], "mr_owner_config": ["0b"],
                "host_data": ["hd"], "family_id": ["fa"], "image_id": ["1a"],
                "measurement": ["aa"], "mr_enclave": ["aa"], "config_id": ["c0"]}),
            json!({"mr_td": ["aa"], "mr_owner": ["zz"], "measurement": ["aa"], "family_id": ["zz"]}),
            json!({"mr_owner_config": ["zz"], "host_data": ["zz"], "mr_td": ["aa"], "measurement": ["aa"]}),
            json!({"host_data": ["hd"], "family_id": ["fa"], "image_id": ["1a"], "id_key_digest": ["ik"],
                "mr_owner": ["0a"], "mr_owner_config": ["0b"], "config_id": ["c0"]}),
            // RTMRs alone (any guest can extend them with what an honest boot logs).
            json!({"rtmr0": ["cc"], "rtmr1": ["ee"]}),
            json!({"measure": ["aa"], "rtmr1": ["zz"], "measurement": ["aa"], "id_key_digest": ["zz"]}),
            // SGX: the signer, its product and a minimum SVN, each missing or failing in turn.
            json!({"mr_signer": ["dd"]}),
            json!({"mr_signer": ["dd"], "isv_svn_min": [0]}),
            json!({"mr_signer": ["dd"], "isv_prod_id": [1]}),
            json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [2]}),
            json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [4]}),
            json!({"mr_signer": ["dd"], "isv_prod_id": [2], "isv_svn_min": [9, 3]}),
            json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": ["0"]}),
            json!({"mr_enclave": ["aa"], "config_id": ["00"]}),
        ];
        let statuses = [
            "UpToDate",
            "SWHardeningNeeded",
            "ConfigurationNeeded",
            "ConfigurationAndSWHardeningNeeded",
            "TDRelaunchAdvised",
            "OutOfDate",
            "OutOfDateConfigurationNeeded",
            "Revoked",
        ];
        let mut out = Vec::new();
        for tee in ["sgx", "tdx", "snp", "csv"] {
            let statuses: &[&str] = match tee {
                "snp" => &["VekEndorsed", "UpToDate"],
                "csv" => &["None"],
                _ => &statuses,
            };
            for &status in statuses {
                for debug in [false, true] {
                    for (version, vmpl, bootloader) in [(1, 0, 2), (2, 0, 3), (2, 1, 9)] {
                        let measurements = match tee {
                            "sgx" => json!({"mr_enclave": "aa", "mr_signer": "dd",
                                "isv_prod_id": 1, "isv_svn": 3, "config_id": "c0"}),
                            "tdx" => json!({"mr_td": "aa", "rtmr0": "cc", "rtmr1": "ee",
                                "mr_config_id": "cf", "mr_owner": "0a", "mr_owner_config": "0b"}),
                            "snp" => json!({"measurement": "aa", "host_data": "hd",
                                "family_id": "fa", "image_id": "1a", "id_key_digest": "ik"}),
                            _ => json!({"measure": "aa", "rtmr1": "ee", "vm_id": "v1"}),
                        };
                        let claims = json!({
                            "tee": tee, "tcb_status": status, "debug": debug,
                            "quote_version": version, "measurements": measurements,
                            "report": {"vmpl": vmpl, "reported_tcb": {"bootloader": bootloader, "snp": 8}},
                        });
                        for reference in &references {
                            out.push((claims.clone(), reference.clone()));
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_prepared_policy_judges_as_a_fresh_interpreter_does() {
        let cases = cases();
        assert!(cases.len() > 400);
        let mut statuses = std::collections::BTreeSet::new();
        for (claims, reference) in &cases {
            let expected = interpret(DEFAULT_POLICY, reference, claims, TRUST_VECTOR_RULE).unwrap();
            let got = prepared(DEFAULT_POLICY, reference, claims, TRUST_VECTOR_RULE).unwrap();
            assert_eq!(got, expected, "claims {claims} reference {reference}");
            let vector = trust_vector(&got).unwrap();
            statuses.insert(vector.values().map(|v| tier(*v)).max().unwrap());
        }
        // The matrix reaches every verdict, so agreement is not agreement on one answer.
        assert_eq!(
            statuses.into_iter().collect::<Vec<_>>(),
            [
                EarStatus::Affirming,
                EarStatus::Warning,
                EarStatus::Contraindicated
            ]
        );
    }

    /// The fields the host or guest owner chooses, by the claim they feed (docs/service.md "Code
    /// identity"), restated here apart from the policy text.
    const CONFIGURATION_FIELDS: [&str; 4] =
        ["mr_config_id", "mr_owner_config", "host_data", "config_id"];
    const IDENTITY_FIELDS: [&str; 3] = ["mr_owner", "family_id", "image_id"];

    /// The code-identity rule in Rust, as docs/service.md states it: the oracle for the three claims it
    /// decides (executables, and configuration and instance-identity for the chosen fields).
    fn code_identity_oracle(claims: &Value, reference: &Value) -> BTreeMap<String, i64> {
        let measured = |name: &str| claims["measurements"].get(name);
        let registered = |name: &str| reference.get(name).filter(|v| **v != Value::Bool(false));
        let matches = |name: &str| {
            measured(name).is_some_and(|m| {
                registered(name)
                    .and_then(Value::as_array)
                    .is_some_and(|values| values.contains(m))
            })
        };
        let mismatch =
            |name: &str| measured(name).is_some() && registered(name).is_some() && !matches(name);
        let root = match claims["tee"].as_str().unwrap() {
            "tdx" => matches("mr_td"),
            "sgx" => {
                let svn = measured("isv_svn").and_then(Value::as_i64).unwrap();
                let at_minimum = registered("isv_svn_min")
                    .and_then(Value::as_array)
                    .is_some_and(|mins| mins.iter().any(|m| m.as_i64().is_some_and(|m| svn >= m)));
                matches("mr_enclave")
                    || (matches("mr_signer") && matches("isv_prod_id") && at_minimum)
            }
            "snp" => matches("measurement"),
            _ => matches("measure"),
        };
        let chosen =
            |name: &str| CONFIGURATION_FIELDS.contains(&name) || IDENTITY_FIELDS.contains(&name);
        let code_mismatch = reference
            .as_object()
            .unwrap()
            .keys()
            .any(|name| !chosen(name) && mismatch(name));
        let executables = if root && !code_mismatch { 2 } else { 33 };
        let configuration =
            if claims["debug"] == true || CONFIGURATION_FIELDS.iter().any(|n| mismatch(n)) {
                96
            } else if claims["tcb_status"]
                .as_str()
                .unwrap()
                .contains("Configuration")
            {
                32
            } else {
                2
            };
        let identity = if IDENTITY_FIELDS.iter().any(|n| mismatch(n)) {
            97
        } else {
            2
        };
        BTreeMap::from([
            ("executables".to_string(), executables),
            ("configuration".to_string(), configuration),
            ("instance-identity".to_string(), identity),
        ])
    }

    /// The policy's text was rewritten for speed (one `else` chain per property), then its
    /// code-identity rule changed on purpose (issue 21). The previous text stays the oracle for
    /// every claim that rule does not decide; the rule's three claims are held to
    /// `code_identity_oracle`; and the new text never affirms what the previous one did not.
    #[test]
    fn the_default_policy_judges_as_its_previous_text_did_except_for_code_identity() {
        let previous = include_str!("../../testdata/default-policy-0.1.rego");
        let decided = ["executables", "configuration", "instance-identity"];
        let mut tiers = std::collections::BTreeSet::new();
        let mut reached = std::collections::BTreeSet::new();
        let mut stricter = 0;
        let cases = cases();
        for (claims, reference) in &cases {
            let old = interpret(previous, reference, claims, TRUST_VECTOR_RULE).unwrap();
            let old = trust_vector(&old).unwrap();
            let new = prepared(DEFAULT_POLICY, reference, claims, TRUST_VECTOR_RULE).unwrap();
            let new = trust_vector(&new).unwrap();
            let context = format!("claims {claims} reference {reference}");
            assert_eq!(
                old.keys().collect::<Vec<_>>(),
                new.keys().collect::<Vec<_>>(),
                "{context}"
            );
            for (claim, value) in &new {
                if !decided.contains(&claim.as_str()) {
                    assert_eq!(*value, old[claim], "{claim}: {context}");
                }
            }
            let expected = code_identity_oracle(claims, reference);
            for (claim, value) in &expected {
                assert_eq!(new[claim], *value, "{claim}: {context}");
                reached.insert((claims["tee"].as_str().unwrap(), claim.clone(), *value));
            }
            let worst = |v: &BTreeMap<String, i64>| v.values().map(|v| tier(*v)).max().unwrap();
            assert!(worst(&new) >= worst(&old), "more lenient: {context}");
            if worst(&new) > worst(&old) {
                stricter += 1;
            }
            tiers.extend(new.values().copied());
        }
        // Every value each property can take is reached, the defaults among them.
        assert_eq!(tiers.into_iter().collect::<Vec<_>>(), [2, 32, 33, 96, 97]);
        // Each TEE's executables both ways; the chosen fields' claims both ways where they exist.
        for tee in ["sgx", "tdx", "snp", "csv"] {
            for value in [2, 33] {
                assert!(
                    reached.contains(&(tee, "executables".into(), value)),
                    "{tee} {value}"
                );
            }
        }
        for tee in ["tdx", "snp"] {
            assert!(
                reached.contains(&(tee, "instance-identity".into(), 97)),
                "{tee}"
            );
        }
        assert!(stricter > 0, "the change must show in the matrix");
    }

    /// The trust vector the default policy gives a non-debug, up-to-date `tee` guest with these
    /// measurements and reference values.
    fn judged(tee: &str, measurements: Value, reference: Value) -> BTreeMap<String, i64> {
        let status = match tee {
            "snp" => "VekEndorsed",
            "csv" => "None",
            _ => "UpToDate",
        };
        let claims = json!({
            "tee": tee, "tcb_status": status, "debug": false, "quote_version": 2,
            "measurements": measurements,
            "report": {"vmpl": 0, "reported_tcb": {"bootloader": 9, "snp": 23}},
        });
        trust_vector(&prepared(DEFAULT_POLICY, &reference, &claims, TRUST_VECTOR_RULE).unwrap())
            .unwrap()
    }

    fn td() -> Value {
        json!({"mr_td": "aa", "rtmr0": "r0", "rtmr1": "r1", "rtmr2": "r2", "rtmr3": "r3",
            "mr_config_id": "cf", "mr_owner": "0a", "mr_owner_config": "0b"})
    }

    #[test]
    fn a_registered_mrconfigid_with_any_mrtd_is_not_code_identity() {
        // The Confidential Containers way to name a pod: its init-data digest in MRCONFIGID.
        let v = judged("tdx", td(), json!({"mr_config_id": ["cf"]}));
        assert_eq!(v["executables"], 33);
        let v = judged(
            "tdx",
            td(),
            json!({"mr_config_id": ["cf"], "mr_td": ["bb"]}),
        );
        assert_eq!(v["executables"], 33);
        let v = judged(
            "tdx",
            td(),
            json!({"mr_config_id": ["cf"], "mr_owner": ["0a"], "mr_owner_config": ["0b"]}),
        );
        assert_eq!(v["executables"], 33);
        let v = judged(
            "tdx",
            td(),
            json!({"mr_config_id": ["cf"], "mr_td": ["aa"]}),
        );
        assert_eq!(v["executables"], 2);
        assert_eq!(v["configuration"], 2);
    }

    #[test]
    fn registered_rtmrs_alone_are_not_code_identity() {
        let all = json!({"rtmr0": ["r0"], "rtmr1": ["r1"], "rtmr2": ["r2"], "rtmr3": ["r3"]});
        assert_eq!(judged("tdx", td(), all)["executables"], 33);
        let csv = json!({"measure": "aa", "rtmr1": "r1", "rtmr2": "r2"});
        assert_eq!(
            judged(
                "csv",
                csv.clone(),
                json!({"rtmr1": ["r1"], "rtmr2": ["r2"]})
            )["executables"],
            33
        );
        // Beside the root they still count: a wrong RTMR is not affirming.
        let v = judged("tdx", td(), json!({"mr_td": ["aa"], "rtmr1": ["zz"]}));
        assert_eq!(v["executables"], 33);
        let v = judged("tdx", td(), json!({"mr_td": ["aa"], "rtmr1": ["r1"]}));
        assert_eq!(v["executables"], 2);
        let v = judged("csv", csv, json!({"measure": ["aa"], "rtmr1": ["zz"]}));
        assert_eq!(v["executables"], 33);
    }

    #[test]
    fn snp_host_and_owner_chosen_fields_alone_are_not_code_identity() {
        let guest = json!({"measurement": "aa", "host_data": "hd", "family_id": "fa",
            "image_id": "1a", "id_key_digest": "ik"});
        let v = judged("snp", guest.clone(), json!({"host_data": ["hd"]}));
        assert_eq!(v["executables"], 33);
        let v = judged(
            "snp",
            guest.clone(),
            json!({"host_data": ["hd"], "family_id": ["fa"], "image_id": ["1a"], "id_key_digest": ["ik"]}),
        );
        assert_eq!(v["executables"], 33);
        let v = judged(
            "snp",
            guest,
            json!({"host_data": ["hd"], "measurement": ["aa"]}),
        );
        assert_eq!(v["executables"], 2);
    }

    #[test]
    fn sgx_signer_identity_needs_the_product_and_a_minimum_svn() {
        let enclave = json!({"mr_enclave": "aa", "mr_signer": "dd", "isv_prod_id": 1,
            "isv_svn": 3, "config_id": "c0"});
        let judge = |reference: Value| judged("sgx", enclave.clone(), reference)["executables"];
        assert_eq!(judge(json!({"mr_signer": ["dd"]})), 33);
        assert_eq!(judge(json!({"mr_signer": ["dd"], "isv_svn_min": [0]})), 33);
        assert_eq!(judge(json!({"mr_signer": ["dd"], "isv_prod_id": [1]})), 33);
        assert_eq!(
            judge(json!({"mr_signer": ["dd"], "isv_prod_id": [2], "isv_svn_min": [0]})),
            33
        );
        assert_eq!(
            judge(json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [4]})),
            33
        );
        assert_eq!(
            judge(json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": ["1"]})),
            33
        );
        assert_eq!(judge(json!({"config_id": ["c0"]})), 33);
        assert_eq!(
            judge(json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [3]})),
            2
        );
        assert_eq!(
            judge(json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [1]})),
            2
        );
        // The signer's product at an exact SVN the operator registered must hold too.
        assert_eq!(
            judge(
                json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [1], "isv_svn": [2]})
            ),
            33
        );
    }

    #[test]
    fn the_root_of_each_tees_chain_alone_makes_executables_affirming() {
        let cases = [
            ("tdx", td(), json!({"mr_td": ["aa"]})),
            (
                "sgx",
                json!({"mr_enclave": "aa", "mr_signer": "dd", "isv_prod_id": 1, "isv_svn": 3}),
                json!({"mr_enclave": ["aa"]}),
            ),
            (
                "sgx",
                json!({"mr_enclave": "aa", "mr_signer": "dd", "isv_prod_id": 1, "isv_svn": 3}),
                json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [3]}),
            ),
            (
                "snp",
                json!({"measurement": "aa", "host_data": "hd"}),
                json!({"measurement": ["aa"]}),
            ),
            (
                "csv",
                json!({"measure": "aa", "rtmr1": "r1"}),
                json!({"measure": ["aa"]}),
            ),
        ];
        for (tee, measurements, reference) in cases {
            let v = judged(tee, measurements.clone(), reference.clone());
            assert_eq!(v["executables"], 2, "{tee} {reference}");
            assert!(
                v.values().all(|x| tier(*x) == EarStatus::Affirming),
                "{tee} {reference}: {v:?}"
            );
            // Another TEE's root with the same value names nothing here.
            let other = judged(
                tee,
                measurements,
                json!({"mr_td": ["aa"], "measurement": ["aa"]}),
            );
            if !matches!(tee, "tdx" | "snp") {
                assert_eq!(other["executables"], 33, "{tee}");
            }
        }
    }

    /// Attacker review: reference values of another type or shape than the claim (numbers
    /// for hex strings, upper case, nested arrays, null, objects, empty lists) never make a
    /// root match, and beside a matching root they fail closed.
    #[test]
    fn reference_values_of_another_shape_never_affirm_code() {
        let guest = json!({"mr_td": "aa", "rtmr1": "r1", "mr_config_id": "cf"});
        for odd in [
            json!(["AA"]),
            json!([["aa"]]),
            json!([null]),
            json!([]),
            json!([{"mr_td": "aa"}]),
            json!(["aa "]),
            json!([170]),
        ] {
            let v = judged("tdx", guest.clone(), json!({"mr_td": odd.clone()}));
            assert_eq!(v["executables"], 33, "root {odd}");
            let v = judged(
                "tdx",
                guest.clone(),
                json!({"mr_td": ["aa"], "rtmr1": odd.clone()}),
            );
            assert_eq!(v["executables"], 33, "rtmr1 {odd}");
            let v = judged(
                "tdx",
                guest.clone(),
                json!({"mr_td": ["aa"], "mr_config_id": odd.clone()}),
            );
            assert_eq!(
                (v["executables"], v["configuration"]),
                (2, 96),
                "mr_config_id {odd}"
            );
        }
        // SGX: a product id or minimum SVN as a string names no product or minimum.
        let enclave =
            json!({"mr_enclave": "ee", "mr_signer": "dd", "isv_prod_id": 1, "isv_svn": 3});
        for reference in [
            json!({"mr_signer": ["dd"], "isv_prod_id": ["1"], "isv_svn_min": [0]}),
            json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [[0]]}),
            json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": [null]}),
            json!({"mr_signer": ["dd"], "isv_prod_id": [1], "isv_svn_min": []}),
            json!({"mr_signer": ["DD"], "isv_prod_id": [1], "isv_svn_min": [0]}),
        ] {
            let v = judged("sgx", enclave.clone(), reference.clone());
            assert_eq!(v["executables"], 33, "{reference}");
        }
    }

    /// Attacker review: what the guest chooses without a signature or digest proving it
    /// (runtime data; init-data's claims beside its digest) sits under its own keys and cannot
    /// shadow the measurements, the TEE or the debug flag a policy reads.
    #[test]
    fn guest_chosen_claims_cannot_shadow_the_measurements() {
        let forged = json!({"measurements": {"mr_td": "aa"}, "tee": "tdx", "debug": false,
            "tcb_status": "UpToDate", "mr_td": "aa", "executables": 2});
        let claims = json!({
            "tee": "tdx", "tcb_status": "UpToDate", "debug": false, "quote_version": 4,
            "measurements": {"mr_td": "bb"},
            "report": {"vmpl": 0},
            "runtime_data": forged.clone(),
            "init_data": {"digest": "00", "data": forged},
        });
        let v = trust_vector(
            &prepared(
                DEFAULT_POLICY,
                &json!({"mr_td": ["aa"]}),
                &claims,
                TRUST_VECTOR_RULE,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["executables"], 33, "{v:?}");
    }

    #[test]
    fn chosen_fields_feed_configuration_and_instance_identity() {
        let guest =
            json!({"measurement": "aa", "host_data": "hd", "family_id": "fa", "image_id": "1a"});
        let v = judged(
            "snp",
            guest.clone(),
            json!({"measurement": ["aa"], "host_data": ["00"]}),
        );
        assert_eq!(
            (v["executables"], v["configuration"], v["instance-identity"]),
            (2, 96, 2)
        );
        let v = judged(
            "snp",
            guest.clone(),
            json!({"measurement": ["aa"], "image_id": ["00"]}),
        );
        assert_eq!(
            (v["executables"], v["configuration"], v["instance-identity"]),
            (2, 2, 97)
        );
        let v = judged(
            "snp",
            guest,
            json!({"measurement": ["aa"], "host_data": ["hd"], "family_id": ["fa"], "image_id": ["1a"]}),
        );
        assert!(v.values().all(|x| *x == 2), "{v:?}");
        let v = judged(
            "tdx",
            td(),
            json!({"mr_td": ["aa"], "mr_config_id": ["00"]}),
        );
        assert_eq!((v["executables"], v["configuration"]), (2, 96));
        let v = judged(
            "tdx",
            td(),
            json!({"mr_td": ["aa"], "mr_owner_config": ["00"]}),
        );
        assert_eq!(v["configuration"], 96);
        let v = judged("tdx", td(), json!({"mr_td": ["aa"], "mr_owner": ["00"]}));
        assert_eq!((v["configuration"], v["instance-identity"]), (2, 97));
        let enclave = json!({"mr_enclave": "aa", "config_id": "c0", "isv_svn": 1});
        let v = judged(
            "sgx",
            enclave,
            json!({"mr_enclave": ["aa"], "config_id": ["00"]}),
        );
        assert_eq!((v["executables"], v["configuration"]), (2, 96));
    }

    /// The hardware claim the default policy gives `claims` under `reference`, checked against
    /// a fresh interpreter's on the way.
    fn hardware(claims: &Value, reference: &Value) -> i64 {
        let got = prepared(DEFAULT_POLICY, reference, claims, TRUST_VECTOR_RULE).unwrap();
        let fresh = interpret(DEFAULT_POLICY, reference, claims, TRUST_VECTOR_RULE).unwrap();
        assert_eq!(got, fresh, "claims {claims} reference {reference}");
        trust_vector(&got).unwrap()["hardware"]
    }

    /// DCAP claims with the TCB explanation the baselines read.
    fn dcap(status: &str, tcb_date: &str, days_behind: Value, evaluation: u32) -> Value {
        json!({
            "tee": "tdx", "tcb_status": status, "debug": false, "quote_version": 4,
            "tcb_date": tcb_date, "newest_tcb_date": "2026-08-01T00:00:00Z",
            "days_behind": days_behind, "tcb_evaluation_data_number": evaluation,
            "measurements": {"mr_td": "aa"}, "report": {},
        })
    }

    /// SEV-SNP claims at VMPL 0 with these launch TCB SPLs and current mitigation vector.
    fn snp(launch_bootloader: u8, current_mit_vector: Option<&str>) -> Value {
        let mut claims = json!({
            "tee": "snp", "tcb_status": "VekEndorsed", "debug": false, "quote_version": 5,
            "measurements": {"measurement": "aa"},
            "report": {"vmpl": 0, "reported_tcb": {"bootloader": 9, "snp": 23},
                "launch_tcb": {"bootloader": launch_bootloader, "snp": 23}},
        });
        if let Some(vector) = current_mit_vector {
            claims["report"]["current_mit_vector"] = json!(vector);
            claims["report"]["launch_mit_vector"] = json!(vector);
        }
        claims
    }

    /// Without the new settings the policy judges every claim as the text before them did
    /// (testdata/default-policy-0.2.rego), over claims that carry every value the new rules
    /// read: each TCB status, debug, TCB dates around each other, `days_behind` null or not,
    /// SEV-SNP launch TCBs and mitigation vectors of every kind, beside the older settings.
    #[test]
    fn without_the_baseline_settings_every_verdict_is_as_before() {
        let previous = include_str!("../../testdata/default-policy-0.2.rego");
        let references = [
            json!({}),
            json!({"mr_td": ["aa"], "measurement": ["aa"]}),
            json!({"snp_min_tcb": [{"bootloader": 9}]}),
            json!({"snp_min_tcb": [{"snp": 24}], "mr_td": ["bb"]}),
        ];
        let mut claims = Vec::new();
        for status in [
            "UpToDate",
            "SWHardeningNeeded",
            "ConfigurationNeeded",
            "TDRelaunchAdvised",
            "OutOfDate",
            "OutOfDateConfigurationNeeded",
            "Revoked",
        ] {
            for days in [json!(null), json!(0), json!(29), json!(30), json!(4000)] {
                for date in ["2020-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "garbage"] {
                    for debug in [false, true] {
                        let mut c = dcap(status, date, days.clone(), 17);
                        c["debug"] = json!(debug);
                        claims.push(c.clone());
                        c["tee"] = json!("sgx");
                        claims.push(c);
                    }
                }
            }
        }
        for launch in [0, 9, 255] {
            for vector in [None, Some("0x0"), Some("0x1f"), Some("0xffffffffffffffff")] {
                claims.push(snp(launch, vector));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for claims in &claims {
            for reference in &references {
                let old = interpret(previous, reference, claims, TRUST_VECTOR_RULE).unwrap();
                let new = prepared(DEFAULT_POLICY, reference, claims, TRUST_VECTOR_RULE).unwrap();
                assert_eq!(new, old, "claims {claims} reference {reference}");
                seen.insert(trust_vector(&new).unwrap()["hardware"]);
            }
        }
        // Every hardware tier the new rules could move is reached.
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), [2, 32, 96, 97]);
    }

    /// `tcb_grace_days` N: OutOfDate is a warning while `days_behind` < N (day N-1), and
    /// contraindicated from day N; no grace without `days_behind`, for debug or revoked TCBs.
    #[test]
    fn tcb_grace_days_holds_until_the_day_it_names() {
        let grace = |n: u64| json!({"tcb_grace_days": [n]});
        for status in ["OutOfDate", "OutOfDateConfigurationNeeded"] {
            let at = |days: Value| dcap(status, "2026-02-01T00:00:00Z", days, 17);
            assert_eq!(hardware(&at(json!(29)), &json!({})), 96, "{status}");
            assert_eq!(hardware(&at(json!(29)), &grace(30)), 32, "{status}");
            assert_eq!(hardware(&at(json!(30)), &grace(30)), 96, "{status}");
            assert_eq!(hardware(&at(json!(0)), &grace(1)), 32, "{status}");
            assert_eq!(hardware(&at(json!(0)), &grace(0)), 96, "{status}");
            assert_eq!(hardware(&at(json!(null)), &grace(3650)), 96, "{status}");
            let mut debug = at(json!(0));
            debug["debug"] = json!(true);
            assert_eq!(hardware(&debug, &grace(3650)), 96, "{status}");
            // SGX as TDX; the configuration claim still says what the status says.
            let mut sgx = at(json!(29));
            sgx["tee"] = json!("sgx");
            assert_eq!(hardware(&sgx, &grace(30)), 32, "{status}");
        }
        let revoked = dcap("Revoked", "2026-02-01T00:00:00Z", json!(1), 17);
        assert_eq!(hardware(&revoked, &grace(3650)), 97);
        let current = dcap("UpToDate", "2026-02-01T00:00:00Z", json!(null), 17);
        assert_eq!(hardware(&current, &grace(30)), 2);
        let hardening = dcap("SWHardeningNeeded", "2026-02-01T00:00:00Z", json!(5), 17);
        assert_eq!(hardware(&hardening, &grace(30)), 32);
        // Several windows in force (the admin's beside a signed document's): each must hold.
        let two = json!({"tcb_grace_days": [30, 10]});
        let at = |days: u64| dcap("OutOfDate", "2026-02-01T00:00:00Z", json!(days), 17);
        assert_eq!(hardware(&at(9), &two), 32);
        assert_eq!(hardware(&at(10), &two), 96);
        // A window of another form than a number grants nothing.
        assert_eq!(hardware(&at(0), &json!({"tcb_grace_days": ["30"]})), 96);
        assert_eq!(hardware(&at(0), &json!({"tcb_grace_days": []})), 96);
    }

    /// `tcb_baseline_date`: OutOfDate is a warning while the platform's TCB date is at or
    /// after the baseline (a day before it: contraindicated), as a date or a UTC date-time.
    #[test]
    fn tcb_baseline_date_holds_from_the_instant_it_names() {
        let baseline = |date: &str| json!({"tcb_baseline_date": [date]});
        for status in ["OutOfDate", "OutOfDateConfigurationNeeded"] {
            let tcb = dcap(status, "2024-03-13T00:00:00Z", json!(400), 17);
            // The platform's TCB date is the day before the baseline, the day of, the day after.
            assert_eq!(hardware(&tcb, &baseline("2024-03-14")), 96, "{status}");
            assert_eq!(hardware(&tcb, &baseline("2024-03-13")), 32, "{status}");
            assert_eq!(hardware(&tcb, &baseline("2024-03-12")), 32, "{status}");
            assert_eq!(hardware(&tcb, &baseline("2024-03-13T00:00:00Z")), 32);
            assert_eq!(hardware(&tcb, &baseline("2024-03-13T00:00:01Z")), 96);
            assert_eq!(hardware(&tcb, &baseline("2024-03-12T23:59:59Z")), 32);
            // Across a month and a year: text order is time order in the fixed form.
            assert_eq!(hardware(&tcb, &baseline("2024-02-29")), 32);
            assert_eq!(hardware(&tcb, &baseline("2023-12-31")), 32);
            assert_eq!(hardware(&tcb, &baseline("2025-01-01")), 96);
        }
        // A TCB date in another form than Intel's, or a baseline of another form: no grace.
        let odd = dcap("OutOfDate", "2024-03-13T00:00:00.000Z", json!(400), 17);
        assert_eq!(hardware(&odd, &baseline("2024-03-01")), 96);
        let tcb = dcap("OutOfDate", "2024-03-13T00:00:00Z", json!(400), 17);
        for other in [json!("2024-3-1"), json!(20240301), json!(null)] {
            let reference = json!({"tcb_baseline_date": [other]});
            assert_eq!(hardware(&tcb, &reference), 96, "{reference}");
        }
        // Several baselines: the latest holds.
        let two = json!({"tcb_baseline_date": ["2024-03-01", "2024-04-01"]});
        assert_eq!(hardware(&tcb, &two), 96);
        let debug = {
            let mut c = tcb.clone();
            c["debug"] = json!(true);
            c
        };
        assert_eq!(hardware(&debug, &baseline("2020-01-01")), 96);
        let revoked = dcap("Revoked", "2024-03-13T00:00:00Z", json!(1), 17);
        assert_eq!(hardware(&revoked, &baseline("2020-01-01")), 97);
        // Both set: both must hold, so one setting (from any source) can only narrow what the
        // other tolerates. A baseline met beside a grace window run out is contraindicated;
        // within the window too, a warning.
        let both = json!({"tcb_baseline_date": ["2024-03-13"], "tcb_grace_days": [30]});
        assert_eq!(hardware(&tcb, &both), 96);
        let within = dcap("OutOfDate", "2024-03-13T00:00:00Z", json!(29), 17);
        assert_eq!(hardware(&within, &both), 32);
        // The admin's "no grace" is not widened by a lenient baseline beside it, nor a
        // baseline by a long window.
        let no_grace = json!({"tcb_grace_days": [0], "tcb_baseline_date": ["2000-01-01"]});
        assert_eq!(hardware(&tcb, &no_grace), 96);
        let late = json!({"tcb_baseline_date": ["2026-01-01"], "tcb_grace_days": [3650]});
        assert_eq!(hardware(&tcb, &late), 96);
    }

    /// A TD that only needs a relaunch is a warning; once the operator sets how long it
    /// tolerates an out-of-date TCB, it is judged as one (its launch TCB is out of date).
    #[test]
    fn td_relaunch_advised_is_judged_as_out_of_date_once_a_tolerance_is_set() {
        for status in ["TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded"] {
            let claims = dcap(status, "2024-03-13T00:00:00Z", json!(40), 17);
            assert_eq!(hardware(&claims, &json!({})), 32, "{status}");
            let grace = |n: u32| json!({"tcb_grace_days": [n]});
            assert_eq!(hardware(&claims, &grace(41)), 32, "{status}");
            assert_eq!(hardware(&claims, &grace(40)), 96, "{status}");
            let baseline = |d: &str| json!({"tcb_baseline_date": [d]});
            assert_eq!(hardware(&claims, &baseline("2024-03-13")), 32, "{status}");
            assert_eq!(hardware(&claims, &baseline("2024-03-14")), 96, "{status}");
        }
    }

    /// `tcb_min_evaluation_data_number`: collateral below it is contraindicated whatever its
    /// status (min-1 against min); at it, the status decides. DCAP only.
    #[test]
    fn collateral_below_the_minimum_evaluation_data_number_is_contraindicated() {
        let minimum = |n: u32| json!({"tcb_min_evaluation_data_number": [n]});
        for tee in ["tdx", "sgx"] {
            let mut claims = dcap("UpToDate", "2026-02-01T00:00:00Z", json!(null), 17);
            claims["tee"] = json!(tee);
            assert_eq!(hardware(&claims, &minimum(17)), 2, "{tee}");
            assert_eq!(hardware(&claims, &minimum(18)), 96, "{tee}");
            assert_eq!(hardware(&claims, &minimum(0)), 2, "{tee}");
            // Nor does a grace window bring old collateral back.
            let mut late = dcap("OutOfDate", "2026-02-01T00:00:00Z", json!(1), 17);
            late["tee"] = json!(tee);
            let both = json!({"tcb_min_evaluation_data_number": [18], "tcb_grace_days": [30]});
            assert_eq!(hardware(&late, &both), 96, "{tee}");
            let both = json!({"tcb_min_evaluation_data_number": [17], "tcb_grace_days": [30]});
            assert_eq!(hardware(&late, &both), 32, "{tee}");
            // Without the claim the collateral's age is unknown: fail closed.
            claims
                .as_object_mut()
                .unwrap()
                .remove("tcb_evaluation_data_number");
            assert_eq!(hardware(&claims, &minimum(1)), 96, "{tee}");
        }
        // Other TEEs have no TCB evaluation data: the setting is not theirs.
        assert_eq!(hardware(&snp(9, Some("0x1")), &minimum(100)), 2);
    }

    #[test]
    fn snp_launch_tcb_and_mitigation_vector_minimums_warn_below_them() {
        let launch = |spls: Value| json!({"snp_min_launch_tcb": [spls]});
        // Launch bootloader 3: a minimum of 4 is above it, 3 is at it.
        assert_eq!(
            hardware(&snp(3, None), &launch(json!({"bootloader": 4}))),
            32
        );
        assert_eq!(
            hardware(&snp(3, None), &launch(json!({"bootloader": 3}))),
            2
        );
        assert_eq!(
            hardware(&snp(3, None), &launch(json!({"bootloader": 3, "snp": 24}))),
            32
        );
        // The reported TCB (bootloader 9) does not meet a launch minimum for it, nor the reverse.
        assert_eq!(
            hardware(&snp(3, None), &json!({"snp_min_tcb": [{"bootloader": 4}]})),
            2
        );
        assert_eq!(
            hardware(&snp(9, None), &launch(json!({"bootloader": 9}))),
            2
        );
        let mit = |n: u64| json!({"snp_min_mit_vector": [n]});
        // Current vector 0b0101: every bit of the minimum set, or one missing.
        assert_eq!(hardware(&snp(9, Some("0x5")), &mit(0b101)), 2);
        assert_eq!(hardware(&snp(9, Some("0x5")), &mit(0b100)), 2);
        assert_eq!(hardware(&snp(9, Some("0x5")), &mit(0b111)), 32);
        assert_eq!(hardware(&snp(9, Some("0x5")), &mit(0b1_0000)), 32);
        assert_eq!(hardware(&snp(9, Some("0x5")), &mit(0)), 2);
        // Bits in every digit, up to bit 63.
        let top = Some("0x8000000000000010");
        assert_eq!(hardware(&snp(9, top), &mit((1 << 63) | 0x10)), 2);
        assert_eq!(hardware(&snp(9, top), &mit((1 << 63) | 0x11)), 32);
        assert_eq!(hardware(&snp(9, Some("0x10")), &mit(1 << 63)), 32);
        assert_eq!(
            hardware(&snp(9, Some("0xffffffffffffffff")), &mit(u64::MAX)),
            2
        );
        // A report without a mitigation vector (before v5) fails any minimum, even 0.
        assert_eq!(hardware(&snp(9, None), &mit(0)), 32);
        assert_eq!(hardware(&snp(9, None), &mit(1)), 32);
        // A minimum of another form than a number fails closed.
        assert_eq!(
            hardware(
                &snp(9, Some("0x5")),
                &json!({"snp_min_mit_vector": ["0x1"]})
            ),
            32
        );
        // Debug is contraindicated whatever the minimums.
        let mut debug = snp(9, Some("0x5"));
        debug["debug"] = json!(true);
        assert_eq!(hardware(&debug, &mit(1)), 96);
    }

    /// The settings are not measurements: beside a matching root they leave `executables`
    /// affirming, as `snp_min_tcb` always did.
    #[test]
    fn baseline_settings_are_not_measurements() {
        let reference = json!({"mr_td": ["aa"], "measurement": ["aa"],
            "tcb_min_evaluation_data_number": [1], "tcb_baseline_date": ["2020-01-01"],
            "tcb_grace_days": [30], "snp_min_launch_tcb": [{"bootloader": 1}],
            "snp_min_mit_vector": [1], "snp_min_tcb": [{"bootloader": 1}]});
        for claims in [
            dcap("UpToDate", "2026-02-01T00:00:00Z", json!(null), 17),
            snp(9, Some("0x1")),
        ] {
            let v = trust_vector(
                &prepared(DEFAULT_POLICY, &reference, &claims, TRUST_VECTOR_RULE).unwrap(),
            )
            .unwrap();
            assert!(v.values().all(|x| *x == 2), "{claims}: {v:?}");
        }
        // Even a measurement that happened to share a setting's name would not be compared.
        let mut claims = dcap("UpToDate", "2026-02-01T00:00:00Z", json!(null), 17);
        claims["measurements"]["tcb_grace_days"] = json!("x");
        let v = trust_vector(
            &prepared(DEFAULT_POLICY, &reference, &claims, TRUST_VECTOR_RULE).unwrap(),
        )
        .unwrap();
        assert_eq!(v["executables"], 2);
    }

    #[test]
    fn denials_comprehensions_and_builtins_run_alike() {
        let policy = r#"package scute
import rego.v1

trust_vector := {"hardware": h, "executables": count(seen)}

default h := 97

h := 2 if startswith(input.tee, "td")

seen contains name if {
	some name, value in input.measurements
	value in object.get(data.reference, name, [])
}

deny contains sprintf("%s is not allowed", [input.tee]) if input.tee == "sgx"

deny contains "debug" if input.debug

deny contains msg if {
	every name in ["mr_td"] { input.measurements[name] }
	msg := "mr_td present"
	input.tcb_status != "UpToDate"
}
"#;
        for (claims, reference) in cases().iter().step_by(7) {
            for rule in [TRUST_VECTOR_RULE, DENY_RULE] {
                let expected = interpret(policy, reference, claims, rule).unwrap();
                let got = prepared(policy, reference, claims, rule).unwrap();
                assert_eq!(
                    got, expected,
                    "{rule}: claims {claims} reference {reference}"
                );
            }
        }
        let rules = CompiledRules::new("p", policy, RegoValue::new_object()).unwrap();
        assert!(rules.deny.is_some());
    }

    #[test]
    fn a_reserved_serde_number_key_never_reaches_a_policy() {
        let claims = json!({"tee": "tdx", "runtime_data": {"nonce": "AA",
            "x": [{"$serde_json::private::Number": "1e2000000000"}]}});
        assert!(RegoInput::from_json(&claims)
            .unwrap_err()
            .contains("reserved key"));
        assert!(RegoInput::from_json(&json!({"runtime_data": {"n": 1e300}})).is_ok());
    }

    #[test]
    fn a_policy_without_a_trust_vector_or_package_scute_is_refused() {
        assert!(check("p", "package scute\nimport rego.v1\nx := 1\n").is_err());
        assert!(check("p", "package other\nimport rego.v1\ntrust_vector := {}\n").is_err());
        assert!(check("p", "package scute\nimport rego.v1\ntrust_vector := {}\n").is_ok());
    }
}
