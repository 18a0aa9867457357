//! Every vendor upstream the service asks (Intel PCS or a PCCS, AMD's KDS, Hygon's KDS) is asked
//! through this module, so an unauthenticated request can never make the service hammer a
//! vendor (which throttles by client address, and then the genuine fetches fail too):
//!
//! - [`Http`]: the one HTTP GET: one timeout, no redirects, one size cap and body loop, and its
//!   own rustls provider (nothing depends on a process-wide default);
//! - [`Upstream`]: per vendor upstream, single flight per key (concurrent requests for one key
//!   share one fetch), recent outcomes remembered per key (a miss or failure for
//!   `upstream_negative_cache_secs`, so each key is asked at most once per period), a
//!   concurrency limit and a rate limit, and no lock held across a fetch: a request for a known
//!   key never waits behind misses for other keys;
//! - [`Counters`]: what `/metrics` shows of it.
//!
//! The shape follows go-sev-guest's `verify/trust/trust.go` (`HTTPSGetter`, `RetryHTTPSGetter`
//! with a rate limit), where every KDS request goes through one getter.

use crate::error::ServerError;
use crate::problem::Problem;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One timeout for every upstream request (connect to last body byte).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fetch waits for one of its upstream's concurrency permits before it is refused
/// (not remembered: the next request for the key may try again).
const PERMIT_WAIT: Duration = Duration::from_secs(10);
/// Most keys whose outcome an upstream remembers; past this the expired, then the oldest, go.
const MAX_REMEMBERED: usize = 4096;

fn fetch_err(url: &str, reason: impl std::fmt::Display) -> ServerError {
    ServerError::Fetch {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

/// An upstream's answer: its status, headers, and (for a 2xx) its body.
pub(crate) struct Answer {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

/// The one HTTP GET every upstream client uses.
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    max_bytes: usize,
}

impl Http {
    /// `cacert`: a PEM CA certificate trusted besides the public web roots (a private PCCS or
    /// mirror). Answers larger than `max_bytes` are refused.
    pub(crate) fn new(cacert: Option<&[u8]>, max_bytes: usize) -> Result<Self, ServerError> {
        let err = |reason: String| ServerError::Config(format!("upstream HTTPS client: {reason}"));
        // An explicit provider (`https::https_client`): this client works whether or not the
        // process installed one.
        let client = crate::collateral::https::https_client(cacert)
            .map_err(err)?
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| err(e.to_string()))?;
        Ok(Self { client, max_bytes })
    }

    /// GET `url` with `headers`. A 2xx answer's body is read up to the size cap; any other
    /// status is returned without its body.
    pub(crate) async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Answer, ServerError> {
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send().await.map_err(|e| fetch_err(url, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            return Ok(Answer {
                status,
                headers,
                body: Vec::new(),
            });
        }
        let too_large = || fetch_err(url, format!("answer larger than {} bytes", self.max_bytes));
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fetch_err(url, e))? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// The limits each upstream gets (`upstream_*` in the configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// How long a key's outcome is remembered (misses and failures: the negative cache).
    pub remember: Duration,
    /// Fetches in flight at once.
    pub max_concurrent: usize,
    /// Fetches started per minute (a burst of a quarter of that, at least one).
    pub per_minute: u32,
}

impl Limits {
    pub(crate) fn of(config: &crate::config::Config) -> Self {
        Self {
            remember: Duration::from_secs(config.upstream_negative_cache_secs),
            max_concurrent: config.upstream_max_concurrent.max(1),
            per_minute: config.upstream_fetches_per_minute.max(1),
        }
    }
}

/// A token bucket: `per_minute` tokens a minute, up to `capacity` saved.
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(per_minute: u32) -> Self {
        let capacity = f64::from((per_minute / 4).max(1));
        Self {
            tokens: capacity,
            capacity,
            per_sec: f64::from(per_minute) / 60.0,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let earned = now.duration_since(self.last).as_secs_f64() * self.per_sec;
        self.tokens = (self.tokens + earned).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One upstream's counters, as `/metrics` shows them.
#[derive(Debug, Default)]
pub(crate) struct UpstreamCounters {
    fetched_ok: AtomicU64,
    fetched_failed: AtomicU64,
    remembered_failure: AtomicU64,
    remembered_ok: AtomicU64,
    shared: AtomicU64,
    limited_rate: AtomicU64,
    limited_concurrency: AtomicU64,
}

/// The registered upstreams, in the order they were registered.
type Registered = Arc<Mutex<Vec<(&'static str, Arc<UpstreamCounters>)>>>;

/// Every upstream's counters (one registry per service, kept with its metrics).
#[derive(Default)]
pub(crate) struct Counters {
    upstreams: Registered,
}

impl Counters {
    fn register(&self, name: &'static str) -> Arc<UpstreamCounters> {
        let mut list = self
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, c)) = list.iter().find(|(n, _)| *n == name) {
            return c.clone();
        }
        let counters = Arc::new(UpstreamCounters::default());
        list.push((name, counters.clone()));
        counters
    }

    /// The upstream families for a `prometheus-client` registry (`metrics.rs`): one line per
    /// registered upstream (and result or limit), in registration order, zeros included.
    pub(crate) fn collector(&self) -> Box<dyn prometheus_client::collector::Collector> {
        Box::new(Collected(self.upstreams.clone()))
    }

    /// The upstream families alone, in the Prometheus text format.
    #[cfg(test)]
    pub(crate) fn render(&self) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(self.collector());
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &registry).unwrap();
        out
    }
}

#[derive(Debug)]
struct Collected(Registered);

impl prometheus_client::collector::Collector for Collected {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::counter::ConstCounter;
        use prometheus_client::metrics::MetricType::Counter;
        let list = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let load = |c: &AtomicU64| ConstCounter::new(c.load(Ordering::Relaxed));
        let mut family = encoder.encode_descriptor(
            "scute_upstream_fetches",
            "Fetches made from a vendor upstream (one per key: a PCCS collateral set, a VCEK, a cert_chain, a chip's HSK/CEK), by result.",
            None,
            Counter,
        )?;
        for (name, c) in &list {
            for (result, n) in [("ok", &c.fetched_ok), ("failed", &c.fetched_failed)] {
                let labels = [("upstream", *name), ("result", result)];
                load(n).encode(family.encode_family(&labels)?)?;
            }
        }
        type Field = fn(&UpstreamCounters) -> &AtomicU64;
        let per_upstream: [(&str, &str, Field); 3] = [
            (
                "scute_upstream_negative_cache_hits",
                "Requests answered with a miss or failure the upstream gave recently (not asked again).",
                |c| &c.remembered_failure,
            ),
            (
                "scute_upstream_remembered_answers",
                "Requests answered with an answer the upstream gave recently (not asked again).",
                |c| &c.remembered_ok,
            ),
            (
                "scute_upstream_shared_fetches",
                "Requests that waited for a fetch of the same key already in flight.",
                |c| &c.shared,
            ),
        ];
        for (metric, help, counter) in per_upstream {
            let mut family = encoder.encode_descriptor(metric, help, None, Counter)?;
            for (name, c) in &list {
                load(counter(c)).encode(family.encode_family(&[("upstream", *name)])?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "scute_upstream_rate_limited",
            "Fetches refused by the upstream's rate limit (limit=\"rate\") or concurrency limit (limit=\"concurrency\").",
            None,
            Counter,
        )?;
        for (name, c) in &list {
            for (limit, n) in [
                ("rate", &c.limited_rate),
                ("concurrency", &c.limited_concurrency),
            ] {
                let labels = [("upstream", *name), ("limit", limit)];
                load(n).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Why a fetch gave nothing.
#[derive(Debug, Clone)]
pub(crate) enum Refusal {
    /// Not asked: the upstream's rate or concurrency limit. Not remembered.
    Limited(String),
    /// Asked (now or within the remembered period) and failed, as the caller's error.
    Failed(Problem),
}

impl Refusal {
    /// The caller's error; a refusal by the limits becomes `limited(detail)`.
    pub(crate) fn or_limited(self, limited: impl FnOnce(String) -> Problem) -> Problem {
        match self {
            Self::Limited(detail) => limited(detail),
            Self::Failed(e) => e,
        }
    }
}

/// A flight's outcome, once it has one: every request for the key waits on it.
type Slot<T> = tokio::sync::watch::Receiver<Option<Result<T, Refusal>>>;

struct Keys<T> {
    /// Fetches in flight, by key: later requests for the key wait on the same outcome.
    flights: HashMap<String, Slot<T>>,
    /// Recent outcomes, by key, and when each was reached.
    recent: HashMap<String, (Instant, Result<T, Problem>)>,
}

struct Inner<T> {
    name: &'static str,
    limits: Limits,
    permits: tokio::sync::Semaphore,
    bucket: Mutex<Bucket>,
    keys: Mutex<Keys<T>>,
    counters: Arc<UpstreamCounters>,
}

/// One vendor upstream's fetches: single flight per key, recent outcomes remembered, the
/// concurrency and rate limits. `T` is what a fetch yields (cheap to clone).
pub(crate) struct Upstream<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Upstream<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Upstream<T> {
    /// `name` labels the upstream in `/metrics` (`pcs`, `pcs_route`, `amd_kds`, `hygon_kds`).
    pub(crate) fn new(name: &'static str, limits: Limits, counters: &Counters) -> Self {
        Self {
            inner: Arc::new(Inner {
                name,
                limits,
                permits: tokio::sync::Semaphore::new(limits.max_concurrent),
                bucket: Mutex::new(Bucket::new(limits.per_minute)),
                keys: Mutex::new(Keys {
                    flights: HashMap::new(),
                    recent: HashMap::new(),
                }),
                counters: counters.register(name),
            }),
        }
    }

    /// What `fetch` yields for `key`: the outcome remembered for it, the outcome of the fetch
    /// already in flight for it, or `fetch()`'s, run within the limits and then remembered.
    /// `fetch` must depend on the key alone (never on the request that asks), since its outcome
    /// answers every request for the key for the remembered period. The fetch runs on a task of
    /// its own: a request that goes away does not cancel it, so its outcome is remembered and a
    /// client hanging up cannot make the key be asked again and again.
    pub(crate) async fn fetch<F, Fut>(&self, key: &str, fetch: F) -> Result<T, Refusal>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Problem>> + Send + 'static,
    {
        let inner = &*self.inner;
        let mut slot = {
            let mut keys = inner.keys.lock().unwrap_or_else(PoisonError::into_inner);
            match keys.recent.get(key) {
                Some((at, outcome)) if at.elapsed() < inner.limits.remember => {
                    return match outcome.clone() {
                        Ok(v) => {
                            inner.counters.remembered_ok.fetch_add(1, Ordering::Relaxed);
                            Ok(v)
                        }
                        Err(e) => {
                            inner
                                .counters
                                .remembered_failure
                                .fetch_add(1, Ordering::Relaxed);
                            Err(Refusal::Failed(e))
                        }
                    };
                }
                Some(_) => {
                    keys.recent.remove(key);
                }
                None => {}
            }
            match keys.flights.get(key) {
                Some(flight) => {
                    inner.counters.shared.fetch_add(1, Ordering::Relaxed);
                    flight.clone()
                }
                None => {
                    let (done, flight) = tokio::sync::watch::channel(None);
                    keys.flights.insert(key.to_string(), flight.clone());
                    let (this, key) = (self.clone(), key.to_string());
                    tokio::spawn(async move {
                        let outcome = this.limited(fetch).await;
                        this.finish(&key, &outcome);
                        let _ = done.send(Some(outcome));
                    });
                    flight
                }
            }
        };
        let outcome = match slot.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            // The flight's task ended without an outcome (it panicked): nothing was remembered.
            Err(_) => None,
        };
        outcome.unwrap_or_else(|| {
            Err(Refusal::Failed(Problem::internal(format!(
                "the {} fetch ended without an outcome",
                inner.name
            ))))
        })
    }

    /// Runs `fetch` under the concurrency and rate limits, counting its result.
    async fn limited<F, Fut>(&self, fetch: F) -> Result<T, Refusal>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Problem>>,
    {
        let inner = &*self.inner;
        let Ok(Ok(_permit)) = tokio::time::timeout(PERMIT_WAIT, inner.permits.acquire()).await
        else {
            inner
                .counters
                .limited_concurrency
                .fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Limited(format!(
                "not asked: {} fetches from the {} upstream are in flight (upstream_max_concurrent)",
                inner.limits.max_concurrent, inner.name
            )));
        };
        let allowed = inner
            .bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if !allowed {
            inner.counters.limited_rate.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Limited(format!(
                "not asked: the {} upstream's limit of {} fetches a minute is reached (upstream_fetches_per_minute)",
                inner.name, inner.limits.per_minute
            )));
        }
        let outcome = fetch().await;
        let counter = match &outcome {
            Ok(_) => &inner.counters.fetched_ok,
            Err(_) => &inner.counters.fetched_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        outcome.map_err(Refusal::Failed)
    }

    /// The flight for `key` is over: its outcome is remembered (unless the limits refused it)
    /// and the flight leaves the map, in one step, so no request sees neither.
    fn finish(&self, key: &str, outcome: &Result<T, Refusal>) {
        let inner = &*self.inner;
        let mut keys = inner.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let remembered = match outcome {
            Ok(v) => Some(Ok(v.clone())),
            Err(Refusal::Failed(e)) => Some(Err(e.clone())),
            Err(Refusal::Limited(_)) => None,
        };
        if let (Some(outcome), false) = (remembered, inner.limits.remember.is_zero()) {
            if keys.recent.len() >= MAX_REMEMBERED {
                let period = inner.limits.remember;
                keys.recent.retain(|_, (at, _)| at.elapsed() < period);
            }
            if keys.recent.len() >= MAX_REMEMBERED {
                let oldest = keys
                    .recent
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    keys.recent.remove(&oldest);
                }
            }
            keys.recent
                .insert(key.to_string(), (Instant::now(), outcome));
        }
        keys.flights.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Kind;

    fn limits(per_minute: u32, max_concurrent: usize) -> Limits {
        Limits {
            remember: Duration::from_secs(60),
            max_concurrent,
            per_minute,
        }
    }

    fn failed() -> Problem {
        Problem::new(Kind::UpstreamFailed, "404")
    }

    #[tokio::test]
    async fn a_key_is_fetched_once_and_its_failure_remembered() {
        let counters = Counters::default();
        let up: Upstream<u32> = Upstream::new("test", limits(600, 4), &counters);
        // 'static, as a fetch runs on a task of its own (one counter leaked per test run).
        let calls: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        let ask = move || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err::<u32, _>(failed())
        };
        let outcomes = futures_join(&up, "k", ask, 10).await;
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Err(Refusal::Failed(_)))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Remembered: not asked again.
        let again = up.fetch("k", ask).await;
        assert!(matches!(again, Err(Refusal::Failed(e)) if e.kind == Kind::UpstreamFailed));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let text = counters.render();
        assert!(
            text.contains("scute_upstream_fetches_total{upstream=\"test\",result=\"failed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("scute_upstream_negative_cache_hits_total{upstream=\"test\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("scute_upstream_shared_fetches_total{upstream=\"test\"} 9"),
            "{text}"
        );
    }

    async fn futures_join<F, Fut>(
        up: &Upstream<u32>,
        key: &str,
        ask: F,
        n: usize,
    ) -> Vec<Result<u32, Refusal>>
    where
        F: Fn() -> Fut + Copy + Send + 'static,
        Fut: Future<Output = Result<u32, Problem>> + Send + 'static,
    {
        let mut set = Vec::new();
        for _ in 0..n {
            set.push(up.fetch(key, ask));
        }
        let mut out = Vec::new();
        // Polled together on one task: every request is in flight before the first ends.
        let joined = join_all(set).await;
        out.extend(joined);
        out
    }

    async fn join_all<Fut: Future>(futures: Vec<Fut>) -> Vec<Fut::Output> {
        let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
        let mut outputs: Vec<Option<Fut::Output>> = pinned.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (f, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
                if out.is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => *out = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        outputs.into_iter().flatten().collect()
    }

    /// The upstream families as they were hand-written before prometheus-client: the same
    /// names, types, help, labels, order (registration, then result or limit) and zeros.
    #[test]
    fn the_page_is_as_it_always_was() {
        let counters = Counters::default();
        let pcs = counters.register("pcs");
        let _kds = counters.register("amd_kds");
        pcs.fetched_failed.fetch_add(2, Ordering::Relaxed);
        pcs.limited_concurrency.fetch_add(1, Ordering::Relaxed);
        let expected = "\
# HELP scute_upstream_fetches_total Fetches made from a vendor upstream (one per key: a PCCS collateral set, a VCEK, a cert_chain, a chip's HSK/CEK), by result.
# TYPE scute_upstream_fetches_total counter
scute_upstream_fetches_total{upstream=\"pcs\",result=\"ok\"} 0
scute_upstream_fetches_total{upstream=\"pcs\",result=\"failed\"} 2
scute_upstream_fetches_total{upstream=\"amd_kds\",result=\"ok\"} 0
scute_upstream_fetches_total{upstream=\"amd_kds\",result=\"failed\"} 0
# HELP scute_upstream_negative_cache_hits_total Requests answered with a miss or failure the upstream gave recently (not asked again).
# TYPE scute_upstream_negative_cache_hits_total counter
scute_upstream_negative_cache_hits_total{upstream=\"pcs\"} 0
scute_upstream_negative_cache_hits_total{upstream=\"amd_kds\"} 0
# HELP scute_upstream_remembered_answers_total Requests answered with an answer the upstream gave recently (not asked again).
# TYPE scute_upstream_remembered_answers_total counter
scute_upstream_remembered_answers_total{upstream=\"pcs\"} 0
scute_upstream_remembered_answers_total{upstream=\"amd_kds\"} 0
# HELP scute_upstream_shared_fetches_total Requests that waited for a fetch of the same key already in flight.
# TYPE scute_upstream_shared_fetches_total counter
scute_upstream_shared_fetches_total{upstream=\"pcs\"} 0
scute_upstream_shared_fetches_total{upstream=\"amd_kds\"} 0
# HELP scute_upstream_rate_limited_total Fetches refused by the upstream's rate limit (limit=\"rate\") or concurrency limit (limit=\"concurrency\").
# TYPE scute_upstream_rate_limited_total counter
scute_upstream_rate_limited_total{upstream=\"pcs\",limit=\"rate\"} 0
scute_upstream_rate_limited_total{upstream=\"pcs\",limit=\"concurrency\"} 1
scute_upstream_rate_limited_total{upstream=\"amd_kds\",limit=\"rate\"} 0
scute_upstream_rate_limited_total{upstream=\"amd_kds\",limit=\"concurrency\"} 0
";
        assert_eq!(counters.render(), expected);
    }

    #[tokio::test]
    async fn the_rate_limit_refuses_without_remembering() {
        let counters = Counters::default();
        // 4 a minute: a burst of one.
        let up: Upstream<u32> = Upstream::new("test", limits(4, 4), &counters);
        assert_eq!(up.fetch("a", || async { Ok(1) }).await.ok(), Some(1));
        let refused = up.fetch("b", || async { Ok(2) }).await;
        assert!(matches!(refused, Err(Refusal::Limited(_))), "{refused:?}");
        // Not remembered: "b" is not a negative-cache hit, it is refused by the limit again.
        assert!(matches!(
            up.fetch("b", || async { Ok(2) }).await,
            Err(Refusal::Limited(_))
        ));
        // A known key is answered from memory, limits or not.
        assert_eq!(up.fetch("a", || async { Ok(9) }).await.ok(), Some(1));
        let text = counters.render();
        assert!(
            text.contains("scute_upstream_rate_limited_total{upstream=\"test\",limit=\"rate\"} 2"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_abandoned_flight_still_finishes_and_is_remembered() {
        let counters = Counters::default();
        let up: Upstream<u32> = Upstream::new("test", limits(600, 4), &counters);
        let slow = up.fetch("k", || async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(1)
        });
        // The first request goes away mid-fetch; the fetch goes on.
        assert!(tokio::time::timeout(Duration::from_millis(20), slow)
            .await
            .is_err());
        // A request while it is in flight shares it; one after it answers from memory.
        assert_eq!(up.fetch("k", || async { Ok(2) }).await.ok(), Some(1));
        assert_eq!(up.fetch("k", || async { Ok(3) }).await.ok(), Some(1));
        let text = counters.render();
        assert!(
            text.contains("scute_upstream_fetches_total{upstream=\"test\",result=\"ok\"} 1"),
            "{text}"
        );
    }
}
