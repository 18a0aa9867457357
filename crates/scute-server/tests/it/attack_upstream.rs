//! Issue 21, attack 4: anyone can make the service hammer the vendors. Fake upstreams (Intel
//! PCS, AMD KDS, Hygon KDS) on loopback sockets count every request and how many are in flight
//! at once; floods of unknown FMSPCs on the TCB Info route, of unsigned or forged SNP reports and
//! of claimed CSV chip serials go at a real service. Each key is asked at most once per
//! negative-cache period, a genuine request is answered while the flood's upstream stalls, the
//! limits hold and are counted in `/metrics`.

use aws_lc_rs::digest::{digest, SHA384};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::StatusCode;
use scute_server::Config;
use scute_sim::amd::{guest_report, AmdPki, Vek, VekKind};
use scute_sim::{CsvReportSpec, HygonSim};
use scute_snp::{Product, Report, TcbVersion};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What a fake upstream saw: requests by key, and the most it had in flight at once.
#[derive(Default)]
struct Seen {
    asks: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct InFlight(Arc<Seen>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Seen {
    fn enter(self: &Arc<Self>, key: &str) -> InFlight {
        *self
            .asks
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default() += 1;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(self.clone())
    }

    fn asks(&self, key: &str) -> usize {
        self.asks.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.asks.lock().unwrap().values().sum()
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

struct Service {
    url: String,
    admin: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Service {
    async fn start(
        prepare: impl AsyncFnOnce(&Path),
        tweak: impl FnOnce(&mut Config, &Path),
    ) -> Self {
        // For this test's own clients (the service's upstream clients carry their own).
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        prepare(&data).await;
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: data.clone(),
            ..Config::default()
        };
        tweak(&mut config, dir.path());
        let running = scute_server::start(config).await.unwrap();
        let url = format!("http://{}", running.addr);
        let admin = match running.new_admin_token.clone() {
            Some(t) => t,
            None => std::fs::read_to_string(data.join("admin-token"))
                .unwrap()
                .trim()
                .to_string(),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            running
                .serve(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Self {
            url,
            admin,
            http: reqwest::Client::new(),
            _dir: dir,
            _stop: tx,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn challenge(&self) -> String {
        let (_, body) = self.post("/v1/challenge", &json!({})).await;
        body["nonce"].as_str().unwrap().to_string()
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn metric(&self, line_start: &str) -> u64 {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(line_start))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in /metrics:\n{text}"))
    }
}

fn kind(body: &Value) -> &str {
    body["type"]
        .as_str()
        .unwrap_or_default()
        .rsplit(':')
        .next()
        .unwrap()
}

/// Runs `n` copies of a request at once and returns their outcomes.
async fn flood<F, Fut, T>(n: usize, request: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(request(i))).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

// ---- Intel PCS: the TCB Info route ----

const TDX_CASE: &str = "dcapqvl-tdx-v4";

fn vector_files(name: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(name);
    scute_dcap::Collateral::FILE_NAMES
        .iter()
        .filter_map(|n| std::fs::read(dir.join(n)).ok().map(|b| (n.to_string(), b)))
        .collect()
}

fn vector_fmspc() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(TDX_CASE);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    expected["result"]["claims"]["fmspc"]
        .as_str()
        .unwrap()
        .to_lowercase()
}

/// A PCS: the TCB Info of `known` and every other item as `source` (a Scute holding the vector)
/// serves them, at once; any other FMSPC's TCB Info is a 404 after `stall`.
async fn fake_pcs(source: String, known: String, stall: Duration, seen: Arc<Seen>) -> String {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (source, known, seen) = (source.clone(), known.clone(), seen.clone());
        async move {
            use axum::response::IntoResponse;
            let path_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let fmspc = uri
                .query()
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("fmspc=")))
                .map(str::to_lowercase);
            let key = match &fmspc {
                Some(f) => format!("tcb/{f}"),
                None => uri.path().to_string(),
            };
            let _in_flight = seen.enter(&key);
            if fmspc.is_some_and(|f| f != known) {
                tokio::time::sleep(stall).await;
                return StatusCode::NOT_FOUND.into_response();
            }
            let r = reqwest::get(format!("{source}{path_query}")).await.unwrap();
            let status = axum::http::StatusCode::from_u16(r.status().as_u16()).unwrap();
            let mut headers = axum::http::HeaderMap::new();
            for (name, value) in r.headers() {
                if name.as_str().contains("issuer-chain") || name == "content-type" {
                    headers.insert(
                        axum::http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                        axum::http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                    );
                }
            }
            (status, headers, r.bytes().await.unwrap().to_vec()).into_response()
        }
    });
    serve(app).await
}

async fn holding_the_vector() -> Service {
    Service::start(
        async |data: &Path| {
            scute_server::import_collateral(data, &[], &vector_files(TDX_CASE))
                .await
                .unwrap();
        },
        |_, _| {},
    )
    .await
}

fn unknown_fmspc(i: usize) -> String {
    format!("00aa55{i:06x}")
}

async fn tcb(service: &Arc<Service>, fmspc: &str) -> (StatusCode, String) {
    service
        .get(&format!("/tdx/certification/v4/tcb?fmspc={fmspc}"))
        .await
}

#[tokio::test]
async fn a_flood_of_unknown_fmspcs_asks_each_once_and_a_genuine_miss_does_not_wait_behind_it() {
    let source = holding_the_vector().await;
    let seen = Arc::new(Seen::default());
    let known = vector_fmspc();
    let pcs = fake_pcs(
        source.url.clone(),
        known.clone(),
        Duration::from_secs(3),
        seen.clone(),
    )
    .await;
    let service =
        Arc::new(Service::start(async |_: &Path| {}, |c, _| c.pccs_url = Some(pcs)).await);

    // Three unknown FMSPCs, ten requests each, all at once; the PCS stalls 3 s on each.
    let attacker = service.clone();
    let flooding = tokio::spawn(async move {
        flood(30, move |i| {
            let s = attacker.clone();
            async move { tcb(&s, &unknown_fmspc(i % 3)).await.0 }
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A genuine miss: a platform the PCS knows, not yet held. It is not queued behind them.
    let started = Instant::now();
    let (status, body) = tcb(&service, &known).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        took < Duration::from_secs(2),
        "the genuine miss took {took:?} behind the flood"
    );

    let statuses = flooding.await.unwrap();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::BAD_GATEWAY),
        "{statuses:?}"
    );
    for i in 0..3 {
        assert_eq!(seen.asks(&format!("tcb/{}", unknown_fmspc(i))), 1, "{i}");
    }
    // The same flood again: answered from the negative cache, at once, nothing asked.
    let started = Instant::now();
    let again = flood(30, |i| {
        let s = service.clone();
        async move { tcb(&s, &unknown_fmspc(i % 3)).await.0 }
    })
    .await;
    assert!(again.iter().all(|s| *s == StatusCode::BAD_GATEWAY));
    assert!(started.elapsed() < Duration::from_secs(2));
    for i in 0..3 {
        assert_eq!(seen.asks(&format!("tcb/{}", unknown_fmspc(i))), 1, "{i}");
    }
    assert_eq!(
        service
            .metric("scute_upstream_fetches_total{upstream=\"pcs_route\",result=\"failed\"}")
            .await,
        3
    );
    assert!(
        service
            .metric("scute_upstream_negative_cache_hits_total{upstream=\"pcs_route\"}")
            .await
            >= 30
    );
}

#[tokio::test]
async fn the_concurrency_and_rate_limits_hold_and_are_counted() {
    let source = holding_the_vector().await;
    let known = vector_fmspc();
    // At most two fetches in flight: eight unknown FMSPCs at once, each stalled 400 ms (the
    // rate limit set out of the way).
    let seen = Arc::new(Seen::default());
    let pcs = fake_pcs(
        source.url.clone(),
        known.clone(),
        Duration::from_millis(400),
        seen.clone(),
    )
    .await;
    let service = Arc::new(
        Service::start(
            async |_: &Path| {},
            |c, _| {
                c.pccs_url = Some(pcs);
                c.upstream_max_concurrent = 2;
                c.upstream_fetches_per_minute = 6000;
            },
        )
        .await,
    );
    let statuses = flood(8, |i| {
        let s = service.clone();
        async move { tcb(&s, &unknown_fmspc(100 + i)).await.0 }
    })
    .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::BAD_GATEWAY));
    // Two at once (no lock across keys), never more.
    assert_eq!(seen.max_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(seen.total(), 8, "each FMSPC asked once");

    // Four fetches a minute (a burst of one): the first unknown FMSPC is asked, the next four
    // are refused without asking, and not remembered as misses (a later try may be asked).
    let seen = Arc::new(Seen::default());
    let pcs = fake_pcs(source.url.clone(), known, Duration::ZERO, seen.clone()).await;
    let service = Arc::new(
        Service::start(
            async |_: &Path| {},
            |c, _| {
                c.pccs_url = Some(pcs);
                c.upstream_fetches_per_minute = 4;
            },
        )
        .await,
    );
    for i in 0..5 {
        let (status, body) = tcb(&service, &unknown_fmspc(200 + i)).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        if i > 0 {
            assert!(body.contains("upstream_fetches_per_minute"), "{body}");
        }
    }
    assert_eq!(seen.total(), 1);
    assert_eq!(
        service
            .metric("scute_upstream_rate_limited_total{upstream=\"pcs_route\",limit=\"rate\"}")
            .await,
        4
    );
    assert_eq!(
        service
            .metric("scute_upstream_negative_cache_hits_total{upstream=\"pcs_route\"}")
            .await,
        0
    );
}

// ---- AMD KDS: unsigned and forged SNP reports ----

const TCB: TcbVersion = TcbVersion([4, 0, 0, 0, 0, 0, 0x18, 0xd9]);
const CHIP: [u8; 64] = [0x5a; 64];
const UNKNOWN_CHIP: [u8; 64] = [0x33; 64];

fn pki() -> &'static AmdPki {
    static PKI: OnceLock<AmdPki> = OnceLock::new();
    PKI.get_or_init(|| AmdPki::new(Product::Milan, now() - 86_400).unwrap())
}

fn vcek() -> &'static Vek {
    static VCEK: OnceLock<Vek> = OnceLock::new();
    VCEK.get_or_init(|| {
        pki()
            .issue_vek(&pki().vek_spec(VekKind::Vcek, TCB, CHIP.to_vec()))
            .unwrap()
    })
}

/// A KDS: the VCEK of `CHIP` and the cert_chain at once; any other chip a 404 after `stall`.
async fn fake_kds(stall: Duration, seen: Arc<Seen>) -> String {
    use axum::extract::Path as UrlPath;
    use axum::response::IntoResponse;
    let (vcek, chain) = (vcek().der.clone(), pki().cert_chain_pem(VekKind::Vcek));
    let app = axum::Router::new().route(
        "/vcek/v1/{product}/{hwid}",
        axum::routing::get(move |UrlPath((_, hwid)): UrlPath<(String, String)>| {
            let (vcek, chain, seen) = (vcek.clone(), chain.clone(), seen.clone());
            async move {
                let _in_flight = seen.enter(&hwid);
                if hwid == "cert_chain" {
                    return chain.into_response();
                }
                if hwid == hex::encode(CHIP) {
                    return vcek.into_response();
                }
                tokio::time::sleep(stall).await;
                StatusCode::NOT_FOUND.into_response()
            }
        }),
    );
    serve(app).await
}

fn bound(runtime: &Value) -> [u8; 64] {
    let canonical = serde_json_canonicalizer::to_vec(runtime).unwrap();
    let mut rd = [0u8; 64];
    rd[..48].copy_from_slice(digest(&SHA384, &canonical).as_ref());
    rd
}

#[derive(Clone, Copy)]
enum Signature {
    /// All zero: what an attacker sends who has no key at all.
    None,
    /// Any well-formed scalars: what an attacker sends to get past a form check.
    Forged,
    Genuine,
}

fn snp_body(runtime: &Value, chip: [u8; 64], report_data: [u8; 64], sig: Signature) -> Value {
    let mut r: Report = guest_report(Product::Milan, TCB, chip, report_data);
    match sig {
        Signature::None => {}
        Signature::Forged => {
            r.signature_r[..48].fill(0x11);
            r.signature_s[..48].fill(0x22);
        }
        Signature::Genuine => vcek().sign(&mut r).unwrap(),
    }
    json!({ "tee": "snp", "evidence": { "quote": STANDARD.encode(r.encode()) }, "runtime_data": runtime })
}

async fn snp_attest(
    s: &Service,
    chip: [u8; 64],
    bind: bool,
    sig: Signature,
) -> (StatusCode, Value) {
    let runtime = json!({ "nonce": s.challenge().await });
    let report_data = if bind { bound(&runtime) } else { [7; 64] };
    s.post("/v1/attest", &snp_body(&runtime, chip, report_data, sig))
        .await
}

#[tokio::test]
async fn a_flood_of_unsigned_or_forged_snp_reports_asks_the_kds_at_most_once_per_key() {
    let seen = Arc::new(Seen::default());
    let kds = fake_kds(Duration::from_secs(2), seen.clone()).await;
    let service = Arc::new(
        Service::start(
            async |_: &Path| {},
            |c, dir| {
                let ark = dir.join("sim-ark.pem");
                std::fs::write(&ark, pki().ark_pem()).unwrap();
                c.snp_trust_roots = vec![ark];
                c.snp_kds_url = Some(kds);
            },
        )
        .await,
    );
    // Unsigned, bound to a fresh nonce or not, for a chip the KDS knows or not: refused on their
    // own form, nothing asked.
    let outcomes = flood(24, |i| {
        let s = service.clone();
        let chip = if i % 2 == 0 { CHIP } else { UNKNOWN_CHIP };
        async move { snp_attest(&s, chip, i % 4 < 2, Signature::None).await }
    })
    .await;
    for (i, (status, body)) in outcomes.iter().enumerate() {
        assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let want = if i % 4 < 2 {
            "evidence_rejected"
        } else {
            "report_data_mismatch"
        };
        assert_eq!(kind(body), want, "{body}");
    }
    // Forged but unbound: refused before any key is looked up.
    let outcomes = flood(10, |_| {
        let s = service.clone();
        async move { snp_attest(&s, CHIP, false, Signature::Forged).await }
    })
    .await;
    assert!(outcomes
        .iter()
        .all(|(_, b)| kind(b) == "report_data_mismatch"));
    assert_eq!(
        seen.total(),
        0,
        "nothing asked for reports that could never verify"
    );

    // Forged, bound to fresh nonces: the chip's VCEK and the cert_chain are asked once, however
    // many reports arrive at once; none of them verifies.
    let outcomes = flood(10, |_| {
        let s = service.clone();
        async move { snp_attest(&s, CHIP, true, Signature::Forged).await }
    })
    .await;
    assert!(
        outcomes.iter().all(|(_, b)| kind(b) == "evidence_rejected"),
        "{outcomes:?}"
    );
    assert_eq!(seen.asks(&hex::encode(CHIP)), 1);
    assert_eq!(seen.asks("cert_chain"), 1);

    // A chip the KDS does not know, which it takes 2 s to say: asked once.
    let attacker = service.clone();
    let flooding = tokio::spawn(async move {
        flood(10, move |_| {
            let s = attacker.clone();
            async move { snp_attest(&s, UNKNOWN_CHIP, true, Signature::Forged).await }
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meanwhile a genuine guest on the known chip is answered at once.
    let started = Instant::now();
    let (status, body) = snp_attest(&service, CHIP, true, Signature::Genuine).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(started.elapsed() < Duration::from_millis(1500));
    let outcomes = flooding.await.unwrap();
    assert!(outcomes
        .iter()
        .all(|(_, b)| kind(b) == "collateral_missing"));
    assert_eq!(seen.asks(&hex::encode(UNKNOWN_CHIP)), 1);
    // And again: the miss is remembered.
    let (_, body) = snp_attest(&service, UNKNOWN_CHIP, true, Signature::Forged).await;
    assert_eq!(kind(&body), "collateral_missing");
    assert_eq!(seen.asks(&hex::encode(UNKNOWN_CHIP)), 1);
    assert_eq!(seen.asks(&hex::encode(CHIP)), 1);
    assert!(
        service
            .metric("scute_upstream_negative_cache_hits_total{upstream=\"amd_kds\"}")
            .await
            >= 1
    );
    let _ = &service.admin;
}

// ---- Hygon KDS: claimed chip serials ----

const CSV_CHIP: &str = "SIMCSV00042";

fn hygon() -> &'static HygonSim {
    static SIM: OnceLock<HygonSim> = OnceLock::new();
    SIM.get_or_init(|| HygonSim::new(b"scute-server csv tests", CSV_CHIP).unwrap())
}

/// A Hygon KDS: `CSV_CHIP`'s HSK ‖ CEK at once; any other serial a 404 after `stall`.
async fn fake_hygon_kds(stall: Duration, seen: Arc<Seen>) -> String {
    use axum::extract::Query;
    use axum::response::IntoResponse;
    let chain = hygon().hsk_cek().encode();
    let app = axum::Router::new().route(
        "/hsk_cek",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let (chain, seen) = (chain.clone(), seen.clone());
            async move {
                let serial = q.get("snumber").cloned().unwrap_or_default();
                let _in_flight = seen.enter(&serial);
                if serial == CSV_CHIP {
                    return chain.into_response();
                }
                tokio::time::sleep(stall).await;
                StatusCode::NOT_FOUND.into_response()
            }
        }),
    );
    format!("{}/hsk_cek", serve(app).await)
}

async fn csv_attest(s: &Service, chip: &HygonSim, bind: bool) -> (StatusCode, Value) {
    let runtime = json!({ "nonce": s.challenge().await });
    let spec = CsvReportSpec {
        report_data: if bind {
            scute_server::report_data_for(&runtime).unwrap()
        } else {
            [9; 64]
        },
        ..CsvReportSpec::default()
    };
    let quote = chip.report(&spec).unwrap().encode();
    s.post(
        "/v1/attest",
        &json!({ "tee": "csv", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime }),
    )
    .await
}

#[tokio::test]
async fn a_flood_of_claimed_csv_serials_asks_the_kds_at_most_once_per_serial() {
    let seen = Arc::new(Seen::default());
    let kds = fake_hygon_kds(Duration::from_secs(2), seen.clone()).await;
    let service = Arc::new(
        Service::start(
            async |_: &Path| {},
            |c, dir| {
                let hrk = dir.join("sim-hrk.cert");
                std::fs::write(&hrk, hygon().hrk_cert.encode()).unwrap();
                c.csv_trust_roots = vec![hrk];
                c.csv_kds_url = Some(kds);
            },
        )
        .await,
    );
    let claimed = Arc::new(HygonSim::new(b"attacker", "NOSUCHCHIP7").unwrap());
    // Unbound reports claiming a serial: refused before any lookup.
    let outcomes = flood(10, |_| {
        let (s, chip) = (service.clone(), claimed.clone());
        async move { csv_attest(&s, &chip, false).await }
    })
    .await;
    assert!(
        outcomes
            .iter()
            .all(|(_, b)| kind(b) == "report_data_mismatch"),
        "{outcomes:?}"
    );
    assert_eq!(seen.total(), 0);

    // Bound and self-consistent (the attacker's own PEK), claiming a serial the KDS takes 2 s
    // to deny: asked once for all of them.
    let (s, chip) = (service.clone(), claimed.clone());
    let flooding = tokio::spawn(async move {
        flood(10, move |_| {
            let (s, chip) = (s.clone(), chip.clone());
            async move { csv_attest(&s, &chip, true).await }
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meanwhile the genuine chip, whose chain the KDS has, is answered at once.
    let started = Instant::now();
    let (status, body) = csv_attest(&service, hygon(), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(started.elapsed() < Duration::from_millis(1500));
    let outcomes = flooding.await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|(_, b)| kind(b) == "collateral_missing"),
        "{outcomes:?}"
    );
    assert_eq!(seen.asks("NOSUCHCHIP7"), 1);
    // Again: remembered, not asked.
    let (_, body) = csv_attest(&service, &claimed, true).await;
    assert_eq!(kind(&body), "collateral_missing");
    assert_eq!(seen.asks("NOSUCHCHIP7"), 1);
    assert_eq!(seen.asks(CSV_CHIP), 1);
    assert!(
        service
            .metric("scute_upstream_negative_cache_hits_total{upstream=\"hygon_kds\"}")
            .await
            >= 1
    );
}

/// Anyone may ask the TCB Info route for any FMSPC; those fills have a budget of their own
/// (`pcs_route`), so a flood of them, however it stalls the upstream, never uses up what a
/// genuine PCK chain's fill needs: a platform attesting for the first time is served at once.
#[tokio::test]
async fn a_route_flood_never_starves_the_fill_a_genuine_attestation_needs() {
    use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
    let sim = Simulator::new(11, now()).unwrap();
    let sim_files: BTreeMap<String, Vec<u8>> = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, now()))
        .unwrap()
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect();
    let fmspc = serde_json::from_slice::<Value>(&sim_files["tcb_info.json"]).unwrap()["tcbInfo"]
        ["fmspc"]
        .as_str()
        .unwrap()
        .to_lowercase();
    let roots = tempfile::tempdir().unwrap();
    let root = roots.path().join("sim-root.pem");
    std::fs::write(&root, sim.root_ca_pem()).unwrap();
    let (root_for_source, files) = (root.clone(), sim_files.clone());
    let source = Service::start(
        async |data: &Path| {
            scute_server::import_collateral(data, std::slice::from_ref(&root_for_source), &files)
                .await
                .unwrap();
        },
        |c, _| c.trust_roots = vec![root.clone()],
    )
    .await;
    let seen = Arc::new(Seen::default());
    let pcs = fake_pcs(
        source.url.clone(),
        fmspc,
        Duration::from_secs(3),
        seen.clone(),
    )
    .await;
    let service = Arc::new(
        Service::start(
            async |_: &Path| {},
            |c, _| {
                c.trust_roots = vec![root.clone()];
                c.pccs_url = Some(pcs);
            },
        )
        .await,
    );
    let attacker = service.clone();
    let flooding = tokio::spawn(async move {
        flood(20, move |i| {
            let s = attacker.clone();
            async move { tcb(&s, &unknown_fmspc(500 + i)).await.0 }
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let runtime = json!({ "nonce": service.challenge().await });
    let canonical = serde_json_canonicalizer::to_vec(&runtime).unwrap();
    let mut report_data = [0u8; 64];
    report_data[..48].copy_from_slice(digest(&SHA384, &canonical).as_ref());
    let quote = sim
        .quote(&Workload::new(Tee::Tdx, 4, report_data))
        .unwrap()
        .encode();
    let (status, body) = service
        .post(
            "/v1/attest",
            &json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime }),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "after {took:?}: {body}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    let _ = flooding.await;
    // The flood met its own limits, counted under its own name.
    let limited = service
        .metric("scute_upstream_rate_limited_total{upstream=\"pcs_route\",limit=\"rate\"}")
        .await
        + service
            .metric(
                "scute_upstream_rate_limited_total{upstream=\"pcs_route\",limit=\"concurrency\"}",
            )
            .await;
    assert!(limited > 0, "the flood was never limited");
}

/// A nonce is spent only while it is unexpired, checked at the instant of the spend: an
/// attestation whose appraisal outlasts its nonce (here a VCEK fetch from a KDS slower than the
/// nonce's lifetime) gets no token, since an expired nonce's spent mark may already be forgotten.
#[tokio::test]
async fn a_nonce_that_expires_during_the_appraisal_gives_no_token() {
    use axum::response::IntoResponse;
    let (vcek, chain) = (vcek().der.clone(), pki().cert_chain_pem(VekKind::Vcek));
    let slow_kds = serve(axum::Router::new().route(
        "/vcek/v1/{product}/{hwid}",
        axum::routing::get(
            move |axum::extract::Path((_, hwid)): axum::extract::Path<(String, String)>| {
                let (vcek, chain) = (vcek.clone(), chain.clone());
                async move {
                    tokio::time::sleep(Duration::from_millis(2500)).await;
                    if hwid == "cert_chain" {
                        chain.into_response()
                    } else {
                        vcek.into_response()
                    }
                }
            },
        ),
    ))
    .await;
    let service = Service::start(
        async |_: &Path| {},
        |c, dir| {
            let ark = dir.join("sim-ark.pem");
            std::fs::write(&ark, pki().ark_pem()).unwrap();
            c.snp_trust_roots = vec![ark];
            c.snp_kds_url = Some(slow_kds);
            c.nonce_lifetime_secs = 1;
        },
    )
    .await;
    let (status, body) = snp_attest(&service, CHIP, true, Signature::Genuine).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(kind(&body), "nonce_expired", "{body}");
    // The VCEK is stored now; a fresh nonce attests at once.
    let (status, body) = snp_attest(&service, CHIP, true, Signature::Genuine).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A client that hangs up while its fetch is in flight does not cancel the fetch: its outcome
/// is remembered, so hanging up again and again asks the upstream once (attacker review: the
/// fetch ran in the request's task, and five hang-ups asked five times).
#[tokio::test]
async fn hanging_up_mid_fetch_asks_the_key_once() {
    let source = holding_the_vector().await;
    let seen = Arc::new(Seen::default());
    let pcs = fake_pcs(
        source.url.clone(),
        vector_fmspc(),
        Duration::from_secs(2),
        seen.clone(),
    )
    .await;
    let service = Service::start(async |_: &Path| {}, |c, _| c.pccs_url = Some(pcs)).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let fmspc = unknown_fmspc(777);
    for _ in 0..5 {
        let _ = impatient
            .get(format!(
                "{}/tdx/certification/v4/tcb?fmspc={fmspc}",
                service.url
            ))
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.asks(&format!("tcb/{fmspc}")), 1);
}
