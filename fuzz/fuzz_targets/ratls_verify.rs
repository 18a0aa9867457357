//! An RA-TLS peer certificate end to end: `verify_peer` and the rustls verifiers (server and
//! client side) on hostile certificate bytes, with verified collateral (real Intel sets and a
//! simulated PKI) and with the endorsements the certificate carries. Never panics; the three
//! entry points agree; an accepted key is one a genuine quote binds, with the verdict that
//! quote gets from the collateral on its own.
#![no_main]

use aws_lc_rs::digest::{digest, SHA256};
use ciborium::value::Value as Cbor;
use libfuzzer_sys::fuzz_target;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use scute_dcap::{verify_collateral, Collateral, TcbStatus, TrustAnchor, VerifiedCollateral};
use scute_fuzz::{cases, dcap_cases, read, seed, verdict};
use scute_quote::Quote;
use scute_ratls::{
    inspect, issue, verify_peer, CollateralSource, Expectations, IssueOptions, KeyAlgorithm,
    PeerIdentity, RaTlsVerifier,
};
use scute_sim::{CollateralOptions, Simulator, Tee, Workload};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use x509_parser::prelude::{FromDer, X509Certificate};

/// When the simulated PKI, its collateral and its RA-TLS certificates are made and judged.
const SIM_TIME: i64 = 1_750_000_000;

struct Source {
    name: String,
    source: CollateralSource,
    /// The collateral the quote is judged against on its own (the oracle), when fixed.
    verified: Option<Arc<VerifiedCollateral>>,
    verifier: Arc<RaTlsVerifier>,
    at: i64,
}

struct Fixture {
    sources: Vec<Source>,
    /// (signed bytes of a real vector's quote, SPKI DER of the certificate it came in).
    bindings: HashSet<(Vec<u8>, Vec<u8>)>,
    sim_certs: Vec<(String, Vec<u8>)>,
}

fn lenient() -> Expectations {
    Expectations {
        accepted_tcb: TcbStatus::ALL.to_vec(),
        allow_debug: true,
        ..Expectations::default()
    }
}

fn spki(cert_der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    Some(cert.public_key().raw.to_vec())
}

fn signed_bytes(quote: &[u8]) -> Option<Vec<u8>> {
    Quote::decode(quote).ok().map(|q| q.signed_bytes())
}

fn simulated() -> (Vec<Source>, Vec<(String, Vec<u8>)>) {
    let sim = Simulator::new(7, SIM_TIME).expect("simulator");
    let anchor = TrustAnchor::from_certificate(sim.root_ca_der()).expect("simulated root");
    let mut sources = Vec::new();
    let mut certs = Vec::new();
    for (tee, version) in [(Tee::Sgx, 3), (Tee::Tdx, 4)] {
        let files = sim
            .collateral(&CollateralOptions::valid_at(tee, SIM_TIME))
            .expect("simulated collateral");
        let collateral =
            Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone()))
                .expect("simulated collateral files");
        let verified = Arc::new(verify_collateral(&collateral, &anchor).expect("sim collateral"));
        for endorsed in [false, true] {
            let options = IssueOptions {
                endorsements: endorsed.then_some(&collateral),
                ..IssueOptions::default()
            };
            let id = issue(
                KeyAlgorithm::P256,
                options,
                (SIM_TIME - 3600, SIM_TIME + 24 * 3600),
                |rd| {
                    sim.quote(&Workload::new(tee, version, *rd))
                        .map(|q| q.encode())
                },
            )
            .expect("simulated RA-TLS certificate");
            certs.push((format!("sim-{tee:?}-{endorsed}"), id.cert_der));
        }
        sources.push(Source {
            name: format!("sim-{tee:?}"),
            verifier: RaTlsVerifier::new(verified.clone(), lenient()),
            source: CollateralSource::Verified(verified.clone()),
            verified: Some(verified),
            at: SIM_TIME,
        });
    }
    let endorsements = CollateralSource::Endorsements(vec![anchor, TrustAnchor::intel_sgx_root()]);
    sources.push(Source {
        name: "sim-endorsements".into(),
        verifier: RaTlsVerifier::with_source(endorsements.clone(), lenient()),
        source: endorsements,
        verified: None,
        at: SIM_TIME,
    });
    (sources, certs)
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut bindings = HashSet::new();
        for case in cases(|n| n.starts_with("ratls-")) {
            let der = read(&case, "cert.der").expect("cert.der");
            let (Some(key), Ok(inspection)) = (spki(&der), inspect(&der)) else {
                continue;
            };
            for e in &inspection.evidence {
                if let Some(signed) = signed_bytes(&e.quote) {
                    bindings.insert((signed, key.clone()));
                }
            }
        }
        let (mut sources, sim_certs) = simulated();
        // Real collateral for the platforms of the real certificates (dstack's is B0C06F000000).
        for case in dcap_cases()
            .into_iter()
            .filter(|c| ["dcapqvl-tdx-v4", "dcapqvl-sgx-v3"].contains(&c.name.as_str()))
        {
            let verified = Arc::new(case.verified);
            sources.push(Source {
                name: case.name,
                verifier: RaTlsVerifier::new(verified.clone(), lenient()),
                source: CollateralSource::Verified(verified.clone()),
                verified: Some(verified),
                at: case.at,
            });
        }
        Fixture {
            sources,
            bindings,
            sim_certs,
        }
    })
}

/// The CCC rule, checked here on its own: the DICE extension holds `60000([quote, claims])`,
/// the claims' pubkey-hash is [sha-256, SHA-256(SPKI)] and report_data[0..32] is
/// SHA-256(claims). Simulated quotes are signed afresh each run, so their bindings cannot be
/// listed in advance as the real ones are.
fn dice_binds(der: &[u8], quote: &[u8]) -> bool {
    let sha256 = |b: &[u8]| digest(&SHA256, b).as_ref().to_vec();
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return false;
    };
    let Some(ext) = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "2.23.133.5.4.9")
    else {
        return false;
    };
    let Ok(Cbor::Tag(60000, inner)) = ciborium::from_reader::<Cbor, _>(ext.value) else {
        return false;
    };
    let Cbor::Array(items) = *inner else {
        return false;
    };
    let [Cbor::Bytes(carried), Cbor::Bytes(claims), ..] = items.as_slice() else {
        return false;
    };
    let Ok(Cbor::Map(entries)) = ciborium::from_reader::<Cbor, _>(claims.as_slice()) else {
        return false;
    };
    let Some(Cbor::Bytes(entry)) = entries
        .iter()
        .find(|(k, _)| k.as_text() == Some("pubkey-hash"))
        .map(|(_, v)| v)
    else {
        return false;
    };
    let Ok(Cbor::Array(pair)) = ciborium::from_reader::<Cbor, _>(entry.as_slice()) else {
        return false;
    };
    let expected = [
        Cbor::Integer(1.into()),
        Cbor::Bytes(sha256(cert.public_key().raw)),
    ];
    carried == quote
        && pair == expected
        && Quote::decode(quote).is_ok_and(|q| q.report_data()[..32] == sha256(claims)[..])
}

fn check(source: &Source, der: &[u8], identity: &PeerIdentity) {
    let inspection = inspect(der).expect("an accepted certificate inspects");
    let evidence = inspection
        .bound_evidence()
        .expect("an accepted key is bound");
    let signed = signed_bytes(&evidence.quote).expect("an accepted quote decodes");
    let key = spki(der).expect("an accepted certificate parses");
    let genuine = fixture().bindings.contains(&(signed, key));
    let simulated = source.name.starts_with("sim-") && dice_binds(der, &evidence.quote);
    assert!(
        genuine || simulated,
        "{}: accepted a key that no genuine quote binds",
        source.name
    );
    if let Some(verified) = &source.verified {
        assert_eq!(
            verdict(verified, &evidence.quote, source.at),
            Ok(format!("{:?}", identity.tcb_status)),
            "{}: the peer's status is not its quote's",
            source.name
        );
    }
}

fuzz_target!(
    init: {
        let f = fixture();
        // The accepting branch is reachable: each simulated certificate passes some source,
        // and the endorsed ones pass on their own endorsements.
        for (name, der) in &f.sim_certs {
            let quote = &inspect(der).expect("simulated certificate").evidence[0].quote;
            assert!(dice_binds(der, quote), "{name}: the CCC rule check rejects it");
            let accepted: Vec<&str> = f
                .sources
                .iter()
                .filter(|s| verify_peer(der, &s.source, &lenient(), s.at).is_ok())
                .map(|s| s.name.as_str())
                .collect();
            assert!(!accepted.is_empty(), "{name} is accepted nowhere");
            if name.ends_with("-true") {
                assert!(accepted.contains(&"sim-endorsements"), "{name}: {accepted:?}");
            }
        }
        let mut seeds: Vec<(String, Vec<u8>)> = cases(|n| n.starts_with("ratls-"))
            .into_iter()
            .filter_map(|c| Some((c.clone(), read(&c, "cert.der")?)))
            .collect();
        seeds.extend(f.sim_certs.iter().cloned());
        seed(seeds);
    },
    |data: &[u8]| {
        let f = fixture();
        let cert = CertificateDer::from(data);
        let name = ServerName::try_from("peer.example").expect("server name");
        for source in &f.sources {
            let peer = verify_peer(data, &source.source, &lenient(), source.at);
            let now = UnixTime::since_unix_epoch(Duration::from_secs(source.at.unsigned_abs()));
            let server = source.verifier.verify_server_cert(&cert, &[], &name, &[], now);
            assert_eq!(server.is_ok(), peer.is_ok(), "{}: server verifier disagrees", source.name);
            let client = source.verifier.verify_client_cert(&cert, &[], now);
            assert_eq!(client.is_ok(), peer.is_ok(), "{}: client verifier disagrees", source.name);
            if let Ok(identity) = &peer {
                assert_eq!(
                    source.verifier.identity(data).as_ref(),
                    Some(identity),
                    "{}: the verifier kept another identity",
                    source.name
                );
                check(source, data, identity);
            }
        }
    }
);
