//! `--tee` over the workspace's one TEE vocabulary: clap value parsers for `scute_tee::Tee`
//! (re-exported by `scute_verify`) and, for `scute verify`, the registry's verifier
//! `Family`, each restricted to what a command supports and listed in the order its `--help`
//! always listed them. Spellings are the types' own (`Tee::name`, `Family::name`), exactly:
//! an unknown value is clap's `invalid value` error (exit 2), as it was with the enums these
//! replace.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use scute_verify::{Family, Tee};

/// `--tee` naming one of `supported` by its Scute spelling.
pub(crate) fn tee(supported: &'static [Tee]) -> impl TypedValueParser<Value = Tee> {
    PossibleValuesParser::new(supported.iter().map(|t| PossibleValue::new(t.name())))
        .try_map(|name| name.parse::<Tee>())
}

/// `--tee` naming a verifier family the CLI verifies (the registry's, with its `--help` line:
/// a new family needs no line here).
pub(crate) fn family() -> impl TypedValueParser<Value = Family> {
    PossibleValuesParser::new(Family::ALL.iter().filter_map(|family| {
        family
            .cli_help()
            .map(|help| PossibleValue::new(family.name()).help(help))
    }))
    .try_map(|name| {
        Family::ALL
            .into_iter()
            .filter(|family| family.cli_help().is_some())
            .find(|family| family.name() == name)
            .ok_or("not a verifier family")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::{Parser, ValueEnum};

    // The enums `--tee` was parsed into before, as oracles: same help, same errors.
    #[derive(Clone, Copy, ValueEnum)]
    enum VerifyTee {
        /// An Intel SGX or TDX DCAP quote.
        Dcap,
        /// An AMD SEV-SNP attestation report (1184 bytes, or the KBS evidence JSON).
        Snp,
        /// A Hygon CSV report (raw, or Trustee's evidence JSON).
        Csv,
    }
    #[derive(Clone, Copy, ValueEnum)]
    enum TeeArg {
        Sgx,
        Tdx,
    }
    #[derive(Clone, Copy, ValueEnum)]
    enum MachineTee {
        Tdx,
        Sgx,
        Snp,
        Csv,
    }

    #[derive(Parser)]
    struct OldVerify {
        /// The evidence kind.
        #[arg(long, value_enum, default_value = "dcap")]
        tee: VerifyTee,
    }
    #[derive(Parser)]
    struct NewVerify {
        /// The evidence kind.
        #[arg(long, default_value = "dcap", value_parser = family())]
        tee: Family,
    }
    #[derive(Parser)]
    struct OldCase {
        #[arg(long, value_enum, default_value = "tdx")]
        tee: TeeArg,
    }
    #[derive(Parser)]
    struct NewCase {
        #[arg(long, default_value = "tdx", value_parser = tee(crate::sim_cmd::CASE_TEES))]
        tee: Tee,
    }
    #[derive(Parser)]
    struct OldMachine {
        /// The TEE of the machine.
        #[arg(long, value_enum)]
        tee: MachineTee,
    }
    #[derive(Parser)]
    struct NewMachine {
        /// The TEE of the machine.
        #[arg(long, value_parser = tee(crate::sim_machine::MACHINE_TEES))]
        tee: Tee,
    }

    fn help<P: clap::CommandFactory>(long: bool) -> String {
        let mut command = P::command().name("x");
        if long {
            command.render_long_help().to_string()
        } else {
            command.render_help().to_string()
        }
    }

    fn error<P: Parser>(value: &str) -> (clap::error::ErrorKind, i32, String) {
        let e = P::try_parse_from(["x", "--tee", value]).err().unwrap();
        (e.kind(), e.exit_code(), e.render().to_string())
    }

    #[test]
    fn help_lists_the_same_values_as_the_enums_did() {
        for long in [false, true] {
            assert_eq!(help::<NewVerify>(long), help::<OldVerify>(long));
            assert_eq!(help::<NewCase>(long), help::<OldCase>(long));
            assert_eq!(help::<NewMachine>(long), help::<OldMachine>(long));
        }
        assert!(help::<NewVerify>(true).contains("dcap: An Intel SGX or TDX DCAP quote"));
    }

    #[test]
    fn the_same_spellings_parse_to_the_vocabulary() {
        let verify = |v: &str| NewVerify::try_parse_from(["x", "--tee", v]).unwrap().tee;
        assert_eq!(verify("dcap"), Family::Dcap);
        assert_eq!(verify("snp"), Family::Snp);
        assert_eq!(verify("csv"), Family::Csv);
        assert_eq!(NewVerify::try_parse_from(["x"]).unwrap().tee, Family::Dcap);
        let case = |v: &str| NewCase::try_parse_from(["x", "--tee", v]).unwrap().tee;
        assert_eq!(case("sgx"), Tee::Sgx);
        assert_eq!(case("tdx"), Tee::Tdx);
        assert_eq!(NewCase::try_parse_from(["x"]).unwrap().tee, Tee::Tdx);
        let machine = |v: &str| NewMachine::try_parse_from(["x", "--tee", v]).unwrap().tee;
        for t in [Tee::Tdx, Tee::Sgx, Tee::Snp, Tee::Csv] {
            assert_eq!(machine(t.name()), t);
        }
    }

    #[test]
    fn other_values_are_refused_as_before_with_exit_2() {
        // Values the vocabulary knows but the command does not take are refused too.
        for bad in ["sample", "SNP", "Tdx", "", "sev", "dcap "] {
            assert_eq!(error::<NewVerify>(bad), error::<OldVerify>(bad), "{bad:?}");
            assert_eq!(
                error::<NewMachine>(bad),
                error::<OldMachine>(bad),
                "{bad:?}"
            );
        }
        for bad in ["snp", "csv", "sample", "dcap", "TDX"] {
            assert_eq!(error::<NewCase>(bad), error::<OldCase>(bad), "{bad:?}");
        }
        for bad in ["tdx", "sgx", "sample"] {
            assert_eq!(error::<NewVerify>(bad), error::<OldVerify>(bad), "{bad:?}");
        }
        let (kind, code, _) = error::<NewMachine>("sample");
        assert_eq!(kind, clap::error::ErrorKind::InvalidValue);
        assert_eq!(code, 2);
    }
}
