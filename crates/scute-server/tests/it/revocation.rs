//! Revocation is per issuer: a platform whose PCK certificate the newest CRL of its CA revokes
//! gets no token, whichever collateral set brought that CRL (the SGX set of the same CA, another
//! FMSPC's set) and however it arrived: the admin import, `scute collateral import` in another
//! process, a PCCS admin upload, an upstream fill. A set stored later with an older CRL does
//! not un-revoke; a set replaced within the same second is seen at once.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use scute_server::Config;
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
use scute_test::{now, TestService};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::support::fake_pccs;

type Files = BTreeMap<String, Vec<u8>>;

/// A collateral set of the simulated platform: `tee`'s TCB Info, CRLs issued `age` seconds ago,
/// the PCK CRL revoking the platform's PCK when `revoke`.
fn set(sim: &Simulator, tee: Tee, age: i64, revoke: bool) -> Files {
    let mut options = CollateralOptions::valid_at(tee, now());
    options.window.0 = now() - age;
    options.revoke_pck = revoke;
    sim.collateral(&options)
        .unwrap()
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect()
}

struct Service {
    service: TestService,
    sim: Simulator,
}

impl std::ops::Deref for Service {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.service
    }
}

impl Service {
    /// A service trusting the simulator's root, with the TDX set `tdx` imported before start.
    async fn start(sim: &Simulator, tdx: &Files, tweak: impl FnOnce(&mut Config)) -> Self {
        let sim = Simulator::from_state(&sim.to_state()).unwrap();
        let service = TestService::builder()
            .trust_intel(&sim)
            .import(tdx.clone())
            .start_with(tweak)
            .await;
        Self { service, sim }
    }

    fn root(&self) -> PathBuf {
        self.dir().join("sim-root.pem")
    }

    /// An honest TDX attestation of the simulated platform: (status, body).
    async fn attest(&self) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/challenge", self.url))
            .send()
            .await
            .unwrap();
        let nonce = r.json::<Value>().await.unwrap()["nonce"].clone();
        let runtime = json!({ "nonce": nonce });
        let report_data = scute_test::report_data(&runtime);
        let quote = self
            .sim
            .quote(&Workload::new(Tee::Tdx, 4, report_data))
            .unwrap()
            .encode();
        let body = json!({ "tee": "tdx", "evidence": { "quote": STANDARD.encode(quote) }, "runtime_data": runtime });
        let r = self
            .http
            .post(format!("{}/v1/attest", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn import(&self, files: &Files) -> u16 {
        let files: BTreeMap<&String, String> =
            files.iter().map(|(n, b)| (n, STANDARD.encode(b))).collect();
        self.http
            .post(format!("{}/v1/collateral", self.url))
            .bearer_auth(&self.admin)
            .json(&json!({ "files": files }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn pck_crl(&self) -> Vec<u8> {
        let r = self
            .http
            .get(format!(
                "{}/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
                self.url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap().to_vec()
    }
}

fn assert_affirms(outcome: &(u16, Value)) {
    assert_eq!(outcome.0, 200, "{}", outcome.1);
    assert!(outcome.1["token"].is_string(), "{}", outcome.1);
}

fn assert_revoked(outcome: &(u16, Value)) {
    assert_eq!(outcome.0, 422, "{}", outcome.1);
    assert!(outcome.1.get("token").is_none());
    let detail = outcome.1["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("certificate_revoked"), "{}", outcome.1);
}

/// Polls until the service refuses the platform (a change made by another process is seen
/// through the store's version counter, within a second or so).
async fn eventually_revoked(service: &Service) {
    for _ in 0..40 {
        let outcome = service.attest().await;
        if outcome.0 != 200 {
            return assert_revoked(&outcome);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the platform still attests after its CA's newer CRL was stored elsewhere");
}

#[tokio::test]
async fn the_sgx_set_of_the_same_ca_revokes_the_tdx_platform_and_an_older_crl_never_wins() {
    let sim = Simulator::new(7, now()).unwrap();
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 3600, false), |_| {}).await;
    assert_affirms(&service.attest().await);

    // The SGX set of the same platform and CA, whose newer PCK CRL revokes the PCK.
    let revoking = set(&sim, Tee::Sgx, 1800, true);
    assert_eq!(service.import(&revoking).await, 200);
    assert_revoked(&service.attest().await);
    // The PCCS route serves that CRL, and verification agrees with it.
    assert_eq!(service.pck_crl().await, revoking["pck_crl.der"]);

    // A TDX set stored later whose own CRL is older than the revoking one (but newer than the
    // TDX set it replaces, so no rollback of its own key) does not un-revoke the platform.
    assert_eq!(service.import(&set(&sim, Tee::Tdx, 3000, false)).await, 200);
    assert_revoked(&service.attest().await);
    assert_eq!(service.pck_crl().await, revoking["pck_crl.der"]);

    // A restart learns the CRLs of every stored set again.
    let again = Service {
        service: service.service.restart().await,
        sim,
    };
    assert_revoked(&again.attest().await);
}

#[tokio::test]
async fn a_newer_crl_imported_by_another_process_revokes_at_once() {
    let sim = Simulator::new(7, now()).unwrap();
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 3600, false), |_| {}).await;
    assert_affirms(&service.attest().await);
    // `scute collateral import` into the same store while the service runs.
    scute_server::import_collateral(
        &service.dir().join("data"),
        &[service.root()],
        &set(&sim, Tee::Sgx, 1800, true),
    )
    .await
    .unwrap();
    eventually_revoked(&service).await;
}

#[tokio::test]
async fn a_set_replaced_within_the_same_second_is_seen() {
    let sim = Simulator::new(7, now()).unwrap();
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 3600, false), |_| {}).await;
    // Warm: the set is verified and cached.
    assert_affirms(&service.attest().await);
    // The same key (TDX, FMSPC, CA) replaced at once by a set whose CRL revokes the PCK.
    assert_eq!(service.import(&set(&sim, Tee::Tdx, 3599, true)).await, 200);
    assert_revoked(&service.attest().await);
}

#[tokio::test]
async fn a_newer_root_ca_crl_from_another_cas_set_revokes_the_pck_ca() {
    let sim = Simulator::new(7, now()).unwrap();
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 3600, false), |_| {}).await;
    assert_affirms(&service.attest().await);
    // The Processor CA's SGX set, whose newer Root CA CRL revokes the Platform CA (which
    // issued this platform's PCK): that set verifies, and the revocation reaches every set.
    let mut options = CollateralOptions::valid_at(Tee::Sgx, now());
    options.window.0 = now() - 1800;
    options.processor_ca_crl = true;
    options.revoke_pck_ca = true;
    let files: Files = sim
        .collateral(&options)
        .unwrap()
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect();
    assert_eq!(service.import(&files).await, 200);
    assert_revoked(&service.attest().await);
    // The Root CA CRL route serves the newest.
    let r = service
        .http
        .get(format!("{}/sgx/certification/v4/rootcacrl", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        hex::encode(&files["root_ca_crl.der"])
    );
}

/// A PCCS admin upload (PccsAdminTool's export) carrying the SGX TCB Info of the platform and
/// its CA's newer, revoking CRL.
#[tokio::test]
async fn a_revoking_crl_in_a_pccs_upload_revokes_the_tdx_platform() {
    let sim = Simulator::new(7, now()).unwrap();
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 3600, false), |_| {}).await;
    assert_affirms(&service.attest().await);
    let f = set(&sim, Tee::Sgx, 1800, true);
    let text = |n: &str| String::from_utf8(f[n].clone()).unwrap();
    let enc = |t: &str| {
        percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let fmspc =
        serde_json::from_slice::<Value>(&f["tcb_info.json"]).unwrap()["tcbInfo"]["fmspc"].clone();
    let body = json!({
        "platforms": [],
        "collaterals": {
            "version": 4,
            "pck_certs": [],
            "tcbinfos": [{"fmspc": fmspc, "sgx_tcbinfo": text("tcb_info.json")}],
            "pckcacrl": {"platformCrl": hex::encode(&f["pck_crl.der"])},
            "qeidentity": text("qe_identity.json"),
            "tdqeidentity": "",
            "qveidentity": "",
            "certificates": {
                "SGX-PCK-Certificate-Issuer-Chain": {"PLATFORM": enc(&text("pck_crl_issuer_chain.pem"))},
                "TCB-Info-Issuer-Chain": enc(&text("tcb_info_issuer_chain.pem")),
                "SGX-Enclave-Identity-Issuer-Chain": enc(&text("qe_identity_issuer_chain.pem")),
            },
            "rootcacrl": hex::encode(&f["root_ca_crl.der"]),
        }
    });
    let r = service
        .http
        .put(format!(
            "{}/sgx/certification/v4/platformcollateral",
            service.url
        ))
        .header("admin-token", &service.admin)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_revoked(&service.attest().await);
}

#[tokio::test]
async fn a_revoking_crl_filled_from_the_upstream_revokes_the_tdx_platform() {
    let sim = Simulator::new(7, now()).unwrap();
    let revoking = set(&sim, Tee::Sgx, 1800, true);
    let fmspc = serde_json::from_slice::<Value>(&revoking["tcb_info.json"]).unwrap()["tcbInfo"]
        ["fmspc"]
        .as_str()
        .unwrap()
        .to_string();
    // The upstream serves that set for the Platform CA, and nothing for the Processor CA.
    let upstream = fake_pccs::serve_set(revoking.clone(), Some("platform")).await;
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 3600, false), |c| {
        c.pccs_url = Some(upstream);
    })
    .await;
    assert_affirms(&service.attest().await);
    // A PCCS client asks for the SGX TCB Info of the FMSPC: the set is filled from upstream.
    let r = service
        .http
        .get(format!(
            "{}/sgx/certification/v4/tcb?fmspc={fmspc}",
            service.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_revoked(&service.attest().await);
    assert_eq!(service.pck_crl().await, revoking["pck_crl.der"]);
}

/// PEM text of a DER CRL, 64 columns, as `openssl crl -outform PEM` writes it.
fn crl_pem(der: &[u8]) -> Vec<u8> {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN X509 CRL-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END X509 CRL-----\n");
    pem.into_bytes()
}

/// The revoking CRL stored as PEM with the NUL terminator the DCAP library's collateral
/// buffers carry (`sgx_ql_qve_collateral_t`): the verifier reads it, so the service must learn
/// it too (and serve it), not skip the set that brought it.
#[tokio::test]
async fn a_revoking_crl_stored_as_nul_terminated_pem_revokes_the_tdx_platform() {
    let sim = Simulator::new(7, now()).unwrap();
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 3600, false), |_| {}).await;
    assert_affirms(&service.attest().await);
    let mut revoking = set(&sim, Tee::Sgx, 1800, true);
    let der = revoking.remove("pck_crl.der").unwrap();
    let mut pem = crl_pem(&der);
    pem.push(0);
    revoking.insert("pck_crl.pem".into(), pem);
    assert_eq!(service.import(&revoking).await, 200);
    assert_revoked(&service.attest().await);
    assert_eq!(service.pck_crl().await, der);
}

/// Revocation is by issuer key, never by CA name: a service trusting both Intel's root and
/// the simulator's holds Intel's genuine Platform CA set (its CRL revokes dozens of Intel PCKs,
/// and its Root CA CRL is Intel's) next to the simulated platform's set; neither issuer's CRLs
/// are applied to the other's sets, so the simulated platform still attests.
#[tokio::test]
async fn another_roots_platform_ca_crls_never_judge_this_roots_platforms() {
    let sim = Simulator::new(7, now()).unwrap();
    // The simulated CRLs issued long before Intel's (June 2025): by CA name and thisUpdate,
    // Intel's would be "newer" and would be put in the simulated set's place.
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 60_000_000, false), |_| {}).await;
    assert_affirms(&service.attest().await);
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/dcapqvl-tdx-v4");
    let intel: Files = [
        "tcb_info.json",
        "tcb_info_issuer_chain.pem",
        "qe_identity.json",
    ]
    .into_iter()
    .chain([
        "qe_identity_issuer_chain.pem",
        "pck_crl.der",
        "pck_crl_issuer_chain.pem",
        "root_ca_crl.der",
    ])
    .map(|n| (n.to_string(), std::fs::read(dir.join(n)).unwrap()))
    .collect();
    let (_, ca, _) =
        scute_server::import_collateral(&service.dir().join("data"), &[service.root()], &intel)
            .await
            .unwrap();
    // The same CA name as the simulated platform's set: only the keys tell them apart.
    assert_eq!(ca, "platform");
    // Seen through the store's version counter, then judged: still affirming, twice (the
    // second from the warm cache).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_affirms(&service.attest().await);
    assert_affirms(&service.attest().await);
}

fn vector_files(name: &str) -> Files {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(name);
    scute_dcap::Collateral::FILE_NAMES
        .iter()
        .filter_map(|n| std::fs::read(dir.join(n)).ok().map(|b| (n.to_string(), b)))
        .collect()
}

/// The PCCS routes name a CA or a TEE, not a root: with a private root trusted beside Intel's
/// (the simulator's), a genuine platform's PCCS client must still get Intel's CRLs and QE
/// identity, however much newer the private root's items are.
#[tokio::test]
async fn the_pccs_routes_serve_intels_items_before_another_roots() {
    let sim = Simulator::new(7, now()).unwrap();
    // The simulated set is issued now; Intel's vector years ago.
    let service = Service::start(&sim, &set(&sim, Tee::Tdx, 60, false), |_| {}).await;
    let intel = vector_files("dcapqvl-tdx-v4");
    assert_eq!(service.import(&intel).await, 200);
    assert_eq!(service.pck_crl().await, intel["pck_crl.der"]);
    let get = |path: &'static str| {
        let (http, url) = (service.http.clone(), service.url.clone());
        async move {
            let r = http.get(format!("{url}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.bytes().await.unwrap().to_vec()
        }
    };
    assert_eq!(
        get("/sgx/certification/v4/rootcacrl").await,
        hex::encode(&intel["root_ca_crl.der"]).into_bytes()
    );
    assert_eq!(
        get("/tdx/certification/v4/qe/identity").await,
        intel["qe_identity.json"]
    );
    // The simulated platform still attests with its own root's collateral.
    assert_affirms(&service.attest().await);
}
