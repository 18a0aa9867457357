//! Counters and the attestation latency histogram, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    verdicts: Mutex<BTreeMap<(String, String), u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    /// The vendor upstreams' fetch counters (`upstream.rs`), rendered after the others.
    pub(crate) upstream: std::sync::Arc<crate::collateral::upstream::Counters>,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_string(), status)).or_default() += 1;
        }
    }

    /// One attestation outcome: `result` is the EAR status or the rejection kind.
    pub fn verdict(&self, tcb_status: &str, result: &str, seconds: f64) {
        if let Ok(mut m) = self.verdicts.lock() {
            *m.entry((tcb_status.to_string(), result.to_string()))
                .or_default() += 1;
        }
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP scute_http_requests_total HTTP requests by route and status.\n# TYPE scute_http_requests_total counter");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "scute_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(out, "# HELP scute_attestations_total Attestations by TCB status and result.\n# TYPE scute_attestations_total counter");
        if let Ok(m) = self.verdicts.lock() {
            for ((tcb, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "scute_attestations_total{{tcb_status=\"{tcb}\",result=\"{result}\"}} {n}"
                );
            }
        }
        let _ = writeln!(out, "# HELP scute_attestation_seconds Attestation latency.\n# TYPE scute_attestation_seconds histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "scute_attestation_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "scute_attestation_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "scute_attestation_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "scute_attestation_seconds_count {count}");
        out.push_str(&self.upstream.render());
        out
    }
}
