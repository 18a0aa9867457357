//! RA-TLS handshakes over loopback TCP between rustls peers whose certificates come from the
//! simulated TEE: accepted, and rejected for each reason a verifier must catch; mutual RA-TLS.

use rcgen::{CertificateParams, CustomExtension, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use scute_dcap::{verify_collateral, Collateral, TcbStatus, TrustAnchor};
use scute_ratls::{
    inspect, issue, AttestedIdentity, CollateralSource, Expectations, IssueOptions, KeyAlgorithm,
    RaTlsVerifier, DICE_EVIDENCE_OID,
};
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const DAY: i64 = 24 * 3600;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn sim() -> Simulator {
    Simulator::new(11, now()).unwrap()
}

fn collateral(
    sim: &Simulator,
    tee: Tee,
    tweak: impl FnOnce(&mut CollateralOptions),
) -> Arc<scute_dcap::VerifiedCollateral> {
    let mut options = CollateralOptions::valid_at(tee, now());
    tweak(&mut options);
    let files = sim.collateral(&options).unwrap();
    let c = Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone()))
        .unwrap();
    Arc::new(
        verify_collateral(
            &c,
            &TrustAnchor::from_certificate(sim.root_ca_pem().as_bytes()).unwrap(),
        )
        .unwrap(),
    )
}

fn identity(sim: &Simulator, tee: Tee, debug: bool) -> AttestedIdentity {
    let version = if tee == Tee::Sgx { 3 } else { 4 };
    issue(
        KeyAlgorithm::P256,
        IssueOptions::default(),
        (now() - 3600, now() + DAY),
        |rd| {
            let mut w = Workload::new(tee, version, *rd);
            w.debug = debug;
            sim.quote(&w).map(|q| q.encode())
        },
    )
    .unwrap()
}

fn key(id: &AttestedIdentity) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_pkcs8_der.clone()))
}

/// Serves one echo connection with `server`; the client verifies with `verifier`. Returns the
/// echoed line, or the client's handshake error text.
async fn handshake(
    server: &AttestedIdentity,
    verifier: Arc<RaTlsVerifier>,
    client_identity: Option<&AttestedIdentity>,
    client_verifier: Option<Arc<RaTlsVerifier>>,
) -> Result<String, String> {
    provider();
    let builder = rustls::ServerConfig::builder();
    let builder = match client_verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let server_config = builder
        .with_single_cert(
            vec![CertificateDer::from(server.cert_der.clone())],
            key(server),
        )
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let Ok(tls) = acceptor.accept(tcp).await else {
            return;
        };
        let (read, mut write) = tokio::io::split(tls);
        let mut line = String::new();
        if BufReader::new(read).read_line(&mut line).await.is_ok() {
            let _ = write.write_all(line.as_bytes()).await;
            let _ = write.shutdown().await;
        }
    });
    let builder = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let client_config = match client_identity {
        Some(id) => builder
            .with_client_auth_cert(vec![CertificateDer::from(id.cert_der.clone())], key(id))
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = TlsConnector::from(Arc::new(client_config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let result = async {
        let mut tls = connector
            .connect(ServerName::try_from("ratls.invalid").unwrap(), tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"hello enclave\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        BufReader::new(tls)
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        Ok(line)
    }
    .await;
    let _ = server_task.await;
    result
}

#[tokio::test]
async fn an_attested_server_is_accepted_and_its_identity_is_readable() {
    let sim = sim();
    let server = identity(&sim, Tee::Tdx, false);
    let mr_td = inspect_report(&server)["mr_td"]
        .as_str()
        .unwrap()
        .to_string();
    let expect = Expectations {
        measurements: vec![("mr_td".into(), mr_td.clone())],
        ..Expectations::default()
    };
    let verifier = RaTlsVerifier::new(collateral(&sim, Tee::Tdx, |_| {}), expect);
    let echoed = handshake(&server, verifier.clone(), None, None)
        .await
        .unwrap();
    assert_eq!(echoed, "hello enclave\n");
    let peer = verifier
        .identity(&server.cert_der)
        .expect("the verified identity is kept");
    assert_eq!(peer.tee, "tdx");
    assert_eq!(peer.format, "dice");
    assert_eq!(peer.tcb_status, TcbStatus::UpToDate);
    assert_eq!(peer.report["mr_td"], mr_td);
}

fn inspect_report(id: &AttestedIdentity) -> serde_json::Value {
    let ev = inspect(&id.cert_der).unwrap();
    let quote = scute_quote::Quote::decode(&ev.bound_evidence().unwrap().quote).unwrap();
    scute_dcap::report_json(&quote.body)
}

#[tokio::test]
async fn a_measurement_mismatch_is_rejected_naming_the_measurement() {
    let sim = sim();
    let server = identity(&sim, Tee::Sgx, false);
    let expect = Expectations {
        measurements: vec![("mr_enclave".into(), "00".repeat(32))],
        ..Expectations::default()
    };
    let err = handshake(
        &server,
        RaTlsVerifier::new(collateral(&sim, Tee::Sgx, |_| {}), expect),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("measurement mr_enclave"), "{err}");
    let expect = Expectations {
        min_isv_svn: Some(9),
        ..Expectations::default()
    };
    let err = handshake(
        &server,
        RaTlsVerifier::new(collateral(&sim, Tee::Sgx, |_| {}), expect),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("isv_svn"), "{err}");
}

#[tokio::test]
async fn a_tcb_status_not_allowed_is_rejected_unless_allowed() {
    let sim = sim();
    let server = identity(&sim, Tee::Tdx, false);
    let c = collateral(&sim, Tee::Tdx, |o| {
        o.tcb_status = "SWHardeningNeeded".into()
    });
    let err = handshake(
        &server,
        RaTlsVerifier::new(c.clone(), Expectations::default()),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("TCB status SWHardeningNeeded is not accepted"),
        "{err}"
    );
    let allow = Expectations {
        accepted_tcb: vec![TcbStatus::UpToDate, TcbStatus::SWHardeningNeeded],
        ..Expectations::default()
    };
    assert!(handshake(&server, RaTlsVerifier::new(c, allow), None, None)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_debug_tee_is_rejected_unless_allowed() {
    let sim = sim();
    let server = identity(&sim, Tee::Tdx, true);
    let c = collateral(&sim, Tee::Tdx, |_| {});
    let err = handshake(
        &server,
        RaTlsVerifier::new(c.clone(), Expectations::default()),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("debug"), "{err}");
    let allow = Expectations {
        allow_debug: true,
        ..Expectations::default()
    };
    assert!(handshake(&server, RaTlsVerifier::new(c, allow), None, None)
        .await
        .is_ok());
}

/// A certificate for `key` carrying `extension` as its DICE evidence.
fn forged(extension: Vec<u8>, key: &KeyPair) -> AttestedIdentity {
    let mut params = CertificateParams::default();
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::hours(24);
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        DICE_EVIDENCE_OID,
        extension,
    )];
    let cert = params.self_signed(key).unwrap();
    AttestedIdentity {
        cert_der: cert.der().to_vec(),
        key_pkcs8_der: key.serialize_der(),
    }
}

fn dice_extension(id: &AttestedIdentity) -> Vec<u8> {
    let (_, cert) = x509_parser::parse_x509_certificate(&id.cert_der).unwrap();
    let oid = x509_parser::der_parser::oid::Oid::from(DICE_EVIDENCE_OID).unwrap();
    cert.extensions()
        .iter()
        .find(|e| e.oid == oid)
        .unwrap()
        .value
        .to_vec()
}

#[tokio::test]
async fn a_key_that_does_not_match_the_pubkey_hash_is_rejected() {
    let sim = sim();
    let genuine = identity(&sim, Tee::Tdx, false);
    // Someone else's key presenting the genuine evidence.
    let thief = forged(
        dice_extension(&genuine),
        &KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap(),
    );
    let err = handshake(
        &thief,
        RaTlsVerifier::new(collateral(&sim, Tee::Tdx, |_| {}), Expectations::default()),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("key binding failed"), "{err}");
}

#[tokio::test]
async fn a_quote_swapped_in_from_another_certificate_is_rejected() {
    let sim = sim();
    let a = identity(&sim, Tee::Tdx, false);
    let b = identity(&sim, Tee::Tdx, false);
    // B's claims (B's key hash) with A's quote.
    let ext_a: ciborium::Value = ciborium::from_reader(dice_extension(&a).as_slice()).unwrap();
    let ext_b: ciborium::Value = ciborium::from_reader(dice_extension(&b).as_slice()).unwrap();
    let parts = |v: &ciborium::Value| match v {
        ciborium::Value::Tag(_, inner) => inner.as_array().unwrap().clone(),
        _ => panic!(),
    };
    let spliced = ciborium::Value::Tag(
        60000,
        Box::new(ciborium::Value::Array(vec![
            parts(&ext_a)[0].clone(),
            parts(&ext_b)[1].clone(),
        ])),
    );
    let mut bytes = Vec::new();
    ciborium::into_writer(&spliced, &mut bytes).unwrap();
    let key_b = KeyPair::try_from(b.key_pkcs8_der.as_slice()).unwrap();
    let cert = forged(bytes, &key_b);
    let err = handshake(
        &cert,
        RaTlsVerifier::new(collateral(&sim, Tee::Tdx, |_| {}), Expectations::default()),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("key binding failed"), "{err}");
}

#[tokio::test]
async fn tampered_cbor_is_rejected() {
    let sim = sim();
    let genuine = identity(&sim, Tee::Tdx, false);
    let mut ext = dice_extension(&genuine);
    ext[0] ^= 0xff;
    let key = KeyPair::try_from(genuine.key_pkcs8_der.as_slice()).unwrap();
    let err = handshake(
        &forged(ext, &key),
        RaTlsVerifier::new(collateral(&sim, Tee::Tdx, |_| {}), Expectations::default()),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("dice evidence is malformed"), "{err}");
    let err = handshake(
        &forged(vec![0xd9, 0xea], &key),
        RaTlsVerifier::new(collateral(&sim, Tee::Tdx, |_| {}), Expectations::default()),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("malformed"), "{err}");
}

#[tokio::test]
async fn expired_collateral_is_rejected() {
    let sim = sim();
    let server = identity(&sim, Tee::Tdx, false);
    let c = collateral(&sim, Tee::Tdx, |o| {
        o.window = (now() - 40 * DAY, now() - 10 * DAY)
    });
    let err = handshake(
        &server,
        RaTlsVerifier::new(c, Expectations::default()),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("expired"), "{err}");
}

#[tokio::test]
async fn mutual_ra_tls() {
    let sim = sim();
    let server = identity(&sim, Tee::Tdx, false);
    let client = identity(&sim, Tee::Sgx, false);
    let server_verifier =
        RaTlsVerifier::new(collateral(&sim, Tee::Sgx, |_| {}), Expectations::default());
    let client_verifier =
        RaTlsVerifier::new(collateral(&sim, Tee::Tdx, |_| {}), Expectations::default());
    let echoed = handshake(
        &server,
        client_verifier.clone(),
        Some(&client),
        Some(server_verifier.clone()),
    )
    .await
    .unwrap();
    assert_eq!(echoed, "hello enclave\n");
    assert_eq!(
        server_verifier.identity(&client.cert_der).unwrap().tee,
        "sgx"
    );
    assert_eq!(
        client_verifier.identity(&server.cert_der).unwrap().tee,
        "tdx"
    );
    // A client without attestation is refused by an RA-TLS server.
    let plain = forged(
        vec![],
        &KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap(),
    );
    let server_verifier =
        RaTlsVerifier::new(collateral(&sim, Tee::Sgx, |_| {}), Expectations::default());
    assert!(handshake(
        &server,
        client_verifier,
        Some(&plain),
        Some(server_verifier)
    )
    .await
    .is_err());
}

#[tokio::test]
async fn collateral_carried_in_the_certificate_needs_no_network() {
    let sim = sim();
    let files = sim
        .collateral(&CollateralOptions::valid_at(Tee::Tdx, now()))
        .unwrap();
    let carried =
        Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone()))
            .unwrap();
    let options = IssueOptions {
        nonce: Some(b"fresh"),
        endorsements: Some(&carried),
    };
    let server = issue(
        KeyAlgorithm::P256,
        options,
        (now() - 3600, now() + DAY),
        |rd| {
            sim.quote(&Workload::new(Tee::Tdx, 4, *rd))
                .map(|q| q.encode())
        },
    )
    .unwrap();
    let inspection = inspect(&server.cert_der).unwrap();
    assert!(inspection.has_endorsements);
    assert_eq!(
        inspection.bound_evidence().unwrap().nonce.as_deref(),
        Some(&b"fresh"[..])
    );
    let root = TrustAnchor::from_certificate(sim.root_ca_pem().as_bytes()).unwrap();
    let verifier = RaTlsVerifier::with_source(
        CollateralSource::Endorsements(vec![root]),
        Expectations::default(),
    );
    assert_eq!(
        handshake(&server, verifier, None, None).await.unwrap(),
        "hello enclave\n"
    );
    // The carried collateral is only as good as its signatures: not under Intel's root.
    let verifier = RaTlsVerifier::with_source(
        CollateralSource::Endorsements(vec![TrustAnchor::intel_sgx_root()]),
        Expectations::default(),
    );
    let err = handshake(&server, verifier, None, None).await.unwrap_err();
    assert!(err.contains("root"), "{err}");
    // A certificate without endorsements cannot be judged that way.
    let plain = identity(&sim, Tee::Tdx, false);
    let root = TrustAnchor::from_certificate(sim.root_ca_pem().as_bytes()).unwrap();
    let verifier = RaTlsVerifier::with_source(
        CollateralSource::Endorsements(vec![root]),
        Expectations::default(),
    );
    assert!(handshake(&plain, verifier, None, None)
        .await
        .unwrap_err()
        .contains("no collateral"));
}

/// `min_tcb_evaluation_data_number`: a peer appraised against older evaluation data than the
/// minimum is refused, at the minimum it is accepted (the simulator's sets are number 17).
#[tokio::test]
async fn collateral_older_than_the_minimum_evaluation_data_number_is_refused() {
    let sim = sim();
    let server = identity(&sim, Tee::Tdx, false);
    let with_minimum = |minimum: u32| Expectations {
        min_tcb_evaluation_data_number: Some(minimum),
        ..Expectations::default()
    };
    let c = collateral(&sim, Tee::Tdx, |_| {});
    handshake(
        &server,
        RaTlsVerifier::new(c.clone(), with_minimum(17)),
        None,
        None,
    )
    .await
    .unwrap();
    let err = handshake(&server, RaTlsVerifier::new(c, with_minimum(18)), None, None)
        .await
        .unwrap_err();
    assert!(
        err.contains("evaluation data number 17 is below the minimum 18"),
        "{err}"
    );
}
