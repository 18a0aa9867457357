//! Reference values in force: the admin's values (`PUT /v1/reference-values/{name}`) and the
//! values of every stored signed document valid at a given time, each with its provenance. One
//! [`InForce`] is what the policies read as `data.reference` ([`InForce::data`]), what the
//! token reports as matched ([`InForce::matched`]), and what the admin routes list, so none of
//! them can disagree with another. A set built at one time says when it stops being right
//! ([`InForce::changes_at`]: the next document to start or stop counting), and the appraisal
//! rebuilds it then rather than letting an expired document count.

use crate::store::{SignedDocumentRow, Store};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `source` of a value the admin put.
pub const SOURCE_ADMIN: &str = "admin";

/// One accepted value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourcedValue {
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
pub struct MatchedReference {
    pub value: Value,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_digest: Option<String>,
}

/// The reference values in force at one time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InForce {
    /// name → values, the admin's first (as stored), then each valid signed document's in
    /// import order, a value already listed not repeated.
    pub values: BTreeMap<String, Vec<SourcedValue>>,
    /// When a stored document starts or stops counting, the earliest such time after the one
    /// this set was built for; none when no document ever will.
    pub changes_at: Option<i64>,
}

/// Whether a signed document counts at `now` (its validity is inclusive at both ends, as the
/// import's check is).
pub fn document_valid_at(doc: &SignedDocumentRow, now: i64) -> bool {
    doc.not_before.is_none_or(|t| t <= now) && doc.not_after.is_none_or(|t| now <= t)
}

impl InForce {
    /// What the store holds, in force at `now`. With `admin_values_count` false
    /// (`require_signed_reference_values`) the admin's stored values are left out.
    pub async fn load(store: &Store, now: i64, admin_values_count: bool) -> Result<Self, String> {
        let admin = if admin_values_count {
            store.reference_values().await.map_err(|e| e.to_string())?
        } else {
            Vec::new()
        };
        let documents = store
            .signed_reference_values()
            .await
            .map_err(|e| e.to_string())?;
        Self::from_rows(admin, &documents, now)
    }

    /// From the admin's rows (name, JSON array) and the stored documents.
    pub fn from_rows(
        admin: Vec<(String, String)>,
        documents: &[SignedDocumentRow],
        now: i64,
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
        for doc in documents {
            if let Some(t) = doc.not_before.filter(|t| *t > now) {
                note(t);
            }
            if let Some(t) = doc.not_after.filter(|t| *t >= now) {
                note(t.saturating_add(1));
            }
            if !document_valid_at(doc, now) {
                continue;
            }
            let by_name: BTreeMap<String, Vec<Value>> = serde_json::from_str(&doc.values_json)
                .map_err(|e| format!("stored signed document {}: {e}", doc.digest))?;
            for (name, list) in by_name {
                let slot = values.entry(name).or_default();
                for value in list {
                    if slot.iter().any(|v| v.value == value) {
                        continue;
                    }
                    slot.push(SourcedValue {
                        value,
                        source: format!("signed:{}", doc.signer),
                        document_digest: Some(doc.digest.clone()),
                        not_before: doc.not_before,
                        not_after: doc.not_after,
                    });
                }
            }
        }
        Ok(Self { values, changes_at })
    }

    /// Whether a set built earlier is no longer right at `now`.
    pub fn stale_at(&self, now: i64) -> bool {
        self.changes_at.is_some_and(|t| now >= t)
    }

    /// `data.reference`: name → array of the values.
    pub fn data(&self) -> Value {
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
    pub fn values_of(&self, name: &str) -> Option<Value> {
        self.values
            .get(name)
            .map(|list| Value::Array(list.iter().map(|v| v.value.clone()).collect()))
    }

    /// For each name in force equal (as JSON) to the measurement of that name in the policy
    /// input's `measurements`: the first value that matched, and its source.
    pub fn matched(&self, measurements: &Value) -> BTreeMap<String, MatchedReference> {
        let Some(measurements) = measurements.as_object() else {
            return BTreeMap::new();
        };
        self.values
            .iter()
            .filter_map(|(name, list)| {
                let measured = measurements.get(name)?;
                let hit = list.iter().find(|v| v.value == *measured)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(
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
        }
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
            doc("sha256:2", json!({"mr_td": ["cc"]}), Some(50), None),
        ];
        let at = |now| InForce::from_rows(admin.clone(), &docs, now).unwrap();
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
            InForce::from_rows(admin.clone(), &[], 0).unwrap().data(),
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
        let set = InForce::from_rows(admin, &docs, 0).unwrap();
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
}
