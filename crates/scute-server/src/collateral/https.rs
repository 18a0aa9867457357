//! The client side of HTTPS for every upstream fetcher (Intel PCS or a PCCS, AMD KDS, Hygon
//! KDS): rustls with aws-lc-rs named explicitly, so nothing depends on a process-wide default
//! provider (reqwest's own rustls setup panics when none was installed; issue 21).

use std::sync::Arc;
use tokio_rustls::rustls;

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
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(reqwest::Client::builder().use_preconfigured_tls(config))
}
