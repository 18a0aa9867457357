//! What `/v1/attest` reads from a quote before anything is verified, to choose collateral:
//! `quote_platform` (the PEM PCK chain in the certification data, the CA's name, the leaf's SGX
//! extension) and `PckExtension::decode` on its own. Never panics; the extension reported is
//! the one a certificate of the given chain carries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_dcap::{quote_platform, PckExtension};
use scute_fuzz::{cases, read, seed};
use scute_quote::{CertificationData, Quote};
use std::sync::OnceLock;
use x509_parser::prelude::{FromDer, X509Certificate};

const SGX_EXTENSION_OID: &str = "1.2.840.113741.1.13.1";

/// A genuine quote whose certification data is a PCK chain (type 5): the carrier of the input.
fn carrier() -> &'static Quote {
    static CARRIER: OnceLock<Quote> = OnceLock::new();
    CARRIER.get_or_init(|| {
        let bytes = read("dcapqvl-tdx-v4", "quote.bin").expect("dcapqvl-tdx-v4/quote.bin");
        Quote::decode(&bytes).expect("the genuine quote decodes")
    })
}

/// The SGX extension of every certificate in PEM text, read by x509-parser. RFC 7468 lets a
/// line end in CRLF, CR or LF; x509-parser's PEM reader knows only LF, so line ends are made
/// LF first (a lone CR inside the base64 failed this oracle although the chain is valid PEM).
fn extensions_in(pem: &[u8]) -> Vec<Vec<u8>> {
    let mut lf = Vec::with_capacity(pem.len());
    for (i, &b) in pem.iter().enumerate() {
        match b {
            b'\r' if pem.get(i + 1) == Some(&b'\n') => {}
            b'\r' => lf.push(b'\n'),
            _ => lf.push(b),
        }
    }
    x509_parser::pem::Pem::iter_from_buffer(&lf)
        .filter_map(|p| p.ok())
        .filter_map(|p| {
            let (_, cert) = X509Certificate::from_der(&p.contents).ok()?;
            let ext = cert
                .extensions()
                .iter()
                .find(|e| e.oid.to_id_string() == SGX_EXTENSION_OID)?;
            Some(ext.value.to_vec())
        })
        .collect()
}

fuzz_target!(
    init: {
        let mut seeds = Vec::new();
        for case in cases(|n| read(n, "quote.bin").is_some()) {
            let Some(quote) = read(&case, "quote.bin").and_then(|q| Quote::decode(&q).ok()) else {
                continue;
            };
            let Some(pem) = quote.signature.certification_data.pck_chain_pem() else {
                continue;
            };
            let mut chain = vec![0u8];
            chain.extend_from_slice(pem);
            seeds.push((format!("{case}-chain"), chain));
            for (i, ext) in extensions_in(pem).into_iter().enumerate() {
                let mut seed = vec![1u8];
                seed.extend(ext);
                seeds.push((format!("{case}-ext{i}"), seed));
            }
        }
        seed(seeds);
    },
    |data: &[u8]| {
        let Some((mode, input)) = data.split_first() else {
            return;
        };
        if mode % 2 == 1 {
            let _ = PckExtension::decode(input);
            return;
        }
        let mut quote = carrier().clone();
        quote.signature.certification_data = CertificationData {
            cert_type: CertificationData::PCK_CHAIN,
            data: input.to_vec(),
        };
        let Ok((ext, _ca)) = quote_platform(&quote) else {
            return;
        };
        assert!(
            extensions_in(input)
                .iter()
                .any(|der| PckExtension::decode(der).as_ref() == Ok(&ext)),
            "quote_platform reported an extension no certificate of the chain carries"
        );
    }
);
