//! Accepting a peer: its certificate binds its key to a quote; the quote verifies (scute-dcap,
//! warm collateral); its TCB status is one the application accepts; its measurements are the
//! expected ones. As rustls `ServerCertVerifier` and `ClientCertVerifier`, which keep the
//! verified identity of each peer certificate for the application to read after the handshake.

use crate::evidence::inspect;
use crate::RaTlsError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};
use scute_dcap::{
    report_json, verify_collateral, TcbStatus, TrustAnchor, VerifiedCollateral, VerifyOptions,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the application expects of a peer.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Report fields that must equal these values (hex for byte fields): mr_enclave, mr_signer,
    /// mr_td, rtmr0..rtmr3, ...
    pub measurements: Vec<(String, String)>,
    pub isv_prod_id: Option<u16>,
    pub min_isv_svn: Option<u16>,
    /// TCB statuses accepted (UpToDate by default).
    pub accepted_tcb: Vec<TcbStatus>,
    pub allow_debug: bool,
    /// The oldest TCB evaluation data the peer may be appraised against (the lower of its TCB
    /// Info's and QE Identity's numbers): a peer carrying its own collateral can otherwise
    /// pick an old, still-valid set in which its level was current.
    pub min_tcb_evaluation_data_number: Option<u32>,
}

impl Default for Expectations {
    fn default() -> Self {
        Self {
            measurements: Vec::new(),
            isv_prod_id: None,
            min_isv_svn: None,
            accepted_tcb: vec![TcbStatus::UpToDate],
            allow_debug: false,
            min_tcb_evaluation_data_number: None,
        }
    }
}

/// The verified identity of a peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerIdentity {
    pub tee: &'static str,
    pub format: &'static str,
    pub tcb_status: TcbStatus,
    pub advisory_ids: Vec<String>,
    /// The host can read or observe the peer (scute-dcap's one debug rule); only ever true
    /// when `Expectations::allow_debug` let it through.
    pub debug: bool,
    /// The quote's report body (scute-dcap's JSON field names).
    pub report: Value,
}

/// Finds the collateral a peer's quote needs once the quote is known (its FMSPC and PCK CA
/// are only learnt in the handshake): a collateral service, a cache. What it returns must
/// already be verified against the application's trust roots.
pub trait CollateralLookup: Send + Sync {
    /// Verified collateral for this quote, or why there is none.
    fn collateral_for(&self, quote: &[u8]) -> Result<Arc<VerifiedCollateral>, String>;
}

/// Where the collateral for a peer's quote comes from.
#[derive(Clone)]
pub enum CollateralSource {
    /// Collateral verified beforehand (a directory, a collateral service).
    Verified(Arc<VerifiedCollateral>),
    /// The peer certificate's endorsements extension, authenticated against these roots.
    Endorsements(Vec<TrustAnchor>),
    /// Looked up for the peer's quote (e.g. fetched from a PCCS and verified).
    Lookup(Arc<dyn CollateralLookup>),
}

impl std::fmt::Debug for CollateralSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Verified(c) => f.debug_tuple("Verified").field(c).finish(),
            Self::Endorsements(a) => f.debug_tuple("Endorsements").field(a).finish(),
            Self::Lookup(_) => f.write_str("Lookup"),
        }
    }
}

/// The first anchor under which the collateral verifies.
fn verify_carried(
    carried: &scute_dcap::Collateral,
    anchors: &[TrustAnchor],
) -> Result<VerifiedCollateral, RaTlsError> {
    let mut last = scute_dcap::DcapError::UntrustedRoot {
        item: "endorsements",
    };
    for anchor in anchors {
        match verify_collateral(carried, anchor) {
            Ok(v) => return Ok(v),
            Err(e) => last = e,
        }
    }
    Err(RaTlsError::Quote(last))
}

/// Verifies a peer certificate at `now`: binding, quote, TCB, measurements.
pub fn verify_peer(
    cert_der: &[u8],
    source: &CollateralSource,
    expect: &Expectations,
    now: i64,
) -> Result<PeerIdentity, RaTlsError> {
    let inspection = inspect(cert_der)?;
    if now < inspection.not_before || now > inspection.not_after {
        return Err(RaTlsError::Expired);
    }
    let evidence = inspection.bound_evidence().ok_or(RaTlsError::KeyNotBound)?;
    let from_certificate;
    let looked_up;
    let collateral: &VerifiedCollateral = match source {
        CollateralSource::Verified(c) => c,
        CollateralSource::Endorsements(anchors) => {
            let carried = inspection
                .endorsements
                .as_ref()
                .ok_or(RaTlsError::NoEndorsements)?;
            from_certificate = verify_carried(carried, anchors)?;
            &from_certificate
        }
        CollateralSource::Lookup(lookup) => {
            looked_up = lookup
                .collateral_for(&evidence.quote)
                .map_err(RaTlsError::CollateralUnavailable)?;
            &looked_up
        }
    };
    let options = VerifyOptions {
        allow_debug: expect.allow_debug,
        ..VerifyOptions::default()
    };
    let verified = collateral.verify_quote(&evidence.quote, now, options)?;
    if let Some(minimum) = expect.min_tcb_evaluation_data_number {
        let have = verified.tcb_evaluation_data_number();
        if have < minimum {
            return Err(RaTlsError::EvaluationDataTooOld { have, minimum });
        }
    }
    if !expect.accepted_tcb.contains(&verified.tcb_status()) {
        return Err(RaTlsError::TcbNotAccepted(
            verified.tcb_status().name().to_string(),
        ));
    }
    let report = report_json(&verified.quote().body);
    for (name, expected) in &expect.measurements {
        let actual = report
            .get(name)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default();
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(RaTlsError::Measurement {
                name: name.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    let number = |k: &str| report.get(k).and_then(Value::as_u64);
    if let Some(id) = expect.isv_prod_id {
        if number("isv_prod_id") != Some(u64::from(id)) {
            return Err(RaTlsError::Measurement {
                name: "isv_prod_id".into(),
                expected: id.to_string(),
                actual: report["isv_prod_id"].to_string(),
            });
        }
    }
    if let Some(min) = expect.min_isv_svn {
        if number("isv_svn").is_none_or(|svn| svn < u64::from(min)) {
            return Err(RaTlsError::Measurement {
                name: "isv_svn".into(),
                expected: format!(">= {min}"),
                actual: report["isv_svn"].to_string(),
            });
        }
    }
    Ok(PeerIdentity {
        tee: verified.quote().tee_type().name(),
        format: evidence.format,
        tcb_status: verified.tcb_status(),
        advisory_ids: verified.advisory_ids().to_vec(),
        debug: verified.is_debug(),
        report,
    })
}

const IDENTITY_CACHE_LIMIT: usize = 1024;

/// A rejection as rustls carries it: rustls prints the `Debug` form in its error text, so this
/// makes it the readable message that names the failed step.
struct Rejection(RaTlsError);

impl std::fmt::Debug for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RA-TLS: {}", self.0)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RA-TLS: {}", self.0)
    }
}

impl std::error::Error for Rejection {}

/// A rustls verifier (server or client side) for RA-TLS peers.
#[derive(Debug)]
pub struct RaTlsVerifier {
    collateral: CollateralSource,
    expect: Expectations,
    algorithms: WebPkiSupportedAlgorithms,
    identities: Mutex<HashMap<Vec<u8>, PeerIdentity>>,
}

impl RaTlsVerifier {
    pub fn new(collateral: Arc<VerifiedCollateral>, expect: Expectations) -> Arc<Self> {
        Self::with_source(CollateralSource::Verified(collateral), expect)
    }

    pub fn with_source(collateral: CollateralSource, expect: Expectations) -> Arc<Self> {
        let algorithms =
            rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        Arc::new(Self {
            collateral,
            expect,
            algorithms,
            identities: Mutex::new(HashMap::new()),
        })
    }

    /// The verified identity of a peer certificate this verifier accepted.
    pub fn identity(&self, cert_der: &[u8]) -> Option<PeerIdentity> {
        self.identities.lock().ok()?.get(cert_der).cloned()
    }

    fn accept(&self, cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let identity =
            verify_peer(cert.as_ref(), &self.collateral, &self.expect, now).map_err(|e| {
                rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                    Rejection(e),
                ))))
            })?;
        if let Ok(mut ids) = self.identities.lock() {
            if ids.len() >= IDENTITY_CACHE_LIMIT {
                ids.clear();
            }
            ids.insert(cert.as_ref().to_vec(), identity);
        }
        Ok(())
    }
}

impl ServerCertVerifier for RaTlsVerifier {
    /// The server name is not checked: an RA-TLS peer is identified by its measurements.
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.accept(end_entity, now)
            .map(|_| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ClientCertVerifier for RaTlsVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.accept(end_entity, now)
            .map(|_| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
