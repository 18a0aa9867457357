//! The service's own metrics (requests, attestation verdicts and their latency, the vendor
//! upstreams' fetches), encoded by `prometheus-client` in the Prometheus text format 0.0.4
//! (`text/plain; version=0.0.4`, what `/metrics` has always served): the library writes the
//! `# HELP`/`# TYPE` lines, the `_total`, `_bucket`, `_sum` and `_count` names, the escaping of
//! label values and the numbers.
//!
//! The two labelled counters keep their counts in sorted maps and are encoded by a collector,
//! so their lines come out in label order, as they always have (`Family` is a hash map).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

const BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Counts by two labels, sorted by the first then the second. The outer key is looked up
/// borrowed, so counting a known pair allocates nothing.
type Counts<A> = Mutex<BTreeMap<String, BTreeMap<A, u64>>>;

fn count<Q>(counts: &Counts<Q::Owned>, first: &str, second: &Q)
where
    Q: ToOwned + Ord + ?Sized,
    Q::Owned: Ord,
{
    let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
    let inner = match counts.get_mut(first) {
        Some(inner) => inner,
        None => counts.entry(first.to_string()).or_default(),
    };
    match inner.get_mut(second) {
        Some(n) => *n += 1,
        None => {
            inner.insert(second.to_owned(), 1);
        }
    }
}

/// `scute_http_requests_total`, `scute_attestations_total` and `scute_attestation_seconds`,
/// in that order (a registry writes the metrics registered directly before its collectors).
#[derive(Debug)]
struct Own {
    requests: Counts<u16>,
    verdicts: Counts<String>,
    latency: Histogram,
}

impl Collector for Own {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // A collector's help is written as given (`Registry::register` would add the period).
        let mut family = encoder.encode_descriptor(
            "scute_http_requests",
            "HTTP requests by route and status.",
            None,
            MetricType::Counter,
        )?;
        let requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        for (route, statuses) in requests.iter() {
            for (status, n) in statuses {
                let labels = [("route", route.as_str())];
                let labels = (labels, [("status", *status)]);
                ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
            }
        }
        drop(requests);
        let mut family = encoder.encode_descriptor(
            "scute_attestations",
            "Attestations by TCB status and result.",
            None,
            MetricType::Counter,
        )?;
        let verdicts = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner);
        for (tcb_status, results) in verdicts.iter() {
            for (result, n) in results {
                let labels = [
                    ("tcb_status", tcb_status.as_str()),
                    ("result", result.as_str()),
                ];
                ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
            }
        }
        drop(verdicts);
        let family = encoder.encode_descriptor(
            "scute_attestation_seconds",
            "Attestation latency.",
            None,
            MetricType::Histogram,
        )?;
        self.latency.encode(family)
    }
}

pub(crate) struct Metrics {
    registry: Registry,
    own: Arc<Own>,
    /// The vendor upstreams' fetch counters (`upstream.rs`), encoded after the others.
    pub(crate) upstream: Arc<crate::collateral::upstream::Counters>,
}

impl Default for Metrics {
    fn default() -> Self {
        let own = Arc::new(Own {
            requests: Counts::default(),
            verdicts: Counts::default(),
            latency: Histogram::new(BUCKETS),
        });
        let upstream = Arc::new(crate::collateral::upstream::Counters::default());
        let mut registry = Registry::default();
        registry.register_collector(Box::new(own.clone()));
        registry.register_collector(upstream.collector());
        Self {
            registry,
            own,
            upstream,
        }
    }
}

impl Metrics {
    pub(crate) fn request(&self, route: &str, status: u16) {
        count(&self.own.requests, route, &status);
    }

    /// One attestation outcome: `result` is the EAR status or the rejection kind.
    pub(crate) fn verdict(&self, tcb_status: &str, result: &str, seconds: f64) {
        count(&self.own.verdicts, tcb_status, result);
        self.own.latency.observe(seconds);
    }

    /// Every family in the Prometheus text format 0.0.4.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail, and no collector fails on its own.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page as it was hand-written before prometheus-client: the same names, types, help,
    /// labels, order and numbers.
    #[test]
    fn the_page_is_as_it_always_was() {
        let m = Metrics::default();
        m.request("/v1/challenge", 200);
        m.request("/v1/attest", 422);
        m.request("/v1/attest", 200);
        m.request("/v1/attest", 200);
        m.verdict("UpToDate", "warning", 0.003);
        m.verdict("none", "bad_field", 2.0);
        let text = m.render();
        let expected = "\
# HELP scute_http_requests_total HTTP requests by route and status.
# TYPE scute_http_requests_total counter
scute_http_requests_total{route=\"/v1/attest\",status=\"200\"} 2
scute_http_requests_total{route=\"/v1/attest\",status=\"422\"} 1
scute_http_requests_total{route=\"/v1/challenge\",status=\"200\"} 1
# HELP scute_attestations_total Attestations by TCB status and result.
# TYPE scute_attestations_total counter
scute_attestations_total{tcb_status=\"UpToDate\",result=\"warning\"} 1
scute_attestations_total{tcb_status=\"none\",result=\"bad_field\"} 1
# HELP scute_attestation_seconds Attestation latency.
# TYPE scute_attestation_seconds histogram
scute_attestation_seconds_bucket{le=\"0.0005\"} 0
scute_attestation_seconds_bucket{le=\"0.001\"} 0
scute_attestation_seconds_bucket{le=\"0.002\"} 0
scute_attestation_seconds_bucket{le=\"0.005\"} 1
scute_attestation_seconds_bucket{le=\"0.01\"} 1
scute_attestation_seconds_bucket{le=\"0.02\"} 1
scute_attestation_seconds_bucket{le=\"0.05\"} 1
scute_attestation_seconds_bucket{le=\"0.1\"} 1
scute_attestation_seconds_bucket{le=\"0.25\"} 1
scute_attestation_seconds_bucket{le=\"0.5\"} 1
scute_attestation_seconds_bucket{le=\"1\"} 1
scute_attestation_seconds_bucket{le=\"+Inf\"} 2
scute_attestation_seconds_sum 2.003
scute_attestation_seconds_count 2
";
        assert!(text.starts_with(expected), "{text}");
        // The upstream families follow, present even before any upstream is registered.
        assert!(text[expected.len()..].starts_with(
            "# HELP scute_upstream_fetches_total Fetches made from a vendor upstream"
        ));
    }

    /// A label value is the client's route only after routing, but whatever it holds cannot
    /// break the page: the library escapes it (the hand-written page did not).
    #[test]
    fn a_label_value_cannot_forge_a_line() {
        let m = Metrics::default();
        m.request("/x\"} 1\nscute_forged_total 9\n", 200);
        let text = m.render();
        assert!(
            !text.lines().any(|l| l.starts_with("scute_forged")),
            "{text}"
        );
    }
}
