//! The platforms the service has attested (issue 24): one row per TEE, platform (FMSPC, chip id
//! or chip serial) and TCB level with its last verdict, so an operator can list the fleet
//! (`GET /v1/platforms`) and see which platforms new collateral would change before it is
//! stored (`POST /v1/collateral?dry_run=true`). Recorded by the front doors only after a
//! request spent its challenge (so a refused request writes nothing), never the evidence;
//! written at most once a minute per row unless its verdict changed (the attest path's cost),
//! and a write that fails fails no attestation. Bounded by `platforms_max` and
//! `platform_retention_days`.

use crate::store::{PlatformRow, Store};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// How long a row's write stands for the attestations that follow with the same verdict.
const WRITE_EVERY_SECS: i64 = 60;

const DAY: i64 = 86_400;

/// What a verified piece of evidence says about its platform: its identity, TCB values and
/// the TCB verdict (no evidence, no report data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sighting {
    pub(crate) tee: &'static str,
    pub(crate) platform: String,
    /// Canonical JSON of the TCB values (a serde struct, fields in declaration order).
    pub(crate) tcb: String,
    pub(crate) tcb_status: String,
    pub(crate) tcb_date: Option<String>,
    pub(crate) superseded_at: Option<String>,
    pub(crate) newest_tcb_date: Option<String>,
    pub(crate) tcb_evaluation_data_number: Option<u32>,
    pub(crate) advisory_ids: Vec<String>,
}

impl Sighting {
    /// SGX or TDX: the platform's TCB values (`PlatformTcb`, what a dry run evaluates again)
    /// and the verdict of the verified quote.
    pub(crate) fn dcap(verified: &scute_dcap::VerifiedQuote) -> Option<Self> {
        let tcb = verified.platform_tcb();
        Some(Self {
            tee: match tcb.tee {
                scute_dcap::CollateralTee::Sgx => "sgx",
                scute_dcap::CollateralTee::Tdx => "tdx",
            },
            platform: hex::encode(tcb.fmspc),
            tcb: serde_json::to_string(tcb).ok()?,
            tcb_status: verified.tcb_status().name().to_string(),
            tcb_date: Some(verified.tcb_date().to_string()),
            superseded_at: verified.superseded_at().map(str::to_string),
            newest_tcb_date: Some(verified.newest_tcb_date().to_string()),
            tcb_evaluation_data_number: Some(verified.tcb_evaluation_data_number()),
            advisory_ids: verified.advisory_ids().to_vec(),
        })
    }

    /// A TEE without TCB evaluation (SEV-SNP, CSV): its identity and TCB values only.
    pub(crate) fn plain(
        tee: &'static str,
        platform: String,
        tcb: &impl serde::Serialize,
        tcb_status: &str,
    ) -> Option<Self> {
        Some(Self {
            tee,
            platform,
            tcb: serde_json::to_string(tcb).ok()?,
            tcb_status: tcb_status.to_string(),
            tcb_date: None,
            superseded_at: None,
            newest_tcb_date: None,
            tcb_evaluation_data_number: None,
            advisory_ids: Vec::new(),
        })
    }
}

struct Recent {
    written: i64,
    tcb_status: String,
    ear_status: String,
    /// Attestations seen since the last write, added to the row's count by the next one.
    pending: i64,
}

/// Writes sightings to the store, once a minute per row unless its verdict changed.
pub(crate) struct Recorder {
    store: Store,
    max: u64,
    retention_secs: i64,
    recent: Mutex<HashMap<(String, String, String), Recent>>,
    /// Writes that failed (logged; the attestations went on).
    failures: AtomicU64,
}

impl Recorder {
    pub(crate) fn new(store: Store, config: &crate::config::Config) -> Self {
        Self {
            store,
            max: config.platforms_max,
            retention_secs: retention_secs(config),
            recent: Mutex::default(),
            failures: AtomicU64::new(0),
        }
    }

    /// Records that `sighting` was attested at `now` with `ear_status`. Never fails: a store
    /// that cannot be written is logged and counted.
    pub(crate) async fn record(&self, sighting: &Sighting, ear_status: &str, now: i64) {
        let key = (
            sighting.tee.to_string(),
            sighting.platform.clone(),
            sighting.tcb.clone(),
        );
        let attestations = {
            let Ok(mut recent) = self.recent.lock() else {
                return;
            };
            if let Some(r) = recent.get_mut(&key) {
                if now - r.written < WRITE_EVERY_SECS
                    && r.tcb_status == sighting.tcb_status
                    && r.ear_status == ear_status
                {
                    r.pending += 1;
                    return;
                }
            }
            // Bounded like the table: what was written more than a minute ago is only a
            // count to add, which a full map may drop.
            if recent.len() as u64 >= self.max && !recent.contains_key(&key) {
                recent.retain(|_, r| now - r.written < WRITE_EVERY_SECS);
                if recent.len() as u64 >= self.max {
                    recent.clear();
                }
            }
            let pending = recent.get(&key).map_or(0, |r| r.pending);
            recent.insert(
                key,
                Recent {
                    written: now,
                    tcb_status: sighting.tcb_status.clone(),
                    ear_status: ear_status.to_string(),
                    pending: 0,
                },
            );
            pending + 1
        };
        let row = PlatformRow {
            tee: sighting.tee.to_string(),
            platform: sighting.platform.clone(),
            tcb: sighting.tcb.clone(),
            tcb_status: sighting.tcb_status.clone(),
            ear_status: Some(ear_status.to_string()),
            tcb_date: sighting.tcb_date.clone(),
            superseded_at: sighting.superseded_at.clone(),
            newest_tcb_date: sighting.newest_tcb_date.clone(),
            tcb_evaluation_data_number: sighting.tcb_evaluation_data_number.map(i64::from),
            advisory_ids: serde_json::to_string(&sighting.advisory_ids)
                .unwrap_or_else(|_| "[]".into()),
            first_seen: now,
            last_seen: now,
            attestations,
        };
        if let Err(e) = self
            .store
            .record_platform(&row, self.max, now - self.retention_secs)
            .await
        {
            self.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                tee = sighting.tee,
                detail = e.to_string(),
                outcome = "attestation unaffected",
                "platform_record_failed"
            );
        }
    }
}

impl Recorder {
    /// The metric of failed writes (Prometheus text).
    pub(crate) fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "# HELP scute_platform_record_failures_total Platforms-table writes that failed (the attestations went on).\n# TYPE scute_platform_record_failures_total counter\nscute_platform_record_failures_total {}", self.failures.load(Ordering::Relaxed));
    }
}

/// `platform_retention_days` in seconds.
pub(crate) fn retention_secs(config: &crate::config::Config) -> i64 {
    i64::try_from(config.platform_retention_days)
        .unwrap_or(i64::MAX / DAY)
        .saturating_mul(DAY)
}

/// Whole days, floored and never negative, from `superseded_at` to `now` while the status is
/// not UpToDate (`TcbEvaluation::days_behind`'s rule, for a stored row).
pub(crate) fn days_behind(status: &str, superseded_at: Option<&str>, now: i64) -> Option<i64> {
    if status == "UpToDate" {
        return None;
    }
    let at = time::OffsetDateTime::parse(
        superseded_at?,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    Some(now.saturating_sub(at.unix_timestamp()).max(0) / DAY)
}

/// A stored row as `GET /v1/platforms` lists it.
pub(crate) fn row_json(row: &PlatformRow, now: i64) -> Value {
    let tcb: Value = serde_json::from_str(&row.tcb).unwrap_or(Value::Null);
    let advisories: Value = serde_json::from_str(&row.advisory_ids).unwrap_or(json!([]));
    json!({
        "tee": row.tee,
        "platform": row.platform,
        "tcb": tcb,
        "tcb_status": row.tcb_status,
        "ear_status": row.ear_status,
        "tcb_date": row.tcb_date,
        "superseded_at": row.superseded_at,
        "newest_tcb_date": row.newest_tcb_date,
        "days_behind": days_behind(&row.tcb_status, row.superseded_at.as_deref(), now),
        "tcb_evaluation_data_number": row.tcb_evaluation_data_number,
        "advisory_ids": advisories,
        "first_seen": scute_dcap::format_rfc3339(row.first_seen),
        "last_seen": scute_dcap::format_rfc3339(row.last_seen),
        "attestations": row.attestations,
    })
}

/// What `collateral` would make of every platform of its TEE and FMSPC seen within the
/// retention: the rule verification uses (`VerifiedCollateral::evaluate`), on the stored TCB
/// values. Returns (platforms, changed, unchanged).
pub(crate) fn dry_run(
    collateral: &scute_dcap::VerifiedCollateral,
    rows: &[PlatformRow],
    now: i64,
) -> (Vec<Value>, u64, u64) {
    let (mut changed, mut unchanged) = (0, 0);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let evaluated = serde_json::from_str::<scute_dcap::PlatformTcb>(&row.tcb)
            .map_err(|_| "tcb_unreadable")
            .and_then(|tcb| collateral.evaluate(&tcb).map_err(|e| e.kind()));
        let (new_status, new_tcb_date, new_days_behind, new_advisories) = match &evaluated {
            Ok(e) => (
                e.status.name().to_string(),
                Some(e.launch.tcb_date.clone()),
                e.days_behind(now),
                e.launch.advisory_ids.clone(),
            ),
            Err(kind) => (kind.to_string(), None, None, Vec::new()),
        };
        let is_changed = new_status != row.tcb_status;
        if is_changed {
            changed += 1;
        } else {
            unchanged += 1;
        }
        out.push(json!({
            "tee": row.tee,
            "platform": row.platform,
            "tcb": serde_json::from_str::<Value>(&row.tcb).unwrap_or(Value::Null),
            "status": row.tcb_status,
            "tcb_date": row.tcb_date,
            "new_status": new_status,
            "changed": is_changed,
            "new_tcb_date": new_tcb_date,
            "new_days_behind": new_days_behind,
            "new_advisory_ids": new_advisories,
            "last_seen": scute_dcap::format_rfc3339(row.last_seen),
        }));
    }
    (out, changed, unchanged)
}

#[cfg(test)]
mod tests {
    use super::days_behind;

    #[test]
    fn days_behind_follows_the_evaluation_rule() {
        let at = "2024-03-13T00:00:00Z";
        let t = 1_710_288_000;
        assert_eq!(days_behind("UpToDate", Some(at), t + 10 * 86_400), None);
        assert_eq!(
            days_behind("OutOfDate", Some(at), t + 10 * 86_400 - 1),
            Some(9)
        );
        assert_eq!(days_behind("OutOfDate", Some(at), t - 86_400), Some(0));
        assert_eq!(days_behind("OutOfDate", None, t), None);
        assert_eq!(days_behind("OutOfDate", Some("soon"), t), None);
    }
}
