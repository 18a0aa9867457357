//! The collateral service's KDS-compatible routes (AMD's `/vcek/v1/...`): the stored, verified
//! VCEKs by hwid and TCB, and the stored cert_chain, so another Scute can use this one as its
//! `snp_kds_url`.

use crate::http::state::AppState;
use crate::problem::Problem;
use crate::tee::snp::{bad, chain_name, vcek_name};
use scute_snp::CertRole;

/// The collateral service's KDS-compatible routes: the stored (verified) VCEKs by hwid and
/// TCB, and the stored cert_chain, so another Scute can use this one as its `snp_kds_url`.
pub(crate) fn routes() -> axum::Router<std::sync::Arc<AppState>> {
    axum::Router::new().route("/vcek/v1/{product}/{hwid}", axum::routing::get(kds_get))
}

async fn kds_get(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<AppState>>,
    axum::extract::Path((product, hwid)): axum::extract::Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    use scute_snp::{Product, TcbField};
    let product = Product::from_name(&product)
        .filter(|p| p.name() == product)
        .ok_or_else(|| Problem::not_found("no such product line"))?;
    if hwid == "cert_chain" {
        let chain = state
            .store
            .secret(&chain_name(product, CertRole::Ask))
            .await?
            .ok_or_else(|| Problem::not_found("no cert_chain stored for this product line"))?;
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
            chain,
        )
            .into_response());
    }
    let hwid = hex::decode(&hwid)
        .ok()
        .filter(|h| h.len() == 64 || h.len() == 8)
        .ok_or_else(|| bad("hwid must be 64 (Turin: 8) bytes of hex"))?;
    let spl = |name: &str| -> Result<u8, Problem> {
        query
            .get(name)
            .and_then(|v| v.parse::<u8>().ok())
            .ok_or_else(|| bad(format!("{name} must be a decimal SPL")))
    };
    let mut tcb = [0u8; 8];
    for (slot, field) in tcb.iter_mut().zip(product.tcb_layout().fields()) {
        *slot = match field {
            TcbField::BootLoader => spl("blSPL")?,
            TcbField::Tee => spl("teeSPL")?,
            TcbField::Snp => spl("snpSPL")?,
            TcbField::Microcode => spl("ucodeSPL")?,
            TcbField::Fmc => spl("fmcSPL")?,
            TcbField::Reserved(_) => 0,
        };
    }
    let vcek = state
        .store
        .secret(&vcek_name(&hwid, &tcb))
        .await?
        .ok_or_else(|| Problem::not_found("no VCEK stored for this chip and TCB"))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/pkix-cert")],
        vcek,
    )
        .into_response())
}
