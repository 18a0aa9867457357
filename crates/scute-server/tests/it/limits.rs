//! What unauthenticated clients can hold and read: the global budget of request-body bytes in
//! flight, and what `/metrics` tells the public listener versus its own (`metrics_listen`).

use scute_server::Config;
use scute_test::TestService;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The service with its base configuration changed by `tweak`.
async fn service(tweak: impl FnOnce(&mut Config)) -> TestService {
    TestService::builder().start_with(tweak).await
}

/// The same on a directory that already holds a store.
async fn service_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestService {
    TestService::builder_in(dir).start_with(tweak).await
}

async fn get_text(url: &str) -> (u16, String) {
    let r = reqwest::Client::new().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of an unlabelled metric line.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

const MIB: usize = 1024 * 1024;

/// A request head announcing a 1 MiB body, and the first `sent` bytes of it; then nothing.
/// Returns the connection (kept open) and what the server answered within `wait`.
async fn stall(addr: std::net::SocketAddr, sent: usize, wait: Duration) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/attest HTTP/1.1\r\nHost: scute\r\nContent-Type: application/json\r\n\
         Content-Length: {MIB}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may stop reading (and answer) before all of it is written.
    let _ = tokio::time::timeout(wait, s.write_all(&vec![b' '; sent])).await;
    let text = answer(&mut s, wait).await;
    (s, text)
}

/// What the server has answered on `s` within `wait`, if anything.
async fn answer(s: &mut TcpStream, wait: Duration) -> String {
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(wait, s.read(&mut buf)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        _ => String::new(),
    }
}

async fn reserved(service: &TestService) -> (u64, u64, u64) {
    let (status, text) = get_text(&format!("{}/metrics", service.url)).await;
    assert_eq!(status, 200);
    (
        metric(&text, "scute_request_body_bytes_reserved"),
        metric(&text, "scute_request_body_budget_bytes"),
        metric(&text, "scute_request_body_budget_refused_total"),
    )
}

/// Issue 21: 4096 connections × 1 MiB bodies × a 30 s body timeout let unauthenticated
/// clients pin about 4 GiB. The budget counts what clients have sent, not what their heads
/// announce: 256 connections announcing 1 MiB bodies and sending a KiB each hold 256 KiB, and
/// an honest body is still read (when heads were charged, 64 idle connections made every POST
/// a 503).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_bodies_hold_only_what_was_sent() {
    let service = service(|_| {}).await;
    assert_eq!(Config::default().max_body_bytes_in_flight, 64 * MIB);
    assert!(Config::default().max_connections <= 1024);
    let mut stalled = Vec::new();
    for _ in 0..256 {
        stalled.push(stall(service.addr, 1024, Duration::from_millis(10)).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(stalled.iter().all(|(_, text)| text.is_empty()));
    let (held, budget, refused) = reserved(&service).await;
    assert_eq!(budget, 64 * MIB as u64);
    assert_eq!(held, 256 * 1024, "each holds what it sent");
    assert_eq!(refused, 0);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/attest", service.url))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    // An empty request is a client error, judged on its content: the body was read.
    assert_eq!(r.status(), 400);
    drop(stalled);
}

/// Bodies sent beyond the budget are refused with 503 as they arrive, what is held never
/// exceeds the budget, bodiless requests are still served, and once the senders go their
/// bytes are returned and bodies are read again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_sent_beyond_the_budget_are_refused_and_held_within_it() {
    let service = service(|c| c.max_body_bytes_in_flight = 8 * MIB).await;
    // 16 senders of 768 KiB each: 12 MiB offered to an 8 MiB budget.
    let senders: Vec<_> = (0..16)
        .map(|_| {
            let addr = service.addr;
            tokio::spawn(async move { stall(addr, 768 * 1024, Duration::from_secs(2)).await })
        })
        .collect();
    let mut stalled = Vec::new();
    for s in senders {
        stalled.push(s.await.unwrap());
    }
    let refused: Vec<_> = stalled
        .iter()
        .filter(|(_, text)| text.starts_with("HTTP/1.1 503"))
        .collect();
    assert!(!refused.is_empty(), "12 MiB went into an 8 MiB budget");
    for (_, text) in &refused {
        assert!(text.contains("overloaded"), "{text}");
        assert!(
            text.to_ascii_lowercase().contains("retry-after: 1"),
            "{text}"
        );
    }
    let (held, budget, counted) = reserved(&service).await;
    assert!(held <= budget, "{held} > {budget}");
    assert!(
        held >= 4 * MIB as u64,
        "{held}: the bodies that fit are held"
    );
    assert_eq!(counted, refused.len() as u64);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/v1/challenge", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The senders go away: their bytes are returned, bodies are read again.
    drop(stalled);
    let mut tries = 0;
    loop {
        let r = http
            .post(format!("{}/v1/attest", service.url))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        if r.status() != 503 {
            assert_eq!(r.status(), 400);
            break;
        }
        tries += 1;
        assert!(tries < 50, "the budget was never returned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut tries = 0;
    while reserved(&service).await.0 != 0 {
        tries += 1;
        assert!(tries < 50, "the budget was never returned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A body larger than the limit cannot reserve more than the limit, and a budget smaller
/// than one body is refused at start.
#[tokio::test]
async fn the_budget_is_checked_against_the_body_limit() {
    let config = Config {
        max_body_bytes: 2 * MIB,
        max_body_bytes_in_flight: MIB,
        ..Config::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("max_body_bytes_in_flight"), "{err}");
    let config = Config {
        max_body_bytes_in_flight: 0,
        ..Config::default()
    };
    assert!(config.validate().is_err());
}

/// A data directory holding the simulator's TDX collateral set; returns its FMSPC and root.
async fn with_collateral() -> (tempfile::TempDir, String, std::path::PathBuf) {
    use scute_sim::{CollateralOptions, Simulator, Tee};
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::new(1, now).unwrap();
    let root = dir.path().join("sim-root.pem");
    std::fs::write(&root, sim.root_ca_pem()).unwrap();
    let files = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, now))
        .unwrap()
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect();
    let (fmspc, _, _) = scute_server::import_collateral(
        &dir.path().join("data"),
        std::slice::from_ref(&root),
        &files,
    )
    .await
    .unwrap();
    (dir, fmspc, root)
}

/// Issue 21: the public `/metrics` listed every stored FMSPC (which platforms the service
/// serves) to anyone. It now gives the earliest next update per TEE, with no FMSPC label.
#[tokio::test]
async fn the_public_metrics_name_no_fmspc() {
    let (dir, fmspc, root) = with_collateral().await;
    let service = service_in(dir, |c| c.trust_roots = vec![root]).await;
    assert!(service.metrics_url.is_none());
    let (status, text) = get_text(&format!("{}/metrics", service.url)).await;
    assert_eq!(status, 200);
    assert!(!text.contains("fmspc"), "{text}");
    assert!(
        !text.to_lowercase().contains(&fmspc.to_lowercase()),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("scute_collateral_next_update_seconds{tee=\"tdx\"} ")),
        "{text}"
    );
}

/// `metrics_listen`: `/metrics` alone on its own address, with the per-set lines by FMSPC;
/// nothing else is served there, and the public listener still names no FMSPC.
#[tokio::test]
async fn the_metrics_listener_has_the_per_set_lines() {
    let (dir, fmspc, root) = with_collateral().await;
    let service = service_in(dir, |c| {
        c.trust_roots = vec![root];
        c.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    let private = service.metrics_url.clone().expect("a metrics listener");
    assert_ne!(private, service.url);
    let (status, text) = get_text(&format!("{private}/metrics")).await;
    assert_eq!(status, 200);
    let line = format!("scute_collateral_next_update_seconds{{tee=\"tdx\",fmspc=\"{fmspc}\"");
    assert!(text.contains(&line), "{line} not in:\n{text}");
    assert!(text.contains("scute_http_requests_total"), "{text}");
    // Only /metrics: the API is not reachable through it.
    for path in ["/v1/challenge", "/.well-known/jwks.json", "/healthz"] {
        let (status, _) = get_text(&format!("{private}{path}")).await;
        assert_eq!(status, 404, "{path}");
    }
    let r = reqwest::Client::new()
        .get(format!("{private}/v1/policies/default"))
        .bearer_auth(&service.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (_, public) = get_text(&format!("{}/metrics", service.url)).await;
    assert!(!public.contains("fmspc"), "{public}");
}
