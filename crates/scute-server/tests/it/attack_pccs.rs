//! Attacks on the collateral service and the hardened HTTP layer: a malicious upstream rolling
//! collateral back, answering for another platform or mixing in another TEE's QE identity; an
//! admin upload binding a PCK certificate to another platform; slowloris and connection floods
//! on the TLS listener.

use scute_server::Config;
use scute_test::TestService;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::fake_pccs;

const VECTORS: &str = "../../../shared/vectors";

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(VECTORS)
        .join(name)
}

fn files(name: &str) -> BTreeMap<String, Vec<u8>> {
    scute_dcap::Collateral::FILE_NAMES
        .iter()
        .filter_map(|n| {
            std::fs::read(case(name).join(n))
                .ok()
                .map(|b| (n.to_string(), b))
        })
        .collect()
}

/// Imports `import`, starts, runs `before` on the bound service (before it serves), serves.
async fn service(
    import: &[BTreeMap<String, Vec<u8>>],
    tweak: impl FnOnce(&mut Config),
    before: impl AsyncFnOnce(&scute_server::Running),
) -> TestService {
    let mut builder = TestService::builder();
    for set in import {
        builder = builder.import(set.clone());
    }
    builder.start_then(tweak, before).await
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

async fn tcb_eval_number(url: &str) -> (u16, Option<u64>) {
    let r = get(url).await;
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    (status, body["tcbInfo"]["tcbEvaluationDataNumber"].as_u64())
}

/// Rollback through the background refresh: the service holds the SGX TCB Info of FMSPC
/// 00a067110000 with tcbEvaluationDataNumber 17; the upstream answers the refresh with Intel's
/// older, validly signed set (evaluation data number 16), which must not replace it.
#[tokio::test]
async fn a_refresh_does_not_roll_collateral_back_to_an_older_evaluation_data_number() {
    let old = fake_pccs::serve_set(files("automata-dcaprs-sgx-v3"), None).await;
    let service = service(
        &[files("dcapqvl-sgx-v3")],
        |c| c.pccs_url = Some(old.clone()),
        async |running| running.refresh_due(i64::MAX / 2).await,
    )
    .await;
    let url = format!(
        "{}/sgx/certification/v4/tcb?fmspc=00A067110000",
        service.url
    );
    assert_eq!(tcb_eval_number(&url).await, (200, Some(17)));
    let r = get(&format!("{}/sgx/certification/v4/qe/identity", service.url)).await;
    let qe: serde_json::Value = r.json().await.unwrap();
    assert_eq!(qe["enclaveIdentity"]["tcbEvaluationDataNumber"], 17);
}

/// The same through the store: an older set never replaces a newer one under the same key.
#[tokio::test]
async fn an_import_does_not_roll_collateral_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    scute_server::import_collateral(&data, &[], &files("dcapqvl-sgx-v3"))
        .await
        .unwrap();
    let older = scute_server::import_collateral(&data, &[], &files("automata-dcaprs-sgx-v3")).await;
    assert!(older.is_err(), "{older:?}");
    // The same set again is fine (idempotent re-import).
    scute_server::import_collateral(&data, &[], &files("dcapqvl-sgx-v3"))
        .await
        .unwrap();
}

/// A newer TCB Info with an older PCK CRL (fewer revocations): every item is validly signed,
/// so the mixed set verifies on its own, but it must not replace the stored set's newer CRL.
#[tokio::test]
async fn an_older_pck_crl_does_not_replace_a_newer_one() {
    let mut mixed = files("automata-dcaprs-tdx-v4");
    let stale = files("cratesio-dcaprs010-tdx-v4-stalecrl");
    mixed.insert("pck_crl.der".into(), stale["pck_crl.der"].clone());
    mixed.insert(
        "pck_crl_issuer_chain.pem".into(),
        stale["pck_crl_issuer_chain.pem"].clone(),
    );
    let fresh = tempfile::tempdir().unwrap();
    scute_server::import_collateral(&fresh.path().join("data"), &[], &mixed)
        .await
        .expect("each item of the mixed set is Intel-signed");

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    scute_server::import_collateral(&data, &[], &files("automata-dcaprs-tdx-v4"))
        .await
        .unwrap();
    let r = scute_server::import_collateral(&data, &[], &mixed).await;
    assert!(r.is_err(), "{r:?}");
}

/// Asked for FMSPC 112233445566, the upstream answers with another platform's set: it is
/// refused, and nothing of it is stored (so an upstream cannot plant or overwrite sets of
/// platforms nobody asked for).
#[tokio::test]
async fn an_upstream_answer_for_another_platform_is_refused_and_not_stored() {
    let other = fake_pccs::serve_set(files("dcapqvl-sgx-v3"), None).await;
    let service = service(&[], |c| c.pccs_url = Some(other.clone()), async |_| {}).await;
    let r = get(&format!(
        "{}/sgx/certification/v4/tcb?fmspc=112233445566",
        service.url
    ))
    .await;
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["type"], "urn:scute:problem:upstream_rejected",
        "{body}"
    );
    let r = get(&format!("{}/sgx/certification/v4/qe/identity", service.url)).await;
    assert_eq!(r.status(), 404);
}

/// A TDX set whose QE Identity is the SGX QE's (validly signed by the same TCB signing key) is
/// not a TDX set: it would be served as `/tdx/.../qe/identity`.
#[tokio::test]
async fn a_qe_identity_of_the_other_tee_is_refused() {
    let mut mixed = files("dcapqvl-tdx-v4");
    let sgx = files("dcapqvl-sgx-v3");
    mixed.insert("qe_identity.json".into(), sgx["qe_identity.json"].clone());
    mixed.insert(
        "qe_identity_issuer_chain.pem".into(),
        sgx["qe_identity_issuer_chain.pem"].clone(),
    );
    let dir = tempfile::tempdir().unwrap();
    let r = scute_server::import_collateral(&dir.path().join("data"), &[], &mixed).await;
    assert!(r.is_err(), "{r:?}");
}

/// PccsAdminTool's JSON for the SGX vector's platform, registering its PCK certificate under
/// `pce_id`.
fn platform_collateral(qe_id: &str, pce_id: &str) -> String {
    let f = files("dcapqvl-sgx-v3");
    let quote_bytes = std::fs::read(case("dcapqvl-sgx-v3").join("quote.bin")).unwrap();
    let quote = scute_quote::Quote::decode(&quote_bytes).unwrap();
    let pem = std::str::from_utf8(quote.signature.certification_data.pck_chain_pem().unwrap())
        .unwrap()
        .trim_end_matches('\0')
        .to_string();
    let end = "-----END CERTIFICATE-----";
    let cut = pem.find(end).unwrap() + end.len();
    let (leaf, chain) = (pem[..cut].to_string(), pem[cut..].trim().to_string() + "\n");
    let enc = |t: &str| {
        percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let text = |n: &str| String::from_utf8(f[n].clone()).unwrap();
    let tcb: serde_json::Value = serde_json::from_slice(&f["tcb_info.json"]).unwrap();
    serde_json::json!({
        "platforms": [],
        "collaterals": {
            "version": 4,
            "pck_certs": [{"qe_id": qe_id, "pce_id": pce_id, "enc_ppid": "", "platform_manifest": "",
                           "certs": [{"tcbm": "", "tcb": {}, "cert": enc(&leaf)}]}],
            "tcbinfos": [{"fmspc": "00a067110000", "sgx_tcbinfo": tcb}],
            "pckcacrl": {"processorCrl": hex::encode(&f["pck_crl.der"])},
            "qeidentity": text("qe_identity.json"),
            "tdqeidentity": "",
            "qveidentity": "",
            "certificates": {
                "SGX-PCK-Certificate-Issuer-Chain": {"PROCESSOR": enc(&chain)},
                "TCB-Info-Issuer-Chain": enc(&text("tcb_info_issuer_chain.pem")),
                "SGX-Enclave-Identity-Issuer-Chain": enc(&text("qe_identity_issuer_chain.pem")),
            },
            "rootcacrl": hex::encode(&f["root_ca_crl.der"]),
        }
    })
    .to_string()
}

/// The PCE ID is in the PCK certificate (its SGX extension): an upload that files the
/// certificate under another PCE ID would have `/pckcert?pceid=` serve it for the wrong platform.
#[tokio::test]
async fn a_pck_certificate_filed_under_another_pce_id_is_refused() {
    let service = service(&[], |_| {}, async |_| {}).await;
    let admin = std::fs::read_to_string(service.dir().join("data/admin-token")).unwrap();
    let put = |body: String| {
        reqwest::Client::new()
            .put(format!(
                "{}/sgx/certification/v4/platformcollateral",
                service.url
            ))
            .header("admin-token", admin.trim())
            .body(body)
            .send()
    };
    let qe_id = "00112233445566778899aabbccddeeff";
    let r = put(platform_collateral(qe_id, "0100")).await.unwrap();
    assert_eq!(r.status(), 422, "{:?}", r.text().await);
    let r = get(&format!(
        "{}/sgx/certification/v4/pckcert?qeid={qe_id}&cpusvn=0b0b0202ff0100000000000000000000&pcesvn=0d00&pceid=0100",
        service.url
    ))
    .await;
    assert_eq!(r.status(), 404);
    // Under the certificate's own PCE ID it is accepted.
    let r = put(platform_collateral(qe_id, "0000")).await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

/// A TLS service with a self-signed certificate; returns (service, client connector).
async fn tls_service(
    tweak: impl FnOnce(&mut Config),
) -> (
    TestService,
    tokio_rustls::TlsConnector,
    std::net::SocketAddr,
) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let key = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (key.path().join("cert.pem"), key.path().join("key.pem"));
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let service = service(
        &[],
        |c| {
            c.tls_cert = Some(cert_path.clone());
            c.tls_key = Some(key_path.clone());
            tweak(c);
        },
        async |_| {},
    )
    .await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let addr = service.url.trim_start_matches("http://").parse().unwrap();
    drop(key);
    (
        service,
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(client)),
        addr,
    )
}

async fn tls_connect(
    connector: &tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

/// Slowloris over TLS: half a request head, then silence. The header read timeout (1 s here)
/// must close the connection as it does on plain HTTP.
#[tokio::test]
async fn tls_slowloris_is_cut_off_by_the_header_timeout() {
    let (service, connector, addr) = tls_service(|c| {
        c.header_read_timeout_secs = 1;
        c.idle_timeout_secs = 2;
    })
    .await;
    let mut stream = tls_connect(&connector, addr).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the TLS connection was still open after 6 s");
    drop(service);
}

/// A connection that completes the handshake and never sends a byte is dropped by the idle
/// timeout, and while it is held the connection cap (1 here) refuses others.
#[tokio::test]
async fn tls_listener_has_the_connection_cap_and_idle_timeout() {
    let (service, connector, addr) = tls_service(|c| {
        c.max_connections = 1;
        c.header_read_timeout_secs = 30;
        c.idle_timeout_secs = 3;
    })
    .await;
    let mut held = tls_connect(&connector, addr).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A second connection beyond the cap gets the 503 problem (or is closed).
    let second = async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let Ok(mut s) = connector
            .connect("localhost".try_into().unwrap(), tcp)
            .await
        else {
            return String::new();
        };
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).to_string()
    };
    let answer = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("the second connection hung");
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The held, silent connection is closed by the idle timeout.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(8), held.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "an idle TLS connection was held open past the idle timeout"
    );
    drop(service);
}
