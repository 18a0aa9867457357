//! The TEE vocabulary of Scute, at the bottom of the workspace: the one type naming the TEEs
//! ([`Tee`], with its Scute API and KBS spellings) and the traits each TEE crate implements so
//! that upper layers (the CLI, the server) read verified evidence without knowing its TEE:
//!
//! - [`Verifier`]: wire bytes → evidence → verified report, against trust roots, endorsements
//!   and an explicit instant; one contract for every TEE (see its doc for the rules);
//! - [`VerifiedReport`]: what a verified report exposes (report data, the init-data slot,
//!   measurement registers and their roles, debug, TCB, platform identity, event-log registers).
//!
//! No I/O and no TEE-specific code: each TEE crate implements the traits in its own `tee.rs`.
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod claims;
mod report;
mod verifier;

pub use claims::Hex;

pub use report::{
    ChipSerial, InitDataSlot, MeasuredValue, Measurement, PlatformId, Register, Role, Tcb,
    VerifiedReport,
};
pub use verifier::{EndorsementKey, ErrorKind, UnixTime, Verifier};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The TEEs Scute verifies. The serde form is the Scute API's (and the KBS's) spelling.
/// Exhaustive on purpose: the registry (`scute-verify/src/registry.rs`) matches every variant,
/// so a new TEE does not compile until it has an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tee {
    /// Intel SGX (DCAP quote v3).
    Sgx,
    /// Intel TDX (DCAP quote v4/v5).
    Tdx,
    /// AMD SEV-SNP.
    Snp,
    /// Hygon CSV.
    Csv,
    /// Confidential Containers' `sample` TEE: nothing vouches for its evidence.
    Sample,
}

impl Tee {
    /// Every TEE, in a fixed order (registries are checked against it).
    pub const ALL: [Tee; 5] = [Tee::Sgx, Tee::Tdx, Tee::Snp, Tee::Csv, Tee::Sample];

    /// The Scute API spelling (`/v1/attest` `tee`, claims' `tee`, `scute verify` output).
    pub fn name(self) -> &'static str {
        match self {
            Tee::Sgx => "sgx",
            Tee::Tdx => "tdx",
            Tee::Snp => "snp",
            Tee::Csv => "csv",
            Tee::Sample => "sample",
        }
    }

    /// The KBS protocol spelling (kbs-types 0.18 `Tee`, serde `rename_all = "lowercase"`): the
    /// same words as the Scute API for these five. Kept apart so a TEE whose KBS name differs
    /// (kbs-types' `az-snp-vtpm`) has one place to say so.
    pub fn kbs_name(self) -> &'static str {
        self.name()
    }

    /// The TEE a KBS `Request.tee` names, if Scute verifies it.
    pub fn from_kbs_name(name: &str) -> Option<Tee> {
        Tee::ALL.into_iter().find(|t| t.kbs_name() == name)
    }

    /// The TEE's one-byte code in the key broker's session cookie (`scute-server`
    /// `domain/kbs_session.rs`). Fixed forever: a cookie issued before an upgrade (or by an
    /// older replica) must still open, so a new TEE takes the next free code and no code is
    /// ever reused. Never 0.
    pub fn code(self) -> u8 {
        match self {
            Tee::Tdx => 1,
            Tee::Sgx => 2,
            Tee::Snp => 3,
            Tee::Csv => 4,
            Tee::Sample => 5,
        }
    }

    /// The TEE whose [`Tee::code`] is `code`.
    pub fn from_code(code: u8) -> Option<Tee> {
        Tee::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The DCAP TEEs (one quote format, one verifier, one collateral service).
    pub fn is_dcap(self) -> bool {
        matches!(self, Tee::Sgx | Tee::Tdx)
    }
}

impl fmt::Display for Tee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A TEE name Scute does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TEE {0:?} (sgx, tdx, snp, csv, sample)")]
pub struct UnknownTee(pub String);

impl FromStr for Tee {
    type Err = UnknownTee;
    /// The Scute API spelling, exactly (no case folding: a wire name is one spelling).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tee::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownTee(s.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips() {
        for tee in Tee::ALL {
            assert_eq!(tee.name().parse::<Tee>().unwrap(), tee);
            assert_eq!(tee.to_string(), tee.name());
            assert_eq!(Tee::from_kbs_name(tee.kbs_name()), Some(tee));
            let json = serde_json::to_string(&tee).unwrap();
            assert_eq!(json, format!("\"{}\"", tee.name()));
            assert_eq!(serde_json::from_str::<Tee>(&json).unwrap(), tee);
        }
    }

    #[test]
    fn the_kbs_spellings_are_kbs_types_ones() {
        // kbs-types 0.18 `Tee` (serde lowercase): sgx, snp, tdx, csv, sample.
        for (kbs, tee) in [
            ("sgx", Tee::Sgx),
            ("tdx", Tee::Tdx),
            ("snp", Tee::Snp),
            ("csv", Tee::Csv),
            ("sample", Tee::Sample),
        ] {
            assert_eq!(Tee::from_kbs_name(kbs), Some(tee));
        }
    }

    #[test]
    fn unknown_and_differently_cased_names_are_refused() {
        for bad in ["", "SNP", "Tdx", "dcap", "az-snp-vtpm", "sev", " sgx"] {
            assert!(bad.parse::<Tee>().is_err(), "{bad}");
            assert!(Tee::from_kbs_name(bad).is_none(), "{bad}");
            assert!(serde_json::from_str::<Tee>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn cookie_codes_are_fixed_and_unique() {
        // The codes every issued KBS session cookie carries: changing one strands them.
        for (code, tee) in [
            (1u8, Tee::Tdx),
            (2, Tee::Sgx),
            (3, Tee::Snp),
            (4, Tee::Csv),
            (5, Tee::Sample),
        ] {
            assert_eq!(tee.code(), code, "{tee}");
            assert_eq!(Tee::from_code(code), Some(tee));
        }
        let mut codes: Vec<u8> = Tee::ALL.iter().map(|t| t.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Tee::ALL.len(), "two TEEs share a cookie code");
        assert!(!codes.contains(&0), "0 is no TEE's code");
        for unknown in [0u8, 6, 0xff] {
            assert_eq!(Tee::from_code(unknown), None);
        }
    }

    #[test]
    fn all_lists_each_tee_once() {
        let mut names: Vec<_> = Tee::ALL.iter().map(|t| t.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Tee::ALL.len());
    }
}
