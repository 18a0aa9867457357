//! The key broker's resource policy: Rego, `package policy`, whose boolean `allow` decides a
//! release. Trustee's policies read the request as `data` (`data.plugin`, `data["resource-path-segments"]`,
//! `data.query`) and the attestation result as `input`, so the data differs by resource path:
//! the policy is parsed once per policy version, and prepared (analysis, scheduling, loop
//! hoisting) once per resource path it is asked about, with that path's data; a release only
//! evaluates. The prepared engines are held to a fresh engine's verdicts by
//! `the_prepared_resource_policy_judges_as_a_fresh_engine_does`.

use regorus::{CompiledPolicy, Engine, Value as RegoValue};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// The shipped resource policy: release only when every submodule of the result is affirming.
pub const DEFAULT_RESOURCE_POLICY: &str = r#"package policy

import rego.v1

default allow := false

allow if {
	count(input.submods) > 0
	every _, submod in input.submods {
		submod.ear_status == "affirming"
	}
}
"#;

const ALLOW_RULE: &str = "data.policy.allow";

/// Most resource paths kept prepared per policy version. Paths are the requester's choice (any
/// attested guest may ask for any path): past this, the oldest prepared path is dropped, so the
/// memory is bounded and a path asked for again is prepared again.
const MAX_PREPARED_PATHS: usize = 512;

/// One version of the resource policy: parsed once, prepared per resource path on first use.
pub(crate) struct ResourcePolicy {
    /// The policy parsed, with no data: the template each path's engine is prepared from.
    parsed: Engine,
    prepared: Mutex<Prepared>,
}

#[derive(Default)]
struct Prepared {
    by_path: HashMap<String, CompiledPolicy>,
    /// Insertion order, for dropping the oldest when full.
    order: VecDeque<String>,
}

/// What a release's policy sees as `data`: Trustee's request members for its resource plugin
/// (`resource-path` is the path as Trustee's KBS passes it, `/repo/type/tag`: its policies
/// `split` it), and the three segments as an array (`resource-path-segments`).
pub(crate) fn request_data(repository: &str, kind: &str, tag: &str) -> Result<RegoValue, String> {
    let data = json!({
        "plugin": "resource",
        "resource-path": format!("/{repository}/{kind}/{tag}"),
        "resource-path-segments": [repository, kind, tag],
        "query": {},
    });
    RegoValue::from_json_str(&data.to_string()).map_err(|e| e.to_string())
}

impl ResourcePolicy {
    /// Parses a resource policy: `package policy` with a boolean `allow`.
    pub(crate) fn compile(rego: &str) -> Result<Self, String> {
        let mut engine = Engine::new();
        let package = engine
            .add_policy("resource-policy.rego".into(), rego.to_string())
            .map_err(|e| e.to_string())?;
        if package != "data.policy" {
            return Err(format!(
                "resource policy declares {package}; it must be `package policy`"
            ));
        }
        Ok(Self {
            parsed: engine,
            prepared: Mutex::new(Prepared::default()),
        })
    }

    /// The policy's `allow` for the resource at `repository/kind/tag` and the attestation
    /// result `input` (the Rego value of the EAR as the policy reads it).
    pub(crate) fn evaluate(
        &self,
        (repository, kind, tag): (&str, &str, &str),
        input: RegoValue,
    ) -> Result<RegoValue, String> {
        let key = format!("{repository}/{kind}/{tag}");
        let cached = self
            .prepared
            .lock()
            .ok()
            .and_then(|p| p.by_path.get(&key).cloned());
        let compiled = match cached {
            Some(compiled) => compiled,
            None => {
                let mut engine = self.parsed.clone();
                engine
                    .add_data(request_data(repository, kind, tag)?)
                    .map_err(|e| e.to_string())?;
                let compiled = engine
                    .compile_with_entrypoint(&ALLOW_RULE.into())
                    .map_err(|e| e.to_string())?;
                if let Ok(mut p) = self.prepared.lock() {
                    if !p.by_path.contains_key(&key) {
                        if p.order.len() >= MAX_PREPARED_PATHS {
                            if let Some(oldest) = p.order.pop_front() {
                                p.by_path.remove(&oldest);
                            }
                        }
                        p.order.push_back(key.clone());
                        p.by_path.insert(key, compiled.clone());
                    }
                }
                compiled
            }
        };
        compiled.eval_with_input(input).map_err(|e| e.to_string())
    }

    /// How many paths are prepared now.
    #[cfg(test)]
    fn prepared_paths(&self) -> usize {
        self.prepared.lock().map(|p| p.by_path.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A fresh engine, as every release once evaluated the policy: parsed, `data` added,
    /// `input` set, `allow` evaluated.
    fn fresh(
        rego: &str,
        (repository, kind, tag): (&str, &str, &str),
        input: &Value,
    ) -> Result<RegoValue, String> {
        let mut engine = Engine::new();
        engine
            .add_policy("resource-policy.rego".into(), rego.to_string())
            .map_err(|e| e.to_string())?;
        engine
            .add_data(request_data(repository, kind, tag)?)
            .map_err(|e| e.to_string())?;
        engine.set_input(RegoValue::from_json_str(&input.to_string()).map_err(|e| e.to_string())?);
        engine
            .eval_rule(ALLOW_RULE.into())
            .map_err(|e| e.to_string())
    }

    /// Resource policies in the shapes operators write: ours, Trustee's samples (EAR -00
    /// names), ones that read the path, the plugin and the query from `data`, the trust vector,
    /// a non-boolean `allow`, one that fails to evaluate for some requests, a `with` that
    /// replaces the request's data, and one without `allow`.
    fn policies() -> Vec<String> {
        let mut out = vec![DEFAULT_RESOURCE_POLICY.to_string()];
        for body in [
            // The path's repository decides, beside the status.
            r#"default allow := false
allow if {
	data["resource-path-segments"][0] == "open"
	input.ear_status == "affirming"
}"#,
            // Trustee's affirming.rego, written for EAR -00 names.
            r#"default allow = false
allow if {
	not any_not_affirming
	count(input.submods) > 0
}
any_not_affirming if {
	some _, submod in input.submods
	submod["ear.status"] != "affirming"
}"#,
            // The plugin, the query and the tag; a trust-vector claim.
            r#"default allow := false
allow if {
	data.plugin == "resource"
	data.query == {}
	startswith(data["resource-path-segments"][2], "a")
	input.submods.cpu0.ear_trustworthiness_vector.executables < 32
}"#,
            // The path as a whole, and a set of kinds.
            r#"kinds := {"key", "tls"}
default allow := false
allow if {
	count(data["resource-path-segments"]) == 3
	data["resource-path-segments"][1] in kinds
	concat("/", data["resource-path-segments"]) != "default/key/b"
}"#,
            // Not a boolean: only `true` releases.
            r#"allow := data["resource-path-segments"][1]"#,
            // Fails to evaluate when the tag is not a number.
            r#"allow if to_number(data["resource-path-segments"][2]) > 1"#,
            // Warning is enough for one repository.
            r#"default allow := false
allow if input.submods.cpu0.ear_status == "affirming"
allow if {
	data["resource-path-segments"][0] == "lenient"
	input.submods.cpu0.ear_status == "warning"
}"#,
            // `with` replaces the request's data inside the policy.
            r#"default allow := false
opened if data["resource-path-segments"][0] == "open"
allow if {
	opened with data["resource-path-segments"] as ["open", "key", "x"]
	input.ear_status != "contraindicated"
}"#,
            // No `allow` at all.
            "x := 1",
        ] {
            out.push(format!("package policy\n\nimport rego.v1\n\n{body}\n"));
        }
        out
    }

    /// Attestation results as the policy reads them (both member spellings, as the key broker
    /// passes them): each status, two submodules that disagree, none.
    fn inputs() -> Vec<Value> {
        let submod = |status: &str, executables: i64| {
            json!({"ear_status": status, "ear.status": status,
                "ear_trustworthiness_vector": {"executables": executables, "hardware": 2},
                "ear.trustworthiness-vector": {"executables": executables, "hardware": 2},
                "ear_veraison_annotated_evidence": {"tee": "tdx", "runtime_data": {"nonce": "n"}}})
        };
        let ear = |status: &str, submods: Value| {
            json!({"eat_profile": "tag:ietf.org,2026:rats/ear#03", "iat": 1, "exp": 2,
                "ear_verifier_id": {"developer": "d", "build": "b"}, "ear_status": status,
                "submods": submods})
        };
        vec![
            ear("affirming", json!({"cpu0": submod("affirming", 2)})),
            ear("affirming", json!({"cpu0": submod("affirming", 33)})),
            ear("warning", json!({"cpu0": submod("warning", 33)})),
            ear(
                "contraindicated",
                json!({"cpu0": submod("contraindicated", 96)}),
            ),
            ear(
                "warning",
                json!({"cpu0": submod("affirming", 2), "gpu0": submod("warning", 2)}),
            ),
            ear("none", json!({})),
        ]
    }

    fn paths() -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("default", "key", "a"),
            ("default", "key", "b"),
            ("open", "key", "a"),
            ("closed", "tls", "7"),
            ("lenient", "cert", "0"),
            ("open", "key", "2"),
        ]
    }

    /// Every policy, input and path, each path asked for three times in an order that mixes
    /// first uses and prepared ones: the verdict (or the failure) is a fresh engine's.
    #[test]
    fn the_prepared_resource_policy_judges_as_a_fresh_engine_does() {
        let mut verdicts = std::collections::BTreeSet::new();
        for rego in policies() {
            let policy = ResourcePolicy::compile(&rego).unwrap();
            for round in 0..3 {
                for (i, input) in inputs().iter().enumerate() {
                    for j in 0..paths().len() {
                        // A different path order each round and input.
                        let path = paths()[(j + i + 2 * round) % paths().len()];
                        let expected = fresh(&rego, path, input);
                        let got = policy
                            .evaluate(path, RegoValue::from_json_str(&input.to_string()).unwrap());
                        assert_eq!(
                            got.is_ok(),
                            expected.is_ok(),
                            "{rego}\n{path:?} {input}: {got:?} vs {expected:?}"
                        );
                        if let (Ok(got), Ok(expected)) = (&got, &expected) {
                            assert_eq!(got, expected, "{rego}\n{path:?} {input}");
                        }
                        verdicts.insert(match got {
                            Ok(RegoValue::Bool(true)) => "released",
                            Ok(_) => "refused",
                            Err(_) => "failed",
                        });
                    }
                }
            }
            assert!(policy.prepared_paths() <= paths().len());
        }
        // Agreement is not agreement on one answer.
        assert_eq!(
            verdicts.into_iter().collect::<Vec<_>>(),
            ["failed", "refused", "released"]
        );
    }

    /// More paths than are kept prepared: the oldest are dropped, the memory stays bounded and
    /// a dropped path prepared again judges as before.
    #[test]
    fn past_the_bound_paths_are_prepared_again_with_the_same_verdicts() {
        let rego = policies()[1].clone();
        let policy = ResourcePolicy::compile(&rego).unwrap();
        let affirming = &inputs()[0];
        let tags: Vec<String> = (0..MAX_PREPARED_PATHS + 40)
            .map(|n| format!("t{n}"))
            .collect();
        for round in 0..2 {
            for (n, tag) in tags.iter().enumerate() {
                let repository = if n % 3 == 0 { "open" } else { "closed" };
                let path = (repository, "key", tag.as_str());
                let got = policy
                    .evaluate(
                        path,
                        RegoValue::from_json_str(&affirming.to_string()).unwrap(),
                    )
                    .unwrap();
                assert_eq!(
                    got,
                    fresh(&rego, path, affirming).unwrap(),
                    "round {round} {path:?}"
                );
                assert_eq!(got == RegoValue::Bool(true), repository == "open");
                assert!(policy.prepared_paths() <= MAX_PREPARED_PATHS);
            }
        }
        assert_eq!(policy.prepared_paths(), MAX_PREPARED_PATHS);
    }

    /// A policy replaced between releases (at this replica or another, which this replica
    /// learns as a new version): each release is judged by the version it read, as a fresh
    /// engine of that version's text judges it; nothing prepared for the old one leaks.
    #[test]
    fn a_new_policy_version_judges_from_its_own_text() {
        let texts = policies();
        let mut current = std::sync::Arc::new(ResourcePolicy::compile(&texts[0]).unwrap());
        let mut current_text = texts[0].clone();
        let mut changes = 0;
        for step in 0..60usize {
            if step % 7 == 3 {
                let next = &texts[(step / 7 + 1) % texts.len()];
                current = std::sync::Arc::new(ResourcePolicy::compile(next).unwrap());
                current_text = next.clone();
                changes += 1;
            }
            let input = &inputs()[step % inputs().len()];
            let path = paths()[step % paths().len()];
            let got = current.evaluate(path, RegoValue::from_json_str(&input.to_string()).unwrap());
            let expected = fresh(&current_text, path, input);
            assert_eq!(got.ok(), expected.ok(), "step {step}: {current_text}");
        }
        assert!(changes >= 8);
    }
}
