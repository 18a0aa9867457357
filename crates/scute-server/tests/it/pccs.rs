//! The PCCS v4 routes over real sockets: dcap-qvl's own collateral client fetches from
//! `scute serve` and the result verifies to the vector's verdict; a second service fills its
//! cache from the first; tampered upstream collateral is refused; every error path.

use scute_server::Config;
use scute_test::TestService;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const VECTORS: &str = "../../../shared/vectors";

use crate::support::fake_pccs;

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

fn expected(name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(case(name).join("expected.json")).unwrap()).unwrap()
}

/// A service holding the collateral of the named vectors (checked against Intel's root).
async fn service(import: &[&str], tweak: impl FnOnce(&mut Config)) -> TestService {
    let mut builder = TestService::builder();
    for name in import {
        builder = builder.import(files(name));
    }
    builder.start_with(tweak).await
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

/// dcap-qvl's client (its `collateral` module: pckcrl?ca=…&encoding=der, tcb?fmspc=…&update=standard,
/// qe/identity?update=standard, rootcacrl as hex) against our routes, then dcap-qvl's verifier.
async fn dcap_qvl_verifies(url: &str, name: &str) {
    let quote = std::fs::read(case(name).join("quote.bin")).unwrap();
    let collateral = dcap_qvl::collateral::CollateralClient::with_default_http(url)
        .unwrap()
        .fetch(&quote)
        .await
        .unwrap();
    let exp = expected(name);
    let at = exp["verify_time_unix"].as_u64().unwrap();
    let report = dcap_qvl::verify::verify(&quote, &collateral, at).unwrap();
    assert_eq!(
        report.status,
        exp["result"]["tcb_status"].as_str().unwrap(),
        "{name}"
    );
    // Byte for byte what the vector holds.
    assert_eq!(
        collateral.pck_crl,
        std::fs::read(case(name).join("pck_crl.der")).unwrap()
    );
    assert_eq!(
        collateral.root_ca_crl,
        std::fs::read(case(name).join("root_ca_crl.der")).unwrap()
    );
}

#[tokio::test]
async fn dcap_qvl_client_fetches_and_verifies_sgx_and_tdx() {
    let service = service(&["dcapqvl-sgx-v3", "dcapqvl-tdx-v4"], |_| {}).await;
    dcap_qvl_verifies(&service.url, "dcapqvl-sgx-v3").await;
    dcap_qvl_verifies(&service.url, "dcapqvl-tdx-v4").await;

    let tdx = files("dcapqvl-tdx-v4");
    let fmspc = expected("dcapqvl-tdx-v4")["result"]["claims"]["fmspc"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let r = get(&format!(
        "{}/tdx/certification/v4/tcb?fmspc={fmspc}",
        service.url
    ))
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let chain = r.headers()["tcb-info-issuer-chain"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        chain.starts_with("-----BEGIN%20CERTIFICATE-----%0A"),
        "{chain}"
    );
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(&chain).collect();
    assert_eq!(decoded, tdx["tcb_info_issuer_chain.pem"]);
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        tdx["tcb_info.json"].as_slice()
    );

    let r = get(&format!(
        "{}/sgx/certification/v4/pckcrl?ca=processor",
        service.url
    ))
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("sgx-pck-crl-issuer-chain"));
    let hex_text = r.text().await.unwrap();
    assert!(hex::decode(&hex_text).is_ok());
    let r = get(&format!(
        "{}/tdx/certification/v4/qe/identity?update=standard",
        service.url
    ))
    .await;
    assert!(r
        .headers()
        .contains_key("sgx-enclave-identity-issuer-chain"));
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        tdx["qe_identity.json"].as_slice()
    );
    service.stop().await;
}

async fn problem(url: &str, status: u16, kind: &str) -> serde_json::Value {
    let r = get(url).await;
    assert_eq!(r.status().as_u16(), status, "{url}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], format!("urn:scute:problem:{kind}"), "{url}");
    body
}

#[tokio::test]
async fn error_paths_say_what_to_do() {
    let service = service(&["dcapqvl-sgx-v3"], |_| {}).await;
    let u = &service.url;
    for bad in [
        "fmspc=00A06711",
        "fmspc=zz0000000000",
        "",
        "fmspc=00a067110000&update=late",
    ] {
        problem(
            &format!("{u}/sgx/certification/v4/tcb?{bad}"),
            400,
            "pccs_bad_parameter",
        )
        .await;
    }
    problem(
        &format!("{u}/sgx/certification/v4/pckcrl?ca=other"),
        400,
        "pccs_bad_parameter",
    )
    .await;
    problem(
        &format!("{u}/sgx/certification/v4/pckcrl"),
        400,
        "pccs_bad_parameter",
    )
    .await;
    problem(
        &format!("{u}/sgx/certification/v4/pckcrl?ca=processor&encoding=pem"),
        400,
        "pccs_bad_parameter",
    )
    .await;
    let body = problem(
        &format!("{u}/sgx/certification/v4/tcb?fmspc=112233445566"),
        404,
        "pccs_not_cached",
    )
    .await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("112233445566") && detail.contains("scute collateral import"),
        "{detail}"
    );
    // SGX is held for this FMSPC, TDX is not.
    problem(
        &format!("{u}/tdx/certification/v4/tcb?fmspc=00a067110000"),
        404,
        "pccs_not_cached",
    )
    .await;
    problem(
        &format!("{u}/tdx/certification/v4/qe/identity"),
        404,
        "pccs_not_cached",
    )
    .await;
    problem(
        &format!("{u}/sgx/certification/v4/pckcrl?ca=platform"),
        404,
        "pccs_not_cached",
    )
    .await;
    problem(
        &format!("{u}/sgx/certification/v4/qve/identity"),
        404,
        "pccs_not_cached",
    )
    .await;
    problem(
        &format!("{u}/sgx/certification/v4/pckcert?qeid=00&cpusvn=00&pcesvn=00&pceid=00"),
        400,
        "pccs_bad_parameter",
    )
    .await;
    let r = reqwest::Client::new()
        .put(format!("{u}/sgx/certification/v4/platformcollateral"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    service.stop().await;
}

#[tokio::test]
async fn a_second_service_fills_from_the_first_and_keeps_it_when_the_first_is_down() {
    let first = service(&["dcapqvl-tdx-v4"], |_| {}).await;
    let first_url = first.url.clone();
    let second = service(&[], |c| c.pccs_url = Some(first_url.clone())).await;
    let fmspc = expected("dcapqvl-tdx-v4")["result"]["claims"]["fmspc"]
        .as_str()
        .unwrap()
        .to_string();
    let route = format!("/tdx/certification/v4/tcb?fmspc={fmspc}");
    let from_first = get(&format!("{}{route}", first.url))
        .await
        .bytes()
        .await
        .unwrap();
    let r = get(&format!("{}{route}", second.url)).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = get(&format!("{}{route}", second.url)).await;
    assert_eq!(r.bytes().await.unwrap(), from_first);
    // Now the rest of the set is served by the second alone, also to dcap-qvl.
    first.stop().await;
    let r = get(&format!("{}{route}", second.url)).await;
    assert_eq!(r.status(), 200);
    dcap_qvl_verifies(&second.url, "dcapqvl-tdx-v4").await;
    second.stop().await;
}

/// An upstream that serves the TDX vector with one byte of TCB Info changed.
async fn tampering_upstream() -> String {
    // One status changed in the signed TCB Info: its signature no longer holds.
    let mut f = files("dcapqvl-tdx-v4");
    let tcb = String::from_utf8(f["tcb_info.json"].clone())
        .unwrap()
        .replacen("UpToDate", "OutOfDate", 1);
    f.insert("tcb_info.json".into(), tcb.into_bytes());
    fake_pccs::serve_set(f, None).await
}

#[tokio::test]
async fn tampered_upstream_collateral_is_refused_and_nothing_is_stored() {
    let upstream = tampering_upstream().await;
    let service = service(&[], |c| c.pccs_url = Some(upstream.clone())).await;
    let fmspc = expected("dcapqvl-tdx-v4")["result"]["claims"]["fmspc"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("{}/tdx/certification/v4/tcb?fmspc={fmspc}", service.url);
    problem(&url, 502, "upstream_rejected").await;
    // Nothing was stored: the QE identity of that set is not served either.
    problem(
        &format!("{}/tdx/certification/v4/qe/identity", service.url),
        404,
        "pccs_not_cached",
    )
    .await;
    let metrics = get(&format!("{}/metrics", service.url))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("scute_collateral_upstream_rejected_total 1"),
        "{metrics}"
    );
    service.stop().await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_not_a_hang() {
    let service = service(&[], |c| c.pccs_url = Some("http://127.0.0.1:1".into())).await;
    problem(
        &format!(
            "{}/sgx/certification/v4/tcb?fmspc=00a067110000",
            service.url
        ),
        502,
        "upstream_unavailable",
    )
    .await;
    service.stop().await;
}

/// PccsAdminTool's `platform_collaterals.json` for the SGX vector's platform: its PCK
/// certificate (from the quote), the FMSPC's SGX TCB Info as an object, CRLs in hex.
fn platform_collateral(qe_id: &str) -> (String, String) {
    platform_collateral_with(qe_id, false)
}

/// The same, with `both_cas`: the Platform CA's CRL and issuer chain too (from the TDX
/// vector), as PccsAdminTool exports them (Intel's PCCS holds CRLs of both CAs).
fn platform_collateral_with(qe_id: &str, both_cas: bool) -> (String, String) {
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
    let body = serde_json::json!({
        "platforms": [],
        "collaterals": {
            "version": 4,
            "pck_certs": [{"qe_id": qe_id, "pce_id": "0000", "enc_ppid": "", "platform_manifest": "",
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
    });
    let mut body = body;
    if both_cas {
        let platform = files("dcapqvl-tdx-v4");
        let chain = String::from_utf8(platform["pck_crl_issuer_chain.pem"].clone()).unwrap();
        body["collaterals"]["pckcacrl"]["platformCrl"] =
            hex::encode(&platform["pck_crl.der"]).into();
        body["collaterals"]["certificates"]["SGX-PCK-Certificate-Issuer-Chain"]["PLATFORM"] =
            enc(&chain).into();
    }
    (body.to_string(), leaf)
}

#[tokio::test]
async fn pck_certificate_selection_on_the_sgx_vectors_platform() {
    let service = service(&[], |_| {}).await;
    let admin = std::fs::read_to_string(service.dir().join("data/admin-token")).unwrap();
    let qe_id = "00112233445566778899aabbccddeeff";
    let (body, leaf) = platform_collateral(qe_id);
    let put = |token: String, body: String| {
        reqwest::Client::new()
            .put(format!(
                "{}/sgx/certification/v4/platformcollateral",
                service.url
            ))
            .header("admin-token", token.trim())
            .body(body)
            .send()
    };
    // A PCK certificate that does not chain to the uploaded CRL issuer is refused whole.
    let bad = body.replacen("MIIE", "MIIF", 1);
    assert_eq!(put(admin.clone(), bad).await.unwrap().status(), 422);
    let r = put(admin.clone(), body).await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);

    // The certificate's own TCB (from its SGX extension): cpusvn 0b0b0202ff01…, PCESVN 13.
    let cert_cpusvn = "0b0b0202ff0100000000000000000000";
    let ask = |cpusvn: &str, pcesvn: u16| {
        format!(
            "{}/sgx/certification/v4/pckcert?qeid={qe_id}&cpusvn={cpusvn}&pcesvn={}&pceid=0000&encrypted_ppid=00",
            service.url,
            hex::encode(pcesvn.to_le_bytes())
        )
    };
    for (cpusvn, pcesvn) in [
        (cert_cpusvn, 13),                        // exact TCB
        ("0b0b1a18ffff04000000000000000000", 13), // higher CPUSVN (the quote's)
        (cert_cpusvn, 14),                        // higher PCESVN
    ] {
        let r = get(&ask(cpusvn, pcesvn)).await;
        assert_eq!(r.status(), 200, "{cpusvn} {pcesvn}");
        assert_eq!(
            r.headers()["sgx-tcbm"],
            "0B0B0202FF01000000000000000000000D00"
        );
        assert_eq!(r.headers()["sgx-fmspc"], "00A067110000");
        assert_eq!(r.headers()["sgx-pck-certificate-ca-type"], "processor");
        assert!(r.headers().contains_key("sgx-pck-certificate-issuer-chain"));
        assert_eq!(r.text().await.unwrap(), leaf);
    }
    for (cpusvn, pcesvn) in [(cert_cpusvn, 12), ("0b0a0202ff0100000000000000000000", 13)] {
        problem(&ask(cpusvn, pcesvn), 404, "pccs_not_cached").await;
    }
    // Another platform is not registered.
    problem(
        &ask(cert_cpusvn, 13).replace(qe_id, "ffeeddccbbaa99887766554433221100"),
        404,
        "pccs_not_cached",
    )
    .await;
    // The import also filled the collateral routes.
    let r = get(&format!(
        "{}/sgx/certification/v4/tcb?fmspc=00A067110000",
        service.url
    ))
    .await;
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        files("dcapqvl-sgx-v3")["tcb_info.json"].as_slice()
    );
    service.stop().await;
}

/// Intel's PCCS serves the PCK certificate of a Processor-CA platform after an upload that
/// carries the CRLs of both CAs; each stored certificate is checked against its own CA's CRL
/// (it was a 500 when the FMSPC's other-CA set was the one looked at).
#[tokio::test]
async fn pck_certificate_after_an_upload_with_the_crls_of_both_cas() {
    let service = service(&[], |_| {}).await;
    let admin = std::fs::read_to_string(service.dir().join("data/admin-token")).unwrap();
    let qe_id = "00112233445566778899aabbccddeeff";
    let (body, leaf) = platform_collateral_with(qe_id, true);
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
    let r = put(body.clone()).await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let stored: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        stored["collateral"].as_array().unwrap().len(),
        2,
        "{stored}"
    );
    let pck_cert_url = format!(
        "{}/sgx/certification/v4/pckcert?qeid={qe_id}&cpusvn=0b0b0202ff0100000000000000000000&pcesvn=0d00&pceid=0000",
        service.url
    );
    let r = get(&pck_cert_url).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["sgx-pck-certificate-ca-type"], "processor");
    assert_eq!(r.text().await.unwrap(), leaf);
    // The Platform CA's set stored again later (the newest set of the FMSPC): the certificate
    // is still checked against its own CA's CRL.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut platform_only: serde_json::Value = serde_json::from_str(&body).unwrap();
    let crls = &mut platform_only["collaterals"]["pckcacrl"];
    crls.as_object_mut().unwrap().remove("processorCrl");
    platform_only["collaterals"]["pck_certs"] = serde_json::json!([]);
    let r = put(platform_only.to_string()).await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = get(&pck_cert_url).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), leaf);
    // Both CAs' CRLs are served, each as uploaded.
    for (ca, case_name) in [
        ("processor", "dcapqvl-sgx-v3"),
        ("platform", "dcapqvl-tdx-v4"),
    ] {
        let r = get(&format!(
            "{}/sgx/certification/v4/pckcrl?ca={ca}&encoding=der",
            service.url
        ))
        .await;
        assert_eq!(r.status(), 200, "{ca}");
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            files(case_name)["pck_crl.der"].as_slice()
        );
    }
    service.stop().await;
}

/// Collateral imported by another process (`scute collateral import`, another replica) is what
/// the PCCS routes serve within a second or two, not only after a miss or a restart: a newer
/// CRL or TCB Info must not wait for the old set's next update.
#[tokio::test]
async fn an_import_elsewhere_is_served_without_a_restart() {
    let (older, newer) = ("automata-dcaprs-sgx-v3", "dcapqvl-sgx-v3");
    let service = service(&[older], |_| {}).await;
    let fmspc = expected(newer)["result"]["claims"]["fmspc"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("{}/sgx/certification/v4/tcb?fmspc={fmspc}", service.url);
    let served = get(&url).await.bytes().await.unwrap();
    assert_eq!(served.as_ref(), files(older)["tcb_info.json"].as_slice());

    scute_server::import_collateral(&service.dir().join("data"), &[], &files(newer))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let served = get(&url).await.bytes().await.unwrap();
        if served.as_ref() == files(newer)["tcb_info.json"].as_slice() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the older TCB Info is still served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    service.stop().await;
}
