//! Load benchmark: the service on loopback, concurrent clients each running challenge →
//! simulated quote → attest, for a fixed time. Reports attestations/s and p50/p99 latency of
//! the whole exchange, and, measured in the same run as the baseline, the HTTP floor: the same
//! clients calling /healthz.
//!
//! A third phase is the key broker's whole guest round trip, as the Confidential Containers
//! client runs it (resource → 401 → auth → attest → resource, JWE opened), with the server's CPU
//! time per release: the CPU of the server runtime's and SQLite's threads (read from
//! /proc/self/task), divided by the releases.
//!
//! `cargo bench -p scute-server --bench load -- [clients] [seconds]` (defaults 16 and 10).

use aws_lc_rs::digest::{digest, SHA384};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use scute_server::Config;
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
use serde_json::{json, Value};
use std::sync::Arc;
use support::{report, run_clients};

#[path = "support/mod.rs"]
mod support;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// CPU seconds used so far by this process's threads whose names start with one of `prefixes`.
fn thread_cpu_seconds(prefixes: &[&str]) -> f64 {
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !prefixes.iter().any(|p| comm.starts_with(p)) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is the 1st, utime the 12th, stime the 13th.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        total += utime + stime;
    }
    total as f64 / ticks_per_second
}

const SERVER_THREADS: &[&str] = &["scute-server", "sqlx-sqlite"];

/// One guest's whole KBS round trip; true when the secret came back and opened.
async fn release(h: &reqwest::Client, b: &str, s: &Simulator) -> bool {
    let resource = format!("{b}/kbs/v0/resource/default/key/bench");
    match h.get(&resource).send().await {
        Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED => {}
        _ => return false,
    }
    let auth = json!({"version": "0.4.0", "tee": "tdx", "extra-params": {"supported-hash-algorithms": ["sha384"]}});
    let Ok(r) = h.post(format!("{b}/kbs/v0/auth")).json(&auth).send().await else {
        return false;
    };
    let Ok(challenge) = r.json::<scute_kbs::Challenge>().await else {
        return false;
    };
    let Ok(key) = scute_kbs::TeeKeyPair::generate() else {
        return false;
    };
    let Ok(digest) = scute_kbs::runtime_data_digest(
        scute_kbs::HashAlgorithm::Sha384,
        &challenge.nonce,
        &key.public_jwk(),
        "",
    ) else {
        return false;
    };
    let mut report_data = [0u8; 64];
    report_data[..48].copy_from_slice(&digest);
    let Ok(quote) = s.quote(&Workload::new(Tee::Tdx, 4, report_data)) else {
        return false;
    };
    let body = json!({
        "runtime-data": {"nonce": challenge.nonce, "tee-pubkey": key.public_jwk()},
        "tee-evidence": {"primary_evidence": {"quote": STANDARD.encode(quote.encode()), "cc_eventlog": null}, "additional_evidence": ""},
    });
    match h
        .post(format!("{b}/kbs/v0/attest"))
        .json(&body)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => {}
        _ => return false,
    }
    let Ok(r) = h.get(&resource).send().await else {
        return false;
    };
    let Ok(jwe) = r.json::<scute_kbs::FlattenedJwe>().await else {
        return false;
    };
    key.decrypt(&jwe)
        .map(|secret| secret == b"bench secret")
        .unwrap_or(false)
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let clients: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);

    let dir = tempfile::tempdir().expect("temp dir");
    let sim = Arc::new(Simulator::new(1, now()).expect("simulator"));
    let root = dir.path().join("root.pem");
    std::fs::write(&root, sim.root_ca_pem()).expect("root");
    let files = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, now()))
        .expect("collateral");
    let files = files.into_iter().map(|(n, b)| (n.to_string(), b)).collect();

    // The server has its own runtime (2 workers: the machine's cores); clients another.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scute-server")
        .enable_all()
        .build()
        .expect("runtime");
    let (addr, admin) = server_rt.block_on(async {
        let data = dir.path().join("data");
        scute_server::import_collateral(&data, std::slice::from_ref(&root), &files)
            .await
            .expect("import");
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: data,
            trust_roots: vec![root.clone()],
            ..Config::default()
        };
        let running = scute_server::start(config).await.expect("start");
        let addr = running.addr;
        let admin = running.new_admin_token.clone().expect("a new admin token");
        tokio::spawn(running.serve(std::future::pending()));
        (addr, admin)
    });
    let base = format!("http://{addr}");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("runtime");
    client_rt.block_on(async move {
        let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().expect("client");
        println!("{clients} clients, {seconds} s each phase, server and clients on this machine's {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));

        let (h, b) = (http.clone(), base.clone());
        let (failures, latencies) = run_clients(clients, seconds, move || {
            let (h, b) = (h.clone(), b.clone());
            async move { h.get(format!("{b}/healthz")).send().await.map(|r| r.status().is_success()).unwrap_or(false) }
        })
        .await;
        let floor = report("healthz", seconds, failures, &latencies);

        let (h, b, s) = (http.clone(), base.clone(), sim.clone());
        let (failures, latencies) = run_clients(clients, seconds, move || {
            let (h, b, s) = (h.clone(), b.clone(), s.clone());
            async move {
                let Ok(r) = h.post(format!("{b}/v1/challenge")).send().await else { return false };
                let Ok(challenge) = r.json::<Value>().await else { return false };
                let runtime = json!({ "nonce": challenge["nonce"] });
                let Ok(canonical) = serde_json_canonicalizer::to_vec(&runtime) else { return false };
                let mut report_data = [0u8; 64];
                report_data[..48].copy_from_slice(digest(&SHA384, &canonical).as_ref());
                let Ok(quote) = s.quote(&Workload::new(Tee::Tdx, 4, report_data)) else { return false };
                let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote.encode()) }, "runtime_data": runtime });
                h.post(format!("{b}/v1/attest")).json(&body).send().await.map(|r| r.status().is_success()).unwrap_or(false)
            }
        })
        .await;
        let rate = report("attest", seconds, failures, &latencies);
        println!("attestations/s as a share of the healthz floor: {:.3}", rate / floor);

        // The key broker: the operator stores a resource and the workload's MRTD.
        let q = sim.quote(&Workload::new(Tee::Tdx, 4, [0; 64])).expect("quote");
        let mr_td = scute_dcap::report_json(&q.body)["mr_td"].clone();
        let ok = http.put(format!("{base}/v1/reference-values/mr_td")).bearer_auth(&admin).json(&json!([mr_td])).send().await.map(|r| r.status().is_success()).unwrap_or(false);
        let ok = ok && http.put(format!("{base}/kbs/v0/resource/default/key/bench")).bearer_auth(&admin).body("bench secret").send().await.map(|r| r.status().is_success()).unwrap_or(false);
        assert!(ok, "setting up the key broker");
        let (b, s) = (base.clone(), sim.clone());
        let cpu_before = thread_cpu_seconds(SERVER_THREADS);
        let (failures, latencies) = run_clients(clients, seconds, move || {
            let (b, s) = (b.clone(), s.clone());
            async move {
                // A guest of its own: fresh cookie store, fresh key.
                let Ok(h) = reqwest::Client::builder().cookie_store(true).build() else { return false };
                release(&h, &b, &s).await
            }
        })
        .await;
        let cpu = thread_cpu_seconds(SERVER_THREADS) - cpu_before;
        let releases = report("release", seconds, failures, &latencies);
        println!(
            "releases/s as a share of the healthz floor: {:.3}; server CPU per release: {:.3} ms",
            releases / floor,
            cpu * 1e3 / latencies.len().max(1) as f64
        );
    });
}
