//! The service as an operator runs it: `scute serve` as a process of its own, with nothing a
//! test harness installs (no crypto provider, no environment), its upstreams pointed at local
//! servers; and the operator's recovery and configuration commands around it.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

struct Server {
    child: Child,
    url: String,
    /// What the server printed after "listening on" (other listeners, notices).
    lines: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `scute serve --config <config>` with `extra` arguments; returns once it listens.
fn serve(config: &Path, extra: &[&str]) -> Server {
    try_serve(config, extra).unwrap_or_else(|lines| panic!("the server did not start: {lines:?}"))
}

/// Like `serve`, but a start that fails gives back what the process printed.
fn try_serve(config: &Path, extra: &[&str]) -> Result<Server, Vec<String>> {
    let mut child = scute()
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut url = String::new();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = rest.trim().to_string();
            break;
        }
    }
    if url.is_empty() {
        let _ = child.wait();
        return Err(seen);
    }
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child,
        url,
        lines: seen,
    })
}

/// A local upstream answering every GET from `answer(path_and_query)`; counts its requests.
async fn upstream(
    tls: Option<(PathBuf, PathBuf)>,
    answer: impl Fn(&str) -> (u16, Vec<u8>) + Clone + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let answer = answer.clone();
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let path = uri.path_and_query().map_or("", |p| p.as_str()).to_string();
            let (status, body) = answer(&path);
            (axum::http::StatusCode::from_u16(status).unwrap(), body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = match tls {
        None => {
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            format!("http://127.0.0.1:{port}")
        }
        Some((cert, key)) => {
            let config = scute_server::tls_server_config(&cert, &key).unwrap();
            tokio::spawn(scute_server::serve_tls(
                listener,
                app,
                config,
                std::future::pending(),
            ));
            format!("https://localhost:{port}")
        }
    };
    (url, hits)
}

/// A simulated Hygon chip's files (`scute sim csv`), the report binding `report_data`.
fn sim_csv(dir: &Path, report_data: &[u8]) {
    let out = scute()
        .args(["sim", "csv", "--out"])
        .arg(dir)
        .args(["--report-data", &hex::encode(report_data)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let data = dir.join("data");
    let path = dir.join("scute.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n{extra}",
            data.to_str().unwrap()
        ),
    )
    .unwrap();
    path
}

/// One CSV attestation whose chip's HSK/CEK only the Hygon KDS has.
async fn attest_csv(http: &reqwest::Client, url: &str, sim: &Path) -> (u16, Value) {
    let challenge: Value = http
        .post(format!("{url}/v1/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let runtime = json!({ "nonce": challenge["nonce"] });
    sim_csv(sim, &scute_server::report_data_for(&runtime).unwrap());
    // The raw report carries no HSK/CEK: the service must ask the KDS.
    let report = std::fs::read(sim.join("report.bin")).unwrap();
    let body = json!({
        "tee": "csv",
        "evidence": { "quote": STANDARD.encode(report) },
        "runtime_data": runtime,
    });
    let r = http
        .post(format!("{url}/v1/attest"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the service dropped the attestation: {e:?}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The Hygon KDS serving the simulated chip's HSK ‖ CEK, from `scute sim csv`'s files.
async fn hygon_kds(sim: &Path) -> (String, Arc<AtomicUsize>) {
    let hsk_cek = std::fs::read(sim.join("hsk_cek.cert")).unwrap();
    let (base, hits) = upstream(None, move |path| {
        if path.starts_with("/hsk_cek?snumber=SIMCSV0001") {
            (200, hsk_cek.clone())
        } else {
            (404, Vec::new())
        }
    })
    .await;
    (format!("{base}/hsk_cek"), hits)
}

/// Issue 21 item 3: with `csv_kds_url` the only upstream, no other code had installed a
/// rustls crypto provider in the `scute serve` process, and the KDS client panicked ("No
/// provider set") on the request path: every such attestation lost its connection.
#[tokio::test]
async fn a_csv_attestation_fetching_from_the_hygon_kds_is_answered_by_a_serve_process() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    sim_csv(&sim, b"");
    let (kds, hits) = hygon_kds(&sim).await;
    let config = write_config(
        dir.path(),
        &format!(
            "csv_trust_roots = [{:?}]\ncsv_kds_url = {kds:?}\n",
            sim.join("hrk.cert").to_str().unwrap()
        ),
    );
    let server = serve(&config, &[]);
    let http = reqwest::Client::new();
    for round in 0..2 {
        let (status, v) = attest_csv(&http, &server.url, &sim).await;
        assert_eq!(status, 200, "round {round}: {v}");
        assert!(v["token"].is_string(), "{v}");
    }
    // Fetched once over the wire, then from the store.
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Every upstream configured at once, the PCCS over HTTPS with a private CA (`pccs_cacert`):
/// each client is built with its own provider and roots, and each one answers.
#[tokio::test]
async fn every_upstream_client_of_a_serve_process_reaches_its_server() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    sim_csv(&sim, b"");
    let (kds, kds_hits) = hygon_kds(&sim).await;
    let (amd, _) = upstream(None, |_| (404, Vec::new())).await;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("ca.pem"), dir.path().join("tls.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (pccs, pccs_hits) = upstream(Some((cert.clone(), key)), |_| (404, Vec::new())).await;
    let config = write_config(
        dir.path(),
        &format!(
            "csv_trust_roots = [{:?}]\ncsv_kds_url = {kds:?}\nsnp_kds_url = {amd:?}\n\
             pccs_url = {pccs:?}\npccs_cacert = {:?}\n",
            sim.join("hrk.cert").to_str().unwrap(),
            cert.to_str().unwrap()
        ),
    );
    let server = serve(&config, &[]);
    let http = reqwest::Client::new();
    let (status, v) = attest_csv(&http, &server.url, &sim).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(kds_hits.load(Ordering::SeqCst), 1);
    // An unknown FMSPC is asked of the PCCS: over TLS, trusting the configured CA.
    let r = http
        .get(format!(
            "{}/sgx/certification/v4/tcb?fmspc=00A06F050000",
            server.url
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error() || r.status().is_server_error());
    assert!(
        pccs_hits.load(Ordering::SeqCst) >= 1,
        "the PCCS was not reached over TLS: {:?}",
        server.lines
    );
}

/// The data directory as `scute serve` would make it (0700), for a test to prepare.
fn data_dir(dir: &Path) -> PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let data = dir.join("data");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&data)
        .unwrap();
    data
}

fn admin_token(data: &Path) -> String {
    std::fs::read_to_string(data.join("admin-token"))
        .unwrap()
        .trim()
        .to_string()
}

/// The status of an admin request made with `token`.
async fn admin_status(url: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{url}/v1/policies/default"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Issue 21 item 6: the token's hash was committed before its file was written, so a start
/// whose file write failed left a hash no one held the token of, and no later start made one:
/// the admin was locked out for good. Now the file comes first, and a failed write commits
/// nothing.
#[tokio::test]
async fn a_failed_admin_token_write_commits_no_hash_and_the_next_start_makes_one() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(dir.path());
    // The write fails: the token's file name is taken by a directory.
    std::fs::create_dir(data.join("admin-token")).unwrap();
    let config = write_config(dir.path(), "");
    let lines = match try_serve(&config, &[]) {
        Ok(_) => panic!("the service started without writing its admin token"),
        Err(lines) => lines,
    };
    assert!(
        lines.iter().any(|l| l.contains("admin-token")),
        "the failure names the file: {lines:?}"
    );
    std::fs::remove_dir(data.join("admin-token")).unwrap();
    let server = serve(&config, &[]);
    assert!(
        server
            .lines
            .iter()
            .any(|l| l.contains("admin token created")),
        "{:?}",
        server.lines
    );
    let token = admin_token(&data);
    assert_eq!(token.len(), 64);
    assert_eq!(admin_status(&server.url, &token).await, 200);
    assert_eq!(admin_status(&server.url, &"0".repeat(64)).await, 401);
    // Nothing half-written is left beside it.
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

/// `scute admin reset-token`: an operator with the data directory makes a new token; the
/// running service takes it within a second or so, and the old one stops working.
#[tokio::test]
async fn reset_token_replaces_the_admin_token_of_a_running_service() {
    use std::os::unix::fs::PermissionsExt;
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let data = dir.path().join("data");
    let server = serve(&config, &[]);
    let old = admin_token(&data);
    assert_eq!(admin_status(&server.url, &old).await, 200);

    let out = scute()
        .args(["admin", "reset-token", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let new = admin_token(&data);
    assert_ne!(new, old);
    // Not a terminal: the command says where the token is, not what it is.
    assert!(stdout.contains("admin-token"), "{stdout}");
    assert!(!stdout.contains(&new), "the token was written to a pipe");
    let mode = std::fs::metadata(data.join("admin-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let mut waited = 0;
    while admin_status(&server.url, &new).await != 200 {
        assert!(waited < 50, "the running service never took the new token");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(admin_status(&server.url, &old).await, 401);
    drop(server);

    // And after a restart, from the store.
    let server = serve(&config, &[]);
    assert!(!server
        .lines
        .iter()
        .any(|l| l.contains("admin token created")));
    assert_eq!(admin_status(&server.url, &new).await, 200);
    assert_eq!(admin_status(&server.url, &old).await, 401);

    // Without the service's store or master key there is nothing to reset: nothing is made.
    let empty = dir.path().join("elsewhere");
    let out = scute()
        .args(["admin", "reset-token", "--data-dir"])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!empty.join("admin-token").exists());
}
