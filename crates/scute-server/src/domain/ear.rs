//! The attestation result as a type: an EAR (draft-ietf-rats-ear-03) with its status, trust
//! vector and submodules, built by the pipeline (`domain::pipeline`), signed by
//! `domain::token::Signer` and read back by `domain::token::Verifier` for the key broker.
//!
//! What this service issues carries its typed policy input as the annotated evidence
//! ([`IssuedEar`]); what it reads back may come from another issuer (`kbs_trusted_jwks`), so
//! [`Ear`] keeps every member it does not name (`extensions`) and the annotated evidence as open
//! JSON around the one part it reads by type: the runtime data with the recipient key.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `eat_profile` of the EARs this service issues.
pub const EAR_PROFILE: &str = "tag:ietf.org,2026:rats/ear#03";

/// The one submodule this service's EARs carry: the TEE's evidence.
pub(crate) const CPU0: &str = "cpu0";

/// An EAR. `E` is the annotated evidence: [`PolicyInput`] when issued, [`AnnotatedEvidence`]
/// when read back. Members are declared in the order the JSON has always listed them. What the
/// EAR draft makes optional is optional here (another issuer, e.g. Trustee's, may leave it
/// out); this service always writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Ear<E = AnnotatedEvidence> {
    pub eat_profile: String,
    pub iat: i64,
    /// Required of every token this service accepts (`token::Verifier`).
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eat_nonce: Option<String>,
    pub ear_verifier_id: VerifierId,
    /// The worst submodule's (this service's addition to the draft's members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ear_status: Option<EarStatus>,
    pub submods: BTreeMap<String, Submod<E>>,
    /// Members another issuer's EAR carries that this type does not name, kept as signed.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// The EAR this service issues: its policy input, annotated, is the annotated evidence.
pub(crate) type IssuedEar<'a> = Ear<IssuedEvidence<'a>>;

/// The annotated evidence this service issues: the policy input as the policies read it, and
/// beside its members the reference values it matched (name → the value and where it came
/// from), computed from the very `data.reference` the policies read. Empty (and left out)
/// when nothing matched.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IssuedEvidence<'a> {
    /// The policy input (`appraisal::PolicyInput`) as JSON: made once per appraisal, for the
    /// policies' input and for the token.
    #[serde(flatten)]
    pub input: &'a Value,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reference_values: BTreeMap<String, crate::domain::reference::MatchedReference>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VerifierId {
    pub developer: String,
    pub build: String,
}

impl VerifierId {
    /// This service.
    pub(crate) fn scute() -> Self {
        Self {
            developer: "https://github.com/scute".into(),
            build: concat!("scute ", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// One appraised component.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Submod<E = AnnotatedEvidence> {
    pub ear_status: EarStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ear_trustworthiness_vector: Option<TrustVector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ear_appraisal_policy_ids: Option<Vec<String>>,
    #[serde(
        rename = "ear_veraison_annotated_evidence",
        default = "Option::default",
        skip_serializing_if = "Option::is_none"
    )]
    pub evidence: Option<E>,
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// The AR4SI trustworthiness vector: claim name → value (2..31 affirming, 32..95 warning,
/// 96..127 contraindicated).
pub(crate) type TrustVector = BTreeMap<String, i64>;

/// An EAR status: AR4SI tiers, ordered from none to contraindicated, so the worst of a set is
/// its maximum.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EarStatus {
    #[default]
    None,
    Affirming,
    Warning,
    Contraindicated,
}

impl EarStatus {
    /// The tier of one trust-vector value (its sign ignored, as AR4SI reserves negatives).
    pub(crate) fn of_claim(value: i64) -> Self {
        match value.unsigned_abs() {
            96.. => Self::Contraindicated,
            32..=95 => Self::Warning,
            2..=31 => Self::Affirming,
            _ => Self::None,
        }
    }

    /// The worst tier of a vector; `None` for an empty one.
    pub(crate) fn of_vector(vector: &TrustVector) -> Self {
        vector
            .values()
            .map(|v| Self::of_claim(*v))
            .max()
            .unwrap_or_default()
    }

    /// The JSON spelling (also the metric label and the log's `ear_status`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Affirming => "affirming",
            Self::Warning => "warning",
            Self::Contraindicated => "contraindicated",
        }
    }
}

/// Annotated evidence as read back from a verified token: the claims as open JSON (another
/// issuer's claims are its own), and the attester's runtime data, read by type where the key
/// broker needs it ([`Self::runtime_data`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AnnotatedEvidence {
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

/// Why a verified EAR cannot release a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum EarError {
    #[error("the attestation result has no {CPU0} submodule")]
    NoCpu0,
    #[error("the attestation result binds no tee-pubkey")]
    NoRuntimeData,
    #[error("the attestation result's runtime data: {0}")]
    RuntimeData(String),
}

impl Ear<AnnotatedEvidence> {
    /// The submodule of the TEE's evidence.
    pub(crate) fn cpu0(&self) -> Result<&Submod<AnnotatedEvidence>, EarError> {
        self.submods.get(CPU0).ok_or(EarError::NoCpu0)
    }
}

impl Submod<AnnotatedEvidence> {
    /// The runtime data the evidence binds, as `T` (the KBS's `scute_kbs::RuntimeData`).
    pub(crate) fn runtime_data<T: for<'de> Deserialize<'de>>(&self) -> Result<T, EarError> {
        let value = self
            .evidence
            .as_ref()
            .and_then(|e| e.claims.get("runtime_data"))
            .ok_or(EarError::NoRuntimeData)?;
        T::deserialize(value).map_err(|e| EarError::RuntimeData(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_are_ordered_and_spelt_as_before() {
        use EarStatus::*;
        assert!(None < Affirming && Affirming < Warning && Warning < Contraindicated);
        for (value, status) in [
            (0, None),
            (1, None),
            (2, Affirming),
            (31, Affirming),
            (32, Warning),
            (95, Warning),
            (96, Contraindicated),
            (127, Contraindicated),
            (-96, Contraindicated),
            (-2, Affirming),
            (i64::MIN, Contraindicated),
        ] {
            assert_eq!(EarStatus::of_claim(value), status, "{value}");
        }
        for status in [None, Affirming, Warning, Contraindicated] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.name());
            assert_eq!(
                serde_json::from_value::<EarStatus>(json!(status.name())).unwrap(),
                status
            );
        }
        assert!(serde_json::from_value::<EarStatus>(json!("Affirming")).is_err());
        let vector: TrustVector = [("a".into(), 2), ("b".into(), 33), ("c".into(), 3)].into();
        assert_eq!(EarStatus::of_vector(&vector), Warning);
        assert_eq!(EarStatus::of_vector(&TrustVector::new()), None);
    }

    /// Another issuer's members survive the round trip: the resource policy reads them as signed.
    #[test]
    fn members_this_type_does_not_name_are_kept() {
        // An EAR with only the draft's required members (as Trustee's may be) reads too.
        let minimal = json!({"eat_profile": "p", "iat": 1, "exp": 2,
            "ear_verifier_id": {"developer": "d", "build": "b"},
            "submods": {"cpu0": {"ear_status": "affirming"}}});
        let ear: Ear = serde_json::from_value(minimal.clone()).unwrap();
        assert_eq!(serde_json::to_value(&ear).unwrap(), minimal);
        assert_eq!(
            ear.cpu0().unwrap().runtime_data::<Value>().unwrap_err(),
            EarError::NoRuntimeData
        );
        let token = json!({
            "eat_profile": "tag:example", "iat": 1, "exp": 2, "eat_nonce": "n",
            "ear_verifier_id": {"developer": "d", "build": "b"}, "ear_status": "warning",
            "ear.raw-evidence": "x", "custom": {"a": [1]},
            "submods": {"cpu0": {"ear_status": "warning",
                "ear_trustworthiness_vector": {"hardware": 32},
                "ear_appraisal_policy_ids": ["p"], "ear.veraison.policy-claims": {"k": 1},
                "ear_veraison_annotated_evidence": {"tee": "tdx",
                    "runtime_data": {"nonce": "n", "tee-pubkey": {"kty": "EC"}}}}}
        });
        let ear: Ear = serde_json::from_value(token.clone()).unwrap();
        assert_eq!(serde_json::to_value(&ear).unwrap(), token);
        #[derive(Deserialize)]
        struct Pubkey {
            #[serde(rename = "tee-pubkey")]
            tee_pubkey: Value,
        }
        let key: Pubkey = ear.cpu0().unwrap().runtime_data().unwrap();
        assert_eq!(key.tee_pubkey, json!({"kty": "EC"}));
    }

    #[test]
    fn an_ear_without_the_key_says_which_part_is_missing() {
        let mut ear: Ear = serde_json::from_value(json!({
            "eat_profile": "p", "iat": 1, "exp": 2, "eat_nonce": "n",
            "ear_verifier_id": {"developer": "d", "build": "b"}, "ear_status": "affirming",
            "submods": {"cpu0": {"ear_status": "affirming", "ear_trustworthiness_vector": {},
                "ear_appraisal_policy_ids": [], "ear_veraison_annotated_evidence": {"tee": "x"}}}
        }))
        .unwrap();
        assert_eq!(
            ear.cpu0().unwrap().runtime_data::<Value>().unwrap_err(),
            EarError::NoRuntimeData
        );
        ear.submods.clear();
        assert_eq!(ear.cpu0().unwrap_err(), EarError::NoCpu0);
    }
}
