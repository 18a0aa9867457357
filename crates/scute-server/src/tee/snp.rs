//! AMD SEV-SNP in the service: evidence as Confidential Containers' attester sends it, the
//! VCEK/VLEK from the evidence or the store (imported offline, verified before stored), the
//! report_data and HOST_DATA (init-data) bindings, and the claims policies read.
//!
//! Wire format: the sev crate's serde forms guest-components sends, decoded by
//! `scute_snp::Evidence` (`crates/scute-snp/src/evidence.rs`); this module maps its errors to
//! the service's problem kinds.

use super::claims::{Claims, SnpClaims, SnpMeasurements};
use super::{
    adapter_refused, bind, bind_init_data, bind_report_data, Binding, Evidence, Verified, Verifiers,
};
use crate::problem::{Kind, Problem};
use crate::store::Store;
use scute_snp::{inspect_vek, CertRole, Collateral, SnpError, TrustRoots, VerifiedReport};
use scute_verify::{Endorsements, Family, InitDataSlot, Options, Tee};

pub(crate) fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(Kind::BadField, detail)
}

/// A wire-decoding failure as the front doors answer it: 400 `malformed_base64` for a base64
/// report that does not decode, 400 `bad_field` for evidence JSON that is not the KBS form;
/// a report that does not decode is `evidence_rejected`.
fn wire_refused(e: scute_verify::Error) -> Problem {
    match e {
        scute_verify::Error::Tee(scute_verify::TeeError::Snp(e)) => match e {
            SnpError::Base64 { .. } => Problem::new(Kind::MalformedBase64, e.to_string()),
            SnpError::Evidence(_) => bad(e.to_string()),
            e => Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind())),
        },
        other => adapter_refused(other),
    }
}

/// Store names: VCEKs by chip and TCB, VLEKs by TCB, the chains by product and kind.
pub(crate) fn vcek_name(hwid: &[u8], tcb: &[u8; 8]) -> String {
    format!("snp-vcek/{}/{}", hex::encode(hwid), hex::encode(tcb))
}
fn vlek_name(tcb: &[u8; 8]) -> String {
    format!("snp-vlek/{}", hex::encode(tcb))
}
pub(crate) fn chain_name(product: scute_snp::Product, kind: CertRole) -> String {
    format!("snp-chain/{}/{}", product.name(), kind.name())
}

/// The TCB bytes a VEK certifies, in its product's layout.
fn vek_tcb(info: &scute_snp::VekInfo) -> Option<[u8; 8]> {
    let layout = info.product?.tcb_layout();
    let spl = |n: u32| info.spls.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
    let mut out = [0u8; 8];
    for (slot, field) in out.iter_mut().zip(layout.fields()) {
        *slot = match field {
            scute_snp::TcbField::BootLoader => spl(1)?,
            scute_snp::TcbField::Tee => spl(2)?,
            scute_snp::TcbField::Snp => spl(3)?,
            scute_snp::TcbField::Microcode => spl(8)?,
            scute_snp::TcbField::Fmc => spl(9)?,
            scute_snp::TcbField::Reserved(_) => 0,
        };
    }
    Some(out)
}

/// Verifies a VCEK or VLEK (and its chain, if given) at `now` and files it in the store.
/// Returns the name it was filed under.
pub(crate) async fn import(
    store: &Store,
    roots: &TrustRoots,
    vek: &[u8],
    chain: Option<&[u8]>,
    now: i64,
) -> Result<String, Problem> {
    let (name, product, kind) = check_vek(roots, vek, chain, now)?;
    store.put_secret(&name, vek).await?;
    if let Some(chain) = chain {
        let intermediate = if kind == CertRole::Vlek {
            CertRole::Asvk
        } else {
            CertRole::Ask
        };
        store
            .put_secret(&chain_name(product, intermediate), chain)
            .await?;
    }
    Ok(name)
}

/// What `import` checks of a VCEK or VLEK (and its chain) before it files it, writing nothing:
/// the name it would be filed under, its product and role.
pub(crate) fn check_vek(
    roots: &TrustRoots,
    vek: &[u8],
    chain: Option<&[u8]>,
    now: i64,
) -> Result<(String, scute_snp::Product, CertRole), Problem> {
    let collateral = Collateral {
        vek,
        chain,
        crl: None,
    };
    let (product, kind) = scute_snp::verify_chain(&collateral, roots, now)
        .map_err(|e| Problem::new(Kind::CollateralRejected, format!("{}: {e}", e.kind())))?;
    let info =
        inspect_vek(vek).map_err(|e| Problem::new(Kind::CollateralRejected, e.to_string()))?;
    let tcb = vek_tcb(&info)
        .ok_or_else(|| Problem::new(Kind::CollateralRejected, "VEK without its SPLs"))?;
    let name = match (kind, &info.hwid) {
        (CertRole::Vcek, Some(hwid)) => vcek_name(hwid, &tcb),
        _ => vlek_name(&tcb),
    };
    Ok((name, product, kind))
}

/// The stored VEK (and chain) a report needs, if any.
async fn stored(
    store: &Store,
    report: &scute_snp::Report,
) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), Problem> {
    let tcb = report.reported_tcb.0;
    let (name, kind) = match report.signing_key() {
        scute_snp::SigningKey::Vlek => (vlek_name(&tcb), CertRole::Asvk),
        _ => {
            // Turin HWIDs are the first 8 bytes of chip_id.
            let long = vcek_name(&report.chip_id, &tcb);
            match store.secret(&long).await? {
                Some(_) => (long, CertRole::Ask),
                None => (
                    vcek_name(report.chip_id.get(..8).unwrap_or_default(), &tcb),
                    CertRole::Ask,
                ),
            }
        }
    };
    let Some(vek) = store.secret(&name).await? else {
        return Ok((None, None));
    };
    let chain = match inspect_vek(&vek).ok().and_then(|i| i.product) {
        Some(product) => store.secret(&chain_name(product, kind)).await?,
        None => None,
    };
    Ok((Some(vek), chain))
}

/// An AMD KDS-compatible upstream (`https://kdsintf.amd.com` or a mirror): VCEKs by chip and
/// TCB, and the product's cert_chain (tee-formats.md §5 URL forms), each URL asked at most once
/// per `upstream_negative_cache_secs` and within the upstream's limits (`upstream.rs`; AMD
/// throttles by client address). Nothing it sends is trusted: a VCEK is stored only after the
/// report it was fetched for verifies with it.
pub(crate) struct Kds {
    http: crate::collateral::upstream::Http,
    base: String,
    fetches: crate::collateral::upstream::Upstream<Vec<u8>>,
}

/// Largest KDS answer read (a VCEK is ~1.4 KB, a cert_chain ~4.6 KB).
const MAX_KDS_BYTES: usize = 16 * 1024;

fn kds_failed(detail: impl std::fmt::Display) -> Problem {
    Problem::new(
        Kind::CollateralMissing,
        format!("no VCEK from the KDS: {detail}"),
    )
}

impl Kds {
    pub(crate) fn new(
        url: &str,
        limits: crate::collateral::upstream::Limits,
        counters: &crate::collateral::upstream::Counters,
    ) -> Result<Self, crate::error::ServerError> {
        let http = crate::collateral::upstream::Http::new(None, MAX_KDS_BYTES)
            .map_err(|e| crate::error::ServerError::Config(format!("snp_kds_url {url}: {e}")))?;
        Ok(Self {
            http,
            base: url.trim_end_matches('/').to_string(),
            fetches: crate::collateral::upstream::Upstream::new("amd_kds", limits, counters),
        })
    }

    /// The body of `url` (keyed by the URL: it names product, chip and TCB).
    async fn get(&self, url: &str) -> Result<Vec<u8>, Problem> {
        // The fetch runs on a task of its own (`upstream.rs`): it owns what it uses.
        let (http, owned_url) = (self.http.clone(), url.to_string());
        self.fetches
            .fetch(url, move || async move {
                let answer = http.get(&owned_url, &[]).await.map_err(kds_failed)?;
                if answer.status != reqwest::StatusCode::OK {
                    return Err(kds_failed(format!("{owned_url}: {}", answer.status)));
                }
                Ok(answer.body)
            })
            .await
            .map_err(|r| r.or_limited(kds_failed))
    }

    /// The VCEK and cert_chain for a VCEK-signed report: product from its CPUID (v3+), else
    /// Milan then Genoa (v2 reports predate Turin); Turin's hwid is chip_id's first 8 bytes
    /// and its query adds fmcSPL.
    async fn fetch(&self, report: &scute_snp::Report) -> Result<(Vec<u8>, Vec<u8>), Problem> {
        use scute_snp::{Product, TcbField};
        let products = match report.cpuid() {
            Some((f, m, _)) => Product::from_cpuid(f, m).into_iter().collect(),
            None => vec![Product::Milan, Product::Genoa],
        };
        let mut last = kds_failed("no product line for this report");
        for product in products {
            let layout = product.tcb_layout();
            let spl = |field| report.reported_tcb.get(layout, field).unwrap_or(0);
            let (hwid, fmc) = match product {
                Product::Turin => (
                    hex::encode(report.chip_id.get(..8).unwrap_or_default()),
                    format!("fmcSPL={:02}&", spl(TcbField::Fmc)),
                ),
                _ => (hex::encode(report.chip_id), String::new()),
            };
            let url = format!(
                "{}/vcek/v1/{}/{hwid}?{fmc}blSPL={:02}&teeSPL={:02}&snpSPL={:02}&ucodeSPL={:02}",
                self.base,
                product.name(),
                spl(TcbField::BootLoader),
                spl(TcbField::Tee),
                spl(TcbField::Snp),
                spl(TcbField::Microcode),
            );
            match self.get(&url).await {
                Ok(vek) => {
                    let chain_url = format!("{}/vcek/v1/{}/cert_chain", self.base, product.name());
                    return Ok((vek, self.get(&chain_url).await?));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// The endorsements of SNP evidence: the VEK (and chain) sent with the evidence, else the
/// store's, else (for a VCEK-signed report with an unmasked chip ID) the KDS's. `None`: none
/// anywhere. `fetched`: from the KDS (stored only once a report verified with it).
async fn endorsements(
    verifiers: &Verifiers,
    report: &scute_snp::Report,
    vek: Option<&[u8]>,
    chain: Option<&[u8]>,
) -> Result<Option<(scute_snp::Endorsements, bool)>, Problem> {
    let sent_chain = chain.map(<[u8]>::to_vec);
    if let Some(vek) = vek {
        let e = scute_snp::Endorsements {
            vek: vek.to_vec(),
            chain: sent_chain,
            crl: None,
        };
        return Ok(Some((e, false)));
    }
    let (vek, chain, fetched) = match (stored(&verifiers.store, report).await?, &verifiers.snp_kds)
    {
        ((Some(vek), chain), _) => (vek, sent_chain.or(chain), false),
        ((None, _), Some(kds))
            if report.signing_key() == scute_snp::SigningKey::Vcek && !report.mask_chip_key() =>
        {
            let (vek, chain) = kds.fetch(report).await?;
            (vek, Some(chain), true)
        }
        ((None, _), _) => return Ok(None),
    };
    Ok(Some((
        scute_snp::Endorsements {
            vek,
            chain,
            crl: None,
        },
        fetched,
    )))
}

/// SEV-SNP has no TCB status from AMD: a verified report's endorsement key is AMD's for
/// exactly the reported TCB. This names that state for tokens and metrics.
pub(crate) const TCB_STATUS: &str = "VekEndorsed";

/// Claims about a verified report.
pub(crate) fn claims(verified: &VerifiedReport) -> Claims {
    let report = scute_snp::ReportClaims::new(verified);
    Claims::Snp(Box::new(SnpClaims {
        tee: "snp",
        quote_version: verified.report().version,
        tcb_status: TCB_STATUS,
        debug: verified.is_debug(),
        product: verified.product().name(),
        signing_key: verified.signer().name(),
        collateral_expires: scute_dcap::format_rfc3339(verified.expires()),
        measurements: SnpMeasurements {
            measurement: report.measurement,
            host_data: report.host_data,
            family_id: report.family_id,
            image_id: report.image_id,
            id_key_digest: report.id_key_digest,
        },
        report,
    }))
}

/// SEV-SNP: report_data, and init-data bound by HOST_DATA (`super::bind_init_data`), then
/// authenticity through the registry adapter with the endorsements `endorsements` finds. The
/// bindings and the report's own form are checked first: a report that could never be
/// accepted must not make the service look up, let alone fetch from AMD's KDS, a key for it.
pub(crate) async fn verify_bound(
    verifiers: &Verifiers,
    binding: Binding<'_>,
    evidence: &Evidence,
    now: i64,
) -> Result<Verified, Problem> {
    let evidence_rejected =
        |e: scute_snp::SnpError| Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind()));
    if evidence.api {
        // `/v1/attest` sends the raw report, never the evidence JSON (the KBS's form).
        scute_snp::Report::decode(&evidence.bytes).map_err(evidence_rejected)?;
    }
    let adapter = scute_verify::adapter(Family::Snp);
    let decoded = adapter.decode(&evidence.bytes).map_err(wire_refused)?;
    let wire = decoded
        .downcast_ref::<scute_snp::Evidence>()
        .ok_or_else(|| Problem::internal("the SEV-SNP adapter decoded no report"))?;
    let report = scute_snp::Report::decode(&wire.report).map_err(evidence_rejected)?;
    bind_report_data(Tee::Snp, &report.report_data, binding)?;
    bind_init_data(Tee::Snp, InitDataSlot::HostData(&report.host_data), binding)?;
    scute_snp::check_form(&report).map_err(evidence_rejected)?;

    let vek = wire.vek.as_deref().or(evidence.sent_vek.as_deref());
    let chain = wire.chain.as_deref().or(evidence.sent_chain.as_deref());
    let (found, fetched) = endorsements(verifiers, &report, vek, chain)
        .await?
        .ok_or_else(|| Problem::new(Kind::CollateralMissing,
            "no VCEK/VLEK in the evidence and none stored for this chip and TCB (import it with POST /v1/collateral)",
        ))?;
    let (vek, chain) = (found.vek.clone(), found.chain.clone());
    let verified = adapter
        .verify(
            &decoded,
            Some(&Endorsements::new(found)),
            &verifiers.given_roots.snp,
            now,
            None,
            &Options::default(),
        )
        .map_err(adapter_refused)?;
    if fetched {
        // Cached only now that a report verified with it.
        import(
            &verifiers.store,
            &verifiers.snp_roots,
            &vek,
            chain.as_deref(),
            now,
        )
        .await?;
    }
    bind(verified.report(), binding)?;
    let verified = verified
        .downcast_ref::<VerifiedReport>()
        .ok_or_else(|| Problem::internal("the SEV-SNP adapter verified no report"))?;
    let report_claims = scute_snp::ReportClaims::new(verified);
    // A masked chip id (all zeros) names no chip: the product stands for it.
    let platform = if report_claims.chip_id.0.iter().all(|b| *b == 0) {
        verified.product().name().to_string()
    } else {
        hex::encode(report_claims.chip_id.0)
    };
    let sighting =
        crate::platforms::Sighting::plain("snp", platform, &report_claims.reported_tcb, TCB_STATUS);
    Ok(Verified {
        sighting,
        claims: claims(verified),
        tcb_status: TCB_STATUS.to_string(),
        expires: verified.expires(),
    })
}
