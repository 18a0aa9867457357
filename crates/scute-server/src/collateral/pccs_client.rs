//! A client of any PCCS-compatible server (Intel PCS, Intel PCCS, another Scute): fetches the
//! collateral set of one platform in the `shared/vectors` file layout. Nothing here is trusted:
//! callers verify the set against their roots before they use or store it.

use crate::error::ServerError;
use std::collections::BTreeMap;

/// Largest response accepted from a collateral server; Intel's largest item (a TDX TCB Info)
/// is tens of KiB.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
const INTEL_PCS_HOST: &str = "api.trustedservices.intel.com";

/// A PCCS-compatible server, by base URL (with or without `/sgx/certification/v4`).
#[derive(Clone)]
pub struct PccsClient {
    http: crate::collateral::upstream::Http,
    base: String,
    api_key: Option<String>,
}

fn fetch_err(url: &str, reason: impl std::fmt::Display) -> ServerError {
    ServerError::Fetch {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

impl PccsClient {
    /// `cacert`: a PEM CA certificate trusted besides the public web roots (a private PCCS).
    /// `api_key` goes out as `Ocp-Apim-Subscription-Key`, which Intel PCS wants.
    pub fn new(
        url: &str,
        cacert: Option<&[u8]>,
        api_key: Option<String>,
    ) -> Result<Self, ServerError> {
        let http = crate::collateral::upstream::Http::new(cacert, MAX_RESPONSE_BYTES).map_err(
            |e| match e {
                ServerError::Config(reason) => fetch_err(url, reason),
                other => other,
            },
        )?;
        let base = url
            .trim_end_matches('/')
            .trim_end_matches("/sgx/certification/v4")
            .trim_end_matches("/tdx/certification/v4")
            .to_string();
        Ok(Self {
            http,
            base,
            api_key,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn is_intel_pcs(&self) -> bool {
        reqwest::Url::parse(&self.base)
            .ok()
            .and_then(|u| u.host_str().map(|h| h == INTEL_PCS_HOST))
            .unwrap_or(false)
    }

    /// GET `url`, requiring 200 and a body of at most `MAX_RESPONSE_BYTES`.
    async fn get(&self, url: &str) -> Result<(reqwest::header::HeaderMap, Vec<u8>), ServerError> {
        let headers: Vec<(&str, &str)> = self
            .api_key
            .iter()
            .map(|key| ("Ocp-Apim-Subscription-Key", key.as_str()))
            .collect();
        let answer = self.http.get(url, &headers).await?;
        if answer.status != reqwest::StatusCode::OK {
            return Err(fetch_err(url, format!("HTTP {}", answer.status)));
        }
        Ok((answer.headers, answer.body))
    }

    fn chain(
        headers: &reqwest::header::HeaderMap,
        names: &[&str],
        url: &str,
    ) -> Result<Vec<u8>, ServerError> {
        let value = names
            .iter()
            .find_map(|n| headers.get(*n))
            .ok_or_else(|| fetch_err(url, format!("no {} header", names.join(" or "))))?;
        Ok(percent_encoding::percent_decode(value.as_bytes()).collect())
    }

    /// The collateral of one platform: TCB Info of `tee` for `fmspc`, QE Identity of `tee`, the
    /// PCK CRL of `ca`, the Root CA CRL, and their issuer chains, as `shared/vectors` files.
    /// The URLs and headers are those of the PCS v4 API, which PCCS mirrors.
    pub async fn fetch_set(
        &self,
        tee: &str,
        fmspc: &str,
        ca: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, ServerError> {
        self.fetch_set_of(tee, fmspc, ca, crate::config::CollateralUpdate::Standard)
            .await
    }

    /// `fetch_set` of Intel's `update` kind: the TCB Info and QE Identity are asked with
    /// `update=early` for the early set (the standard set's URLs are PCS's defaults, unchanged);
    /// the CRLs are the same for both.
    pub async fn fetch_set_of(
        &self,
        tee: &str,
        fmspc: &str,
        ca: &str,
        update: crate::config::CollateralUpdate,
    ) -> Result<BTreeMap<String, Vec<u8>>, ServerError> {
        let (and_update, only_update) = match update {
            crate::config::CollateralUpdate::Standard => ("", ""),
            crate::config::CollateralUpdate::Early => ("&update=early", "?update=early"),
        };
        let mut files = BTreeMap::new();
        let base = &self.base;
        let url = format!("{base}/{tee}/certification/v4/tcb?fmspc={fmspc}{and_update}");
        let (headers, body) = self.get(&url).await?;
        files.insert(
            "tcb_info_issuer_chain.pem".into(),
            Self::chain(
                &headers,
                &["TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"],
                &url,
            )?,
        );
        files.insert("tcb_info.json".into(), body);

        let url = format!("{base}/{tee}/certification/v4/qe/identity{only_update}");
        let (headers, body) = self.get(&url).await?;
        files.insert(
            "qe_identity_issuer_chain.pem".into(),
            Self::chain(&headers, &["SGX-Enclave-Identity-Issuer-Chain"], &url)?,
        );
        files.insert("qe_identity.json".into(), body);

        let url = format!("{base}/sgx/certification/v4/pckcrl?ca={ca}&encoding=der");
        let (headers, body) = self.get(&url).await?;
        files.insert(
            "pck_crl_issuer_chain.pem".into(),
            Self::chain(&headers, &["SGX-PCK-CRL-Issuer-Chain"], &url)?,
        );
        files.insert("pck_crl.der".into(), body);

        if self.is_intel_pcs() {
            // PCS has no rootcacrl route; the Root CA CRL is at the distribution point of
            // Intel's root, which is fixed (not taken from the response: no open proxy).
            let url = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";
            files.insert("root_ca_crl.der".into(), self.get(url).await?.1);
        } else {
            // PCCS answers the Root CA CRL as hex text (dcap-qvl's collateral client expects
            // the same), Scute too.
            let url = format!("{base}/sgx/certification/v4/rootcacrl");
            let (_, body) = self.get(&url).await?;
            let text = String::from_utf8(body).map_err(|e| fetch_err(&url, e))?;
            let der = hex::decode(text.trim()).map_err(|e| fetch_err(&url, e))?;
            files.insert("root_ca_crl.der".into(), der);
        }
        Ok(files)
    }

    /// The set a quote needs, chosen by the FMSPC and PCK CA in its certification data (the
    /// same choice dcap-qvl's client makes). Returns (tee, files).
    pub async fn fetch_for_quote(
        &self,
        quote: &[u8],
    ) -> Result<(&'static str, BTreeMap<String, Vec<u8>>), ServerError> {
        let bad = |reason: String| fetch_err(&self.base, format!("the quote: {reason}"));
        let decoded = scute_quote::Quote::decode(quote).map_err(|e| bad(e.to_string()))?;
        let (pck, ca) = scute_dcap::quote_platform(&decoded).map_err(|e| bad(e.to_string()))?;
        let tee = decoded.tee_type().name();
        let files = self
            .fetch_set(tee, &hex::encode(pck.fmspc), ca.name())
            .await?;
        Ok((tee, files))
    }
}
