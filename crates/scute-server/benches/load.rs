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
//! Each phase runs against three deployments, each with its own `/healthz` floor: one replica
//! on SQLite (the embedded default), one on PostgreSQL (a throwaway cluster the bench starts,
//! as the tests do), and two replicas on that one PostgreSQL database, the clients alternating
//! between them. Where an attestation's time goes is reported beside it: the server's CPU per
//! attestation (its runtime's and the database driver's threads) and the client's cost of
//! making one simulated quote, all sharing this machine's cores.
//!
//! `cargo bench -p scute-server --bench load -- [clients] [seconds] [sqlite|postgres|replicas]`
//! (defaults 16, 10, all three).
// A measuring harness stops at the first broken assumption: it may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lc_rs::digest::{digest, SHA384};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use scute_server::Config;
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
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

use scute_test::postgres;

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

/// The replicas of one deployment: their base URLs and the admin token.
struct Deployment {
    name: &'static str,
    bases: Vec<String>,
    admin: String,
}

/// Starts replica `index` of a deployment (the first imports the collateral); its base URL
/// and, when this start created it, the admin token.
fn start(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    root: &std::path::Path,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
    database: Option<&str>,
    index: usize,
) -> (String, Option<String>) {
    runtime.block_on(async {
        let tag = if database.is_some() { "pg" } else { "sqlite" };
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.join(format!("{tag}-{index}")),
            trust_roots: vec![root.to_path_buf()],
            database_url: database.map(str::to_string),
            // Replicas of one database share the master key.
            master_key_file: Some(dir.join(format!("{tag}-master.key"))),
            ..Config::default()
        };
        if index == 0 {
            scute_server::import_collateral_with(&config, files)
                .await
                .expect("import");
        }
        let running = scute_server::start(config).await.expect("start");
        let base = format!("http://{}", running.addr);
        let admin = running.new_admin_token.clone();
        tokio::spawn(running.serve(std::future::pending()));
        (base, admin)
    })
}

/// The replica for the n-th request: clients alternate between replicas.
fn pick(bases: &[String]) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    bases[n % bases.len()].clone()
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let clients: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let only = args.get(2).cloned();

    let dir = tempfile::tempdir().expect("temp dir");
    let sim = Arc::new(Simulator::new(1, now()).expect("simulator"));
    let root = dir.path().join("root.pem");
    std::fs::write(&root, sim.root_ca_pem()).expect("root");
    let files = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, now()))
        .expect("collateral");
    let files: std::collections::BTreeMap<String, Vec<u8>> =
        files.into_iter().map(|(n, b)| (n.to_string(), b)).collect();

    // The servers have their own runtime (2 workers: the machine's cores); clients another.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scute-server")
        .enable_all()
        .build()
        .expect("runtime");
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{clients} clients, {seconds} s each phase, servers and clients on this machine's {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    // What one simulated quote costs the clients (it shares the cores with the servers).
    let t = Instant::now();
    for _ in 0..50 {
        let _ = sim
            .quote(&Workload::new(Tee::Tdx, 4, [0; 64]))
            .expect("quote");
    }
    println!(
        "client: one simulated quote {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / 50.0
    );
    let run = |name, bases: Vec<String>, admin: &str| {
        let d = Deployment {
            name,
            bases,
            admin: admin.to_string(),
        };
        client_rt.block_on(phases(d, clients, seconds, sim.clone()))
    };
    if wanted("sqlite") {
        let (base, admin) = start(&server_rt, dir.path(), &root, &files, None, 0);
        run("sqlite", vec![base], &admin.expect("admin token"));
    }
    if wanted("postgres") || wanted("replicas") {
        let cluster = postgres::Cluster::start();
        let (first, admin) = start(&server_rt, dir.path(), &root, &files, Some(&cluster.url), 0);
        let admin = admin.expect("admin token");
        if wanted("postgres") {
            run("postgres", vec![first.clone()], &admin);
        }
        if wanted("replicas") {
            // A second replica joins the same database.
            let (second, _) = start(&server_rt, dir.path(), &root, &files, Some(&cluster.url), 1);
            run("replicas", vec![first, second], &admin);
        }
    }
}

async fn phases(d: Deployment, clients: usize, seconds: u64, sim: Arc<Simulator>) {
    println!(
        "-- {} ({} replica{})",
        d.name,
        d.bases.len(),
        if d.bases.len() == 1 { "" } else { "s" }
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    let bases = Arc::new(d.bases.clone());

    let (h, b) = (http.clone(), bases.clone());
    let (failures, latencies) = run_clients(clients, seconds, move || {
        let (h, b) = (h.clone(), b.clone());
        async move {
            h.get(format!("{}/healthz", pick(&b)))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;
    let floor = report("healthz", seconds, failures, &latencies);

    let (h, b, s) = (http.clone(), bases.clone(), sim.clone());
    let cpu_before = thread_cpu_seconds(SERVER_THREADS);
    let (failures, latencies) = run_clients(clients, seconds, move || {
        let (h, b, s) = (h.clone(), b.clone(), s.clone());
        async move {
            // Challenge at one replica, attest at the next: replicas share nonces.
            let Ok(r) = h.post(format!("{}/v1/challenge", pick(&b))).send().await else { return false };
            let Ok(challenge) = r.json::<Value>().await else { return false };
            let runtime = json!({ "nonce": challenge["nonce"] });
            let Ok(canonical) = serde_json_canonicalizer::to_vec(&runtime) else { return false };
            let mut report_data = [0u8; 64];
            report_data[..48].copy_from_slice(digest(&SHA384, &canonical).as_ref());
            let Ok(quote) = s.quote(&Workload::new(Tee::Tdx, 4, report_data)) else { return false };
            let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote.encode()) }, "runtime_data": runtime });
            h.post(format!("{}/v1/attest", pick(&b))).json(&body).send().await.map(|r| r.status().is_success()).unwrap_or(false)
        }
    })
    .await;
    let cpu = thread_cpu_seconds(SERVER_THREADS) - cpu_before;
    let rate = report("attest", seconds, failures, &latencies);
    println!(
        "attestations/s as a share of the healthz floor: {:.3}; server CPU per attestation: {:.3} ms",
        rate / floor,
        cpu * 1e3 / latencies.len().max(1) as f64
    );

    // The key broker: the operator stores a resource and the workload's MRTD.
    let base = bases[0].clone();
    let q = sim
        .quote(&Workload::new(Tee::Tdx, 4, [0; 64]))
        .expect("quote");
    let mr_td = scute_dcap::report_json(&q.body)["mr_td"].clone();
    let ok = http
        .put(format!("{base}/v1/reference-values/mr_td"))
        .bearer_auth(&d.admin)
        .json(&json!([mr_td]))
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    let ok = ok
        && http
            .put(format!("{base}/kbs/v0/resource/default/key/bench"))
            .bearer_auth(&d.admin)
            .body("bench secret")
            .send()
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false);
    assert!(ok, "setting up the key broker");
    // Replicas pick the reference value up within a second.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (b, s) = (bases.clone(), sim.clone());
    let cpu_before = thread_cpu_seconds(SERVER_THREADS);
    let (failures, latencies) = run_clients(clients, seconds, move || {
        let (b, s) = (b.clone(), s.clone());
        async move {
            // A guest of its own: fresh cookie store, fresh key, one replica for its round trip.
            let Ok(h) = reqwest::Client::builder().cookie_store(true).build() else {
                return false;
            };
            release(&h, &pick(&b), &s).await
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
}
