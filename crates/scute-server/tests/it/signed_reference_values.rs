//! Signed reference values end to end, from the attacker's side: a real service on a loopback
//! socket with a configured signer (a certificate whose CN names it), DSSE envelopes made with
//! real ECDSA keys, quotes from the simulated TDX. A document signed by the configured signer
//! makes the simulated TD affirming and the token names the values and their source; every
//! other document is refused with `reference_values_refused` and leaves the store as it was;
//! `require_signed_reference_values` closes the admin path; an expired document stops counting
//! without anyone deleting it; the attester cannot name its own reference values.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use scute_refvalues::dsse::{envelope_for, statement_for};
use scute_server::{Config, PROBLEM_TYPE_PREFIX};
use scute_sim::{Simulator, Tee, Workload};
use scute_test::{now, TestService};
use serde_json::{json, Value};

const SIGNER_CN: &str = "Release Team";

/// A P-256 key (ASN.1 signatures, for DSSE) and its self-signed certificate (CN = `cn`), as
/// PEM; the key's PKCS#8 too, for COSE's fixed-size signatures.
fn signer(cn: &str) -> (EcdsaKeyPair, String, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der()).unwrap();
    (pair, cert.pem(), key.serialize_der())
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn sign(key: &EcdsaKeyPair, statement: &Value) -> Vec<u8> {
    envelope_for(
        statement,
        |m| key.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec(),
        "release",
    )
}

struct Harness {
    service: TestService,
    sim: Simulator,
    key: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    mr_td: String,
}

impl std::ops::Deref for Harness {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.service
    }
}

impl Harness {
    async fn start(tweak: impl FnOnce(&mut Config)) -> Self {
        let sim = Simulator::new(1, now()).unwrap();
        let (key, cert, pkcs8) = signer(SIGNER_CN);
        let dir = tempfile::tempdir().unwrap();
        let cert_path = dir.path().join("release.pem");
        std::fs::write(&cert_path, cert).unwrap();
        let service = TestService::builder_in(dir)
            .trust_intel(&sim)
            .import_sim(&sim, Tee::Tdx)
            .start_with(|c| {
                c.reference_value_signers = vec![cert_path];
                tweak(c)
            })
            .await;
        let probe = scute_quote::Quote::decode(&quote(&sim, &json!({"nonce": "x"}))).unwrap();
        let mr_td = hex::encode(probe.body.td10().unwrap().mr_td);
        Self {
            service,
            sim,
            key,
            pkcs8,
            mr_td,
        }
    }

    async fn import(&self, document: Vec<u8>) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/v1/reference-values/import", self.url))
            .bearer_auth(&self.admin)
            .body(document)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// An honest attestation of the simulated TD; the token's claims.
    async fn attest(&self, extra_runtime: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/v1/challenge", self.url))
            .send()
            .await
            .unwrap();
        let nonce = r.json::<Value>().await.unwrap()["nonce"]
            .as_str()
            .unwrap()
            .to_string();
        let mut runtime = json!({ "nonce": nonce });
        if let Value::Object(m) = extra_runtime {
            runtime.as_object_mut().unwrap().extend(m);
        }
        let body = json!({"tee": "tdx",
            "evidence": {"quote": STANDARD.encode(quote(&self.sim, &runtime))},
            "runtime_data": runtime});
        let r = self
            .http
            .post(format!("{}/v1/attest", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, jwks) = self.get("/.well-known/jwks.json").await;
        let key = &jwks["keys"][0];
        let decoding =
            DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
                .unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
            .unwrap()
            .claims
    }

    fn statement(&self, not_before: Option<i64>, not_after: Option<i64>) -> Value {
        statement_for(
            &json!({"mr_td": [self.mr_td.clone()]}),
            not_before.map(rfc3339).as_deref(),
            not_after.map(rfc3339).as_deref(),
        )
    }
}

/// `sha256:<hex>` of what a document's signature covers: DSSE's PAE of payloadType and
/// payload, COSE's Sig_structure (protected header and payload).
fn signed_digest(document: &[u8]) -> String {
    use coset::TaggedCborSerializable;
    if document.first() == Some(&b'{') {
        let envelope: Value = serde_json::from_slice(document).unwrap();
        let payload = STANDARD
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap();
        scute_refvalues::document_digest(&scute_refvalues::dsse::pae(
            envelope["payloadType"].as_str().unwrap(),
            &payload,
        ))
    } else {
        let sign1 = coset::CoseSign1::from_tagged_slice(document).unwrap();
        scute_refvalues::document_digest(&sign1.tbs_data(b""))
    }
}

fn quote(sim: &Simulator, runtime: &Value) -> Vec<u8> {
    let w = Workload::new(Tee::Tdx, 4, scute_test::report_data(runtime));
    sim.quote(&w).unwrap().encode()
}

fn executables(claims: &Value) -> i64 {
    claims["submods"]["cpu0"]["ear_trustworthiness_vector"]["executables"]
        .as_i64()
        .unwrap()
}

fn assert_kind(status: StatusCode, body: &Value, want: StatusCode, kind: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(
        body["type"],
        format!("{PROBLEM_TYPE_PREFIX}{kind}"),
        "{body}"
    );
}

#[tokio::test]
async fn a_signed_document_is_stored_affirms_the_td_and_the_token_names_its_source() {
    let h = Harness::start(|_| {}).await;
    // Before: no reference values, the TD is unrecognised.
    assert_eq!(executables(&h.attest(json!({})).await), 33);
    let document = sign(&h.key, &h.statement(Some(now() - 60), Some(now() + 3600)));
    let digest = signed_digest(&document);
    let (status, body) = h.import(document.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stored"], json!(["mr_td"]));
    assert_eq!(body["provenance"]["signer"], SIGNER_CN);
    assert_eq!(body["provenance"]["format"], "dsse");
    assert_eq!(body["provenance"]["document_digest"], digest);

    let claims = h.attest(json!({})).await;
    assert_eq!(executables(&claims), 2);
    assert_eq!(claims["ear_status"], "affirming");
    assert_eq!(
        claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"]["reference_values"],
        json!({"mr_td": {"value": h.mr_td, "source": format!("signed:{SIGNER_CN}"),
            "document_digest": digest}})
    );
    // The per-name route answers the values in force, exactly a JSON array.
    assert_eq!(
        h.get("/v1/reference-values/mr_td").await,
        (StatusCode::OK, json!([h.mr_td]))
    );
    let (status, list) = h.get("/v1/reference-values").await;
    assert_eq!(status, StatusCode::OK);
    let entry = &list["reference_values"]["mr_td"][0];
    assert_eq!(entry["value"], h.mr_td);
    assert_eq!(entry["source"], format!("signed:{SIGNER_CN}"));
    assert_eq!(entry["document_digest"], digest);
    assert!(entry["not_after"].as_i64().unwrap() > now());
    assert_eq!(list["documents"][0]["in_force"], true);

    // Importing it again changes nothing; deleting the document takes its values away.
    let (status, body) = h.import(document).await;
    assert_eq!(
        (status, &body["already_stored"]),
        (StatusCode::OK, &json!(true))
    );
    let r = h
        .http
        .delete(format!("{}/v1/reference-values/documents/{digest}", h.url))
        .bearer_auth(&h.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(executables(&h.attest(json!({})).await), 33);
    assert_eq!(
        h.get("/v1/reference-values/mr_td").await.0,
        StatusCode::NOT_FOUND
    );
    let r = h
        .http
        .delete(format!("{}/v1/reference-values/documents/{digest}", h.url))
        .bearer_auth(&h.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_unacceptable_document_is_refused_and_nothing_is_stored() {
    let h = Harness::start(|_| {}).await;
    let (stranger, _, _) = signer(SIGNER_CN); // same name, other key
    let good = h.statement(None, None);
    let mut other_predicate = good.clone();
    other_predicate["predicateType"] = "https://slsa.dev/provenance/v1".into();
    let mut unsigned: Value = serde_json::from_slice(&sign(&h.key, &good)).unwrap();
    unsigned["signatures"] = json!([]);
    let mut tampered: Value = serde_json::from_slice(&sign(&h.key, &good)).unwrap();
    let evil = statement_for(&json!({"mr_td": ["00".repeat(48)]}), None, None);
    tampered["payload"] = STANDARD.encode(serde_json::to_vec(&evil).unwrap()).into();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("another key", sign(&stranger, &good)),
        ("tampered payload", serde_json::to_vec(&tampered).unwrap()),
        (
            "expired",
            sign(&h.key, &h.statement(None, Some(now() - 10))),
        ),
        (
            "not yet valid",
            sign(&h.key, &h.statement(Some(now() + 3600), None)),
        ),
        ("unsigned", serde_json::to_vec(&unsigned).unwrap()),
        ("other predicate", sign(&h.key, &other_predicate)),
        ("not a document", b"{\"hello\": 1}".to_vec()),
        ("not JSON", vec![0xd2, 0x84, 0x40]),
        ("empty", Vec::new()),
    ];
    let before = h.get("/v1/reference-values").await;
    for (case, document) in cases {
        let (status, body) = h.import(document).await;
        assert_kind(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "reference_values_refused",
        );
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{case}");
        assert_eq!(h.get("/v1/reference-values").await, before, "{case}");
    }
    assert_eq!(before.1["documents"], json!([]));
    assert_eq!(executables(&h.attest(json!({})).await), 33);
    // Without the admin token nothing is even read.
    let r = h
        .http
        .post(format!("{}/v1/reference-values/import", h.url))
        .body(sign(&h.key, &good))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // POST to any other name is not an import.
    let r = h
        .http
        .post(format!("{}/v1/reference-values/mr_td", h.url))
        .bearer_auth(&h.admin)
        .body(sign(&h.key, &good))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(h.get("/v1/reference-values").await, before);
}

#[tokio::test]
async fn require_signed_closes_the_admin_path_and_stored_admin_values_stop_counting() {
    let h = Harness::start(|_| {}).await;
    let r = h
        .http
        .put(format!("{}/v1/reference-values/mr_td", h.url))
        .bearer_auth(&h.admin)
        .body(json!([h.mr_td]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(executables(&h.attest(json!({})).await), 2);
    let claims = h.attest(json!({})).await;
    assert_eq!(
        claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"]["reference_values"]["mr_td"]
            ["source"],
        "admin"
    );

    let cert_path = h.dir().join("release.pem");
    let Harness {
        service,
        sim,
        key,
        pkcs8,
        mr_td,
    } = h;
    let service = service
        .restart_with(|c| {
            c.reference_value_signers = vec![cert_path];
            c.require_signed_reference_values = true
        })
        .await;
    let h = Harness {
        service,
        sim,
        key,
        pkcs8,
        mr_td,
    };
    let r = h
        .http
        .put(format!("{}/v1/reference-values/mr_td", h.url))
        .bearer_auth(&h.admin)
        .body(json!([h.mr_td]).to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert_kind(
        status,
        &r.json().await.unwrap(),
        StatusCode::FORBIDDEN,
        "reference_values_signed_only",
    );
    // The admin value stored before no longer counts, and is not listed as in force.
    assert_eq!(executables(&h.attest(json!({})).await), 33);
    assert_eq!(
        h.get("/v1/reference-values/mr_td").await.0,
        StatusCode::NOT_FOUND
    );
    // Deleting it is allowed (it counts for nothing).
    let r = h
        .http
        .delete(format!("{}/v1/reference-values/mr_td", h.url))
        .bearer_auth(&h.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The signed path is open.
    let (status, body) = h.import(sign(&h.key, &h.statement(None, None))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(executables(&h.attest(json!({})).await), 2);
}

#[tokio::test]
async fn an_expired_document_stops_counting_without_anyone_deleting_it() {
    let h = Harness::start(|_| {}).await;
    let not_after = now() + 2;
    let (status, body) = h
        .import(sign(&h.key, &h.statement(None, Some(not_after))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(executables(&h.attest(json!({})).await), 2);
    while now() <= not_after {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // At once, not at the next background sync: the appraisal itself sees the expiry.
    assert_eq!(executables(&h.attest(json!({})).await), 33);
    assert_eq!(
        h.get("/v1/reference-values/mr_td").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = h.get("/v1/reference-values").await;
    assert_eq!(list["documents"][0]["in_force"], false);
}

/// The attester chooses runtime data; naming reference values there (under any key a policy
/// or the token might read) changes neither `data.reference` nor the matched-values claim.
#[tokio::test]
async fn the_evidence_cannot_name_its_own_reference_values() {
    let h = Harness::start(|_| {}).await;
    let forged = json!({"mr_td": [h.mr_td.clone()]});
    let claims = h
        .attest(json!({
            "reference": forged.clone(),
            "reference_values": {"mr_td": {"value": h.mr_td, "source": "signed:Release Team"}},
            "data": {"reference": forged},
        }))
        .await;
    assert_eq!(executables(&claims), 33);
    let evidence = &claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert!(evidence.get("reference_values").is_none(), "{evidence}");
    assert_eq!(
        h.get("/v1/reference-values").await.1["reference_values"],
        json!({})
    );
}

#[tokio::test]
async fn a_signer_file_that_does_not_read_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-a-key.pem");
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    for path in [bad.clone(), dir.path().join("missing.pem")] {
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().join("data"),
            reference_value_signers: vec![path.clone()],
            ..Config::default()
        };
        let e = match scute_server::start(config).await {
            Ok(_) => panic!("started with {}", path.display()),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("reference_value_signers"), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
}

/// A signed CoRIM in Scute's profile (draft-ietf-rats-corim: COSE_Sign1 tag 18 over a CoRIM,
/// tag 501, holding one CoMID, tag 506, with a reference triple `mr_td` → a SHA-384 digest),
/// built with coset and ciborium, signed ES256 by `pkcs8`.
fn signed_corim(pkcs8: &[u8], mr_td: &[u8]) -> Vec<u8> {
    use ciborium::Value as C;
    use coset::{iana, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
    let int = |i: i64| C::Integer(i.into());
    let cbor = |v: &C| {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    };
    let measurement = C::Map(vec![
        (int(0), C::Text("mr_td".into())),
        (
            int(1),
            C::Map(vec![(
                int(2),
                C::Array(vec![C::Array(vec![int(7), C::Bytes(mr_td.to_vec())])]),
            )]),
        ),
    ]);
    let environment = C::Map(vec![(
        int(0),
        C::Map(vec![
            (int(1), C::Text("Scute tests".into())),
            (int(2), C::Text("TD".into())),
        ]),
    )]);
    let comid = C::Map(vec![
        (int(1), C::Map(vec![(int(0), C::Text("comid-1".into()))])),
        (
            int(4),
            C::Map(vec![(
                int(0),
                C::Array(vec![C::Array(vec![
                    environment,
                    C::Array(vec![measurement]),
                ])]),
            )]),
        ),
    ]);
    let corim = C::Tag(
        501,
        Box::new(C::Map(vec![
            (int(0), C::Text("corim-1".into())),
            (
                int(1),
                C::Array(vec![C::Tag(506, Box::new(C::Bytes(cbor(&comid))))]),
            ),
            (
                int(3),
                C::Tag(
                    32,
                    Box::new(C::Text("urn:scute:corim:reference-values".into())),
                ),
            ),
        ])),
    );
    let pair = EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8,
    )
    .unwrap();
    let header = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .content_type("application/rim+cbor".to_string())
        .build();
    CoseSign1Builder::new()
        .protected(header)
        .payload(cbor(&corim))
        .create_signature(b"", |tbs| {
            pair.sign(&SystemRandom::new(), tbs)
                .unwrap()
                .as_ref()
                .to_vec()
        })
        .build()
        .to_tagged_vec()
        .unwrap()
}

/// The CoRIM path end to end: a CoRIM signed by the configured signer is stored with
/// `format: corim`, makes the TD affirming and is named in the token; the same CoRIM signed by
/// anyone else is refused and leaves nothing behind.
#[tokio::test]
async fn a_signed_corim_affirms_the_td_and_one_signed_by_a_stranger_is_refused() {
    let h = Harness::start(|_| {}).await;
    let mr_td = hex::decode(&h.mr_td).unwrap();
    let (_, _, stranger) = signer(SIGNER_CN);
    let (status, body) = h.import(signed_corim(&stranger, &mr_td)).await;
    assert_kind(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reference_values_refused",
    );
    assert_eq!(
        h.get("/v1/reference-values/mr_td").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(executables(&h.attest(json!({})).await), 33);

    let document = signed_corim(&h.pkcs8, &mr_td);
    let digest = signed_digest(&document);
    let (status, body) = h.import(document).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["provenance"]["format"], "corim");
    assert_eq!(body["provenance"]["signer"], SIGNER_CN);
    let claims = h.attest(json!({})).await;
    assert_eq!(claims["ear_status"], "affirming", "{claims}");
    assert_eq!(
        claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"]["reference_values"]["mr_td"],
        json!({"value": h.mr_td, "source": format!("signed:{SIGNER_CN}"), "document_digest": digest})
    );
}

/// Trust is the configuration's, now: a document imported while its signer was configured
/// stops counting once the signer is removed, even when the signer put in its place has a
/// certificate with the same CN.
#[tokio::test]
async fn removing_a_signer_removes_its_documents_weight() {
    let h = Harness::start(|_| {}).await;
    let (status, body) = h.import(sign(&h.key, &h.statement(None, None))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(executables(&h.attest(json!({})).await), 2);

    let (_, b_cert, _) = signer(SIGNER_CN);
    let b_path = h.service.dir().join("b.pem");
    std::fs::write(&b_path, b_cert).unwrap();
    let Harness {
        service,
        sim,
        key,
        pkcs8,
        mr_td,
    } = h;
    let service = service
        .restart_with(|c| c.reference_value_signers = vec![b_path])
        .await;
    let h = Harness {
        service,
        sim,
        key,
        pkcs8,
        mr_td,
    };
    assert_eq!(executables(&h.attest(json!({})).await), 33);
    assert_eq!(
        h.get("/v1/reference-values/mr_td").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = h.get("/v1/reference-values").await;
    assert_eq!(list["reference_values"], json!({}), "{list}");
    let document = &list["documents"][0];
    assert_eq!(document["signer"], SIGNER_CN, "{list}");
    assert_eq!(document["in_force"], false, "{list}");
    assert_eq!(document["reason"], "signer_not_trusted", "{list}");
}

#[tokio::test]
async fn two_signers_of_one_name_stop_the_start_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a, _) = signer(SIGNER_CN);
    let (_, b, _) = signer(SIGNER_CN);
    let (a_path, b_path) = (dir.path().join("a.pem"), dir.path().join("b.pem"));
    std::fs::write(&a_path, a).unwrap();
    std::fs::write(&b_path, b).unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        reference_value_signers: vec![a_path.clone(), b_path.clone()],
        ..Config::default()
    };
    let e = match scute_server::start(config).await {
        Ok(_) => panic!("started with two signers named {SIGNER_CN:?}"),
        Err(e) => e.to_string(),
    };
    for path in [&a_path, &b_path] {
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
    assert!(e.contains(SIGNER_CN), "{e}");
}

/// A signer's newer document replaces its older values for the names it carries: an older
/// document (here with a lower `isv_svn_min`) cannot lower the minimum, whichever is imported
/// last.
#[tokio::test]
async fn a_newer_document_of_the_signer_supersedes_an_older_minimum() {
    let h = Harness::start(|_| {}).await;
    let svn = |min: u64, not_before: i64| {
        sign(
            &h.key,
            &statement_for(
                &json!({"isv_svn_min": [min]}),
                Some(rfc3339(not_before).as_str()),
                None,
            ),
        )
    };
    let newer = svn(4, now() - 60);
    let older = svn(1, now() - 3600);
    for document in [newer.clone(), older.clone()] {
        let (status, body) = h.import(document).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        h.get("/v1/reference-values/isv_svn_min").await,
        (StatusCode::OK, json!([4]))
    );
    let (_, list) = h.get("/v1/reference-values").await;
    let older_entry = list["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["document_digest"] == signed_digest(&older))
        .unwrap();
    assert_eq!(older_entry["in_force"], false, "{list}");
    assert_eq!(older_entry["reason"], "superseded", "{list}");
}

/// The same signed content in another envelope (another `keyid`, other whitespace) is the
/// same document: stored once, listed once.
#[tokio::test]
async fn the_same_signed_content_re_enveloped_is_already_stored() {
    let h = Harness::start(|_| {}).await;
    let document = sign(&h.key, &h.statement(None, None));
    let (status, body) = h.import(document.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["already_stored"], false);
    let mut envelope: Value = serde_json::from_slice(&document).unwrap();
    envelope["signatures"][0]["keyid"] = json!("not-the-release-key");
    let twin = serde_json::to_vec_pretty(&envelope).unwrap();
    let (status, body) = h.import(twin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["already_stored"], true, "{body}");
    assert_eq!(
        body["provenance"]["document_digest"],
        signed_digest(&document)
    );
    let (_, list) = h.get("/v1/reference-values").await;
    assert_eq!(list["documents"].as_array().unwrap().len(), 1, "{list}");
}
