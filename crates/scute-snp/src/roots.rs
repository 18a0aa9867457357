//! The trust roots: AMD's ARKs for Milan, Genoa and Turin, pinned by the SHA-256 of their
//! SubjectPublicKeyInfo, with the ASKs (and the Milan ASVK) AMD's KDS serves, built in so a
//! report verifies with its VCEK alone. Other roots (a simulator's) are added explicitly.

use crate::cert::AmdCert;
use crate::error::{CertRole, SnpError};
use crate::report::Product;

/// SHA-256 of the SubjectPublicKeyInfo of AMD's ARKs (`openssl x509 -pubkey | openssl pkey
/// -pubin -outform DER | sha256sum` of the certificates KDS serves at
/// /vcek/v1/{product}/cert_chain).
pub const AMD_ARK_SPKI_SHA256: [(Product, &str); 3] = [
    (
        Product::Milan,
        "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9",
    ),
    (
        Product::Genoa,
        "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831",
    ),
    (
        Product::Turin,
        "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08",
    ),
];

const MILAN_ARK: &[u8] = include_bytes!("roots/milan_ark.pem");
const MILAN_ASK: &[u8] = include_bytes!("roots/milan_ask.pem");
const MILAN_ASVK: &[u8] = include_bytes!("roots/milan_asvk.pem");
const GENOA_ARK: &[u8] = include_bytes!("roots/genoa_ark.pem");
const GENOA_ASK: &[u8] = include_bytes!("roots/genoa_ask.pem");
const TURIN_ARK: &[u8] = include_bytes!("roots/turin_ark.pem");
const TURIN_ASK: &[u8] = include_bytes!("roots/turin_ask.pem");

/// One trusted root of one product line, and the intermediates known for it.
#[derive(Debug, Clone)]
pub(crate) struct TrustedArk {
    pub product: Product,
    pub ark: AmdCert,
    pub ask: Option<AmdCert>,
    pub asvk: Option<AmdCert>,
}

/// The ARKs a chain may end in. The verifier knows no other root than these.
#[derive(Debug, Clone, Default)]
pub struct TrustRoots {
    pub(crate) arks: Vec<TrustedArk>,
}

impl TrustRoots {
    /// AMD's production roots (pinned by key) with their built-in ASKs and the Milan ASVK.
    pub fn amd() -> Self {
        let mut roots = Self::default();
        for (product, ark, ask, asvk) in [
            (Product::Milan, MILAN_ARK, MILAN_ASK, Some(MILAN_ASVK)),
            (Product::Genoa, GENOA_ARK, GENOA_ASK, None),
            (Product::Turin, TURIN_ARK, TURIN_ASK, None),
        ] {
            let Ok(ark) = AmdCert::from_pem_or_der(ark, CertRole::Ark) else {
                continue;
            };
            let pinned = AMD_ARK_SPKI_SHA256
                .iter()
                .any(|(p, h)| *p == product && hex::encode(ark.spki_sha256) == *h);
            if !pinned {
                continue;
            }
            roots.arks.push(TrustedArk {
                product,
                ark,
                ask: AmdCert::from_pem_or_der(ask, CertRole::Ask).ok(),
                asvk: asvk.and_then(|b| AmdCert::from_pem_or_der(b, CertRole::Asvk).ok()),
            });
        }
        roots
    }

    /// No root at all: add the ones to trust with [`TrustRoots::with_ark`].
    pub fn empty() -> Self {
        Self::default()
    }

    /// Also trusts this self-signed ARK (DER or PEM) for the product its name says
    /// (`CN=ARK-<product>`), e.g. a simulator's root. Its self-signature is checked.
    pub fn with_ark(mut self, ark: &[u8]) -> Result<Self, SnpError> {
        let ark = AmdCert::from_pem_or_der(ark, CertRole::Ark)?;
        let product = ark
            .common_name
            .strip_prefix("ARK-")
            .and_then(Product::from_name)
            .ok_or_else(|| SnpError::Certificate {
                role: CertRole::Ark,
                reason: format!("common name {:?} is not ARK-<product>", ark.common_name),
            })?;
        crate::verify::check_ark(&ark)?;
        self.arks.push(TrustedArk {
            product,
            ark,
            ask: None,
            asvk: None,
        });
        Ok(self)
    }

    /// The product lines these roots cover.
    pub fn products(&self) -> Vec<Product> {
        self.arks.iter().map(|a| a.product).collect()
    }

    /// The trusted root with this key, if any.
    pub(crate) fn by_key(&self, spki_sha256: &[u8; 32]) -> Option<&TrustedArk> {
        self.arks.iter().find(|a| a.ark.spki_sha256 == *spki_sha256)
    }
}
