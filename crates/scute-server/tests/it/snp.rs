//! SEV-SNP end to end: a real server on a loopback socket trusting a simulated AMD ARK (passed
//! as `snp_trust_roots`), guests whose reports the simulated firmware signs with a simulated
//! VCEK or VLEK. `/v1/attest` and the key broker (evidence in the form guest-components'
//! SNP attester sends), with the attacks on binding, freshness, chain, debug and init-data.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use reqwest::StatusCode;
use scute_kbs::{runtime_data_digest, FlattenedJwe, HashAlgorithm, TeeKeyPair};
use scute_server::Config;
use scute_sim::amd::{guest_report, AmdPki, Vek, VekKind};
use scute_snp::{Product, Report, TcbVersion};
use scute_test::{now, TestService};
use serde_json::{json, Value};
use std::sync::OnceLock;

const SECRET: &[u8] = b"an SNP guest's disk key";
const TCB: TcbVersion = TcbVersion([4, 0, 0, 0, 0, 0, 0x18, 0xd9]);
const CHIP: [u8; 64] = [0x5a; 64];

/// One simulated AMD PKI per test binary (RSA-4096 keys take seconds to make).
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

fn vlek() -> &'static Vek {
    static VLEK: OnceLock<Vek> = OnceLock::new();
    VLEK.get_or_init(|| {
        pki()
            .issue_vek(&pki().vek_spec(VekKind::Vlek, TCB, Vec::new()))
            .unwrap()
    })
}

struct Server {
    service: TestService,
}

impl std::ops::Deref for Server {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.service
    }
}

impl Server {
    async fn start(trust_sim: bool) -> Self {
        Self::start_with(trust_sim, |_| {}).await
    }

    async fn start_with(trust_sim: bool, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut builder = TestService::builder();
        if trust_sim {
            builder = builder.trust_amd(pki().ark_pem());
        }
        let server = Self {
            service: builder.start_with(tweak).await,
        };
        // The operator's reference value for the guest's launch measurement.
        let r = server
            .http
            .put(format!("{}/v1/reference-values/measurement", server.url))
            .bearer_auth(&server.admin)
            .json(&json!([hex::encode([0x5e; 48])]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        server
    }

    async fn challenge(&self) -> String {
        let r = self
            .http
            .post(format!("{}/v1/challenge", self.url))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["nonce"].as_str().unwrap().to_string()
    }

    async fn attest(&self, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/v1/attest", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn problem_kind(body: &Value) -> String {
    body["type"]
        .as_str()
        .unwrap_or_default()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string()
}

/// report_data for `/v1/attest`: SHA-384 of the runtime data's RFC 8785 form, then zeros.
fn bound(runtime: &Value) -> [u8; 64] {
    scute_test::report_data(runtime)
}

fn signed_report(report_data: [u8; 64], tweak: impl FnOnce(&mut Report)) -> Vec<u8> {
    let mut r = guest_report(Product::Milan, TCB, CHIP, report_data);
    tweak(&mut r);
    let vek = if r.signing_key() == scute_snp::SigningKey::Vlek {
        vlek()
    } else {
        vcek()
    };
    vek.sign(&mut r).unwrap();
    r.encode()
}

fn v1_body(runtime: &Value, report: &[u8], with_certs: bool) -> Value {
    let mut evidence = json!({ "quote": STANDARD.encode(report) });
    if with_certs {
        evidence["vcek"] = json!(STANDARD.encode(&vcek().der));
        evidence["cert_chain"] = json!(STANDARD.encode(pki().cert_chain_pem(VekKind::Vcek)));
    }
    json!({ "tee": "snp", "evidence": evidence, "runtime_data": runtime })
}

#[tokio::test]
async fn an_snp_guest_gets_an_affirming_token_from_v1_attest() {
    let s = Server::start(true).await;
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report(bound(&runtime), |_| {});
    let (status, body) = s.attest(&v1_body(&runtime, &report, true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(body["token"].as_str().unwrap());
    assert_eq!(claims["ear_status"], "affirming", "{claims}");
    let evidence = &claims["submods"]["cpu0"]["ear_veraison_annotated_evidence"];
    assert_eq!(evidence["tee"], "snp");
    assert_eq!(evidence["debug"], false);
    assert_eq!(evidence["report"]["measurement"], hex::encode([0x5e; 48]));
    assert_eq!(evidence["report"]["chip_id"], hex::encode(CHIP));
    assert_eq!(evidence["report"]["reported_tcb"]["microcode"], 0xd9);
    assert_eq!(evidence["report"]["policy"]["debug_allowed"], false);
    assert_eq!(evidence["runtime_data"], runtime);
    // A measurement without a reference value is a warning, not affirming.
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report(bound(&runtime), |r| r.measurement = [1; 48]);
    let (status, body) = s.attest(&v1_body(&runtime, &report, true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims_of(body["token"].as_str().unwrap())["ear_status"],
        "warning"
    );
    // The platforms table: one chip at one reported TCB, its last verdict written at once
    // (it changed), both attestations counted.
    let table: Value = s
        .http
        .get(format!("{}/v1/platforms?tee=snp", s.url))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(table["total"], 1, "{table}");
    let row = &table["platforms"][0];
    assert_eq!(row["platform"], hex::encode(CHIP));
    assert_eq!(row["tcb"]["microcode"], 0xd9);
    assert_eq!(row["tcb_status"], "VekEndorsed");
    assert_eq!(row["ear_status"], "warning");
    assert_eq!(row["attestations"], 2);
    assert_eq!(row["days_behind"], Value::Null);
}

#[tokio::test]
async fn a_debug_snp_guest_is_contraindicated() {
    let s = Server::start(true).await;
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report(bound(&runtime), |r| r.policy |= scute_snp::policy::DEBUG);
    let (status, body) = s.attest(&v1_body(&runtime, &report, true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(body["token"].as_str().unwrap());
    assert_eq!(claims["ear_status"], "contraindicated");
    let vector = &claims["submods"]["cpu0"]["ear_trustworthiness_vector"];
    assert_eq!(vector["hardware"], 96);
}

#[tokio::test]
async fn v1_attest_refuses_unbound_altered_replayed_and_untrusted_snp_evidence() {
    let s = Server::start(true).await;
    // Report data for other runtime data.
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report([3; 64], |_| {});
    let (status, body) = s.attest(&v1_body(&runtime, &report, true)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_kind(&body), "report_data_mismatch");
    // A signed byte changed after signing (the guest SVN).
    let runtime = json!({ "nonce": s.challenge().await });
    let mut report = signed_report(bound(&runtime), |_| {});
    report[4] ^= 1;
    let (status, body) = s.attest(&v1_body(&runtime, &report, true)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(problem_kind(&body), "evidence_rejected");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("report_signature"),
        "{body}"
    );
    // Replay of a good request: the nonce is spent.
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report(bound(&runtime), |_| {});
    let good = v1_body(&runtime, &report, true);
    assert_eq!(s.attest(&good).await.0, StatusCode::OK);
    let (status, body) = s.attest(&good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_kind(&body), "nonce_replayed");
    // No certificates and none stored.
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report(bound(&runtime), |_| {});
    let (status, body) = s.attest(&v1_body(&runtime, &report, false)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_kind(&body), "collateral_missing");

    // A server that does not trust the simulator's ARK.
    let strict = Server::start(false).await;
    let runtime = json!({ "nonce": strict.challenge().await });
    let report = signed_report(bound(&runtime), |_| {});
    let (status, body) = strict.attest(&v1_body(&runtime, &report, true)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"].as_str().unwrap().contains("untrusted_root"),
        "{body}"
    );
}

#[tokio::test]
async fn an_imported_vcek_serves_reports_that_carry_no_certificates() {
    let s = Server::start(true).await;
    let import = |files: Value| {
        let http = s.http.clone();
        let url = format!("{}/v1/collateral", s.url);
        let admin = s.admin.clone();
        async move {
            let r = http
                .post(url)
                .bearer_auth(admin)
                .json(&json!({ "files": files }))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // A VCEK whose chain does not verify is not stored: the AMD Milan chain did not sign it.
    let amd_chain = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors/snp-virtee-milan-vcek/ask_ark_chain.pem"),
    )
    .unwrap();
    let (status, _) = import(json!({
        "vcek.der": STANDARD.encode(&vcek().der),
        "ask_ark_chain.pem": STANDARD.encode(&amd_chain),
    }))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = import(json!({
        "vcek.der": STANDARD.encode(&vcek().der),
        "ask_ark_chain.pem": STANDARD.encode(pki().cert_chain_pem(VekKind::Vcek)),
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tee"], "snp");
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report(bound(&runtime), |_| {});
    let (status, body) = s.attest(&v1_body(&runtime, &report, false)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A report at another TCB finds no stored VCEK.
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report(bound(&runtime), |r| {
        r.reported_tcb = TcbVersion([5, 0, 0, 0, 0, 0, 0x18, 0xd9])
    });
    let (status, body) = s.attest(&v1_body(&runtime, &report, false)).await;
    assert_eq!(problem_kind(&body), "collateral_missing", "{status} {body}");
}

/// The sev crate's serde form of a report (what guest-components' SNP attester serialises).
fn sev_json(raw: &[u8]) -> Value {
    let r = Report::decode(raw).unwrap();
    let tcb = |t: &TcbVersion| json!({ "bootloader": t.0[0], "tee": t.0[1], "_reserved": &t.0[2..6], "snp": t.0[6], "microcode": t.0[7] });
    json!({
        "version": r.version, "guest_svn": r.guest_svn, "policy": r.policy,
        "family_id": r.family_id, "image_id": r.image_id, "vmpl": r.vmpl,
        "sig_algo": r.signature_algo, "current_tcb": tcb(&r.current_tcb),
        "plat_info": r.platform_info, "_author_key_en": r.signer_info,
        "_reserved_0": u32::from_le_bytes(r.reserved_04c),
        "report_data": r.report_data.to_vec(), "measurement": r.measurement.to_vec(),
        "host_data": r.host_data, "id_key_digest": r.id_key_digest.to_vec(),
        "author_key_digest": r.author_key_digest.to_vec(), "report_id": r.report_id,
        "report_id_ma": r.report_id_ma, "reported_tcb": tcb(&r.reported_tcb),
        "_reserved_1": r.bytes_188.to_vec(), "chip_id": r.chip_id.to_vec(),
        "committed_tcb": tcb(&r.committed_tcb),
        "current_build": r.current_version[0], "current_minor": r.current_version[1],
        "current_major": r.current_version[2], "_reserved_2": r.current_version[3],
        "committed_build": r.committed_version[0], "committed_minor": r.committed_version[1],
        "committed_major": r.committed_version[2], "_reserved_3": r.committed_version[3],
        "launch_tcb": tcb(&r.launch_tcb), "_reserved_4": r.bytes_1f8.to_vec(),
        "signature": { "r": r.signature_r.to_vec(), "s": r.signature_s.to_vec(), "_reserved": r.signature_reserved.to_vec() },
    })
}

/// The serde form of sev 6.x (guest-components today): named fields, no reserved bytes.
fn sev6_json(raw: &[u8]) -> Value {
    let r = Report::decode(raw).unwrap();
    let tcb = |t: &TcbVersion| json!({ "fmc": null, "bootloader": t.0[0], "tee": t.0[1], "snp": t.0[6], "microcode": t.0[7] });
    let version = |v: &[u8; 4]| json!({ "major": v[2], "minor": v[1], "build": v[0] });
    let (family, model, step) = r.cpuid().unwrap();
    json!({
        "version": r.version, "guest_svn": r.guest_svn, "policy": r.policy,
        "family_id": r.family_id, "image_id": r.image_id, "vmpl": r.vmpl,
        "sig_algo": r.signature_algo, "current_tcb": tcb(&r.current_tcb),
        "plat_info": r.platform_info, "key_info": r.signer_info,
        "report_data": r.report_data.to_vec(), "measurement": r.measurement.to_vec(),
        "host_data": r.host_data, "id_key_digest": r.id_key_digest.to_vec(),
        "author_key_digest": r.author_key_digest.to_vec(), "report_id": r.report_id,
        "report_id_ma": r.report_id_ma, "reported_tcb": tcb(&r.reported_tcb),
        "cpuid_fam_id": family, "cpuid_mod_id": model, "cpuid_step": step,
        "chip_id": r.chip_id.to_vec(), "committed_tcb": tcb(&r.committed_tcb),
        "current": version(&r.current_version), "committed": version(&r.committed_version),
        "launch_tcb": tcb(&r.launch_tcb), "launch_mit_vector": null, "current_mit_vector": null,
        "signature": { "r": r.signature_r.to_vec(), "s": r.signature_s.to_vec() },
    })
}

#[tokio::test]
async fn the_sev_6_evidence_form_is_reassembled_into_the_signed_bytes() {
    let s = Server::start(true).await;
    put_secret(&s).await;
    let guest = Guest::new();
    let nonce = guest.nonce(&s).await;
    let report = signed_report(guest.report_data(&nonce), |_| {});
    let mut body = guest.body(&nonce, &report, vcek(), VekKind::Vcek);
    body["tee-evidence"]["primary_evidence"]["attestation_report"] = sev6_json(&report);
    let (status, answer) = guest.post(&s, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(guest.get(&s).await.status(), StatusCode::OK);
    // A changed field in that form fails the signature.
    let guest = Guest::new();
    let nonce = guest.nonce(&s).await;
    let report = signed_report(guest.report_data(&nonce), |_| {});
    let mut body = guest.body(&nonce, &report, vcek(), VekKind::Vcek);
    let mut form = sev6_json(&report);
    form["guest_svn"] = json!(2);
    body["tee-evidence"]["primary_evidence"]["attestation_report"] = form;
    let (status, answer) = guest.post(&s, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(problem_kind(&answer), "evidence_rejected");
}

/// A KBS guest: cookie-keeping client and in-memory key.
struct Guest {
    http: reqwest::Client,
    key: TeeKeyPair,
}

impl Guest {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            key: TeeKeyPair::generate().unwrap(),
        }
    }

    async fn nonce(&self, s: &Server) -> String {
        let r = self
            .http
            .post(format!("{}/kbs/v0/auth", s.url))
            .json(&json!({ "version": "0.4.0", "tee": "snp", "extra-params": {} }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let c: kbs_types::Challenge = r.json().await.unwrap();
        c.nonce
    }

    fn report_data(&self, nonce: &str) -> [u8; 64] {
        let d =
            runtime_data_digest(HashAlgorithm::Sha384, nonce, &self.key.public_jwk(), "").unwrap();
        let mut rd = [0u8; 64];
        rd[..48].copy_from_slice(&d);
        rd
    }

    fn body(&self, nonce: &str, report: &[u8], vek: &Vek, kind: VekKind) -> Value {
        let chain = pki().cert_chain_pem(kind);
        let ders: Vec<Vec<u8>> = chain
            .split("-----END CERTIFICATE-----")
            .filter(|b| b.contains("BEGIN"))
            .map(|b| {
                let b64: String = b
                    .lines()
                    .filter(|l| !l.starts_with("-----") && !l.is_empty())
                    .collect();
                STANDARD.decode(b64).unwrap()
            })
            .collect();
        let vek_type = if kind == VekKind::Vlek {
            "VLEK"
        } else {
            "VCEK"
        };
        json!({
            "runtime-data": { "nonce": nonce, "tee-pubkey": self.key.public_jwk() },
            "tee-evidence": {
                "primary_evidence": {
                    "attestation_report": sev_json(report),
                    "cert_chain": [
                        { "cert_type": vek_type, "data": vek.der },
                        { "cert_type": "ASK", "data": ders[0] },
                        { "cert_type": "ARK", "data": ders[1] },
                    ],
                },
                "additional_evidence": "",
            },
        })
    }

    async fn post(&self, s: &Server, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/kbs/v0/attest", s.url))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, s: &Server) -> reqwest::Response {
        self.http
            .get(format!("{}/kbs/v0/resource/default/key/disk", s.url))
            .send()
            .await
            .unwrap()
    }
}

async fn put_secret(s: &Server) {
    let r = s
        .http
        .post(format!("{}/kbs/v0/resource/default/key/disk", s.url))
        .bearer_auth(&s.admin)
        .body(SECRET.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_snp_guest_gets_its_secret_from_the_key_broker() {
    let s = Server::start(true).await;
    put_secret(&s).await;
    for kind in [VekKind::Vcek, VekKind::Vlek] {
        let guest = Guest::new();
        let nonce = guest.nonce(&s).await;
        let report = signed_report(guest.report_data(&nonce), |r| {
            if kind == VekKind::Vlek {
                r.signer_info = 1 << 2;
                r.chip_id = [0; 64];
            }
        });
        let vek = if kind == VekKind::Vlek {
            vlek()
        } else {
            vcek()
        };
        let (status, body) = guest
            .post(&s, &guest.body(&nonce, &report, vek, kind))
            .await;
        assert_eq!(status, StatusCode::OK, "{kind:?}: {body}");
        let claims = claims_of(body["token"].as_str().unwrap());
        assert_eq!(claims["ear_status"], "affirming", "{claims}");
        let response = guest.get(&s).await;
        assert_eq!(response.status(), StatusCode::OK);
        let jwe: FlattenedJwe = response.json().await.unwrap();
        assert_eq!(guest.key.decrypt(&jwe).unwrap(), SECRET);
    }
}

#[tokio::test]
async fn the_key_broker_refuses_replayed_unbound_debug_and_wrong_init_data_snp_guests() {
    let s = Server::start(true).await;
    put_secret(&s).await;
    // Replay: the same attestation twice on one session.
    let guest = Guest::new();
    let nonce = guest.nonce(&s).await;
    let report = signed_report(guest.report_data(&nonce), |_| {});
    let body = guest.body(&nonce, &report, vcek(), VekKind::Vcek);
    assert_eq!(guest.post(&s, &body).await.0, StatusCode::OK);
    let (status, problem) = guest.post(&s, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_kind(&problem), "nonce_replayed");
    // The same evidence replayed on a new session: its report_data binds the old nonce.
    let thief = Guest::new();
    let fresh = thief.nonce(&s).await;
    let mut stolen = body.clone();
    stolen["runtime-data"]["nonce"] = json!(fresh);
    let (status, problem) = thief.post(&s, &stolen).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_kind(&problem), "report_data_mismatch");
    assert_eq!(thief.get(&s).await.status(), StatusCode::UNAUTHORIZED);
    // A reserved byte of the report changed in the JSON form: the signature fails.
    let guest = Guest::new();
    let nonce = guest.nonce(&s).await;
    let report = signed_report(guest.report_data(&nonce), |_| {});
    let mut body = guest.body(&nonce, &report, vcek(), VekKind::Vcek);
    body["tee-evidence"]["primary_evidence"]["attestation_report"]["reported_tcb"]["_reserved"]
        [0] = json!(1);
    let (status, problem) = guest.post(&s, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert_eq!(problem_kind(&problem), "evidence_rejected");
    // A member the layout does not know is refused, not dropped.
    let nonce = guest.nonce(&s).await;
    let report = signed_report(guest.report_data(&nonce), |_| {});
    let mut body = guest.body(&nonce, &report, vcek(), VekKind::Vcek);
    body["tee-evidence"]["primary_evidence"]["attestation_report"]["extra"] = json!(0);
    assert_eq!(guest.post(&s, &body).await.0, StatusCode::BAD_REQUEST);
    // A debug guest attests but gets nothing.
    let guest = Guest::new();
    let nonce = guest.nonce(&s).await;
    let report = signed_report(guest.report_data(&nonce), |r| {
        r.policy |= scute_snp::policy::DEBUG
    });
    let (status, body) = guest
        .post(&s, &guest.body(&nonce, &report, vcek(), VekKind::Vcek))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(guest.get(&s).await.status(), StatusCode::FORBIDDEN);
    // Init-data is bound by HOST_DATA: the right digest passes, another one fails.
    let toml = "algorithm = \"sha256\"\nversion = \"0.1.0\"\n\n[data]\n\"aa.toml\" = \"url = 'http://kbs'\"\n";
    let digest = HashAlgorithm::Sha256.digest(toml.as_bytes());
    for (sent, ok) in [
        (toml.to_string(), true),
        (toml.replace("http://kbs", "http://evil"), false),
    ] {
        let guest = Guest::new();
        let nonce = guest.nonce(&s).await;
        let report = signed_report(guest.report_data(&nonce), |r| {
            r.host_data.copy_from_slice(&digest)
        });
        let mut body = guest.body(&nonce, &report, vcek(), VekKind::Vcek);
        body["init-data"] = json!({ "format": "toml", "body": sent });
        let (status, problem) = guest.post(&s, &body).await;
        if ok {
            assert_eq!(status, StatusCode::OK, "{problem}");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(problem_kind(&problem), "init_data_mismatch");
        }
    }
}

/// A KDS-compatible server: VCEKs by hwid and TCB query, the cert_chain; counts its answers.
async fn fake_kds(
    vcek_der: Vec<u8>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    use axum::extract::{Path, RawQuery};
    use axum::response::IntoResponse;
    let chain = pki().cert_chain_pem(VekKind::Vcek);
    let app = axum::Router::new().route(
        "/vcek/v1/{product}/{hwid}",
        axum::routing::get(
            move |Path((product, hwid)): Path<(String, String)>, RawQuery(query): RawQuery| {
                let (vcek_der, chain, hits) = (vcek_der.clone(), chain.clone(), hits.clone());
                async move {
                    if product != "Milan" {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                    if hwid == "cert_chain" {
                        return chain.into_response();
                    }
                    let want = "blSPL=04&teeSPL=00&snpSPL=24&ucodeSPL=217";
                    if hwid != hex::encode(CHIP) || query.as_deref() != Some(want) {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                    hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    vcek_der.into_response()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_missing_vcek_is_fetched_from_the_kds_verified_and_only_then_cached() {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let kds = fake_kds(vcek().der.clone(), hits.clone()).await;
    let s = Server::start_with(true, |c| c.snp_kds_url = Some(kds)).await;
    for round in 0..2 {
        let runtime = json!({ "nonce": s.challenge().await });
        let report = signed_report(bound(&runtime), |_| {});
        let (status, body) = s.attest(&v1_body(&runtime, &report, false)).await;
        assert_eq!(status, StatusCode::OK, "round {round}: {body}");
    }
    // The second report was served from the store.
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A KDS that answers with another chip's VCEK: the report does not verify, nothing is kept.
    let other = pki()
        .issue_vek(&pki().vek_spec(VekKind::Vcek, TCB, vec![0x77; 64]))
        .unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let kds = fake_kds(other.der.clone(), hits.clone()).await;
    let s = Server::start_with(true, |c| c.snp_kds_url = Some(kds)).await;
    for _ in 0..2 {
        let runtime = json!({ "nonce": s.challenge().await });
        let report = signed_report(bound(&runtime), |_| {});
        let (status, body) = s.attest(&v1_body(&runtime, &report, false)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem_kind(&body), "evidence_rejected", "{body}");
    }
    // Asked once: its answer is remembered for upstream_negative_cache_secs (in memory, never
    // stored), so the second report is refused without asking AMD again.
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn one_scute_serves_its_verified_vceks_to_another_as_a_kds() {
    // The first service holds an imported VCEK and its chain.
    let upstream = Server::start(true).await;
    let r = upstream
        .http
        .post(format!("{}/v1/collateral", upstream.url))
        .bearer_auth(&upstream.admin)
        .json(&json!({ "files": {
            "vcek.der": STANDARD.encode(&vcek().der),
            "ask_ark_chain.pem": STANDARD.encode(pki().cert_chain_pem(VekKind::Vcek)),
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let got = upstream
        .http
        .get(format!(
            "{}/vcek/v1/Milan/{}?blSPL=04&teeSPL=00&snpSPL=24&ucodeSPL=217",
            upstream.url,
            hex::encode(CHIP)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), vcek().der.as_slice());
    let missing = upstream
        .http
        .get(format!(
            "{}/vcek/v1/Milan/{}?blSPL=05&teeSPL=00&snpSPL=24&ucodeSPL=217",
            upstream.url,
            hex::encode(CHIP)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The second fetches from it on a miss.
    let url = upstream.url.clone();
    let s = Server::start_with(true, |c| c.snp_kds_url = Some(url)).await;
    let runtime = json!({ "nonce": s.challenge().await });
    let report = signed_report(bound(&runtime), |_| {});
    let (status, body) = s.attest(&v1_body(&runtime, &report, false)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The collateral listener (`pccs_listen`) serves the KDS routes too, not only the PCCS ones:
/// an operator who points other services at the collateral port gets their VCEKs there.
#[tokio::test]
async fn the_collateral_listener_serves_the_kds_routes() {
    let s = Server::start_with(true, |c| c.pccs_listen = Some("127.0.0.1:0".into())).await;
    let r = s
        .http
        .post(format!("{}/v1/collateral", s.url))
        .bearer_auth(&s.admin)
        .json(&json!({ "files": {
            "vcek.der": STANDARD.encode(&vcek().der),
            "ask_ark_chain.pem": STANDARD.encode(pki().cert_chain_pem(VekKind::Vcek)),
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let collateral_url = s.pccs_url.clone().expect("pccs_listen is bound");
    let got = s
        .http
        .get(format!(
            "{collateral_url}/vcek/v1/Milan/{}?blSPL=04&teeSPL=00&snpSPL=24&ucodeSPL=217",
            hex::encode(CHIP)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), vcek().der.as_slice());
    let chain = s
        .http
        .get(format!("{collateral_url}/vcek/v1/Milan/cert_chain"))
        .send()
        .await
        .unwrap();
    assert_eq!(chain.status(), StatusCode::OK);
    // The service API stays off the collateral port.
    let attest = s
        .http
        .post(format!("{collateral_url}/v1/challenge"))
        .send()
        .await
        .unwrap();
    assert_eq!(attest.status(), StatusCode::NOT_FOUND);
}

/// What the default policy will not affirm although the chain verifies: a report from above
/// VMPL 0 (the guest OS under an SVSM or paravisor asking for its own report data), and a TCB
/// below the operator's minimum (AMD's KDS certifies old, vulnerable TCBs too).
#[tokio::test]
async fn a_report_above_vmpl0_or_below_the_minimum_tcb_is_not_affirming() {
    let s = Server::start(true).await;
    let verdict = |claims: Value| {
        (
            claims["ear_status"].as_str().unwrap().to_string(),
            claims["submods"]["cpu0"]["ear_trustworthiness_vector"]["hardware"].clone(),
        )
    };
    let attest = |tweak: fn(&mut Report)| {
        let s = &s;
        async move {
            let runtime = json!({ "nonce": s.challenge().await });
            let report = signed_report(bound(&runtime), tweak);
            let (status, body) = s.attest(&v1_body(&runtime, &report, true)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            claims_of(body["token"].as_str().unwrap())
        }
    };
    let (status, hardware) = verdict(attest(|r| r.vmpl = 2).await);
    assert_eq!((status.as_str(), hardware), ("warning", json!(32)));

    let set_minimum = |minimum: Value| {
        let s = &s;
        async move {
            let r = s
                .http
                .put(format!("{}/v1/reference-values/snp_min_tcb", s.url))
                .bearer_auth(&s.admin)
                .json(&json!([minimum]))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        }
    };
    // The simulated platform's TCB is snp 0x18, microcode 0xd9.
    set_minimum(json!({"snp": 0x19})).await;
    let (status, hardware) = verdict(attest(|_| {}).await);
    assert_eq!((status.as_str(), hardware), ("warning", json!(32)));
    set_minimum(json!({"snp": 0x18, "microcode": 0xd9, "bootloader": 4})).await;
    let (status, hardware) = verdict(attest(|_| {}).await);
    assert_eq!((status.as_str(), hardware), ("affirming", json!(2)));
}

/// The operator's launch-TCB and mitigation-vector minimums (docs/tcb-baselines.md): a guest
/// launched on an older TCB than `snp_min_launch_tcb`, or whose v5 report's current
/// mitigation vector lacks a bit of `snp_min_mit_vector` (or that has none: a v3 report), is a
/// warning; at the minimums it is affirming. The claims carry the launch and current values.
#[tokio::test]
async fn a_launch_tcb_or_mitigation_vector_below_the_minimum_is_a_warning() {
    let s = Server::start(true).await;
    // Launched on bootloader 2 (the reported TCB's is 4); mitigations 0b0101 now, 0b0001 at
    // launch. A v3 report carries no mitigation vectors.
    let attest = |v5: bool| {
        let s = &s;
        async move {
            let runtime = json!({ "nonce": s.challenge().await });
            let report = signed_report(bound(&runtime), |r| {
                r.launch_tcb = TcbVersion([2, 0, 0, 0, 0, 0, 0x18, 0xd9]);
                if v5 {
                    r.version = 5;
                    r.bytes_1f8[..8].copy_from_slice(&1u64.to_le_bytes());
                    r.bytes_1f8[8..16].copy_from_slice(&0b101u64.to_le_bytes());
                }
            });
            let (status, body) = s.attest(&v1_body(&runtime, &report, true)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let claims = claims_of(body["token"].as_str().unwrap());
            let cpu0 = &claims["submods"]["cpu0"];
            let report = &cpu0["ear_veraison_annotated_evidence"]["report"];
            assert_eq!(report["launch_tcb"]["bootloader"], 2, "{report}");
            assert_eq!(report["reported_tcb"]["bootloader"], 4, "{report}");
            if v5 {
                assert_eq!(report["launch_mit_vector"], "0x1", "{report}");
                assert_eq!(report["current_mit_vector"], "0x5", "{report}");
            } else {
                assert!(report.get("current_mit_vector").is_none(), "{report}");
            }
            (
                claims["ear_status"].as_str().unwrap().to_string(),
                cpu0["ear_trustworthiness_vector"]["hardware"].clone(),
            )
        }
    };
    let put = |name: &'static str, values: Value| {
        let s = &s;
        async move {
            let r = s
                .http
                .put(format!("{}/v1/reference-values/{name}", s.url))
                .bearer_auth(&s.admin)
                .json(&values)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "{name} {values}");
        }
    };
    let affirming = ("affirming".to_string(), json!(2));
    let warning = ("warning".to_string(), json!(32));
    assert_eq!(attest(true).await, affirming);
    // The launch TCB: a minimum one above it, then at it.
    put("snp_min_launch_tcb", json!([{"bootloader": 3}])).await;
    assert_eq!(attest(true).await, warning);
    put(
        "snp_min_launch_tcb",
        json!([{"bootloader": 2, "snp": 0x18}]),
    )
    .await;
    assert_eq!(attest(true).await, affirming);
    // The current mitigation vector: a bit missing, then every bit of the minimum set.
    put("snp_min_mit_vector", json!([0b111])).await;
    assert_eq!(attest(true).await, warning);
    put("snp_min_mit_vector", json!([0b101])).await;
    assert_eq!(attest(true).await, affirming);
    // A report without mitigation vectors fails the minimum.
    assert_eq!(attest(false).await, warning);
}
