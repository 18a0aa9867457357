//! The same collateral in the shape the dcap-qvl crate takes, so it
//! can serve as an independent second verifier.

use scute_dcap::Collateral;

/// The same collateral in dcap-qvl's shape: inner JSON text and its signature, PEM chains.
pub fn dcap_qvl_collateral(c: &Collateral) -> dcap_qvl::QuoteCollateralV3 {
    let split = |bytes: &[u8], key: &str| {
        let outer: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_slice(bytes).expect("signed json");
        let sig: String = serde_json::from_str(outer["signature"].get()).expect("signature");
        (outer[key].get().to_string(), hex::decode(sig).expect("hex"))
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("utf-8");
    let (tcb_info, tcb_info_signature) = split(&c.tcb_info, "tcbInfo");
    let (qe_identity, qe_identity_signature) = split(&c.qe_identity, "enclaveIdentity");
    dcap_qvl::QuoteCollateralV3 {
        pck_crl_issuer_chain: text(&c.pck_crl_issuer_chain),
        root_ca_crl: c.root_ca_crl.clone(),
        pck_crl: c.pck_crl.clone(),
        tcb_info_issuer_chain: text(&c.tcb_info_issuer_chain),
        tcb_info,
        tcb_info_signature,
        qe_identity_issuer_chain: text(&c.qe_identity_issuer_chain),
        qe_identity,
        qe_identity_signature,
        pck_certificate_chain: None,
    }
}
