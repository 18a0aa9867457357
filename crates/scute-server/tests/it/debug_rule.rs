//! One debug rule end to end: a TD whose only debug-grade attribute is a TUD profiling bit
//! (PERF_PROF) is a debug TD for the service's `debug` claim and default policy, exactly as it is
//! for `scute verify`. A real server on a loopback socket, quotes from the simulated TEE.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use scute_quote::td_attributes;
use scute_sim::{Simulator, Tee, Workload};
use scute_test::{now, TestService};
use serde_json::{json, Value};

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
    async fn start() -> Self {
        let sim = Simulator::new(1, now()).unwrap();
        let service = TestService::builder()
            .trust_intel(&sim)
            .import_sim(&sim, Tee::Tdx)
            .start()
            .await;
        Self { service, sim }
    }

    /// A genuine quote binding `runtime`, with TD_ATTRIBUTES set to `attributes`.
    fn quote(&self, runtime: &Value, attributes: u64) -> Vec<u8> {
        let report_data = scute_test::report_data(runtime);
        let mut quote = self
            .sim
            .quote(&Workload::new(Tee::Tdx, 4, report_data))
            .unwrap();
        let scute_quote::Body::Td10(td) = &mut quote.body else {
            panic!("a TDX v4 quote has a TD 1.0 body");
        };
        td.td_attributes = attributes.to_le_bytes();
        self.sim.resign(&mut quote).unwrap();
        quote.encode()
    }

    /// Attests a TD with these attributes; returns the token's claims.
    async fn attest(&self, attributes: u64) -> Value {
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
        let quote = self.quote(&runtime, attributes);
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
        self.claims(body["token"].as_str().unwrap()).await
    }

    async fn claims(&self, token: &str) -> Value {
        let jwks: Value = self
            .http
            .get(format!("{}/.well-known/jwks.json", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = &jwks["keys"][0];
        let decoding =
            DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
                .unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(token, &decoding, &validation)
            .unwrap()
            .claims
    }

    /// Makes the simulated TD's MRTD the one reference value, so a sound TD is affirming.
    async fn trust_mr_td(&self) {
        let probe = scute_quote::Quote::decode(&self.quote(&json!({}), 0)).unwrap();
        let mr_td = hex::encode(probe.body.td10().unwrap().mr_td);
        let r = self
            .http
            .put(format!("{}/v1/reference-values/mr_td", self.url))
            .bearer_auth(&self.admin)
            .body(json!([mr_td]).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
}

const SOUND: u64 = td_attributes::SEPT_VE_DISABLE;

#[tokio::test]
async fn a_td_with_only_perf_prof_is_contraindicated_never_affirming() {
    let server = Server::start().await;
    server.trust_mr_td().await;

    // The control: the same TD without profiling is affirming, so only the bit differs.
    let sound = server.attest(SOUND).await;
    assert_eq!(sound["ear_status"], "affirming", "{sound}");
    let evidence = &sound["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["debug"], false);
    assert_eq!(
        evidence["attributes"],
        json!({"flags": "0000000010000000", "set": ["SEPT_VE_DISABLE"]})
    );

    for (bit, name) in [
        (td_attributes::HGS_PLUS_PROF, "HGS_PLUS_PROF"),
        (td_attributes::PERF_PROF, "PERF_PROF"),
        (td_attributes::PMT_PROF, "PMT_PROF"),
    ] {
        let claims = server.attest(SOUND | bit).await;
        assert_eq!(claims["ear_status"], "contraindicated", "{name}: {claims}");
        let sub = &claims["submods"]["cpu0"];
        assert_eq!(sub["ear_trustworthiness_vector"]["hardware"], 96, "{name}");
        let evidence = &sub["ear_veraison_annotated_evidence"];
        assert_eq!(evidence["debug"], true, "{name}");
        assert_eq!(
            evidence["attributes"]["flags"],
            format!("{:016x}", SOUND | bit)
        );
        assert_eq!(
            evidence["attributes"]["set"],
            json!([name, "SEPT_VE_DISABLE"])
        );
    }
}
