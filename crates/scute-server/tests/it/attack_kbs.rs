//! Attacks on the key broker and the attestation door by a client with network access and no
//! admin token. Each test is a finding's regression test.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::StatusCode;
use scute_kbs::{runtime_data_digest, HashAlgorithm, TeeKeyPair};
use scute_server::Config;
use scute_sim::{Simulator, Tee, Workload};
use scute_test::{now, TestService};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A PCCS-shaped upstream that counts what it is asked and holds nothing.
async fn counting_upstream() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (axum::http::StatusCode::NOT_FOUND, "no such platform")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), hits)
}

async fn service(trusted: &Simulator, tweak: impl FnOnce(&mut Config)) -> TestService {
    TestService::builder()
        .trust_intel(trusted)
        .start_with(tweak)
        .await
}

/// One KBS handshake with a TDX quote from `sim`, bound as the protocol asks; the problem.
async fn kbs_attest(url: &str, sim: &Simulator) -> (StatusCode, Value) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let challenge: Value = http
        .post(format!("{url}/kbs/v0/auth"))
        .json(&json!({"version": "0.4.0", "tee": "tdx", "extra-params": ""}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nonce = challenge["nonce"].as_str().unwrap();
    let key = TeeKeyPair::generate().unwrap();
    let digest = runtime_data_digest(HashAlgorithm::Sha384, nonce, &key.public_jwk(), "").unwrap();
    let mut report_data = [0u8; 64];
    report_data[..48].copy_from_slice(&digest);
    let quote = sim
        .quote(&Workload::new(Tee::Tdx, 4, report_data))
        .unwrap()
        .encode();
    let r = http
        .post(format!("{url}/kbs/v0/attest"))
        .json(&json!({
            "runtime-data": {"nonce": nonce, "tee-pubkey": key.public_jwk()},
            "tee-evidence": {"primary_evidence": {"quote": STANDARD.encode(quote)}, "additional_evidence": ""},
        }))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// Finding: the FMSPC and PCK CA that pick the collateral come from the quote's PCK chain
/// before anything checks it, and a miss is fetched from the upstream (with the operator's PCS
/// subscription key). So any unauthenticated client, with a self-made chain naming FMSPC after
/// FMSPC, makes the service send four requests upstream per attempt (exhausting the operator's
/// PCS quota, and filling nothing: collateral for a platform no trusted root vouches for).
/// A chain that does not end in a trusted root must not reach the upstream; a miss for a genuine
/// platform is asked once, not once per attempt.
#[tokio::test]
async fn an_untrusted_pck_chain_does_not_reach_the_upstream() {
    let (upstream, hits) = counting_upstream().await;
    let trusted = Simulator::new(7, now()).unwrap();
    let svc = service(&trusted, |c| c.pccs_url = Some(upstream.clone())).await;

    // The attacker's own "platform": a PKI of its own, which no trust root vouches for.
    let forged = Simulator::new(99, now()).unwrap();
    for _ in 0..5 {
        let (status, problem) = kbs_attest(&svc.url, &forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a forged PCK chain made the service call its upstream"
    );

    // A genuine platform whose collateral the upstream lacks: asked, but not on every attempt.
    for _ in 0..5 {
        let (status, problem) = kbs_attest(&svc.url, &trusted).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
        assert!(
            problem["type"]
                .as_str()
                .unwrap_or_default()
                .ends_with("collateral_missing"),
            "{problem}"
        );
    }
    let asked = hits.load(Ordering::SeqCst);
    assert!(
        (1..=4).contains(&asked),
        "the upstream was asked {asked} times for one missing platform"
    );
}

/// Finding: a policy's `deny` that fails to evaluate counts as no denial. `Policies::evaluate`
/// maps any error from `data.scute.deny` to "no reasons", so an attester who can make the deny
/// rule fail (here: two values for one complete rule, from the runtime data it chooses) gets
/// the token the rule was written to refuse, while the same error in `trust_vector` fails closed.
/// Tokens from `/v1/attest` are KBS bearer credentials, so this reaches resource release too.
#[tokio::test]
async fn a_deny_rule_that_fails_to_evaluate_does_not_fail_open() {
    let sim = Simulator::new(7, now()).unwrap();
    let service = TestService::builder()
        .trust_intel(&sim)
        .import_sim(&sim, Tee::Tdx)
        .start()
        .await;
    let (url, admin) = (service.url.clone(), service.admin.clone());
    let http = reqwest::Client::new();

    // The operator's mandatory policy: the default one, plus a quota per workload class.
    let policy = format!(
        "{}\nlimit := 3 if input.runtime_data.tier == \"gold\"\n\nlimit := 1 if input.runtime_data.kind == \"batch\"\n\n\
         deny contains \"over quota\" if input.runtime_data.count > limit\n",
        scute_server::DEFAULT_POLICY
    );
    let r = http
        .put(format!("{url}/v1/policies/default"))
        .bearer_auth(&admin)
        .body(policy)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let attest = |extra: Value| {
        let (http, url, sim) = (http.clone(), url.clone(), &sim);
        async move {
            let challenge: Value = http
                .post(format!("{url}/v1/challenge"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut runtime_data = json!({ "nonce": challenge["nonce"] });
            for (k, v) in extra.as_object().unwrap() {
                runtime_data[k] = v.clone();
            }
            let report_data = scute_server::report_data_for(&runtime_data).unwrap();
            let quote = sim
                .quote(&Workload::new(Tee::Tdx, 4, report_data))
                .unwrap()
                .encode();
            let r = http
                .post(format!("{url}/v1/attest"))
                .json(&json!({
                    "tee": "tdx",
                    "evidence": { "quote": STANDARD.encode(quote) },
                    "runtime_data": runtime_data,
                }))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // The rule works as written: a gold workload over its quota is refused.
    let (status, body) = attest(json!({ "tier": "gold", "count": 10 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The attester claims both classes: `limit` has two values, the deny rule errors, and the
    // error must not read as "nothing to deny".
    let (status, body) = attest(json!({ "tier": "gold", "kind": "batch", "count": 10 })).await;
    assert_ne!(
        status,
        StatusCode::OK,
        "a deny rule that errored let the attestation through: {body}"
    );
}
