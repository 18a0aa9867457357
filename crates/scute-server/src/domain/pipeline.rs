//! The appraisal pipeline every front door shares (`/v1/attest`, the KBS): evidence → verified
//! evidence → claims → policies → a signed EAR. Front doors translate their wire format into an
//! [`Appraise`] (having spent their own kind of nonce) and the result back; nothing here knows
//! about HTTP bodies, cookies or sessions.

use crate::config::Config;
use crate::domain::appraisal::{InitDataClaims, Policies, PolicyInput, RegoInput};
use crate::domain::ear::{
    EarStatus, IssuedEar, IssuedEvidence, Submod, TrustVector, VerifierId, CPU0, EAR_PROFILE,
};
use crate::domain::token::Signer;
use crate::problem::{Kind, Problem};
use crate::tee::{Binding, Evidence, Verifiers};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One appraisal request.
pub(crate) struct Appraise {
    pub evidence: Evidence,
    /// What the evidence's report data must be, all 64 bytes (the front door's binding rule).
    pub expected_report_data: [u8; 64],
    /// Exposed to policies as `input.runtime_data` and kept in the token's claims.
    pub runtime_data: Value,
    /// `eat_nonce` of the token.
    pub nonce: String,
    /// When present: the digest the TEE's init-data field must carry, and the `data` it proves
    /// (`input.init_data`).
    pub init_data: Option<InitData>,
    /// Policies the requester adds to the mandatory ones.
    pub extra_policy_ids: Vec<String>,
}

/// Init-data as a front door decoded it: the digest of its text, and its `data` table.
pub(crate) struct InitData {
    pub digest: Vec<u8>,
    /// Attester-chosen (the TOML's `data`): open JSON, `null` when it has none.
    pub data: Value,
}

/// The verdict: the signed token and what it says.
pub(crate) struct Appraised {
    pub token: String,
    /// What the token says, as signed (for a front door that keeps the verified result).
    pub claims: Value,
    pub tcb_status: String,
    pub status: EarStatus,
    pub expires: i64,
    /// The platform and TCB level for the platforms table. The front door records it only
    /// once the request has spent its challenge: a refused request (a replay, a denial)
    /// writes nothing to the store.
    pub sighting: Option<crate::platforms::Sighting>,
}

/// What an appraisal needs of the service, and nothing else: the verifiers of every TEE, the
/// policies and the signing key as they are now, and the settings that bound the verdict.
pub(crate) struct Pipeline<'a> {
    pub(crate) verifiers: &'a Verifiers,
    pub(crate) policies: Arc<Policies>,
    pub(crate) signer: Arc<Signer>,
    pub(crate) config: &'a Config,
    /// `reference_value_signers`: whose stored documents count when the reference values are
    /// rebuilt mid-appraisal.
    pub(crate) reference_signers: &'a [scute_refvalues::Signer],
    /// The platforms table (`platforms`): the front doors record an [`Appraised`]'s sighting
    /// here after spending its challenge.
    pub(crate) platforms: &'a crate::platforms::Recorder,
}

pub(crate) async fn appraise(
    pipeline: &Pipeline<'_>,
    request: Appraise,
    now: i64,
) -> Result<Appraised, Problem> {
    let binding = Binding {
        report_data: &request.expected_report_data,
        init_data: request.init_data.as_ref().map(|i| i.digest.as_slice()),
    };
    let verified = pipeline
        .verifiers
        .verify(&request.evidence, binding, now)
        .await?;
    let sighting = verified.sighting;
    let input = PolicyInput {
        claims: verified.claims,
        runtime_data: request.runtime_data,
        init_data: request.init_data.map(|i| InitDataClaims {
            digest: scute_tee::Hex(i.digest),
            data: i.data,
        }),
    };

    let policy_ids =
        crate::domain::appraisal::applied_policy_ids(pipeline.config, &request.extra_policy_ids)?;
    // A signed document that started or stopped counting since the policies were built (its
    // not_before or not_after passed): judge with the values in force now, not then.
    let rebuilt;
    let policies = if pipeline.policies.stale_at(now) {
        rebuilt = crate::domain::appraisal::load_policies(
            &pipeline.verifiers.store,
            now,
            !pipeline.config.require_signed_reference_values,
            pipeline.reference_signers,
        )
        .await
        .map_err(|e| Problem::new(Kind::PolicyFailed, e))?;
        &rebuilt
    } else {
        &*pipeline.policies
    };
    // The input made JSON once: the policies read it, the token carries it, and its
    // measurements pick the reference values reported.
    let input = serde_json::to_value(&input)
        .map_err(|e| Problem::new(Kind::PolicyFailed, format!("claims as policy input: {e}")))?;
    let rego_input =
        RegoInput::from_json(&input).map_err(|e| Problem::new(Kind::PolicyFailed, e))?;
    let mut vector = TrustVector::new();
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
            .evaluate(id, &rego_input)
            .map_err(|e| Problem::new(Kind::PolicyFailed, e))?;
        for (claim, value) in v {
            // Of two policies' values for one claim, the worse tier's stands.
            let slot = vector.entry(claim).or_insert(value);
            if EarStatus::of_claim(value) > EarStatus::of_claim(*slot) {
                *slot = value;
            }
        }
        denials.extend(deny);
    }
    if !denials.is_empty() {
        return Err(Problem::new(Kind::PolicyDenied, denials.join("; ")));
    }
    let status = EarStatus::of_vector(&vector);
    let measurements = input.get("measurements").unwrap_or(&Value::Null);
    let reference_values = policies.reference().matched(measurements);
    // A result is no fresher than the collateral that vouched for it.
    let expires = (now + pipeline.config.token_lifetime_secs as i64).min(verified.expires);
    let ear = IssuedEar {
        eat_profile: EAR_PROFILE.into(),
        iat: now,
        exp: expires,
        eat_nonce: Some(request.nonce),
        ear_verifier_id: VerifierId::scute(),
        ear_status: Some(status),
        submods: BTreeMap::from([(
            CPU0.to_string(),
            Submod {
                ear_status: status,
                ear_trustworthiness_vector: Some(vector),
                ear_appraisal_policy_ids: Some(policy_ids),
                evidence: Some(IssuedEvidence {
                    input: &input,
                    reference_values,
                }),
                extensions: Default::default(),
            },
        )]),
        extensions: Default::default(),
    };
    // Members in the order serde_json's map keeps, as `Signer::sign` makes them.
    let claims = serde_json::to_value(&ear).map_err(Problem::internal)?;
    let token = pipeline
        .signer
        .sign_claims(&claims)
        .map_err(Problem::internal)?;
    Ok(Appraised {
        token,
        claims,
        tcb_status: verified.tcb_status,
        status,
        expires,
        sighting,
    })
}
