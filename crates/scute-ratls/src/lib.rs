//! RA-TLS on rustls: certificates whose key is bound to a TEE quote (the CCC interoperable
//! DICE format, 2.23.133.5.4.9), readers for the formats other implementations emit, and
//! rustls verifiers that accept a peer only when its quote verifies and its measurements and TCB
//! are acceptable. No I/O: rustls does it; time and collateral are given.

pub mod endorsements;
mod error;
mod evidence;
mod issue;
mod verifier;

pub use error::RaTlsError;
pub use evidence::{
    inspect, EvidenceExtension, Inspection, CBOR_TAG_INTEL_QUOTE, DICE_ENDORSEMENTS_OID,
    DICE_EVIDENCE_OID,
};
pub use issue::{issue, AttestedIdentity, IssueOptions, KeyAlgorithm};
pub use verifier::{
    verify_peer, CollateralLookup, CollateralSource, Expectations, PeerIdentity, RaTlsVerifier,
};
