//! The PCCS v4 read API (`/sgx|tdx/certification/v4/...`) over the collateral this service
//! holds, byte for byte as Intel signed it, with PCCS's headers and status codes; misses are
//! filled from an upstream (verified before stored), and stored sets are refreshed in time.
//! TCB Info and QE Identity are served of the TCB evaluation data set the request's `update=`
//! names (standard when absent), each kind from its own stored sets; CRLs belong to no kind.

mod platform;
pub(crate) mod refresh;

use crate::config::CollateralUpdate;
use crate::http::state::AppState;
use crate::problem::{Kind, Problem};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

type Shared = State<Arc<AppState>>;

/// encodeURIComponent's set: what PCS and PCCS escape in issuer-chain headers.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// How often a miss may re-read the store (sets imported by another process appear then).
const RELOAD_AFTER: Duration = Duration::from_secs(2);

/// One item as served: the body and its percent-encoded issuer chain.
#[derive(Clone)]
struct Item {
    body: Bytes,
    chain: HeaderValue,
    /// Orders candidates for the same route: an item under Intel's root before any other
    /// root's (the routes name a CA or TEE, not a root: a genuine platform's client must get
    /// Intel's items, never a private root's of the same name), then the newest (for CRLs the
    /// CRL number, then thisUpdate; for TCB Info and identities the issue date).
    issued: (bool, u64, i64),
}

/// A stored set, as refresh sees it.
#[derive(Clone)]
pub(crate) struct SetKey {
    pub fmspc: String,
    pub ca: String,
    pub tee: String,
    /// Which of Intel's sets it is: refreshed with its own `update=`.
    pub update: CollateralUpdate,
    pub next_update: i64,
}

/// Everything servable, rebuilt from the store whenever the store changes.
#[derive(Default)]
struct Index {
    /// By (tee, fmspc, kind).
    tcb: HashMap<(String, String, CollateralUpdate), Item>,
    /// By (tee, kind).
    qe: HashMap<(String, CollateralUpdate), Item>,
    pck_crl: HashMap<String, Item>,
    /// The Root CA CRL served: Intel's root's newest, else the newest of any stored set.
    root_crl_hex: Option<((bool, u64, i64), Bytes)>,
    sets: Vec<SetKey>,
}

pub(crate) struct Pccs {
    index: RwLock<Arc<Index>>,
    loaded: RwLock<Option<Instant>>,
    /// The upstream for refreshes of stored sets (single flight per key, no lock across keys:
    /// `upstream.rs`).
    pub(crate) upstream: Option<crate::collateral::Pcs>,
    /// The same upstream under its own budget, for the TCB Info route's fills: anyone may ask
    /// that route for any FMSPC, and must not use up what attestations and refreshes need.
    pub(crate) route_upstream: Option<crate::collateral::Pcs>,
    pub(crate) refreshes_ok: AtomicU64,
    pub(crate) refreshes_failed: AtomicU64,
    pub(crate) upstream_rejected: Arc<AtomicU64>,
    pub(crate) last_refresh: AtomicI64,
}

fn chain_header(pem: &[u8]) -> Option<HeaderValue> {
    let text = std::str::from_utf8(pem).ok()?;
    HeaderValue::from_str(&utf8_percent_encode(text, URI_COMPONENT).to_string()).ok()
}

/// DER of a CRL stored as DER or PEM, read as the verifier reads it (`scute_dcap::crl_der`).
fn crl_der(bytes: &[u8]) -> Option<Vec<u8>> {
    scute_dcap::crl_der(bytes, "CRL").ok()
}

fn insert_newest<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Item>, key: K, item: Item) {
    match map.get(&key) {
        // Ties go to the set stored last (the store lists sets oldest first).
        Some(old) if old.issued > item.issued => {}
        _ => {
            map.insert(key, item);
        }
    }
}

impl Pccs {
    pub(crate) fn new(
        upstream: Option<crate::collateral::Pcs>,
        route_upstream: Option<crate::collateral::Pcs>,
    ) -> Self {
        Self {
            index: RwLock::new(Arc::new(Index::default())),
            loaded: RwLock::new(None),
            upstream_rejected: upstream
                .as_ref()
                .map(|u| u.rejected.clone())
                .unwrap_or_default(),
            upstream,
            route_upstream,
            refreshes_ok: AtomicU64::new(0),
            refreshes_failed: AtomicU64::new(0),
            last_refresh: AtomicI64::new(0),
        }
    }

    fn current(&self) -> Arc<Index> {
        self.index
            .read()
            .map(|i| i.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(crate) fn sets(&self) -> Vec<SetKey> {
        self.current().sets.clone()
    }

    /// Rebuilds the index from every stored set, verifying each again (a set that no longer
    /// verifies under the configured roots is not served).
    pub(crate) async fn reload(&self, state: &AppState) -> Result<(), Problem> {
        let mut index = Index::default();
        for row in state.store.collateral_sets().await? {
            let crate::store::CollateralRow {
                fmspc,
                ca,
                tee,
                update,
                files_json,
                ..
            } = row;
            let Ok(collateral) = crate::collateral::collateral_from_json(&files_json) else {
                continue;
            };
            // Only the two kinds this service writes; a row of another is no set of ours.
            let Some(update) = CollateralUpdate::parse(&update) else {
                continue;
            };
            let Ok((anchor, verified)) =
                crate::collateral::verify_any_at(&collateral, &state.verifiers.anchors)
            else {
                tracing::warn!(
                    tee = tee.as_str(),
                    fmspc = fmspc.as_str(),
                    outcome = "not served",
                    "stored_collateral_invalid"
                );
                continue;
            };
            // Every set's CRLs are learned, so each set is judged with its issuers' newest,
            // before anything decides whether the set can be served: a set the verifier
            // accepts must never keep its CRLs from the other sets.
            state.verifiers.collateral.offer(&collateral, &verified);
            let (Some(tcb_chain), Some(qe_chain), Some(crl_chain), Some(pck_crl), Some(root_crl)) = (
                chain_header(&collateral.tcb_info_issuer_chain),
                chain_header(&collateral.qe_identity_issuer_chain),
                chain_header(&collateral.pck_crl_issuer_chain),
                crl_der(&collateral.pck_crl),
                crl_der(&collateral.root_ca_crl),
            ) else {
                continue;
            };
            // The first anchor is always Intel's production root (`trust_anchors`).
            let intel = anchor == 0;
            let tcb_issued = (intel, 0, verified.tcb_info().issue_date);
            let rank = |(_, r): (scute_dcap::IssuerKeyId, scute_dcap::CrlRank)| {
                (intel, r.number, r.this_update)
            };
            let pck_crl_issued = rank(verified.pck_crl_issuer());
            let root_crl_issued = rank(verified.root_crl_issuer());
            insert_newest(
                &mut index.tcb,
                (tee.clone(), fmspc.clone(), update),
                Item {
                    body: Bytes::from(collateral.tcb_info.clone()),
                    chain: tcb_chain,
                    issued: tcb_issued,
                },
            );
            insert_newest(
                &mut index.qe,
                (tee.clone(), update),
                Item {
                    body: Bytes::from(collateral.qe_identity.clone()),
                    chain: qe_chain,
                    issued: (intel, 0, verified.qe_identity().issue_date),
                },
            );
            insert_newest(
                &mut index.pck_crl,
                ca.clone(),
                Item {
                    body: Bytes::from(pck_crl),
                    chain: crl_chain,
                    // The newest CRL of this CA, whichever set brought it (a set stored later
                    // with an older CRL must not un-revoke a certificate).
                    issued: pck_crl_issued,
                },
            );
            // All sets carry the same Root CA CRL up to its reissue; the newest wins.
            if index
                .root_crl_hex
                .as_ref()
                .is_none_or(|(issued, _)| *issued <= root_crl_issued)
            {
                index.root_crl_hex = Some((root_crl_issued, Bytes::from(hex::encode(root_crl))));
            }
            let next_update = verified
                .joint_validity()
                .map(|(_, end)| end)
                .unwrap_or(verified.tcb_info().next_update);
            index.sets.push(SetKey {
                fmspc,
                ca,
                tee,
                update,
                next_update,
            });
        }
        if let Ok(mut slot) = self.index.write() {
            *slot = Arc::new(index);
        }
        if let Ok(mut slot) = self.loaded.write() {
            *slot = Some(Instant::now());
        }
        Ok(())
    }

    /// On a miss: re-read the store (throttled), so another process's import is seen.
    async fn reload_if_stale(&self, state: &AppState) -> Result<(), Problem> {
        let stale = self
            .loaded
            .read()
            .map(|l| l.is_none_or(|t| t.elapsed() >= RELOAD_AFTER))
            .unwrap_or(true);
        if stale {
            self.reload(state).await?;
        }
        Ok(())
    }
}

/// Fetches a platform's set from the upstream, verifies it, stores it and re-indexes, once
/// per key however many requests ask at once (`upstream.rs`: no lock across keys, failures
/// remembered). `ca: None`: either CA's set (the TCB Info route names none). `update`: the
/// kind asked for upstream and stored. A set that does not verify is logged, counted and not
/// stored.
pub(crate) async fn fill(
    state: &AppState,
    upstream: &crate::collateral::Pcs,
    tee: &str,
    fmspc: &str,
    ca: Option<&str>,
    update: CollateralUpdate,
) -> Result<(), Problem> {
    upstream
        .fill(
            &state.store,
            &state.verifiers.anchors,
            tee,
            fmspc,
            ca,
            update,
        )
        .await
        .map_err(|r| r.or_limited(|detail| Problem::new(Kind::UpstreamUnavailable, detail)))?;
    // Every request that shared the fill learns what it stored (the route reads the index).
    state.collateral_changed().await
}

/// The PCCS routes, merged into the service's router (and served alone on `--pccs-listen`).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/sgx/certification/v4/tcb", get(sgx_tcb))
        .route("/tdx/certification/v4/tcb", get(tdx_tcb))
        .route("/sgx/certification/v4/qe/identity", get(sgx_qe))
        .route("/tdx/certification/v4/qe/identity", get(tdx_qe))
        .route("/sgx/certification/v4/qve/identity", get(qve))
        .route("/sgx/certification/v4/pckcrl", get(pck_crl))
        .route("/sgx/certification/v4/rootcacrl", get(root_crl))
        .route("/sgx/certification/v4/pckcert", get(platform::pck_cert))
        .route(
            "/sgx/certification/v4/platformcollateral",
            put(platform::put_platform_collateral),
        )
}

type Params = Query<HashMap<String, String>>;

fn bad_param(detail: impl Into<String>) -> Problem {
    Problem::new(Kind::PccsBadParameter, detail)
}

pub(crate) fn not_cached(detail: impl Into<String>) -> Problem {
    Problem::new(Kind::PccsNotCached, detail)
}

/// `update=standard|early`: which TCB evaluation data set is asked for (standard when absent).
fn check_update(params: &HashMap<String, String>) -> Result<CollateralUpdate, Problem> {
    match params.get("update").map(String::as_str) {
        None => Ok(CollateralUpdate::Standard),
        Some(text) => CollateralUpdate::parse(text)
            .ok_or_else(|| bad_param(format!("update must be standard or early, not {text:?}"))),
    }
}

/// ` (update=early)` for the early set, nothing for the standard one: what a miss names.
fn which(update: CollateralUpdate) -> &'static str {
    match update {
        CollateralUpdate::Standard => "",
        CollateralUpdate::Early => " (update=early)",
    }
}

pub(crate) fn hex_param<const N: usize>(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<[u8; N], Problem> {
    let text = params
        .get(name)
        .ok_or_else(|| bad_param(format!("{name} is required ({} hex digits)", 2 * N)))?;
    let bytes = hex::decode(text)
        .ok()
        .filter(|b| b.len() == N)
        .ok_or_else(|| bad_param(format!("{name} must be {} hex digits", 2 * N)))?;
    bytes
        .try_into()
        .map_err(|_| bad_param(format!("{name} must be {} hex digits", 2 * N)))
}

fn respond(
    content_type: &'static str,
    chain: Option<(&'static str, &HeaderValue)>,
    body: Bytes,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some((name, value)) = chain {
        headers.insert(HeaderName::from_static(name), value.clone());
    }
    (StatusCode::OK, headers, body).into_response()
}

async fn tcb(
    state: &AppState,
    tee: &str,
    params: &HashMap<String, String>,
) -> Result<Response, Problem> {
    let fmspc = hex::encode(hex_param::<6>(params, "fmspc")?);
    let update = check_update(params)?;
    let key = (tee.to_string(), fmspc.clone(), update);
    let mut item = state.pccs.current().tcb.get(&key).cloned();
    if item.is_none() {
        state.pccs.reload_if_stale(state).await?;
        item = state.pccs.current().tcb.get(&key).cloned();
    }
    if item.is_none() {
        if let Some(upstream) = &state.pccs.route_upstream {
            // This route names no PCK CA; either CA's CRL completes the set.
            fill(state, upstream, tee, &fmspc, None, update).await?;
            item = state.pccs.current().tcb.get(&key).cloned();
        }
    }
    let item = item.ok_or_else(|| {
        let how = match update {
            CollateralUpdate::Standard => {
                "import it with `scute collateral import DIR`, PUT \
                 /sgx/certification/v4/platformcollateral, or start the service with --upstream URL"
            }
            CollateralUpdate::Early => {
                "import it with `scute collateral import --update early DIR` (or POST \
                 /v1/collateral?update=early), or start the service with --upstream URL"
            }
        };
        not_cached(format!(
            "no {} TCB Info{} is cached for FMSPC {fmspc}: {how}",
            tee.to_uppercase(),
            which(update)
        ))
    })?;
    Ok(respond(
        "application/json",
        Some(("tcb-info-issuer-chain", &item.chain)),
        item.body,
    ))
}

async fn sgx_tcb(State(state): Shared, Query(params): Params) -> Result<Response, Problem> {
    tcb(&state, "sgx", &params).await
}

async fn tdx_tcb(State(state): Shared, Query(params): Params) -> Result<Response, Problem> {
    tcb(&state, "tdx", &params).await
}

async fn qe(
    state: &AppState,
    tee: &str,
    params: &HashMap<String, String>,
) -> Result<Response, Problem> {
    let update = check_update(params)?;
    let key = (tee.to_string(), update);
    let mut item = state.pccs.current().qe.get(&key).cloned();
    if item.is_none() {
        state.pccs.reload_if_stale(state).await?;
        item = state.pccs.current().qe.get(&key).cloned();
    }
    let item = item.ok_or_else(|| {
        let (import, ask) = match update {
            CollateralUpdate::Standard => ("scute collateral import DIR", ""),
            CollateralUpdate::Early => (
                "scute collateral import --update early DIR",
                "&update=early",
            ),
        };
        not_cached(format!(
            "no {} QE Identity{} is cached: import a {tee} collateral set (`{import}`) or fetch \
             one through --upstream with a TCB Info request (?fmspc=FMSPC{ask}) for the platform",
            tee.to_uppercase(),
            which(update),
        ))
    })?;
    Ok(respond(
        "application/json",
        Some(("sgx-enclave-identity-issuer-chain", &item.chain)),
        item.body,
    ))
}

async fn sgx_qe(State(state): Shared, Query(params): Params) -> Result<Response, Problem> {
    qe(&state, "sgx", &params).await
}

async fn tdx_qe(State(state): Shared, Query(params): Params) -> Result<Response, Problem> {
    qe(&state, "tdx", &params).await
}

async fn qve(State(state): Shared, Query(params): Params) -> Result<Response, Problem> {
    // The QvE identity comes only with a PCCS upload, which carries the standard set.
    if check_update(&params)? == CollateralUpdate::Early {
        return Err(not_cached(
            "only the standard QvE Identity is cached (update=early is not): it comes with \
             PUT /sgx/certification/v4/platformcollateral",
        ));
    }
    let (body, chain) = state.store.pccs_item("qve_identity").await?.ok_or_else(|| {
        not_cached("no QvE Identity is cached: PUT /sgx/certification/v4/platformcollateral with a qveidentity")
    })?;
    let chain = chain_header(chain.as_bytes()).ok_or_else(|| Problem::internal("stored chain"))?;
    Ok(respond(
        "application/json",
        Some(("sgx-enclave-identity-issuer-chain", &chain)),
        Bytes::from(body),
    ))
}

async fn pck_crl(State(state): Shared, Query(params): Params) -> Result<Response, Problem> {
    let ca = match params.get("ca").map(String::as_str) {
        Some(ca @ ("processor" | "platform")) => ca.to_string(),
        Some(other) => {
            return Err(bad_param(format!(
                "ca must be processor or platform, not {other:?}"
            )))
        }
        None => return Err(bad_param("ca is required (processor or platform)")),
    };
    let der = match params.get("encoding").map(String::as_str) {
        Some("der") => true,
        None => false,
        Some(other) => {
            return Err(bad_param(format!(
                "encoding must be der when given, not {other:?}"
            )))
        }
    };
    let mut item = state.pccs.current().pck_crl.get(&ca).cloned();
    if item.is_none() {
        state.pccs.reload_if_stale(&state).await?;
        item = state.pccs.current().pck_crl.get(&ca).cloned();
    }
    let item = item.ok_or_else(|| {
        not_cached(format!(
            "no PCK CRL of the {ca} CA is cached: import a collateral set for a platform whose PCK \
             certificate the {ca} CA issued"
        ))
    })?;
    let chain = Some(("sgx-pck-crl-issuer-chain", &item.chain));
    Ok(if der {
        respond("application/pkix-crl", chain, item.body)
    } else {
        respond(
            "application/x-pem-file",
            chain,
            Bytes::from(hex::encode(&item.body)),
        )
    })
}

async fn root_crl(State(state): Shared) -> Result<Response, Problem> {
    let mut body = state.pccs.current().root_crl_hex.clone().map(|(_, b)| b);
    if body.is_none() {
        state.pccs.reload_if_stale(&state).await?;
        body = state.pccs.current().root_crl_hex.clone().map(|(_, b)| b);
    }
    let body = body.ok_or_else(|| {
        not_cached(
            "no Root CA CRL is cached: import any collateral set (`scute collateral import DIR`)",
        )
    })?;
    Ok(respond("application/pkix-crl", None, body))
}

impl Pccs {
    /// Freshness and refresh outcomes, in the Prometheus text format. `per_set`: one line per
    /// stored set, labelled with its FMSPC, CA and kind (`update`; for the `metrics_listen`
    /// listener only: the FMSPCs name the platforms served); else the earliest next update of
    /// each TEE, over both kinds.
    pub(crate) fn render_metrics(&self, per_set: bool) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "# HELP scute_collateral_next_update_seconds When stored collateral stops being valid (Unix time): per set, or the earliest of each TEE.\n# TYPE scute_collateral_next_update_seconds gauge");
        let mut earliest = std::collections::BTreeMap::new();
        for s in self.sets() {
            if per_set {
                let _ = writeln!(
                    out,
                    "scute_collateral_next_update_seconds{{tee=\"{}\",fmspc=\"{}\",ca=\"{}\",update=\"{}\"}} {}",
                    s.tee, s.fmspc, s.ca, s.update, s.next_update
                );
            } else {
                let e = earliest.entry(s.tee.to_string()).or_insert(s.next_update);
                *e = (*e).min(s.next_update);
            }
        }
        for (tee, next_update) in earliest {
            let _ = writeln!(
                out,
                "scute_collateral_next_update_seconds{{tee=\"{tee}\"}} {next_update}"
            );
        }
        let _ = writeln!(out, "# HELP scute_collateral_refresh_total Background refreshes by result.\n# TYPE scute_collateral_refresh_total counter");
        let _ = writeln!(
            out,
            "scute_collateral_refresh_total{{result=\"ok\"}} {}",
            self.refreshes_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "scute_collateral_refresh_total{{result=\"failed\"}} {}",
            self.refreshes_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# HELP scute_collateral_upstream_rejected_total Upstream collateral refused because it did not verify.\n# TYPE scute_collateral_upstream_rejected_total counter");
        let _ = writeln!(
            out,
            "scute_collateral_upstream_rejected_total {}",
            self.upstream_rejected.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# HELP scute_collateral_last_refresh_seconds Unix time of the last successful refresh.\n# TYPE scute_collateral_last_refresh_seconds gauge");
        let _ = writeln!(
            out,
            "scute_collateral_last_refresh_seconds {}",
            self.last_refresh.load(Ordering::Relaxed)
        );
        out
    }
}
