//! The service's decisions, apart from HTTP: the appraisal pipeline, attestation at the
//! service's own door (its nonces), key-broker sessions, tokens and policies. Nothing here
//! imports axum or knows a status code; it returns `crate::problem::Problem`.

pub(crate) mod appraisal;
pub(crate) mod attest;
pub(crate) mod attested_sessions;
pub(crate) mod ear;
pub(crate) mod kbs_session;
pub(crate) mod nonce;
pub(crate) mod pipeline;
pub(crate) mod reference;
pub(crate) mod resource_policy;
pub(crate) mod token;

#[cfg(test)]
mod policy_input_tests;
