//! The service in-process on a real loopback socket: a temporary data directory, the trust
//! roots of simulated machines written into it, collateral imported before start, the admin
//! token, a client; shut down when dropped, restartable on the same directory.

use scute_server::{Config, Running};
use scute_sim::{CollateralOptions, HygonSim, Simulator, Tee};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Intel simulator's collateral for `tee`, valid now, as `import_collateral` takes it.
pub fn collateral_files(sim: &Simulator, tee: Tee) -> BTreeMap<String, Vec<u8>> {
    sim.collateral(&CollateralOptions::valid_at(tee, crate::now()))
        .expect("simulated collateral")
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect()
}

/// The Intel simulator's TDX collateral putting its platform on `status`, issued `age` seconds
/// ago and valid for 30 days: a TCB recovery's set, an older or newer one.
pub fn tdx_collateral_set(sim: &Simulator, status: &str, age: i64) -> BTreeMap<String, Vec<u8>> {
    let now = crate::now();
    let mut options = CollateralOptions::valid_at(Tee::Tdx, now);
    options.tcb_status = status.into();
    options.window = (now - age, now + 30 * 86_400);
    sim.collateral(&options)
        .expect("simulated collateral")
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect()
}

/// What a test service trusts and holds before it starts; see [`TestService::builder`].
pub struct ServiceBuilder {
    dir: tempfile::TempDir,
    base: Config,
    collateral: Vec<BTreeMap<String, Vec<u8>>>,
    hsk_cek: Vec<(String, Vec<u8>)>,
}

impl ServiceBuilder {
    /// Trusts the Intel simulator's root (written to `DIR/sim-root.pem`).
    pub fn trust_intel(mut self, sim: &Simulator) -> Self {
        let root = self.dir.path().join("sim-root.pem");
        std::fs::write(&root, sim.root_ca_pem()).expect("write the simulator's root");
        self.base.trust_roots.push(root);
        self
    }

    /// Trusts a simulated AMD root (its ARK PEM, written to `DIR/sim-ark.pem`).
    pub fn trust_amd(mut self, ark_pem: impl AsRef<[u8]>) -> Self {
        let ark = self.dir.path().join("sim-ark.pem");
        std::fs::write(&ark, ark_pem).expect("write the simulated ARK");
        self.base.snp_trust_roots.push(ark);
        self
    }

    /// Trusts a simulated Hygon root key (its HRK, written to `DIR/sim-hrk.cert`).
    pub fn trust_hygon(mut self, sim: &HygonSim) -> Self {
        let hrk = self.dir.path().join("sim-hrk.cert");
        std::fs::write(&hrk, sim.hrk_cert.encode()).expect("write the simulated HRK");
        self.base.csv_trust_roots.push(hrk);
        self
    }

    /// Imports this DCAP collateral set before start, checked against the Intel roots trusted
    /// so far (none: Intel's own root).
    pub fn import(mut self, files: BTreeMap<String, Vec<u8>>) -> Self {
        self.collateral.push(files);
        self
    }

    /// Imports the Intel simulator's collateral for `tee`, valid now.
    pub fn import_sim(self, sim: &Simulator, tee: Tee) -> Self {
        self.import(collateral_files(sim, tee))
    }

    /// Imports a simulated Hygon chip's HSK and CEK before start, checked against the
    /// Hygon roots trusted so far.
    pub fn import_hsk_cek(mut self, sim: &HygonSim, chip: &str) -> Self {
        self.hsk_cek
            .push((chip.to_string(), sim.hsk_cek().encode()));
        self
    }

    /// Changes the configuration of this first start only (a restart starts from the base:
    /// listen on a free port, the data directory, the trust roots).
    pub async fn start_with(self, tweak: impl FnOnce(&mut Config)) -> TestService {
        self.start_then(tweak, async |_: &Running| {}).await
    }

    /// Starts with the base configuration.
    pub async fn start(self) -> TestService {
        self.start_with(|_| {}).await
    }

    /// Starts, runs `before` on the bound service before it serves, then serves.
    pub async fn start_then(
        self,
        tweak: impl FnOnce(&mut Config),
        before: impl AsyncFnOnce(&Running),
    ) -> TestService {
        for files in &self.collateral {
            scute_server::import_collateral(&self.base.data_dir, &self.base.trust_roots, files)
                .await
                .expect("import collateral");
        }
        for (chip, hsk_cek) in &self.hsk_cek {
            scute_server::import_csv_hsk_cek(
                &self.base.data_dir,
                &self.base.csv_trust_roots,
                chip,
                hsk_cek,
            )
            .await
            .expect("import the HSK and CEK");
        }
        TestService::boot(self.dir, self.base, tweak, before).await
    }
}

/// A running service; see the module comment.
pub struct TestService {
    /// `http://ADDR` of the API listener.
    pub url: String,
    pub addr: std::net::SocketAddr,
    /// `http://ADDR` of the `pccs_listen` listener, when configured.
    pub pccs_url: Option<String>,
    /// `http://ADDR` of the `metrics_listen` listener, when configured.
    pub metrics_url: Option<String>,
    /// The admin token: the one this start created, or the one already in the data directory.
    pub admin: String,
    /// Whether this start created the admin token.
    pub admin_created: bool,
    pub http: reqwest::Client,
    dir: Option<tempfile::TempDir>,
    base: Config,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestService {
    /// A service in a new temporary directory, data in `DIR/data`, trusting nothing yet.
    pub fn builder() -> ServiceBuilder {
        Self::builder_in(tempfile::tempdir().expect("temporary directory"))
    }

    /// A service in `dir` (its data in `DIR/data`, which may already hold a store).
    pub fn builder_in(dir: tempfile::TempDir) -> ServiceBuilder {
        let base = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        ServiceBuilder {
            dir,
            base,
            collateral: Vec::new(),
            hsk_cek: Vec::new(),
        }
    }

    async fn boot(
        dir: tempfile::TempDir,
        base: Config,
        tweak: impl FnOnce(&mut Config),
        before: impl AsyncFnOnce(&Running),
    ) -> Self {
        // The tests' own HTTPS-capable clients need a process-wide provider.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut config = base.clone();
        tweak(&mut config);
        let data_dir = config.data_dir.clone();
        let running = scute_server::start(config)
            .await
            .expect("the service starts");
        before(&running).await;
        let addr = running.addr;
        let pccs_url = running.pccs_addr.map(|a| format!("http://{a}"));
        let metrics_url = running.metrics_addr.map(|a| format!("http://{a}"));
        let admin_created = running.new_admin_token.is_some();
        let admin = match running.new_admin_token.clone() {
            Some(t) => t,
            None => std::fs::read_to_string(data_dir.join("admin-token"))
                .expect("the admin token in the data directory")
                .trim()
                .to_string(),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            running
                .serve(async {
                    let _ = rx.await;
                })
                .await
                .expect("the service serves");
        });
        Self {
            url: format!("http://{addr}"),
            addr,
            pccs_url,
            metrics_url,
            admin,
            admin_created,
            http: reqwest::Client::new(),
            dir: Some(dir),
            base,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A fresh nonce from `POST /v1/challenge`.
    pub async fn challenge(&self) -> String {
        let r = self
            .http
            .post(format!("{}/v1/challenge", self.url))
            .send()
            .await
            .expect("the challenge request");
        let body: serde_json::Value = r.json().await.expect("the challenge's JSON");
        body["nonce"].as_str().expect("a nonce").to_string()
    }

    /// `POST /v1/attest` of `sim`'s TDX v4 quote bound to a fresh challenge: the response.
    pub async fn attest_tdx(&self, sim: &Simulator) -> reqwest::Response {
        use base64::Engine as _;
        let runtime = serde_json::json!({ "nonce": self.challenge().await });
        let workload = scute_sim::Workload::new(Tee::Tdx, 4, crate::report_data(&runtime));
        let quote = sim.quote(&workload).expect("a simulated quote").encode();
        let quote = base64::engine::general_purpose::STANDARD.encode(quote);
        let body = serde_json::json!({ "tee": "tdx", "evidence": { "quote": quote }, "runtime_data": runtime });
        self.http
            .post(format!("{}/v1/attest", self.url))
            .json(&body)
            .send()
            .await
            .expect("the attest request")
    }

    /// `POST /v1/collateral{query}` (e.g. `?update=early`, `?dry_run=true`) of `set` as the
    /// admin.
    pub async fn post_collateral(
        &self,
        query: &str,
        set: &BTreeMap<String, Vec<u8>>,
    ) -> reqwest::Response {
        use base64::Engine as _;
        let encoded: BTreeMap<&String, String> = set
            .iter()
            .map(|(n, b)| (n, base64::engine::general_purpose::STANDARD.encode(b)))
            .collect();
        self.http
            .post(format!("{}/v1/collateral{query}", self.url))
            .bearer_auth(&self.admin)
            .json(&serde_json::json!({ "files": encoded }))
            .send()
            .await
            .expect("the collateral request")
    }

    /// The temporary directory (the trust roots, `data/`).
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("the directory").path()
    }

    /// The data directory (`DIR/data`).
    pub fn data_dir(&self) -> PathBuf {
        self.base.data_dir.clone()
    }

    /// Shuts the service down and waits until it has stopped; the directory outlives it.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.halt().await;
        self.dir.take().expect("the directory")
    }

    /// Stops and starts again on the same directory with the base configuration.
    pub async fn restart(self) -> Self {
        self.restart_with(|_| {}).await
    }

    /// Stops and starts again on the same directory, the base configuration changed by `tweak`.
    pub async fn restart_with(mut self, tweak: impl FnOnce(&mut Config)) -> Self {
        self.halt().await;
        let dir = self.dir.take().expect("the directory");
        let base = self.base.clone();
        Self::boot(dir, base, tweak, async |_: &Running| {}).await
    }

    async fn halt(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the service task");
        }
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
