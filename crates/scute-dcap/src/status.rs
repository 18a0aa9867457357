//! TCB statuses with Intel's names, and the order in which the platform, TDX module and QE
//! statuses combine into one (QVL's convergence; tee-formats.md §2.6).

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum TcbStatus {
    UpToDate,
    SWHardeningNeeded,
    ConfigurationNeeded,
    ConfigurationAndSWHardeningNeeded,
    OutOfDate,
    OutOfDateConfigurationNeeded,
    Revoked,
    #[serde(rename = "TDRelaunchAdvised")]
    TdRelaunchAdvised,
    #[serde(rename = "TDRelaunchAdvisedConfigurationNeeded")]
    TdRelaunchAdvisedConfigurationNeeded,
}

impl TcbStatus {
    pub const ALL: [TcbStatus; 9] = [
        TcbStatus::UpToDate,
        TcbStatus::SWHardeningNeeded,
        TcbStatus::ConfigurationNeeded,
        TcbStatus::ConfigurationAndSWHardeningNeeded,
        TcbStatus::OutOfDate,
        TcbStatus::OutOfDateConfigurationNeeded,
        TcbStatus::Revoked,
        TcbStatus::TdRelaunchAdvised,
        TcbStatus::TdRelaunchAdvisedConfigurationNeeded,
    ];

    /// Intel's name, as in TCB Info and QVL output.
    pub fn name(self) -> &'static str {
        match self {
            TcbStatus::UpToDate => "UpToDate",
            TcbStatus::SWHardeningNeeded => "SWHardeningNeeded",
            TcbStatus::ConfigurationNeeded => "ConfigurationNeeded",
            TcbStatus::ConfigurationAndSWHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
            TcbStatus::OutOfDate => "OutOfDate",
            TcbStatus::OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
            TcbStatus::Revoked => "Revoked",
            TcbStatus::TdRelaunchAdvised => "TDRelaunchAdvised",
            TcbStatus::TdRelaunchAdvisedConfigurationNeeded => {
                "TDRelaunchAdvisedConfigurationNeeded"
            }
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    pub(crate) fn needs_configuration(self) -> bool {
        matches!(
            self,
            TcbStatus::ConfigurationNeeded
                | TcbStatus::ConfigurationAndSWHardeningNeeded
                | TcbStatus::OutOfDateConfigurationNeeded
                | TcbStatus::TdRelaunchAdvisedConfigurationNeeded
        )
    }

    /// Folds in a component (TDX module or QE) whose own level is `other`: an out-of-date
    /// component makes the whole out of date, a revoked one revokes it.
    pub(crate) fn converge(self, other: TcbStatus) -> TcbStatus {
        match other {
            TcbStatus::Revoked => TcbStatus::Revoked,
            TcbStatus::OutOfDate => match self {
                TcbStatus::UpToDate | TcbStatus::SWHardeningNeeded => TcbStatus::OutOfDate,
                TcbStatus::ConfigurationNeeded | TcbStatus::ConfigurationAndSWHardeningNeeded => {
                    TcbStatus::OutOfDateConfigurationNeeded
                }
                unchanged => unchanged,
            },
            _ => self,
        }
    }
}

impl std::fmt::Display for TcbStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::TcbStatus::*;
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in TcbStatus::ALL {
            assert_eq!(TcbStatus::from_name(s.name()), Some(s));
        }
        assert_eq!(TcbStatus::from_name("Fine"), None);
    }

    #[test]
    fn convergence_follows_qvl() {
        assert_eq!(UpToDate.converge(OutOfDate), OutOfDate);
        assert_eq!(SWHardeningNeeded.converge(OutOfDate), OutOfDate);
        assert_eq!(
            ConfigurationNeeded.converge(OutOfDate),
            OutOfDateConfigurationNeeded
        );
        assert_eq!(
            ConfigurationAndSWHardeningNeeded.converge(OutOfDate),
            OutOfDateConfigurationNeeded
        );
        assert_eq!(OutOfDate.converge(OutOfDate), OutOfDate);
        assert_eq!(UpToDate.converge(Revoked), Revoked);
        assert_eq!(ConfigurationNeeded.converge(UpToDate), ConfigurationNeeded);
    }
}
