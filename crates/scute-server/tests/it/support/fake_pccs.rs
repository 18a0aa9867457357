//! A PCCS-compatible upstream on a loopback socket that serves one collateral set (the files of
//! a `shared/vectors`-layout directory) whatever FMSPC is asked: TCB Info and QE Identity of
//! both TEEs' routes, the PCK CRL (for `only_ca` alone, when given; any other CA is a 404),
//! and the Root CA CRL as PCCS's hex text. Issuer chains go out percent-encoded, as PCS sends
//! them. What the service does with answers it should refuse is the tests' business.

use std::collections::BTreeMap;

pub(crate) async fn serve_set(
    set: BTreeMap<String, Vec<u8>>,
    only_ca: Option<&'static str>,
) -> String {
    use axum::extract::Query;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let enc = |b: &[u8]| {
        percent_encoding::utf8_percent_encode(
            std::str::from_utf8(b).unwrap(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string()
    };
    let with = |name: &'static str, chain: String, body: Vec<u8>| {
        move |Query(q): Query<BTreeMap<String, String>>| {
            let (chain, body) = (chain.clone(), body.clone());
            async move {
                if let (Some(asked), Some(only)) = (q.get("ca"), only_ca) {
                    if asked != only {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                }
                let mut h = HeaderMap::new();
                h.insert(name, chain.parse().unwrap());
                (h, body).into_response()
            }
        }
    };
    let tcb = with(
        "tcb-info-issuer-chain",
        enc(&set["tcb_info_issuer_chain.pem"]),
        set["tcb_info.json"].clone(),
    );
    let qe = with(
        "sgx-enclave-identity-issuer-chain",
        enc(&set["qe_identity_issuer_chain.pem"]),
        set["qe_identity.json"].clone(),
    );
    let app = axum::Router::new()
        .route("/sgx/certification/v4/tcb", get(tcb.clone()))
        .route("/tdx/certification/v4/tcb", get(tcb))
        .route("/sgx/certification/v4/qe/identity", get(qe.clone()))
        .route("/tdx/certification/v4/qe/identity", get(qe))
        .route(
            "/sgx/certification/v4/pckcrl",
            get(with(
                "sgx-pck-crl-issuer-chain",
                enc(&set["pck_crl_issuer_chain.pem"]),
                set["pck_crl.der"].clone(),
            )),
        )
        .route(
            "/sgx/certification/v4/rootcacrl",
            get(with(
                "x-unused",
                String::new(),
                hex::encode(&set["root_ca_crl.der"]).into_bytes(),
            )),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}
