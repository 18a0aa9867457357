//! Reference values in force: the admin's values (`PUT /v1/reference-values/{name}`) and the
//! values of every stored signed document valid at a given time whose signer's key is
//! configured now (each signer's newer document superseding its older values name by name),
//! each with its provenance. One
//! [`InForce`] is what the policies read as `data.reference` ([`InForce::data`]), what the
//! token reports as matched ([`InForce::matched`]), and what the admin routes list, so none of
//! them can disagree with another. A set built at one time says when it stops being right
//! ([`InForce::changes_at`]: the next document to start or stop counting), and the appraisal
//! rebuilds it then rather than letting an expired document count.

use crate::store::{SignedDocumentRow, Store};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A signed document's values, name → values.
type ValuesByName = BTreeMap<String, Vec<Value>>;

/// `source` of a value the admin put.
pub(crate) const SOURCE_ADMIN: &str = "admin";

/// One accepted value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SourcedValue {
    pub value: Value,
    /// `admin`, or `signed:<signer>`.
    pub source: String,
    /// `sha256:<hex>` of the signed document; none for the admin's values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_digest: Option<String>,
    /// The document's validity, Unix seconds, when it states one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
}

/// A reference value the appraised evidence matched, as the token reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MatchedReference {
    pub value: Value,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_digest: Option<String>,
}

/// The reference values in force at one time.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct InForce {
    /// name → values, the admin's first (as stored), then each counting signed document's in
    /// import order, a value already listed not repeated.
    pub values: BTreeMap<String, Vec<SourcedValue>>,
    /// When a stored document starts or stops counting, the earliest such time after the one
    /// this set was built for; none when no document ever will.
    pub changes_at: Option<i64>,
    /// Each stored document's standing, by digest, in the store's order.
    pub documents: Vec<DocumentStanding>,
}

/// Whether one stored signed document counts, and if not, why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DocumentStanding {
    pub document_digest: String,
    /// Whether any of its values count.
    pub in_force: bool,
    /// Why it does not count: [`NOT_TRUSTED`], [`NOT_VALID`] or [`SUPERSEDED`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Names whose values a newer document of the same signer replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
}

/// The document's signer key is not (or no longer) among `reference_value_signers`.
pub(crate) const NOT_TRUSTED: &str = "signer_not_trusted";
/// Outside the document's validity.
pub(crate) const NOT_VALID: &str = "not_valid_now";
/// Every name it carries is carried by a newer document of the same signer.
pub(crate) const SUPERSEDED: &str = "superseded";

/// Whether a signed document counts at `now` (its validity is inclusive at both ends, as the
/// import's check is).
pub(crate) fn document_valid_at(doc: &SignedDocumentRow, now: i64) -> bool {
    doc.not_before.is_none_or(|t| t <= now) && doc.not_after.is_none_or(|t| now <= t)
}

/// The hex SHA-256 keys of the configured signers, as stored documents record them.
pub(crate) fn signer_keys(signers: &[scute_refvalues::Signer]) -> Vec<String> {
    signers
        .iter()
        .map(scute_refvalues::Signer::key_sha256)
        .collect()
}

impl InForce {
    /// What the store holds, in force at `now` for the configured `signers`. With
    /// `admin_values_count` false (`require_signed_reference_values`) the admin's stored values
    /// are left out.
    pub(crate) async fn load(
        store: &Store,
        now: i64,
        admin_values_count: bool,
        signers: &[scute_refvalues::Signer],
    ) -> Result<Self, String> {
        let admin = if admin_values_count {
            store.reference_values().await.map_err(|e| e.to_string())?
        } else {
            Vec::new()
        };
        let documents = store
            .signed_reference_values()
            .await
            .map_err(|e| e.to_string())?;
        Self::from_rows(admin, &documents, now, &signer_keys(signers))
    }

    /// From the admin's rows (name, JSON array) and the stored documents; a document counts
    /// only when its signer's key is one of `trusted_keys` (the signers configured now, not
    /// those of when it was imported) and `now` is within its validity. Of the counting
    /// documents of one signer that carry a name, only the newest gives that name's values
    /// (newest: the latest signed `not_before`, a document without one older than any with
    /// one; then the later import): a signer's newer document supersedes its older values, so
    /// an older document cannot lower a minimum (`isv_svn_min`) or bring back a value the
    /// signer has since replaced.
    pub(crate) fn from_rows(
        admin: Vec<(String, String)>,
        documents: &[SignedDocumentRow],
        now: i64,
        trusted_keys: &[String],
    ) -> Result<Self, String> {
        let mut values: BTreeMap<String, Vec<SourcedValue>> = BTreeMap::new();
        for (name, json) in admin {
            let parsed: Value = serde_json::from_str(&json)
                .map_err(|e| format!("stored reference value {name:?}: {e}"))?;
            let list = match parsed {
                Value::Array(list) => list,
                other => vec![other],
            };
            // The admin's values as stored, duplicates and all: `data.reference` of a service
            // without signed documents is exactly what it always was.
            values
                .entry(name)
                .or_default()
                .extend(list.into_iter().map(|value| SourcedValue {
                    value,
                    source: SOURCE_ADMIN.into(),
                    document_digest: None,
                    not_before: None,
                    not_after: None,
                }));
        }
        let mut changes_at: Option<i64> = None;
        let mut note = |t: i64| changes_at = Some(changes_at.map_or(t, |c| c.min(t)));
        let mut standings = Vec::with_capacity(documents.len());
        // (index, key, values by name) of each document that counts now.
        let mut counting: Vec<(usize, &str, ValuesByName)> = Vec::new();
        for (index, doc) in documents.iter().enumerate() {
            let trusted = doc
                .key_sha256
                .as_deref()
                .filter(|key| trusted_keys.iter().any(|t| t == key));
            let Some(key) = trusted else {
                standings.push(standing(doc, Some(NOT_TRUSTED)));
                continue;
            };
            if let Some(t) = doc.not_before.filter(|t| *t > now) {
                note(t);
            }
            if let Some(t) = doc.not_after.filter(|t| *t >= now) {
                note(t.saturating_add(1));
            }
            if !document_valid_at(doc, now) {
                standings.push(standing(doc, Some(NOT_VALID)));
                continue;
            }
            let by_name: BTreeMap<String, Vec<Value>> = serde_json::from_str(&doc.values_json)
                .map_err(|e| format!("stored signed document {}: {e}", doc.digest))?;
            standings.push(standing(doc, None));
            counting.push((index, key, by_name));
        }
        // The newest counting document of each (signer key, name).
        let newness = |index: usize| {
            let doc = &documents[index];
            (doc.not_before.unwrap_or(i64::MIN), doc.imported, index)
        };
        let mut newest: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (index, key, by_name) in &counting {
            for name in by_name.keys() {
                let slot = newest.entry((key, name.as_str())).or_insert(*index);
                if newness(*index) > newness(*slot) {
                    *slot = *index;
                }
            }
        }
        for (index, key, by_name) in &counting {
            let doc = &documents[*index];
            for (name, list) in by_name {
                if newest.get(&(*key, name.as_str())) != Some(index) {
                    standings[*index].superseded.push(name.clone());
                    continue;
                }
                let slot = values.entry(name.clone()).or_default();
                for value in list {
                    if slot.iter().any(|v| same_value(&v.value, value)) {
                        continue;
                    }
                    slot.push(SourcedValue {
                        value: value.clone(),
                        source: format!("signed:{}", doc.signer),
                        document_digest: Some(doc.digest.clone()),
                        not_before: doc.not_before,
                        not_after: doc.not_after,
                    });
                }
            }
            let standing = &mut standings[*index];
            if standing.superseded.len() == by_name.len() {
                standing.in_force = false;
                standing.reason = Some(SUPERSEDED);
            }
        }
        Ok(Self {
            values,
            changes_at,
            documents: standings,
        })
    }

    /// Whether a set built earlier is no longer right at `now`.
    pub(crate) fn stale_at(&self, now: i64) -> bool {
        self.changes_at.is_some_and(|t| now >= t)
    }

    /// `data.reference`: name → array of the values.
    pub(crate) fn data(&self) -> Value {
        Value::Object(
            self.values
                .iter()
                .map(|(name, list)| {
                    (
                        name.clone(),
                        Value::Array(list.iter().map(|v| v.value.clone()).collect()),
                    )
                })
                .collect(),
        )
    }

    /// The values of one name, as `GET /v1/reference-values/{name}` answers them.
    pub(crate) fn values_of(&self, name: &str) -> Option<Value> {
        self.values
            .get(name)
            .map(|list| Value::Array(list.iter().map(|v| v.value.clone()).collect()))
    }

    /// For each name in force equal (as Rego judges it: [`same_value`]) to the measurement of that name in the policy
    /// input's `measurements`: the first value that matched, and its source.
    pub(crate) fn matched(&self, measurements: &Value) -> BTreeMap<String, MatchedReference> {
        let Some(measurements) = measurements.as_object() else {
            return BTreeMap::new();
        };
        self.values
            .iter()
            .filter_map(|(name, list)| {
                let measured = measurements.get(name)?;
                let hit = list.iter().find(|v| same_value(&v.value, measured))?;
                Some((
                    name.clone(),
                    MatchedReference {
                        value: hit.value.clone(),
                        source: hit.source.clone(),
                        document_digest: hit.document_digest.clone(),
                    },
                ))
            })
            .collect()
    }
}

fn standing(doc: &SignedDocumentRow, reason: Option<&'static str>) -> DocumentStanding {
    DocumentStanding {
        document_digest: doc.digest.clone(),
        in_force: reason.is_none(),
        reason,
        superseded: Vec::new(),
    }
}

/// Equality as Rego's `==` and `in` judge it: numbers by value (`7` equals `7.0`), everything
/// else as JSON (strings exactly, byte for byte).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64().is_some_and(|x| y.as_f64() == Some(x)),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| same_value(a, b)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RELEASE: &str = "key-release";
    const OTHER: &str = "key-other";

    fn doc(
        digest: &str,
        values: Value,
        not_before: Option<i64>,
        not_after: Option<i64>,
    ) -> SignedDocumentRow {
        doc_by(RELEASE, digest, values, not_before, not_after)
    }

    /// A document signed by the key `key`, shown as signer "release" whichever key it is (a
    /// certificate's CN is no identity).
    fn doc_by(
        key: &str,
        digest: &str,
        values: Value,
        not_before: Option<i64>,
        not_after: Option<i64>,
    ) -> SignedDocumentRow {
        SignedDocumentRow {
            digest: digest.into(),
            signer: "release".into(),
            format: "dsse".into(),
            not_before,
            not_after,
            values_json: values.to_string(),
            imported: 1,
            key_sha256: Some(key.into()),
        }
    }

    fn trusted(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn admin_values_stay_as_they_were_and_signed_ones_join_while_valid() {
        let admin = vec![("mr_td".to_string(), json!(["aa", "aa"]).to_string())];
        let docs = [
            doc(
                "sha256:1",
                json!({"mr_td": ["aa", "bb"], "rtmr1": ["r1"]}),
                None,
                Some(100),
            ),
            doc_by(OTHER, "sha256:2", json!({"mr_td": ["cc"]}), Some(50), None),
        ];
        let keys = trusted(&[RELEASE, OTHER]);
        let at = |now| InForce::from_rows(admin.clone(), &docs, now, &keys).unwrap();
        assert_eq!(
            at(10).data(),
            json!({"mr_td": ["aa", "aa", "bb"], "rtmr1": ["r1"]})
        );
        assert_eq!(at(10).changes_at, Some(50));
        assert_eq!(
            at(50).data(),
            json!({"mr_td": ["aa", "aa", "bb", "cc"], "rtmr1": ["r1"]})
        );
        assert_eq!(at(50).changes_at, Some(101));
        assert_eq!(at(100).values_of("rtmr1"), Some(json!(["r1"])));
        // Past its not_after a document no longer counts, and nothing else will change.
        let later = at(101);
        assert_eq!(later.data(), json!({"mr_td": ["aa", "aa", "cc"]}));
        assert_eq!(later.changes_at, None);
        assert!(at(10).stale_at(50) && !at(10).stale_at(49));
        // Without signed documents: exactly the admin's JSON.
        assert_eq!(
            InForce::from_rows(admin.clone(), &[], 0, &[])
                .unwrap()
                .data(),
            json!({"mr_td": ["aa", "aa"]})
        );
    }

    #[test]
    fn a_match_names_its_first_source() {
        let admin = vec![("mr_td".to_string(), json!(["aa"]).to_string())];
        let docs = [doc(
            "sha256:1",
            json!({"mr_td": ["aa", "bb"], "rtmr1": ["r1"], "isv_svn_min": [1]}),
            None,
            None,
        )];
        let set = InForce::from_rows(admin, &docs, 0, &trusted(&[RELEASE])).unwrap();
        let m = set.matched(&json!({"mr_td": "aa", "rtmr1": "r1", "rtmr2": "r2", "isv_svn": 1}));
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({
                "mr_td": {"value": "aa", "source": "admin"},
                "rtmr1": {"value": "r1", "source": "signed:release", "document_digest": "sha256:1"},
            })
        );
        let m = set.matched(&json!({"mr_td": "bb", "rtmr1": "zz"}));
        assert_eq!(m["mr_td"].source, "signed:release");
        assert!(!m.contains_key("rtmr1"));
    }

    #[test]
    fn a_document_counts_only_while_its_signers_key_is_configured() {
        // Signed by key A; the configuration now names only B (same CN "release"), or no one.
        let docs = [doc_by(
            "key-a",
            "sha256:1",
            json!({"mr_td": ["aa"]}),
            None,
            None,
        )];
        for keys in [trusted(&["key-b"]), trusted(&[])] {
            let set = InForce::from_rows(Vec::new(), &docs, 0, &keys).unwrap();
            assert_eq!(set.data(), json!({}), "{keys:?}");
            assert_eq!(set.values_of("mr_td"), None);
            assert!(set.matched(&json!({"mr_td": "aa"})).is_empty());
            assert_eq!(
                serde_json::to_value(&set.documents).unwrap(),
                json!([{"document_digest": "sha256:1", "in_force": false, "reason": "signer_not_trusted"}])
            );
            assert_eq!(set.changes_at, None);
        }
        // A document stored before keys were recorded counts for no one.
        let mut old = docs[0].clone();
        old.key_sha256 = None;
        let set = InForce::from_rows(Vec::new(), &[old], 0, &trusted(&["key-a"])).unwrap();
        assert_eq!(set.data(), json!({}));
        // With A configured it counts.
        let set = InForce::from_rows(Vec::new(), &docs, 0, &trusted(&["key-b", "key-a"])).unwrap();
        assert_eq!(set.data(), json!({"mr_td": ["aa"]}));
        assert!(set.documents[0].in_force);
    }

    #[test]
    fn a_newer_document_of_the_same_signer_supersedes_its_older_values() {
        let older = doc(
            "sha256:old",
            json!({"isv_svn_min": [1], "mr_signer": ["s1"]}),
            Some(10),
            None,
        );
        let mut newer = doc("sha256:new", json!({"isv_svn_min": [4]}), Some(20), None);
        // Imported first: newness is the signed not_before, so replaying the older document
        // later does not bring its minimum back.
        newer.imported = 0;
        let keys = trusted(&[RELEASE, OTHER]);
        let set =
            InForce::from_rows(Vec::new(), &[newer.clone(), older.clone()], 30, &keys).unwrap();
        // Only 4 in force; the older document still gives the name the newer one lacks.
        assert_eq!(set.data(), json!({"isv_svn_min": [4], "mr_signer": ["s1"]}));
        assert_eq!(
            serde_json::to_value(&set.documents).unwrap(),
            json!([
                {"document_digest": "sha256:new", "in_force": true},
                {"document_digest": "sha256:old", "in_force": true, "superseded": ["isv_svn_min"]},
            ])
        );
        // Before the newer one is valid, the older one's minimum is what counts.
        let set =
            InForce::from_rows(Vec::new(), &[newer.clone(), older.clone()], 15, &keys).unwrap();
        assert_eq!(set.values_of("isv_svn_min"), Some(json!([1])));
        // Superseded in every name: not in force, and said so.
        let only_min = doc("sha256:old2", json!({"isv_svn_min": [1]}), None, None);
        let set = InForce::from_rows(Vec::new(), &[only_min, newer.clone()], 30, &keys).unwrap();
        assert_eq!(set.values_of("isv_svn_min"), Some(json!([4])));
        assert_eq!(set.documents[0].reason, Some(SUPERSEDED));
        assert!(!set.documents[0].in_force);
        // Another signer's document is not superseded by this one's.
        let theirs = doc_by(
            OTHER,
            "sha256:theirs",
            json!({"isv_svn_min": [2]}),
            Some(5),
            None,
        );
        let set = InForce::from_rows(Vec::new(), &[theirs, newer], 30, &keys).unwrap();
        assert_eq!(set.values_of("isv_svn_min"), Some(json!([2, 4])));
    }

    #[test]
    fn numbers_match_by_value_as_rego_compares_them() {
        let admin = vec![("isv_prod_id".to_string(), json!([7.0]).to_string())];
        let set = InForce::from_rows(admin, &[], 0, &[]).unwrap();
        let m = set.matched(&json!({"isv_prod_id": 7}));
        assert_eq!(m["isv_prod_id"].source, "admin");
        let admin = vec![("mr_td".to_string(), json!(["AA"]).to_string())];
        let set = InForce::from_rows(admin, &[], 0, &[]).unwrap();
        // Strings exactly, as Rego's `in` does.
        assert!(set.matched(&json!({"mr_td": "aa"})).is_empty());
        assert!(same_value(&json!([1, {"a": 2.0}]), &json!([1.0, {"a": 2}])));
        assert!(!same_value(&json!(1), &json!("1")));
    }
}
