//! Replicas: three `scute serve` processes on one PostgreSQL database (a throwaway cluster of
//! the test's own), behind no load balancer but the test. A challenge from one replica is
//! redeemed at another exactly once; a policy written at one is enforced by all within 2 s; a
//! KBS session made at one is used at the others; a rotated signing key reaches every JWKS
//! while old tokens still verify; a replica killed with SIGKILL loses no acknowledged write;
//! a database that stops and comes back makes a replica answer 503, then recover by itself.

use scute_test::postgres;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use scute_attester::{Attester, Simulated};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Replica {
    child: Child,
    url: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Deployment {
    tmp: tempfile::TempDir,
    cluster: postgres::Cluster,
    sim: Simulated,
    root: PathBuf,
    master_key: PathBuf,
}

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

impl Deployment {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let cluster = postgres::Cluster::start();
        let sim_dir = tmp.path().join("sim");
        let sim = Simulated::open(sim_dir.clone(), scute_sim::Tee::Tdx).unwrap();
        let root = sim_dir.join("root_ca.pem");
        // The operator provisions one master key for every replica (32 random bytes, 0600).
        let master_key = tmp.path().join("master.key");
        let mut bytes = [0u8; 32];
        use std::io::Read as _;
        std::fs::File::open("/dev/urandom")
            .unwrap()
            .read_exact(&mut bytes)
            .unwrap();
        {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&master_key)
                .unwrap()
                .write_all(&bytes)
                .unwrap();
        }
        let out = scute()
            .args(["collateral", "import"])
            .arg(sim_dir.join("collateral"))
            .args(["--database", &cluster.url, "--trust-root"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            tmp,
            cluster,
            sim,
            root,
            master_key,
        }
    }

    fn replica(&self, name: &str) -> Replica {
        let mut child = scute()
            .args([
                "serve",
                "--database",
                &self.cluster.url,
                "--master-key-file",
            ])
            .arg(&self.master_key)
            .arg("--data-dir")
            .arg(self.tmp.path().join(name))
            .args(["--listen", "127.0.0.1:0", "--trust-root"])
            .arg(&self.root)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let collected = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.trim().to_string());
                }
                collected.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{name} did not start: {:?}", lines.lock().unwrap()));
        Replica { child, url, lines }
    }

    /// A quote whose report data binds `runtime_data` (the /v1/attest convention).
    fn quote_for(&self, runtime_data: &Value) -> Vec<u8> {
        let rd = scute_server::report_data_for(runtime_data).unwrap();
        self.sim.collect(&rd).unwrap().quote
    }
}

/// The admin token, when this replica's start created it (it says so, and wrote the file).
fn printed_token(replica: &Replica) -> Option<String> {
    let lines = replica.lines.lock().unwrap();
    assert!(
        !lines
            .iter()
            .any(|l| l.len() == 64 && l.chars().all(|c| c.is_ascii_hexdigit())),
        "an admin token was written to a pipe"
    );
    lines
        .iter()
        .find_map(|l| l.split("read it from ").nth(1))
        .map(|rest| {
            let path = rest.split(" (mode").next().unwrap();
            std::fs::read_to_string(path).unwrap().trim().to_string()
        })
}

async fn challenge(http: &reqwest::Client, url: &str) -> String {
    let r: Value = http
        .post(format!("{url}/v1/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["nonce"].as_str().unwrap().to_string()
}

fn attest_body(d: &Deployment, nonce: &str, policy_ids: &[&str]) -> Value {
    let runtime = json!({ "nonce": nonce });
    json!({
        "tee": "tdx",
        "evidence": { "quote": STANDARD.encode(d.quote_for(&runtime)) },
        "runtime_data": runtime,
        "policy_ids": policy_ids,
    })
}

async fn post(http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let r = http.post(url).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn jwks_kids(http: &reqwest::Client, url: &str) -> Vec<String> {
    let jwks: Value = http
        .get(format!("{url}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    kids.sort();
    kids
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_string()
}

/// Polls `check` every 100 ms until it is true; how long that took, or None after `limit`.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_one_database_agree() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let d = Deployment::new();
    let a = d.replica("a");
    let admin = printed_token(&a).expect("the first start prints the admin token");
    let (b, c) = (d.replica("b"), d.replica("c"));
    assert!(printed_token(&b).is_none() && printed_token(&c).is_none());
    let http = reqwest::Client::new();

    // Every replica accepts the one admin token and publishes the same JWKS.
    for r in [&a, &b, &c] {
        let s = http
            .get(format!("{}/v1/policies/default", r.url))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(s, 200, "{}", r.url);
    }
    let kids = jwks_kids(&http, &a.url).await;
    assert_eq!(kids.len(), 1);
    assert_eq!(jwks_kids(&http, &b.url).await, kids);
    assert_eq!(jwks_kids(&http, &c.url).await, kids);

    // A challenge from A is redeemed at B, then refused at C as replayed.
    let nonce = challenge(&http, &a.url).await;
    let body = attest_body(&d, &nonce, &[]);
    let (s, token) = post(&http, &format!("{}/v1/attest", b.url), &body).await;
    assert_eq!(s, 200, "{token}");
    let first_token = token["token"].as_str().unwrap().to_string();
    let (s, problem) = post(&http, &format!("{}/v1/attest", c.url), &body).await;
    assert_eq!(s, 422);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("nonce_replayed"),
        "{problem}"
    );

    // One nonce raced at two replicas succeeds once.
    for _ in 0..5 {
        let nonce = challenge(&http, &c.url).await;
        let body = attest_body(&d, &nonce, &[]);
        let (at_a, at_b) = (
            format!("{}/v1/attest", a.url),
            format!("{}/v1/attest", b.url),
        );
        let (x, y) = tokio::join!(post(&http, &at_a, &body), post(&http, &at_b, &body));
        let wins = [x.0, y.0].iter().filter(|s| **s == 200).count();
        assert_eq!(wins, 1, "{x:?} {y:?}");
    }

    // A policy PUT at A is enforced at C within 2 s.
    let deny = "package scute\nimport rego.v1\ntrust_vector := {}\ndeny contains \"site says no\" if input.tee == \"tdx\"\n";
    let s = http
        .put(format!("{}/v1/policies/site", a.url))
        .bearer_auth(&admin)
        .body(deny)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(s, 204);
    let took = within(Duration::from_secs(2), || async {
        let nonce = challenge(&http, &c.url).await;
        let (s, _) = post(
            &http,
            &format!("{}/v1/attest", c.url),
            &attest_body(&d, &nonce, &["site"]),
        )
        .await;
        s == 403
    })
    .await;
    assert!(took.is_some(), "C did not enforce A's policy within 2 s");

    // A KBS session made at A attests at B and fetches its secret at C.
    let mr_td = scute_dcap::report_json(
        &scute_quote::Quote::decode(&d.quote_for(&json!({})))
            .unwrap()
            .body,
    )["mr_td"]
        .clone();
    let s = http
        .put(format!("{}/v1/reference-values/mr_td", a.url))
        .bearer_auth(&admin)
        .body(json!([mr_td]).to_string())
        .send()
        .await
        .unwrap()
        .status();
    assert!(s.is_success(), "reference value: {s}");
    let s = http
        .put(format!("{}/kbs/v0/resource/default/key/shared", a.url))
        .bearer_auth(&admin)
        .body("replicated secret")
        .send()
        .await
        .unwrap()
        .status();
    assert!(s.is_success(), "resource: {s}");
    // The reference value has reached B when B's tokens turn affirming.
    let took = within(Duration::from_secs(2), || async {
        let nonce = challenge(&http, &b.url).await;
        let (_, t) = post(
            &http,
            &format!("{}/v1/attest", b.url),
            &attest_body(&d, &nonce, &[]),
        )
        .await;
        t["token"].as_str().is_some_and(|t| {
            let claims: Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(t.split('.').nth(1).unwrap())
                    .unwrap(),
            )
            .unwrap();
            claims["ear_status"] == "affirming"
        })
    })
    .await;
    assert!(
        took.is_some(),
        "B did not see A's reference value within 2 s"
    );
    let guest = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let auth = json!({"version": "0.4.0", "tee": "tdx", "extra-params": {"supported-hash-algorithms": ["sha384"]}});
    let kbs_challenge: scute_kbs::Challenge = guest
        .post(format!("{}/kbs/v0/auth", a.url))
        .json(&auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = scute_kbs::TeeKeyPair::generate().unwrap();
    let digest = scute_kbs::runtime_data_digest(
        scute_kbs::HashAlgorithm::Sha384,
        &kbs_challenge.nonce,
        &key.public_jwk(),
        "",
    )
    .unwrap();
    let mut rd = [0u8; 64];
    rd[..48].copy_from_slice(&digest);
    let quote = d.sim.collect(&rd).unwrap().quote;
    let attestation = json!({
        "runtime-data": {"nonce": kbs_challenge.nonce, "tee-pubkey": key.public_jwk()},
        "tee-evidence": {"primary_evidence": {"quote": STANDARD.encode(quote), "cc_eventlog": null}, "additional_evidence": ""},
    });
    let r = guest
        .post(format!("{}/kbs/v0/attest", b.url))
        .json(&attestation)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The challenge is spent for every replica: the same cookie and evidence at C is a replay.
    let r = guest
        .post(format!("{}/kbs/v0/attest", c.url))
        .json(&attestation)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("nonce_replayed"),
        "{problem}"
    );
    let r = guest
        .get(format!("{}/kbs/v0/resource/default/key/shared", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let jwe: scute_kbs::FlattenedJwe = r.json().await.unwrap();
    assert_eq!(key.decrypt(&jwe).unwrap(), b"replicated secret");

    // Rotation at B: within 2 s every JWKS has both keys and new tokens carry the new kid; the
    // token signed before the rotation still verifies against C.
    let admin_file = d.tmp.path().join("a/admin-token");
    let out = scute()
        .args([
            "admin",
            "rotate-key",
            "--server",
            &b.url,
            "--admin-token-file",
        ])
        .arg(&admin_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_kid = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let took = within(Duration::from_secs(2), || async {
        let mut all = true;
        for r in [&a, &b, &c] {
            let kids = jwks_kids(&http, &r.url).await;
            all &=
                kids.len() == 2 && kids.contains(&new_kid) && kids.contains(&kid_of(&first_token));
        }
        all
    })
    .await;
    assert!(took.is_some(), "not every JWKS has both keys within 2 s");
    let nonce = challenge(&http, &a.url).await;
    let (s, t) = post(
        &http,
        &format!("{}/v1/attest", c.url),
        &attest_body(&d, &nonce, &[]),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(kid_of(t["token"].as_str().unwrap()), new_kid);
    let out = scute()
        .args([
            "token",
            "verify",
            &first_token,
            "--server",
            &c.url,
            "--accept-status",
            "warning",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the pre-rotation token no longer verifies: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_loses_nothing_acknowledged_and_a_database_restart_is_survived() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let d = Deployment::new();
    let mut a = d.replica("a");
    let admin = printed_token(&a).unwrap();
    let b = d.replica("b");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // Writes to A while A is killed with SIGKILL mid-stream: every acknowledged one is there.
    let pid = a.child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
    });
    let mut acknowledged = Vec::new();
    for i in 0..10_000 {
        let r = http
            .put(format!("{}/v1/reference-values/v{i}", a.url))
            .bearer_auth(&admin)
            .body(format!("[\"{i:04x}\"]"))
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => acknowledged.push(i),
            _ => break,
        }
    }
    killer.join().unwrap();
    let _ = a.child.wait();
    assert!(
        acknowledged.len() >= 3,
        "too few writes before the kill: {}",
        acknowledged.len()
    );
    for i in &acknowledged {
        let r = http
            .get(format!("{}/v1/reference-values/v{i}", b.url))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged write v{i} is lost");
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!([format!("{i:04x}")])
        );
    }

    // The database stops: B answers 503 on what needs it, stays up, and recovers by itself.
    let read = |url: String| {
        let (http, admin) = (http.clone(), admin.clone());
        async move {
            http.get(format!("{url}/v1/reference-values/v0"))
                .bearer_auth(&admin)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    d.cluster.stop();
    let took = within(Duration::from_secs(10), || read(b.url.clone()).then_is(503)).await;
    assert!(took.is_some(), "no 503 while the database is down");
    let r = http.get(format!("{}/healthz", b.url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "the replica itself must stay up");
    d.cluster.restart();
    let took = within(Duration::from_secs(15), || read(b.url.clone()).then_is(200)).await;
    assert!(
        took.is_some(),
        "B did not recover when the database came back"
    );
}

trait ThenIs {
    async fn then_is(self, status: u16) -> bool;
}

impl<F: std::future::Future<Output = u16>> ThenIs for F {
    async fn then_is(self, status: u16) -> bool {
        self.await == status
    }
}
