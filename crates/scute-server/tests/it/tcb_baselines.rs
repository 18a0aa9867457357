//! TCB baselines and grace windows end to end (docs/tcb-baselines.md): a real server on a
//! loopback socket, a simulated TDX platform whose signed TCB Info puts it OutOfDate (its level
//! dated 2026-02-01, superseded by an UpToDate level of 2026-08-01, evaluation data number 17).
//! Without settings it is contraindicated; `tcb_grace_days` and `tcb_baseline_date`, PUT as
//! reference values, make it a warning at their edges; `tcb_min_evaluation_data_number` above
//! the collateral's refuses it again. A setting of the wrong form or with two values is 422,
//! PUT or signed; signed beside the admin's, the strictest value holds.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use reqwest::StatusCode;
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
use scute_test::{now, TestService};
use serde_json::{json, Value};

/// The platform's TCB level's date in the simulated TCB Info (`scute-sim` collateral.rs).
const TCB_DATE: &str = "2026-02-01T00:00:00Z";

struct Server {
    service: TestService,
    sim: Simulator,
}

impl std::ops::Deref for Server {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.service
    }
}

impl Server {
    /// A service trusting the simulator's root, holding `status` TDX collateral for it, with
    /// the TD's MRTD registered (so only the hardware claim can keep a token from affirming).
    async fn start(status: &str) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), status, |_| {}).await
    }

    async fn start_in(
        dir: tempfile::TempDir,
        status: &str,
        tweak: impl FnOnce(&mut scute_server::Config),
    ) -> Self {
        let sim = Simulator::new(1, now()).unwrap();
        let mut options = CollateralOptions::valid_at(Tee::Tdx, now());
        options.tcb_status = status.into();
        let files = sim
            .collateral(&options)
            .unwrap()
            .into_iter()
            .map(|(n, b)| (n.to_string(), b))
            .collect();
        let service = TestService::builder_in(dir)
            .trust_intel(&sim)
            .import(files)
            .start_with(tweak)
            .await;
        let server = Self { service, sim };
        let quote = server
            .sim
            .quote(&Workload::new(Tee::Tdx, 4, [0; 64]))
            .unwrap();
        let mr_td = hex::encode(quote.body.td10().unwrap().mr_td);
        assert_eq!(
            server.put("mr_td", json!([mr_td])).await.0,
            StatusCode::NO_CONTENT
        );
        server
    }

    async fn put(&self, name: &str, values: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .put(format!("{}/v1/reference-values/{name}", self.url))
            .bearer_auth(&self.admin)
            .json(&values)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn delete(&self, name: &str) {
        let r = self
            .http
            .delete(format!("{}/v1/reference-values/{name}", self.url))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    /// An honest attestation of the TD: the token's `cpu0` submodule.
    async fn attest(&self) -> Value {
        let challenge: Value = self
            .http
            .post(format!("{}/v1/challenge", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let runtime = json!({ "nonce": challenge["nonce"] });
        let quote = self
            .sim
            .quote(&Workload::new(
                Tee::Tdx,
                4,
                scute_test::report_data(&runtime),
            ))
            .unwrap()
            .encode();
        let r = self
            .http
            .post(format!("{}/v1/attest", self.url))
            .json(&json!({
                "tee": "tdx",
                "evidence": { "quote": STANDARD.encode(quote) },
                "runtime_data": runtime,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        let payload = body["token"].as_str().unwrap().split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let cpu0 = claims["submods"]["cpu0"].clone();
        // The token's status is the submodule's: the worst tier of its vector.
        assert_eq!(claims["ear_status"], cpu0["ear_status"]);
        cpu0
    }

    /// (ear_status, hardware, days_behind) of one attestation.
    async fn verdict(&self) -> (String, i64, i64) {
        let cpu0 = self.attest().await;
        let evidence = &cpu0["ear_veraison_annotated_evidence"];
        assert_eq!(evidence["tcb_status"], "OutOfDate", "{evidence}");
        assert_eq!(evidence["tcb_date"], TCB_DATE, "{evidence}");
        assert_eq!(evidence["tcb_evaluation_data_number"], 17, "{evidence}");
        // Every other claim is affirming: the hardware claim alone decides the status.
        let vector = cpu0["ear_trustworthiness_vector"].as_object().unwrap();
        for (claim, value) in vector {
            if claim != "hardware" {
                assert_eq!(value, 2, "{claim}: {cpu0}");
            }
        }
        (
            cpu0["ear_status"].as_str().unwrap().to_string(),
            vector["hardware"].as_i64().unwrap(),
            evidence["days_behind"]
                .as_i64()
                .unwrap_or_else(|| panic!("days_behind is a number: {evidence}")),
        )
    }
}

const CONTRAINDICATED: (&str, i64) = ("contraindicated", 96);
const WARNING: (&str, i64) = ("warning", 32);

fn status((status, hardware, _): &(String, i64, i64)) -> (&str, i64) {
    (status.as_str(), *hardware)
}

#[tokio::test]
async fn an_out_of_date_td_is_a_warning_only_inside_a_grace_window_or_baseline() {
    let s = Server::start("OutOfDate").await;
    // Today's verdict without settings.
    let before = s.verdict().await;
    assert_eq!(status(&before), CONTRAINDICATED);
    let days = before.2;
    assert!(days > 0, "the superseding level is in the past: {days}");

    // tcb_grace_days N: warning while days_behind < N. Each verdict is judged against the
    // days_behind its own token reports (a test run may cross a UTC midnight).
    // A window of exactly `days` has run out (contraindicated); one day more has not.
    for window in [days, days + 1] {
        assert_eq!(
            s.put("tcb_grace_days", json!([window])).await.0,
            StatusCode::NO_CONTENT
        );
        let v = s.verdict().await;
        let expected = if v.2 < window {
            WARNING
        } else {
            CONTRAINDICATED
        };
        assert_eq!(status(&v), expected, "window {window}, days_behind {}", v.2);
    }
    s.delete("tcb_grace_days").await;
    assert_eq!(status(&s.verdict().await), CONTRAINDICATED);

    // tcb_baseline_date: warning while the platform's TCB date (2026-02-01) is at or after it.
    for (baseline, expected) in [
        ("2026-02-02", CONTRAINDICATED),
        ("2026-02-01", WARNING),
        ("2026-01-31", WARNING),
        ("2026-02-01T00:00:01Z", CONTRAINDICATED),
        ("2026-02-01T00:00:00Z", WARNING),
    ] {
        assert_eq!(
            s.put("tcb_baseline_date", json!([baseline])).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(status(&s.verdict().await), expected, "{baseline}");
    }

    // Collateral older than the operator's minimum evaluation data number: no baseline helps.
    assert_eq!(
        s.put("tcb_min_evaluation_data_number", json!([18])).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status(&s.verdict().await), CONTRAINDICATED);
    assert_eq!(
        s.put("tcb_min_evaluation_data_number", json!([17])).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status(&s.verdict().await), WARNING);
}

#[tokio::test]
async fn a_setting_with_two_values_or_of_another_form_is_refused_and_not_stored() {
    let s = Server::start("OutOfDate").await;
    for (name, values, why) in [
        ("tcb_grace_days", json!([30, 60]), "exactly one value"),
        ("tcb_grace_days", json!([]), "exactly one value"),
        ("tcb_grace_days", json!(["30"]), "0-3650"),
        ("tcb_grace_days", json!([3651]), "0-3650"),
        (
            "tcb_baseline_date",
            json!(["2026-02-01", "2026-03-01"]),
            "exactly one value",
        ),
        ("tcb_baseline_date", json!(["01/02/2026"]), "YYYY-MM-DD"),
        ("tcb_min_evaluation_data_number", json!([17.5]), "integer"),
        ("snp_min_mit_vector", json!([1, 2]), "exactly one value"),
        (
            "snp_min_launch_tcb",
            json!([{"bootlader": 1}]),
            "SPL values",
        ),
    ] {
        let (code, problem) = s.put(name, values.clone()).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{name} {values}");
        assert_eq!(
            problem["type"], "urn:scute:problem:reference_values_refused",
            "{problem}"
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(name) && detail.contains(why), "{detail}");
        let r = s
            .http
            .get(format!("{}/v1/reference-values/{name}", s.url))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{name} was stored");
    }
    // Nothing refused changed a verdict.
    assert_eq!(status(&s.verdict().await), CONTRAINDICATED);
    // Without the admin token nothing is judged at all.
    let r = s
        .http
        .put(format!("{}/v1/reference-values/tcb_grace_days", s.url))
        .json(&json!([30]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(status(&s.verdict().await), CONTRAINDICATED);
}

/// A signer's document is held to the settings' forms as the admin's PUT is, and a signed
/// setting beside the admin's: both in force, the strictest holds.
#[tokio::test]
async fn a_signed_setting_has_the_same_form_and_the_strictest_value_in_force_holds() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use scute_refvalues::dsse::{envelope_for, statement_for};

    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Baselines");
    let cert = params.self_signed(&key).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("baselines.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    let s = Server::start_in(dir, "OutOfDate", |c| {
        c.reference_value_signers = vec![cert_path];
    })
    .await;
    let import = |values: Value| {
        let (s, pair) = (&s, &pair);
        async move {
            let document = envelope_for(
                &statement_for(&values, None, None),
                |m| {
                    pair.sign(&SystemRandom::new(), m)
                        .unwrap()
                        .as_ref()
                        .to_vec()
                },
                "baselines",
            );
            let r = s
                .http
                .post(format!("{}/v1/reference-values/import", s.url))
                .bearer_auth(&s.admin)
                .body(document)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let days = s.verdict().await.2;

    // Two windows in one signed document: refused whole, nothing stored.
    let (code, problem) = import(json!({"tcb_grace_days": [3650, 1]})).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        problem["type"], "urn:scute:problem:reference_values_refused",
        "{problem}"
    );
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("exactly one value"));
    assert_eq!(status(&s.verdict().await), CONTRAINDICATED);

    // One signed window, long enough: a warning, from the signed value alone.
    let (code, body) = import(json!({"tcb_grace_days": [3650]})).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(status(&s.verdict().await), WARNING);
    // The admin's shorter window beside it (one a day too short for this platform): both
    // are in force, and the shorter decides.
    assert_eq!(
        s.put("tcb_grace_days", json!([days])).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, in_force) = {
        let r = s
            .http
            .get(format!("{}/v1/reference-values/tcb_grace_days", s.url))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(in_force, json!([days, 3650]));
    let v = s.verdict().await;
    let expected = if v.2 < days { WARNING } else { CONTRAINDICATED };
    assert_eq!(status(&v), expected, "days_behind {} window {days}", v.2);
}
