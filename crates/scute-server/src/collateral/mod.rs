//! Collateral sets in the store, keyed by FMSPC, PCK CA, TEE and Intel's TCB evaluation data set
//! (`update`: standard or early), and their verified forms in memory:
//! each set is authenticated once against the trusted roots and reused for every quote (the
//! warm path) until the stored set changes or a newer CRL of one of its issuers is seen
//! (`revocation`: a set is always judged with the newest CRL of its PCK CA and root). A set
//! the store lacks is fetched from Intel PCS or a PCCS (`Pcs`, through the bounded fetcher of
//! `upstream`, with the same `update=`) and verified before it is stored. Appraisal uses the
//! kind the configuration names (`collateral_update`) and never falls back to the other.

pub(crate) mod https;
pub(crate) mod pccs_client;
pub(crate) mod revocation;
pub(crate) mod upstream;

use crate::collateral::revocation::{own_fingerprint, CrlFingerprint, Revocations};
use crate::collateral::upstream::{Counters, Limits, Refusal, Upstream};
use crate::config::CollateralUpdate;
use crate::problem::{Kind, Problem};
use crate::store::Store;
use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use scute_dcap::{
    verify_collateral, Collateral, DcapError, IssuerKeyId, TrustAnchor, VerifiedCollateral,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a verified set is used before the store is asked whether it changed (a set
/// imported by another process, `scute collateral import`, is seen within this time).
const RECHECK: Duration = Duration::from_secs(30);

struct Cached {
    verified: Arc<VerifiedCollateral>,
    /// SHA-256 of the stored set's files as verified: the set's version (a replaced set is a
    /// different digest, however soon after the first it was stored).
    files_digest: [u8; 32],
    /// The issuers of the set's PCK CRL and Root CA CRL, and the CRLs it was judged with.
    issuers: (IssuerKeyId, IssuerKeyId),
    crls: CrlFingerprint,
    checked: Instant,
}

#[derive(Default)]
pub(crate) struct CollateralCache {
    sets: RwLock<HashMap<(String, String, String), Cached>>,
    /// The newest CRL of every issuer seen in any set (see `revocation`).
    revocations: RwLock<Arc<Revocations>>,
    /// Asked for a set the store lacks (`pccs_url`), within the upstream's limits and at
    /// most once per key and period (`upstream.rs`); its answer is verified before storing.
    upstream: Option<Pcs>,
    /// The TCB evaluation data set appraisal uses (`collateral_update`): the only kind this
    /// cache reads, stores and asks the upstream for.
    update: CollateralUpdate,
}

/// The first anchor under which the collateral verifies.
pub(crate) fn verify_any(
    collateral: &Collateral,
    anchors: &[TrustAnchor],
) -> Result<VerifiedCollateral, DcapError> {
    verify_any_at(collateral, anchors).map(|(_, verified)| verified)
}

/// `verify_any`, with the index of the anchor the collateral verified under.
pub(crate) fn verify_any_at(
    collateral: &Collateral,
    anchors: &[TrustAnchor],
) -> Result<(usize, VerifiedCollateral), DcapError> {
    let mut last = DcapError::UntrustedRoot { item: "collateral" };
    for (i, anchor) in anchors.iter().enumerate() {
        match verify_collateral(collateral, anchor) {
            Ok(v) => return Ok((i, v)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

pub(crate) fn collateral_from_json(files_json: &str) -> Result<Collateral, String> {
    let files: BTreeMap<String, String> =
        serde_json::from_str(files_json).map_err(|e| e.to_string())?;
    let mut decoded = BTreeMap::new();
    for (name, b64) in files {
        decoded.insert(
            name.clone(),
            STANDARD.decode(b64).map_err(|e| format!("{name}: {e}"))?,
        );
    }
    Collateral::from_files(|name| decoded.get(name).cloned()).map_err(|e| e.to_string())
}

/// Verifies a collateral set (the files of a `shared/vectors`-layout directory) and stores it
/// as the standard set. Returns (fmspc, ca, tee).
pub(crate) async fn import(
    store: &Store,
    anchors: &[TrustAnchor],
    files: &BTreeMap<String, Vec<u8>>,
    now: i64,
) -> Result<(String, String, String), Problem> {
    import_as(store, anchors, files, now, CollateralUpdate::Standard).await
}

/// `import`, storing the set as Intel's `update` kind (what the operator says it is: the files
/// cannot tell).
pub(crate) async fn import_as(
    store: &Store,
    anchors: &[TrustAnchor],
    files: &BTreeMap<String, Vec<u8>>,
    now: i64,
    update: CollateralUpdate,
) -> Result<(String, String, String), Problem> {
    import_expecting(store, anchors, files, now, update, None).await
}

fn rejected(detail: String) -> Problem {
    Problem::new(Kind::CollateralRejected, detail)
}

/// Where `new` is older than `old` (the stored set under the same key): a lower TCB
/// evaluation data number, an earlier-issued TCB Info, QE Identity, PCK CRL or Root CA CRL.
fn older_than(new: &VerifiedCollateral, old: &VerifiedCollateral) -> Option<String> {
    let (nt, ot) = (new.tcb_info(), old.tcb_info());
    let (nq, oq) = (new.qe_identity(), old.qe_identity());
    let rank = |(_, r): (IssuerKeyId, scute_dcap::CrlRank)| (r.number, r.this_update);
    let (n_pck, n_root) = (rank(new.pck_crl_issuer()), rank(new.root_crl_issuer()));
    let (o_pck, o_root) = (rank(old.pck_crl_issuer()), rank(old.root_crl_issuer()));
    let checks = [
        (
            "TCB Info tcbEvaluationDataNumber",
            i64::from(nt.tcb_evaluation_data_number),
            i64::from(ot.tcb_evaluation_data_number),
        ),
        ("TCB Info issueDate", nt.issue_date, ot.issue_date),
        (
            "QE Identity tcbEvaluationDataNumber",
            i64::from(nq.tcb_evaluation_data_number),
            i64::from(oq.tcb_evaluation_data_number),
        ),
        ("QE Identity issueDate", nq.issue_date, oq.issue_date),
    ];
    let crls = [
        ("PCK CRL (number, thisUpdate)", n_pck, o_pck),
        ("Root CA CRL (number, thisUpdate)", n_root, o_root),
    ];
    checks
        .iter()
        .find(|(_, n, o)| n < o)
        .map(|(what, n, o)| format!("{what} {n} is older than the stored set's {o}"))
        .or_else(|| {
            crls.iter()
                .find(|(_, n, o)| n < o)
                .map(|(what, n, o)| format!("{what} {n:?} is older than the stored set's {o:?}"))
        })
}

/// `import`, refusing a set that is not for `expected` (fmspc, ca, tee) when given (what an
/// upstream was asked for), whose QE Identity is not its TEE's, or that is older than the set
/// stored under its key (no rollback to collateral Intel has since superseded; the key includes
/// `update`, so an early set is compared with the stored early set, and its evaluation data
/// numbers also with the stored standard set's: early data is never older than standard).
pub(crate) async fn import_expecting(
    store: &Store,
    anchors: &[TrustAnchor],
    files: &BTreeMap<String, Vec<u8>>,
    now: i64,
    update: CollateralUpdate,
    expected: Option<(&str, &str, &str)>,
) -> Result<(String, String, String), Problem> {
    let checked = check_import(Some(store), anchors, files, update, expected).await?;
    let (fmspc, ca, tee) = (checked.fmspc, checked.ca, checked.tee);
    let encoded: BTreeMap<&String, String> =
        files.iter().map(|(k, v)| (k, STANDARD.encode(v))).collect();
    let json = serde_json::to_string(&encoded).map_err(Problem::internal)?;
    store
        .put_collateral(&fmspc, &ca, &tee, update.as_str(), &json, now)
        .await?;
    Ok((fmspc, ca, tee))
}

/// A set as import verified it, before it is stored.
pub(crate) struct Checked {
    pub(crate) verified: VerifiedCollateral,
    pub(crate) fmspc: String,
    pub(crate) ca: String,
    pub(crate) tee: String,
}

/// What a collateral dry run found (`POST /v1/collateral?dry_run=true`, `scute collateral
/// import --dry-run`): the set as import would store it, and what it would make of every
/// platform of its TEE and FMSPC seen within `retention_secs` (`platforms::dry_run`).
/// Without a store (none created yet): the set verified, and no platforms.
pub(crate) async fn dry_run(
    store: Option<&Store>,
    anchors: &[TrustAnchor],
    files: &BTreeMap<String, Vec<u8>>,
    update: CollateralUpdate,
    now: i64,
    retention_secs: i64,
    max: u64,
) -> Result<serde_json::Value, Problem> {
    let checked = check_import(store, anchors, files, update, None).await?;
    let rows = match store {
        Some(store) => {
            store
                .platforms(
                    now - retention_secs,
                    Some(&checked.tee),
                    Some(&checked.fmspc),
                    max,
                )
                .await?
                .0
        }
        None => Vec::new(),
    };
    let (platforms, changed, unchanged) = crate::platforms::dry_run(&checked.verified, &rows, now);
    Ok(serde_json::json!({
        "dry_run": true,
        "update": update.as_str(),
        "sets": [{ "fmspc": checked.fmspc, "ca": checked.ca, "tee": checked.tee }],
        "platforms": platforms,
        "changed": changed,
        "unchanged": unchanged,
    }))
}

/// Everything import checks before it stores a set (`import_expecting`): the files form a
/// set, it verifies under a trusted root, its QE Identity is its TEE's, it is the expected
/// platform's, and it is no older than the set stored under its key (when there is a store).
/// Writes nothing.
async fn check_import(
    store: Option<&Store>,
    anchors: &[TrustAnchor],
    files: &BTreeMap<String, Vec<u8>>,
    update: CollateralUpdate,
    expected: Option<(&str, &str, &str)>,
) -> Result<Checked, Problem> {
    let collateral = Collateral::from_files(|name| files.get(name).cloned())
        .map_err(|e| Problem::new(Kind::CollateralIncomplete, e.to_string()))?;
    let verified =
        verify_any(&collateral, anchors).map_err(|e| rejected(format!("{}: {e}", e.kind())))?;
    let fmspc = hex::encode(verified.tcb_info().fmspc);
    let ca = verified
        .pck_ca()
        .map(|c| c.name())
        .unwrap_or("unknown")
        .to_string();
    let tee = format!("{:?}", verified.tcb_info().tee).to_lowercase();
    let qe_id = match verified.tcb_info().tee {
        scute_dcap::CollateralTee::Sgx => "QE",
        scute_dcap::CollateralTee::Tdx => "TD_QE",
    };
    if verified.qe_identity().id != qe_id {
        return Err(rejected(format!(
            "the QE Identity is {:?}, not the {tee} QE's ({qe_id:?})",
            verified.qe_identity().id
        )));
    }
    if let Some((want_fmspc, want_ca, want_tee)) = expected {
        if (fmspc.as_str(), ca.as_str(), tee.as_str())
            != (&*want_fmspc.to_lowercase(), want_ca, want_tee)
        {
            return Err(rejected(format!(
                "asked for the {want_tee} set of FMSPC {want_fmspc} ({want_ca} CA), got the {tee} set of FMSPC {fmspc} ({ca} CA)"
            )));
        }
    }
    let kind = update.as_str();
    let Some(store) = store else {
        return Ok(Checked {
            verified,
            fmspc,
            ca,
            tee,
        });
    };
    // The set stored under this key, as it verifies (one that no longer does is no baseline).
    let stored = async |kind: &str| -> Result<Option<VerifiedCollateral>, Problem> {
        Ok(store
            .collateral(&fmspc, &ca, &tee, kind)
            .await?
            .and_then(|(json, _)| collateral_from_json(&json).ok())
            .and_then(|c| verify_any(&c, anchors).ok()))
    };
    if let Some(reason) = stored(kind)
        .await?
        .and_then(|old| older_than(&verified, &old))
    {
        return Err(Problem::new(Kind::CollateralRollback,
            format!("the {tee} collateral for FMSPC {fmspc} ({ca} CA) is older than the stored {kind} set: {reason}"),
        ));
    }
    if update == CollateralUpdate::Early {
        // Intel's early data is never older than its standard data: an early set below the
        // stored standard one is a rollback, whoever serves it (an upstream, an import).
        if let Some(old) = stored(CollateralUpdate::Standard.as_str()).await? {
            let numbers = |c: &VerifiedCollateral| {
                (
                    c.tcb_info().tcb_evaluation_data_number,
                    c.qe_identity().tcb_evaluation_data_number,
                )
            };
            let (new_tcb, new_qe) = numbers(&verified);
            let (old_tcb, old_qe) = numbers(&old);
            if new_tcb < old_tcb || new_qe < old_qe {
                return Err(Problem::new(
                    Kind::CollateralRollback,
                    format!(
                        "the early {tee} collateral for FMSPC {fmspc} ({ca} CA) is older than the stored standard set: tcbEvaluationDataNumber {new_tcb}/{new_qe} (TCB Info/QE Identity) below {old_tcb}/{old_qe}"
                    ),
                ));
            }
        }
    }
    Ok(Checked {
        verified,
        fmspc,
        ca,
        tee,
    })
}

impl CollateralCache {
    /// A cache of the `update` sets, filled from `upstream` when given.
    pub(crate) fn with_upstream(upstream: Option<Pcs>, update: CollateralUpdate) -> Self {
        Self {
            sets: RwLock::default(),
            revocations: RwLock::default(),
            upstream,
            update,
        }
    }

    /// The verified set of the configured kind (`collateral_update`) for a platform. On a miss
    /// in the store, the upstream is asked for that kind only when `authentic()` says the
    /// platform is vouched for by a trusted root (its PCK chain), and not again for
    /// `upstream_negative_cache_secs` after it failed. A set of the other kind is never used.
    pub(crate) async fn get(
        &self,
        store: &Store,
        anchors: &[TrustAnchor],
        fmspc: &str,
        ca: &str,
        tee: &str,
        authentic: impl FnOnce() -> bool,
    ) -> Result<Arc<VerifiedCollateral>, Problem> {
        let key = (fmspc.to_string(), ca.to_string(), tee.to_string());
        let known = self.sets.read().ok().and_then(|sets| {
            sets.get(&key).map(|c| {
                (
                    c.verified.clone(),
                    c.files_digest,
                    c.issuers,
                    c.crls,
                    c.checked.elapsed() < RECHECK,
                )
            })
        });
        if let Some((verified, _, issuers, crls, true)) = &known {
            // Warm: the set was read recently, and no newer CRL of its issuers is known.
            if self.revocations().fingerprint(*issuers, *crls) == *crls {
                return Ok(verified.clone());
            }
        }
        let update = self.update;
        let mut stored = store.collateral(fmspc, ca, tee, update.as_str()).await?;
        if let (None, Some(upstream)) = (&stored, &self.upstream) {
            // Only a platform a trusted root vouches for may make us ask the upstream; a
            // failure is logged by the fetcher and ends as `collateral_missing` below.
            if authentic()
                && upstream
                    .fill(store, anchors, tee, fmspc, Some(ca), update)
                    .await
                    .is_ok()
            {
                stored = store.collateral(fmspc, ca, tee, update.as_str()).await?;
            }
        }
        let (files_json, _updated) = stored.ok_or_else(|| {
            let detail = match update {
                CollateralUpdate::Standard => format!(
                    "no {tee} collateral for FMSPC {fmspc} ({ca} CA): import it with `scute collateral import`"
                ),
                // Never the standard set instead: the operator chose the early one.
                CollateralUpdate::Early => format!(
                    "no early (update=early) {tee} collateral for FMSPC {fmspc} ({ca} CA), the kind \
                     collateral_update names: import it with `scute collateral import --update early`"
                ),
            };
            Problem::new(Kind::CollateralMissing, detail)
        })?;
        let files_digest = sha256(files_json.as_bytes());
        if let Some((verified, known_digest, issuers, crls, _)) = known {
            if known_digest == files_digest && self.revocations().fingerprint(issuers, crls) == crls
            {
                self.remember(key, verified.clone(), files_digest, issuers, crls);
                return Ok(verified);
            }
        }
        let rejected = |e: DcapError| {
            Problem::new(
                Kind::CollateralRejected,
                format!("stored collateral for FMSPC {fmspc}: {e}"),
            )
        };
        let collateral = collateral_from_json(&files_json).map_err(Problem::internal)?;
        let own = verify_any(&collateral, anchors).map_err(rejected)?;
        let (verified, crls) = self.judged_with_newest_crls(&collateral, own, anchors)?;
        let verified = Arc::new(verified);
        let issuers = crate::collateral::revocation::issuers(&verified);
        self.remember(key, verified.clone(), files_digest, issuers, crls);
        Ok(verified)
    }

    fn remember(
        &self,
        key: (String, String, String),
        verified: Arc<VerifiedCollateral>,
        files_digest: [u8; 32],
        issuers: (IssuerKeyId, IssuerKeyId),
        crls: CrlFingerprint,
    ) {
        if let Ok(mut sets) = self.sets.write() {
            sets.insert(
                key,
                Cached {
                    verified,
                    files_digest,
                    issuers,
                    crls,
                    checked: Instant::now(),
                },
            );
        }
    }

    /// What every issuer's newest CRL is, as far as this process knows.
    pub(crate) fn revocations(&self) -> Arc<Revocations> {
        self.revocations
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Learns the CRLs of a set that verified (never making any issuer's CRL older).
    pub(crate) fn offer(&self, collateral: &Collateral, verified: &VerifiedCollateral) {
        let mut guard = self.revocations.write().unwrap_or_else(|p| p.into_inner());
        let mut next = (**guard).clone();
        next.offer(collateral, verified);
        *guard = Arc::new(next);
    }

    /// Forgets every verified set (the store's collateral changed): each is read and verified
    /// again when next used.
    pub(crate) fn invalidate(&self) {
        if let Ok(mut sets) = self.sets.write() {
            sets.clear();
        }
    }

    /// `collateral` (verified as `own`) judged with the newest CRL of each of its issuers:
    /// verified again with those CRLs in place of its own when they are newer (so a newer Root
    /// CA CRL is also checked against the set's signers). Returns the set and the CRLs used.
    pub(crate) fn judged_with_newest_crls(
        &self,
        collateral: &Collateral,
        own: VerifiedCollateral,
        anchors: &[TrustAnchor],
    ) -> Result<(VerifiedCollateral, CrlFingerprint), Problem> {
        self.offer(collateral, &own);
        let Some(newest) = self.revocations().newest_for(collateral, &own) else {
            return Ok((own, own_fingerprint(collateral)));
        };
        let verified = verify_any(&newest, anchors).map_err(|e| {
            Problem::new(
                Kind::CollateralRejected,
                format!(
                    "collateral for FMSPC {} under its issuers' newest CRLs: {}: {e}",
                    hex::encode(own.tcb_info().fmspc),
                    e.kind()
                ),
            )
        })?;
        Ok((verified, own_fingerprint(&newest)))
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// Intel PCS or a PCCS (`pccs_url`): a platform's collateral set, fetched once per key and
/// period, verified, and stored (nothing unverified is kept).
#[derive(Clone)]
pub(crate) struct Pcs {
    client: crate::collateral::pccs_client::PccsClient,
    flights: Upstream<()>,
    /// Sets the upstream gave that did not verify (`scute_collateral_upstream_rejected_total`).
    pub(crate) rejected: Arc<AtomicU64>,
}

impl Pcs {
    pub(crate) fn new(
        client: crate::collateral::pccs_client::PccsClient,
        limits: Limits,
        counters: &Counters,
    ) -> Self {
        Self {
            client,
            flights: Upstream::new("pcs", limits, counters),
            rejected: Arc::default(),
        }
    }

    /// The same server under a budget of its own (`/metrics` name `name`), for fills anyone
    /// can ask for (the PCCS TCB Info route): however many they ask, the fills that a
    /// genuine PCK chain or a stored set asks for keep their own concurrency and rate.
    pub(crate) fn with_own_budget(
        &self,
        name: &'static str,
        limits: Limits,
        counters: &Counters,
    ) -> Self {
        Self {
            client: self.client.clone(),
            flights: Upstream::new(name, limits, counters),
            rejected: self.rejected.clone(),
        }
    }

    /// Fetches the `tee` set of `fmspc` whose PCK CRL is `ca`'s, asking for Intel's `update`
    /// kind (`update=early` for the early set), verifies it and stores it as that kind (on a
    /// task of its own: it owns what it uses). `ca: None` (the TCB Info route, which names no
    /// CA): the Processor CA's set, else the Platform CA's unless the TCB Info itself was what
    /// failed. Callers learn what was stored (`collateral_changed`) after it returns.
    pub(crate) async fn fill(
        &self,
        store: &crate::store::Store,
        anchors: &[scute_dcap::TrustAnchor],
        tee: &str,
        fmspc: &str,
        ca: Option<&str>,
        update: CollateralUpdate,
    ) -> Result<(), Refusal> {
        // The standard key keeps its old spelling; an early fill is a key (and a flight) of
        // its own.
        let key = match update {
            CollateralUpdate::Standard => {
                format!("{tee}/{}/{}", fmspc.to_lowercase(), ca.unwrap_or("any"))
            }
            CollateralUpdate::Early => format!(
                "{tee}/{}/{}/early",
                fmspc.to_lowercase(),
                ca.unwrap_or("any")
            ),
        };
        let cas: Vec<String> = match ca {
            Some(ca) => vec![ca.to_string()],
            None => vec!["processor".into(), "platform".into()],
        };
        let (client, store, anchors) = (self.client.clone(), store.clone(), anchors.to_vec());
        let (tee, fmspc, rejected) = (tee.to_string(), fmspc.to_string(), self.rejected.clone());
        self.flights
            .fetch(&key, move || async move {
                let (tee, fmspc) = (tee.as_str(), fmspc.as_str());
                let base = client.base_url();
                let mut last = None;
                for ca in cas {
                    let ca = ca.as_str();
                    let files = match client.fetch_set_of(tee, fmspc, ca, update).await {
                        Ok(files) => files,
                        Err(e) => {
                            tracing::warn!(
                                upstream = base,
                                tee,
                                fmspc,
                                update = update.as_str(),
                                detail = e.to_string(),
                                "upstream_unavailable"
                            );
                            let tcb_failed = matches!(&e, crate::error::ServerError::Fetch { url, .. }
                                if url.contains("/certification/v4/tcb?"));
                            last = Some(Problem::new(Kind::UpstreamUnavailable,
                                e.to_string(),
                            ));
                            if tcb_failed {
                                break;
                            }
                            continue;
                        }
                    };
                    if let Err(e) = import_expecting(
                        &store,
                        &anchors,
                        &files,
                        crate::clock::now(),
                        update,
                        Some((fmspc, ca, tee)),
                    )
                    .await
                    {
                        rejected.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            upstream = base,
                            tee,
                            fmspc,
                            update = update.as_str(),
                            kind = e.kind.name(),
                            detail = e.detail,
                            outcome = "nothing stored",
                            "upstream_refused"
                        );
                        return Err(Problem::new(Kind::UpstreamRejected,
                            format!(
                                "the upstream's collateral for FMSPC {fmspc} does not verify: {}",
                                e.detail
                            ),
                        ));
                    }
                    return Ok(());
                }
                Err(last.unwrap_or_else(|| Problem::internal("no PCK CA to ask for")))
            })
            .await
    }
}
