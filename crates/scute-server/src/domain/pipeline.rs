//! The appraisal pipeline every front door shares (`/v1/attest`, the KBS): evidence → verified
//! evidence → claims → policies → a signed EAR. Front doors translate their wire format into an
//! [`Appraise`] (having spent their own kind of nonce) and the result back; nothing here knows
//! about HTTP bodies, cookies or sessions.

use crate::config::Config;
use crate::domain::appraisal::Policies;
use crate::domain::appraisal::{status_name, tier};
use crate::domain::token::Signer;
use crate::problem::{Kind, Problem};
use crate::tee::{Binding, Evidence, Verifiers};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One appraisal request.
pub struct Appraise {
    pub evidence: Evidence,
    /// What the evidence's report data must be, all 64 bytes (the front door's binding rule).
    pub expected_report_data: [u8; 64],
    /// Exposed to policies as `input.runtime_data` and kept in the token's claims.
    pub runtime_data: Value,
    /// `eat_nonce` of the token.
    pub nonce: String,
    /// When present: the digest that TDX MRCONFIGID must carry (zero-padded), and the claims
    /// (`input.init_data`) that digest proves.
    pub init_data: Option<(Vec<u8>, Value)>,
    /// Policies the requester adds to the mandatory ones.
    pub extra_policy_ids: Vec<String>,
}

/// The verdict: the signed token and what it says.
pub struct Appraised {
    pub token: String,
    pub tcb_status: String,
    pub status: &'static str,
    pub expires: i64,
}

/// What an appraisal needs of the service, and nothing else: the verifiers of every TEE, the
/// policies and the signing key as they are now, and the settings that bound the verdict.
pub(crate) struct Pipeline<'a> {
    pub(crate) verifiers: &'a Verifiers,
    pub(crate) policies: Arc<Policies>,
    pub(crate) signer: Arc<Signer>,
    pub(crate) config: &'a Config,
}

pub(crate) async fn appraise(
    pipeline: &Pipeline<'_>,
    request: Appraise,
    now: i64,
) -> Result<Appraised, Problem> {
    let binding = Binding {
        report_data: &request.expected_report_data,
        init_data: request
            .init_data
            .as_ref()
            .map(|(digest, _)| digest.as_slice()),
    };
    let verified = pipeline
        .verifiers
        .verify(&request.evidence, binding, now)
        .await?;
    let mut claims = verified.claims;
    claims["runtime_data"] = request.runtime_data.clone();
    if let Some((_, init_claims)) = &request.init_data {
        claims["init_data"] = init_claims.clone();
    }

    let policy_ids =
        crate::domain::appraisal::applied_policy_ids(pipeline.config, &request.extra_policy_ids)?;
    let policies = &pipeline.policies;
    let input = crate::domain::appraisal::PolicyInput::new(&claims)
        .map_err(|e| Problem::new(Kind::PolicyFailed, e))?;
    let mut vector: BTreeMap<String, i64> = BTreeMap::new();
    let mut denials = Vec::new();
    for id in &policy_ids {
        if !policies.contains(id) {
            if pipeline.config.mandatory_policies.contains(id) {
                // Checked at start and on delete; fail closed if it is gone anyway.
                return Err(Problem::internal(format!(
                    "mandatory policy {id:?} is missing"
                )));
            }
            return Err(Problem::new(
                Kind::PolicyNotFound,
                format!("no policy {id:?}"),
            ));
        }
        let (v, deny) = policies
            .evaluate(id, &input)
            .map_err(|e| Problem::new(Kind::PolicyFailed, e))?;
        for (claim, value) in v {
            let slot = vector.entry(claim).or_insert(value);
            if tier(value) > tier(*slot) {
                *slot = value;
            }
        }
        denials.extend(deny);
    }
    if !denials.is_empty() {
        return Err(Problem::new(Kind::PolicyDenied, denials.join("; ")));
    }
    let status = status_name(vector.values().map(|v| tier(*v)).max().unwrap_or(0));
    // A result is no fresher than the collateral that vouched for it.
    let expires = (now + pipeline.config.token_lifetime_secs as i64).min(verified.expires);
    let ear = json!({
        "eat_profile": crate::domain::token::EAR_PROFILE,
        "iat": now,
        "exp": expires,
        "eat_nonce": request.nonce,
        "ear_verifier_id": { "developer": "https://github.com/scute", "build": concat!("scute ", env!("CARGO_PKG_VERSION")) },
        "ear_status": status,
        "submods": {
            "cpu0": {
                "ear_status": status,
                "ear_trustworthiness_vector": vector,
                "ear_appraisal_policy_ids": policy_ids,
                "ear_veraison_annotated_evidence": claims,
            }
        }
    });
    let token = pipeline.signer.sign(&ear).map_err(Problem::internal)?;
    Ok(Appraised {
        token,
        tcb_status: verified.tcb_status,
        status,
        expires,
    })
}
