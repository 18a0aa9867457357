//! The endorsements extension (2.23.133.5.4.2): the DCAP collateral a verifier needs, carried in
//! the certificate so no network is needed. CBOR tag 60000 over `[version, TCB_INFO,
//! TCB_ISSUER_CHAIN, CRL_PCK_CERT, CRL_PCK_PROC_CA, CRL_ISSUER_CHAIN_PCK_CERT, QE_ID_INFO,
//! QE_ID_ISSUER_CHAIN, CREATION_DATETIME]` (the Open Enclave field order the CCC format adopts).

use crate::evidence::CBOR_TAG_INTEL_QUOTE;
use crate::RaTlsError;
use ciborium::value::Value as Cbor;
use scute_dcap::Collateral;

const VERSION: u64 = 1;

fn bad(reason: impl Into<String>) -> RaTlsError {
    RaTlsError::Evidence {
        format: "endorsements",
        reason: reason.into(),
    }
}

pub fn encode(c: &Collateral, created: &str) -> Result<Vec<u8>, RaTlsError> {
    let b = |bytes: &[u8]| Cbor::Bytes(bytes.to_vec());
    let fields = vec![
        Cbor::Integer(VERSION.into()),
        b(&c.tcb_info),
        b(&c.tcb_info_issuer_chain),
        b(&c.pck_crl),
        b(&c.root_ca_crl),
        b(&c.pck_crl_issuer_chain),
        b(&c.qe_identity),
        b(&c.qe_identity_issuer_chain),
        Cbor::Text(created.to_string()),
    ];
    let mut out = Vec::new();
    ciborium::into_writer(
        &Cbor::Tag(CBOR_TAG_INTEL_QUOTE, Box::new(Cbor::Array(fields))),
        &mut out,
    )
    .map_err(|e| RaTlsError::Issue(e.to_string()))?;
    Ok(out)
}

pub fn decode(value: &[u8]) -> Result<Collateral, RaTlsError> {
    let cbor: Cbor = ciborium::from_reader(value).map_err(|e| bad(format!("CBOR: {e}")))?;
    let Cbor::Tag(CBOR_TAG_INTEL_QUOTE, inner) = cbor else {
        return Err(bad("not CBOR tag 60000"));
    };
    let Cbor::Array(fields) = *inner else {
        return Err(bad("not an array"));
    };
    let bytes = |i: usize, name: &str| -> Result<Vec<u8>, RaTlsError> {
        match fields.get(i) {
            Some(Cbor::Bytes(b)) => Ok(b.clone()),
            // Some writers use text strings for the JSON and PEM fields.
            Some(Cbor::Text(t)) => Ok(t.trim_end_matches('\0').as_bytes().to_vec()),
            _ => Err(bad(format!("field {i} ({name}) missing"))),
        }
    };
    Ok(Collateral {
        tcb_info: bytes(1, "TCB_INFO")?,
        tcb_info_issuer_chain: bytes(2, "TCB_ISSUER_CHAIN")?,
        pck_crl: bytes(3, "CRL_PCK_CERT")?,
        root_ca_crl: bytes(4, "CRL_PCK_PROC_CA")?,
        pck_crl_issuer_chain: bytes(5, "CRL_ISSUER_CHAIN_PCK_CERT")?,
        qe_identity: bytes(6, "QE_ID_INFO")?,
        qe_identity_issuer_chain: bytes(7, "QE_ID_ISSUER_CHAIN")?,
        pck_chain: None,
    })
}
