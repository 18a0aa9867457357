//! What the load benchmarks share: closed-loop clients for a fixed time, and the report line
//! (rate, p50, p99) each phase prints.

use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

pub(crate) async fn run_clients<F, Fut>(
    clients: usize,
    seconds: u64,
    work: F,
) -> (usize, Vec<Duration>)
where
    F: Fn() -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                if work().await {
                    latencies.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.expect("client task");
        all.extend(l);
        failures += f;
    }
    all.sort();
    (failures, all)
}

pub(crate) fn report(name: &str, seconds: u64, failures: usize, latencies: &[Duration]) -> f64 {
    let rate = latencies.len() as f64 / seconds as f64;
    println!(
        "{name:<20} {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} ok, {failures} failed)",
        rate,
        percentile(latencies, 0.50).as_secs_f64() * 1e3,
        percentile(latencies, 0.99).as_secs_f64() * 1e3,
        latencies.len()
    );
    rate
}
