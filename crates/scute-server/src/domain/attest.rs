//! The attest domain, apart from HTTP: a request body parsed by `scute_api` (pure, fuzzed)
//! is attested here: the nonce spent, the quote verified, the event log replayed and the
//! claims appraised under the mandatory policies.

use crate::domain::nonce::{NonceError, Nonces};
use crate::domain::pipeline;
use crate::domain::pipeline::Pipeline;
use crate::problem::{Kind, Problem};
use crate::store::Store;
use crate::tee::{self, Tee};
use scute_api::unsupported_tee;
use scute_api::AttestRequest;

/// A signed attestation result.
pub(crate) struct Attested {
    pub token: String,
    pub tcb_status: String,
    pub ear_status: &'static str,
}

/// Attests: checks the challenge nonce (ours, unexpired), runs the shared pipeline (binding,
/// authenticity, event log, appraisal under the mandatory policies, token), and spends the
/// nonce before the token leaves. Spent only then, so no refused request writes to the store
/// (a challenge is free: spending it first bounded nothing, and wrote a row per request).
/// Of two requests with one nonce, only the one whose spend wins gets its token.
pub(crate) async fn attest(
    pipeline: &Pipeline<'_>,
    nonces: &Nonces,
    store: &Store,
    request: AttestRequest,
    now: i64,
) -> Result<Attested, Problem> {
    let nonce_refused = |e: NonceError| match e {
        NonceError::Expired => Problem::new(Kind::NonceExpired, "the challenge nonce has expired"),
        NonceError::Replayed => {
            Problem::new(Kind::NonceReplayed, "the challenge nonce was already used")
        }
        NonceError::Unknown => Problem::new(
            Kind::NonceUnknown,
            "the challenge nonce was not issued by this service",
        ),
        NonceError::Store(_) => Problem::new(
            Kind::StoreUnavailable,
            "the store cannot be reached to spend the nonce; retry with a new challenge",
        ),
    };
    // Exactly the TEEs the registry verifies; the sample TEE only where configured (refused
    // as the body parser refused it before it knew the name).
    if request.tee == Tee::Sample && !pipeline.verifiers.allow_sample_tee {
        return Err(Problem::new(
            Kind::BadField,
            unsupported_tee(request.tee.name()).to_string(),
        ));
    }
    // Freshness, before anything else is looked at: the nonce is ours and unexpired.
    nonces.check(&request.nonce, now).map_err(nonce_refused)?;
    let nonce = request.nonce;
    let evidence = tee::Evidence::api(
        request.tee,
        request.quote,
        request.cc_eventlog,
        request.vcek,
        request.cert_chain,
    );
    let appraised = pipeline::appraise(
        pipeline,
        pipeline::Appraise {
            evidence,
            expected_report_data: request.report_data,
            runtime_data: request.runtime_data,
            nonce: request.nonce_text,
            init_data: None,
            extra_policy_ids: request.extra_policy_ids,
        },
        now,
    )
    .await?;
    // Single use: the token is returned only if this request spent the nonce, checked again
    // at the instant of the spend (an expired nonce's row may already be forgotten, so it
    // must not be spendable however long the appraisal took).
    nonces
        .consume(store, &nonce, crate::clock::now().max(now))
        .await
        .map_err(nonce_refused)?;
    // Recorded only now, with the nonce spent: one challenge is at most one sighting, and a
    // refused request (replayed, denied, expired) writes no row. A failed write is logged
    // and counted by the recorder, never the attestation's failure.
    if let Some(sighting) = &appraised.sighting {
        pipeline
            .platforms
            .record(sighting, appraised.status.name(), now)
            .await;
    }
    Ok(Attested {
        token: appraised.token,
        tcb_status: appraised.tcb_status,
        ear_status: appraised.status.name(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn mandatory_policies_come_first_and_are_never_dropped() {
        let config = crate::config::Config {
            mandatory_policies: vec!["default".to_string(), "site".to_string()],
            ..crate::config::Config::default()
        };
        let applied = |extra: &[String]| {
            crate::domain::appraisal::applied_policy_ids(&config, extra).unwrap()
        };
        assert_eq!(applied(&[]), ["default", "site"]);
        assert_eq!(
            applied(&["narrow".into(), "default".into()]),
            ["default", "site", "narrow"]
        );
    }
}
