//! TCB evaluation as Intel's QVL does it since 2026 (`EvaluateTcb.cpp`, `TcbLevelCheck.cpp`,
//! `TDRelaunchCheck.cpp`; docs/spec-map.md cites the commits): a platform's TCB values — what
//! its PCK certificate and quote say — against TCB Info and QE Identity. No signatures, no
//! clock: verification calls it after authenticating everything, and the service calls it to
//! re-evaluate platforms it has seen against collateral it has not yet stored (dry run).
//!
//! A TD 1.5 quote names two TCBs: the one the TD was launched on (TEE_TCB_SVN) and the one the
//! platform runs now (TEE_TCB_SVN2), after TD-preserving module updates. Each is evaluated as a
//! whole (platform level, TDX module identity, QE identity, converged); a launch TCB out of date
//! under a current one that is not becomes `TDRelaunchAdvised[ConfigurationNeeded]`.

use crate::collateral::{CollateralTee, IsvLevel, QeIdentity, TcbInfo, TcbLevel, TCB_INFO};
use crate::error::DcapError;
use crate::status::TcbStatus;
use crate::time::{parse_rfc3339, UnixTime};
use serde::{Deserialize, Serialize};

/// The TCB-relevant values of one platform, as a verified quote and its PCK certificate give
/// them: enough to evaluate it again under other collateral, without the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlatformTcb {
    pub tee: CollateralTee,
    pub fmspc: [u8; 6],
    pub pce_id: [u8; 2],
    /// The PCK certificate's SGX TCB components and PCESVN.
    pub sgx_components: [u32; 16],
    pub pce_svn: u32,
    /// The quoting enclave's ISVSVN.
    pub qe_svn: u16,
    /// TDX: the TCB the TD was launched on (TEE_TCB_SVN).
    pub tee_tcb_svn: Option<[u8; 16]>,
    /// TDX 1.5 bodies (types 3 and 4): the TCB the platform runs now (TEE_TCB_SVN2).
    pub tee_tcb_svn2: Option<[u8; 16]>,
}

/// The status of one TCB level that matched, with its date and advisories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelVerdict {
    pub status: TcbStatus,
    pub tcb_date: String,
    pub advisory_ids: Vec<String>,
}

impl LevelVerdict {
    fn of_platform(level: &TcbLevel) -> Self {
        Self {
            status: level.status,
            tcb_date: level.tcb_date.clone(),
            advisory_ids: level.advisory_ids.clone(),
        }
    }

    fn of_isv(level: &IsvLevel) -> Self {
        Self {
            status: level.status,
            tcb_date: level.tcb_date.clone(),
            advisory_ids: level.advisory_ids.clone(),
        }
    }
}

/// One TCB (launch or current) evaluated as a whole: the converged status of its platform
/// level, TDX module level and QE level, the oldest of their dates, and their advisories
/// (platform, QE, module; QVL's `finalizeTcbEvaluation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcbVerdict {
    pub status: TcbStatus,
    pub tcb_date: String,
    pub advisory_ids: Vec<String>,
    pub platform: LevelVerdict,
    pub tdx_module: Option<LevelVerdict>,
    pub qe: LevelVerdict,
}

/// A platform's TCB under one TCB Info and QE Identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcbEvaluation {
    /// The verdict: the launch TCB's status, made `TDRelaunchAdvised*` when only the launch
    /// TCB is out of date (QVL's `checkForRelaunch`), and never better than the current TCB's
    /// when that is out of date or revoked (`fold_current`).
    pub status: TcbStatus,
    /// The TCB the enclave or TD was launched on (for SGX and TDX 1.0 the only one).
    pub launch: TcbVerdict,
    /// TDX 1.5 bodies: the TCB the platform runs now.
    pub current: Option<TcbVerdict>,
    /// The lower of the TCB Info's and the QE Identity's tcbEvaluationDataNumber (QvE's
    /// `tcb_eval_ref_num`): how recent the set appraised against is, as its oldest part.
    pub tcb_evaluation_data_number: u32,
    /// The tcbDate of the newest level in the TCB Info (the first, as Intel lists them).
    pub newest_tcb_date: String,
    /// The earliest tcbDate, among the TCB Info's levels and the module and QE identities'
    /// levels, later than the launch TCB's date: when the platform's level was superseded.
    pub superseded_at: Option<String>,
}

impl TcbEvaluation {
    /// Whole days, floored and never negative, from `superseded_at` to `now`, when the status
    /// is not UpToDate. `None` otherwise, or when a date cannot be read (docs/verify.md).
    pub fn days_behind(&self, now: UnixTime) -> Option<u32> {
        if self.status == TcbStatus::UpToDate {
            return None;
        }
        let superseded = parse_rfc3339(self.superseded_at.as_deref()?, TCB_INFO).ok()?;
        let days = now.saturating_sub(superseded).max(0) / 86_400;
        Some(u32::try_from(days).unwrap_or(u32::MAX))
    }
}

/// Statuses a TCB Info level may carry (QVL's `VALID_TCB_INFO_STATUSES`).
fn valid_platform_status(status: TcbStatus) -> bool {
    !matches!(
        status,
        TcbStatus::TdRelaunchAdvised | TcbStatus::TdRelaunchAdvisedConfigurationNeeded
    )
}

/// Statuses a TDX module identity level may carry (QVL's `VALID_TDX_MODULE_STATUSES`).
fn valid_module_status(status: TcbStatus) -> bool {
    matches!(
        status,
        TcbStatus::UpToDate | TcbStatus::OutOfDate | TcbStatus::Revoked
    )
}

/// Statuses a QE identity level may carry (QVL's `VALID_QE_STATUSES`).
fn valid_qe_status(status: TcbStatus) -> bool {
    matches!(
        status,
        TcbStatus::UpToDate
            | TcbStatus::OutOfDate
            | TcbStatus::ConfigurationNeeded
            | TcbStatus::Revoked
            | TcbStatus::OutOfDateConfigurationNeeded
    )
}

/// `platform` under `tcb_info` and `qe_identity` (both already authenticated).
pub fn evaluate_tcb(
    tcb_info: &TcbInfo,
    qe_identity: &QeIdentity,
    platform: &PlatformTcb,
) -> Result<TcbEvaluation, DcapError> {
    if platform.fmspc != tcb_info.fmspc {
        return Err(DcapError::PlatformMismatch {
            field: "FMSPC",
            pck: hex::encode(platform.fmspc),
            tcb_info: hex::encode(tcb_info.fmspc),
        });
    }
    if platform.pce_id != tcb_info.pce_id {
        return Err(DcapError::PlatformMismatch {
            field: "PCE-ID",
            pck: hex::encode(platform.pce_id),
            tcb_info: hex::encode(tcb_info.pce_id),
        });
    }
    if platform.tee != tcb_info.tee {
        return Err(DcapError::TeeMismatch {
            item: TCB_INFO,
            found: format!("{:?}", tcb_info.tee).to_lowercase(),
            expected: match platform.tee {
                CollateralTee::Sgx => "sgx",
                CollateralTee::Tdx => "tdx",
            },
        });
    }
    let tdx = platform.tee == CollateralTee::Tdx;
    let launch_svns = match (tdx, &platform.tee_tcb_svn) {
        (true, Some(svns)) => Some(svns),
        (false, _) => None,
        (true, None) => return Err(DcapError::TcbNotSupported { what: "platform" }),
    };
    let launch = evaluate_one(tcb_info, qe_identity, platform, launch_svns)?;
    let current = match (launch_svns, &platform.tee_tcb_svn2) {
        (Some(_), Some(svn2)) => Some(evaluate_one(tcb_info, qe_identity, platform, Some(svn2))?),
        _ => None,
    };
    let mut status = launch.status;
    if let Some(current) = &current {
        status = fold_current(
            check_for_relaunch(launch.status, current.status),
            current.status,
        );
    }
    let newest_tcb_date = tcb_info
        .levels
        .first()
        .map_or_else(|| launch.tcb_date.clone(), |l| l.tcb_date.clone());
    let superseded_at = superseded_at(tcb_info, qe_identity, &launch.tcb_date);
    Ok(TcbEvaluation {
        status,
        launch,
        current,
        tcb_evaluation_data_number: tcb_info
            .tcb_evaluation_data_number
            .min(qe_identity.tcb_evaluation_data_number),
        newest_tcb_date,
        superseded_at,
    })
}

/// Scute, not QVL: a current TCB worse than the verdict so far makes the verdict worse (QVL
/// returns the launch status alone). A TDX module can be downgraded under running TDs (the
/// host drives TD-preserving updates), so a TD launched on a good module may run on a revoked
/// or out-of-date one now; the verdict must not hide that.
fn fold_current(status: TcbStatus, current: TcbStatus) -> TcbStatus {
    use TcbStatus::*;
    match current {
        Revoked => Revoked,
        OutOfDate | OutOfDateConfigurationNeeded => {
            let out = status.converge(OutOfDate);
            if out == OutOfDate && current.needs_configuration() {
                OutOfDateConfigurationNeeded
            } else {
                out
            }
        }
        _ => status,
    }
}

/// QVL `checkForRelaunch`: only the launch TCB is out of date.
fn check_for_relaunch(launch: TcbStatus, current: TcbStatus) -> TcbStatus {
    use TcbStatus::*;
    let launch_out = matches!(launch, OutOfDate | OutOfDateConfigurationNeeded);
    let current_fine = matches!(
        current,
        UpToDate | SWHardeningNeeded | ConfigurationNeeded | ConfigurationAndSWHardeningNeeded
    );
    if !(launch_out && current_fine) {
        return launch;
    }
    if launch.needs_configuration() || current.needs_configuration() {
        TdRelaunchAdvisedConfigurationNeeded
    } else {
        TdRelaunchAdvised
    }
}

/// QVL `sgxEvaluateTCB` / `tdxEvaluateTCB` for one set of TEE TCB SVNs (`None` for SGX).
fn evaluate_one(
    tcb_info: &TcbInfo,
    qe_identity: &QeIdentity,
    platform: &PlatformTcb,
    svns: Option<&[u8; 16]>,
) -> Result<TcbVerdict, DcapError> {
    let level = match_platform_level(
        &tcb_info.levels,
        &platform.sgx_components,
        platform.pce_svn,
        svns,
    )
    .filter(|l| valid_platform_status(l.status))
    .ok_or(DcapError::TcbNotSupported { what: "platform" })?;
    let module = match svns {
        Some(svns) if svns[1] > 0 => {
            let identity = tcb_info
                .tdx_module_identity(svns[1])
                .ok_or(DcapError::TcbNotSupported { what: "TDX module" })?;
            let level = identity
                .levels
                .iter()
                .find(|l| l.isv_svn <= u16::from(svns[0]))
                .filter(|l| valid_module_status(l.status))
                .ok_or(DcapError::TcbNotSupported { what: "TDX module" })?;
            Some(level)
        }
        _ => None,
    };
    let qe = qe_identity
        .levels
        .iter()
        .find(|l| l.isv_svn <= platform.qe_svn)
        .filter(|l| valid_qe_status(l.status))
        .ok_or(DcapError::TcbNotSupported { what: "QE" })?;

    let mut status = level.status;
    for component in module.iter().chain([&qe]) {
        status = status.converge(component.status);
    }
    let dates = [
        Some(level.tcb_date.as_str()),
        module.map(|m| m.tcb_date.as_str()),
    ]
    .into_iter()
    .flatten()
    .chain([qe.tcb_date.as_str()]);
    let tcb_date = oldest(dates).unwrap_or(&level.tcb_date).to_string();
    let mut advisory_ids: Vec<String> = Vec::new();
    let all = level
        .advisory_ids
        .iter()
        .chain(qe.advisory_ids.iter())
        .chain(module.iter().flat_map(|m| m.advisory_ids.iter()));
    for id in all {
        if !advisory_ids.contains(id) {
            advisory_ids.push(id.clone());
        }
    }
    Ok(TcbVerdict {
        status,
        tcb_date,
        advisory_ids,
        platform: LevelVerdict::of_platform(level),
        tdx_module: module.map(LevelVerdict::of_isv),
        qe: LevelVerdict::of_isv(qe),
    })
}

/// The earliest of RFC 3339 dates (unreadable ones are skipped).
fn oldest<'a>(dates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    dates
        .filter_map(|d| parse_rfc3339(d, TCB_INFO).ok().map(|t| (t, d)))
        .min_by_key(|(t, _)| *t)
        .map(|(_, d)| d)
}

fn superseded_at(tcb_info: &TcbInfo, qe_identity: &QeIdentity, tcb_date: &str) -> Option<String> {
    let own = parse_rfc3339(tcb_date, TCB_INFO).ok()?;
    let module_dates = tcb_info
        .tdx_module
        .iter()
        .chain(tcb_info.tdx_module_identities.iter())
        .flat_map(|m| m.levels.iter().map(|l| l.tcb_date.as_str()));
    tcb_info
        .levels
        .iter()
        .map(|l| l.tcb_date.as_str())
        .chain(module_dates)
        .chain(qe_identity.levels.iter().map(|l| l.tcb_date.as_str()))
        .filter_map(|d| parse_rfc3339(d, TCB_INFO).ok().map(|t| (t, d)))
        .filter(|(t, _)| *t > own)
        .min_by_key(|(t, _)| *t)
        .map(|(_, d)| d.to_string())
}

/// QVL 4.1.2.5.x.1: the first level (highest first) whose SGX components and PCESVN are at or
/// below the platform's and, for TDX, whose TDX components are too (from index 2 when the
/// module's major version is non-zero: bytes 0 and 1 are the module's, judged by its identity).
fn match_platform_level<'a>(
    levels: &'a [TcbLevel],
    components: &[u32; 16],
    pce_svn: u32,
    svns: Option<&[u8; 16]>,
) -> Option<&'a TcbLevel> {
    levels.iter().find(|level| {
        let sgx_ok = components
            .iter()
            .zip(level.sgx_components)
            .all(|(have, want)| *have >= want)
            && pce_svn >= level.pce_svn;
        if !sgx_ok {
            return false;
        }
        let Some(svns) = svns else {
            return true;
        };
        let Some(want) = level.tdx_components else {
            return false;
        };
        let skip = if svns[1] > 0 { 2 } else { 0 };
        svns.iter()
            .zip(want)
            .skip(skip)
            .all(|(have, want)| u32::from(*have) >= want)
    })
}

#[cfg(test)]
mod tests {
    use super::TcbStatus::*;
    use super::*;

    #[test]
    fn relaunch_check_matches_qvl() {
        // QVL TDRelaunchCheck.cpp `checkForRelaunch`, every launch × current pair.
        for launch in TcbStatus::ALL {
            for current in TcbStatus::ALL {
                let want = match (launch, current) {
                    (OutOfDate, UpToDate | SWHardeningNeeded) => TdRelaunchAdvised,
                    (OutOfDate, ConfigurationNeeded | ConfigurationAndSWHardeningNeeded)
                    | (
                        OutOfDateConfigurationNeeded,
                        UpToDate
                        | SWHardeningNeeded
                        | ConfigurationNeeded
                        | ConfigurationAndSWHardeningNeeded,
                    ) => TdRelaunchAdvisedConfigurationNeeded,
                    (launch, _) => launch,
                };
                assert_eq!(
                    check_for_relaunch(launch, current),
                    want,
                    "{launch} {current}"
                );
            }
        }
    }

    #[test]
    fn a_current_tcb_worse_than_the_verdict_makes_it_worse() {
        for verdict in TcbStatus::ALL {
            assert_eq!(fold_current(verdict, Revoked), Revoked);
            for fine in [UpToDate, SWHardeningNeeded, ConfigurationNeeded] {
                assert_eq!(fold_current(verdict, fine), verdict);
            }
        }
        assert_eq!(fold_current(UpToDate, OutOfDate), OutOfDate);
        assert_eq!(fold_current(SWHardeningNeeded, OutOfDate), OutOfDate);
        assert_eq!(
            fold_current(UpToDate, OutOfDateConfigurationNeeded),
            OutOfDateConfigurationNeeded
        );
        assert_eq!(
            fold_current(ConfigurationNeeded, OutOfDate),
            OutOfDateConfigurationNeeded
        );
        assert_eq!(fold_current(OutOfDate, OutOfDate), OutOfDate);
    }

    #[test]
    fn oldest_date_wins_and_unreadable_ones_are_skipped() {
        let dates = ["2024-03-13T00:00:00Z", "bad", "2023-08-09T00:00:00Z"];
        assert_eq!(oldest(dates.into_iter()), Some("2023-08-09T00:00:00Z"));
        assert_eq!(oldest(["bad"].into_iter()), None);
    }

    const DAY: i64 = 86_400;
    const SUPERSEDED: &str = "2024-03-13T00:00:00Z";
    const SUPERSEDED_UNIX: i64 = 1_710_288_000;

    fn evaluation(status: TcbStatus, superseded_at: Option<&str>) -> TcbEvaluation {
        let level = LevelVerdict {
            status,
            tcb_date: "2023-08-09T00:00:00Z".into(),
            advisory_ids: vec![],
        };
        TcbEvaluation {
            status,
            launch: TcbVerdict {
                status,
                tcb_date: level.tcb_date.clone(),
                advisory_ids: vec![],
                platform: level.clone(),
                tdx_module: None,
                qe: level,
            },
            current: None,
            tcb_evaluation_data_number: 17,
            newest_tcb_date: SUPERSEDED.into(),
            superseded_at: superseded_at.map(str::to_string),
        }
    }

    #[test]
    fn days_behind_counts_whole_days_from_the_superseding_level() {
        let out = evaluation(OutOfDate, Some(SUPERSEDED));
        assert_eq!(out.days_behind(SUPERSEDED_UNIX), Some(0));
        assert_eq!(out.days_behind(SUPERSEDED_UNIX + DAY - 1), Some(0));
        assert_eq!(out.days_behind(SUPERSEDED_UNIX + DAY), Some(1));
        assert_eq!(out.days_behind(SUPERSEDED_UNIX + 30 * DAY + 5), Some(30));
        // An instant before the superseding date (a clock or `--at` in the past).
        assert_eq!(out.days_behind(SUPERSEDED_UNIX - 3 * DAY), Some(0));
    }

    #[test]
    fn days_behind_is_none_when_up_to_date_or_nothing_superseded_it() {
        let later = SUPERSEDED_UNIX + 100 * DAY;
        assert_eq!(
            evaluation(UpToDate, Some(SUPERSEDED)).days_behind(later),
            None
        );
        assert_eq!(evaluation(SWHardeningNeeded, None).days_behind(later), None);
        assert_eq!(
            evaluation(OutOfDate, Some("yesterday")).days_behind(later),
            None
        );
    }
}
