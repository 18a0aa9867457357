//! HTTPS for `scute serve`: a rustls server config from PEM files, and an accept loop that wraps
//! any TCP listener (TLS handshake per connection, then hyper serves the router). The client
//! side of the upstream fetchers is `collateral::https`.
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
    let limits = crate::http::serve::Limits::of(&crate::config::Config::default());
    crate::http::serve::serve(listener, router, limits, Some(config), shutdown).await;
    Ok(())
}
