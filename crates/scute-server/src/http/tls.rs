//! HTTPS for `scute serve`: a rustls server config from PEM files, an accept loop that wraps
//! any TCP listener (TLS handshake per connection, then hyper serves the router), and the
//! client side every upstream fetcher (PCS/PCCS, AMD KDS, Hygon KDS) builds on.
//!
//! Every rustls config here names its crypto provider (aws-lc-rs) explicitly, so nothing in
//! the service depends on a process-wide default: reqwest's own rustls setup panics ("No
//! provider set") when none was installed, which took down every CSV attestation that
//! needed the Hygon KDS in a process where no other upstream had installed one (issue 21).
//! A library user's process may install whatever default it likes without changing us.

use crate::error::ServerError;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;

/// The one crypto provider of every TLS config the service builds.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A reqwest client builder for an upstream: TLS through rustls with aws-lc-rs named
/// explicitly, trusting the public web roots (webpki-roots, as reqwest's own default) and the
/// PEM certificates of `extra_roots_pem` (a private PCCS's CA). Callers add their timeouts and
/// redirect policy.
pub(crate) fn https_client(
    extra_roots_pem: Option<&[u8]>,
) -> Result<reqwest::ClientBuilder, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_roots_pem {
        let mut any = false;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("CA certificate: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate: {e}"))?;
            any = true;
        }
        if !any {
            return Err("CA certificate: no PEM CERTIFICATE in the file".into());
        }
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(reqwest::Client::builder().use_preconfigured_tls(config))
}

/// A server config from a PEM certificate chain and PEM private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let err = |path: &Path, reason: String| ServerError::Tls {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| err(cert, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(cert, e.to_string()))?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| err(key, e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| err(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| err(cert, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` over TLS on `listener` until `shutdown` resolves, under the default
/// connection cap and header, idle and handshake timeouts (`scute serve` passes its own). A
/// failed handshake drops that connection only.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = crate::http::serve::Limits::of(&crate::Config::default());
    crate::http::serve::serve(listener, router, limits, Some(config), shutdown).await;
    Ok(())
}
