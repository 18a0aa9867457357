//! Load benchmark of the collateral service: `GET /tdx/certification/v4/tcb` (what every TDX
//! verifier asks a PCCS for) over loopback, against the `/healthz` floor measured in the same
//! run, on plain HTTP and on TLS (keep-alive, as QCNL connects), with 1 and with N connections.
//! Intel's PCCS serves that route at about 1,600–1,900 requests/s on this machine.
//!
//! The clients are reqwest in this process, sharing the cores with the server; when `wrk`
//! (Debian's package) is installed, the same phases also run from it, a separate and much
//! lighter client process, which measures the server rather than the client.
//!
//! `cargo bench -p scute-server --bench pccs -- [connections] [seconds]` (defaults 16 and 5).
// A measuring harness stops at the first broken assumption: it may unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scute_server::Config;
use scute_sim::{CollateralOptions, Simulator, Tee};
use std::path::Path;
use support::{report, run_clients};

#[path = "support/mod.rs"]
mod support;

/// A server on its own 2-worker runtime (the machine's cores); its base URL.
fn start(
    runtime: &tokio::runtime::Runtime,
    data: &Path,
    root: &Path,
    tls: Option<(&Path, &Path)>,
) -> String {
    runtime.block_on(async {
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: data.to_path_buf(),
            trust_roots: vec![root.to_path_buf()],
            tls_cert: tls.map(|(c, _)| c.to_path_buf()),
            tls_key: tls.map(|(_, k)| k.to_path_buf()),
            ..Config::default()
        };
        let running = scute_server::start(config).await.expect("start");
        let port = running.addr.port();
        tokio::spawn(running.serve(std::future::pending()));
        match tls {
            Some(_) => format!("https://localhost:{port}"),
            None => format!("http://127.0.0.1:{port}"),
        }
    })
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let connections: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = Simulator::new(1, now).expect("simulator");
    let root = dir.path().join("root.pem");
    std::fs::write(&root, sim.root_ca_pem()).expect("root");
    let files = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, now))
        .expect("collateral");
    let tcb_info: serde_json::Value = serde_json::from_slice(
        files
            .iter()
            .find(|(n, _)| *n == "tcb_info.json")
            .expect("tcb")
            .1
            .as_slice(),
    )
    .expect("tcb json");
    let fmspc = tcb_info["tcbInfo"]["fmspc"]
        .as_str()
        .expect("fmspc")
        .to_lowercase();
    let expected_len = files
        .iter()
        .find(|(n, _)| *n == "tcb_info.json")
        .map(|(_, b)| b.len());
    let files = files.into_iter().map(|(n, b)| (n.to_string(), b)).collect();

    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    std::fs::write(&cert, certified.cert.pem()).expect("cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("key");

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scute-server")
        .enable_all()
        .build()
        .expect("runtime");
    let data = dir.path().join("data");
    server_rt.block_on(async {
        scute_server::import_collateral(&data, std::slice::from_ref(&root), &files)
            .await
            .expect("import");
    });
    let plain = start(&server_rt, &data, &root, None);
    let tls = start(&server_rt, &data, &root, Some((&cert, &key)));

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("runtime");
    let ca = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).expect("ca");
    client_rt.block_on(async move {
        println!(
            "{seconds} s each phase, server and clients on this machine's {} cores",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        );
        for (scheme, base) in [("http", plain.clone()), ("https", tls.clone())] {
            for clients in [1, connections] {
                let http = reqwest::Client::builder()
                    .add_root_certificate(ca.clone())
                    .pool_max_idle_per_host(clients)
                    .build()
                    .expect("client");
                let get = move |url: String, len: Option<usize>| {
                    let http = http.clone();
                    move || {
                        let (http, url) = (http.clone(), url.clone());
                        async move {
                            let Ok(r) = http.get(&url).send().await else {
                                return false;
                            };
                            let ok = r.status().is_success();
                            // The body is read (and its size checked) as a client would.
                            let Ok(body) = r.bytes().await else {
                                return false;
                            };
                            ok && len.is_none_or(|n| body.len() == n)
                        }
                    }
                };
                // Warm-up (connections, caches), not counted.
                run_clients(clients, 1, get(format!("{base}/healthz"), None)).await;
                let (failures, latencies) =
                    run_clients(clients, seconds, get(format!("{base}/healthz"), None)).await;
                let floor = report(
                    &format!("{scheme} healthz x{clients}"),
                    seconds,
                    failures,
                    &latencies,
                );
                let url = format!("{base}/tdx/certification/v4/tcb?fmspc={fmspc}");
                let (failures, latencies) =
                    run_clients(clients, seconds, get(url, expected_len)).await;
                let rate = report(
                    &format!("{scheme} tdx tcb x{clients}"),
                    seconds,
                    failures,
                    &latencies,
                );
                println!(
                    "  tcb/healthz {:.3}; vs Intel's PCCS at 1,900/s: {:.1}x",
                    rate / floor,
                    rate / 1900.0
                );
            }
        }
        if std::process::Command::new("wrk").arg("--version").output().is_err() {
            println!("(wrk is not installed: no separate-process client phases)");
            return;
        }
        println!("wrk, one thread, a separate process:");
        // wrk connects by address; the certificate names localhost, which wrk does not check.
        for (scheme, base) in [("http", plain), ("https", tls.replace("localhost", "127.0.0.1"))] {
            for clients in [1, connections] {
                let floor = wrk(&format!("{base}/healthz"), clients, seconds);
                let rate = wrk(&format!("{base}/tdx/certification/v4/tcb?fmspc={fmspc}"), clients, seconds);
                println!(
                    "{scheme:<5} x{clients:<3} healthz {floor:>8.0}/s  tdx tcb {rate:>8.0}/s  tcb/healthz {:.3}; vs Intel's PCCS at 1,900/s: {:.1}x",
                    rate / floor,
                    rate / 1900.0
                );
            }
        }
    });
}

/// Requests per second that `wrk` reaches on `url` with `connections` kept-alive connections
/// (non-2xx answers are counted by wrk and make this panic: the numbers would be meaningless).
fn wrk(url: &str, connections: usize, seconds: u64) -> f64 {
    let out = std::process::Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            url,
        ])
        .output()
        .expect("wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's output: {text}"))
}
