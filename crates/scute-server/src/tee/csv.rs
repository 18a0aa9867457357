//! Hygon CSV in the shared pipeline: evidence as the CoCo CSV attester sends it (the serde JSON
//! of guest-components `attestation-agent/attester/src/csv/mod.rs`, which Trustee's
//! `deps/verifier/src/csv/mod.rs` reads) or a raw report; the chip's HSK/CEK from the store
//! (imported by chip serial) or from the evidence itself; scute-csv's verification with
//! report_data always bound; V2's RTMRs bound to the SM3 event log; claims for the policies.
//!
//! report_data convention: the guest pads its report data with zeros to 64 bytes (attester:
//! `report_data.resize(64, 0)`; Trustee: `regularize_data(.., 64, ..)`, truncating longer
//! values), so a front door's `expected_report_data` (its digest, zero-padded to 64 bytes; a
//! SHA-512 digest fills all 64) is compared with all 64 bytes of the report.

use super::claims::{Claims, CsvClaims, CsvMeasurements, CsvRtmrs, EventLogClaims};
use super::{adapter_refused, bind, Binding, Evidence, Verified, Verifiers};
use crate::config::Config;
use crate::error::ServerError;
use crate::problem::{Kind, Problem};
use crate::store::Store;
use scute_csv::{CaCert, CsvError, HskCek, RootKey, TrustRoots, VerifiedReport};
use scute_eventlog::{Flavor, ALG_SM3_256};
use scute_tee::ChipSerial;
use scute_verify::{Endorsements, Family, Options};

/// Hygon's HRK and the configured `csv_trust_roots` (HRK certificates, self-signature checked).
pub(crate) fn trust_roots(config: &Config) -> Result<TrustRoots, ServerError> {
    let mut roots = vec![RootKey::hygon()];
    for path in &config.csv_trust_roots {
        let err = |reason: String| ServerError::TrustRoot {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let cert = CaCert::decode(&bytes).map_err(|e| err(e.to_string()))?;
        roots.push(RootKey::from_hrk(&cert).map_err(|e| err(e.to_string()))?);
    }
    Ok(TrustRoots::new(roots))
}

fn csv_rejected(e: CsvError) -> Problem {
    match e {
        CsvError::ReportData => Problem::new(Kind::ReportDataMismatch,
            "the CSV report's report_data does not bind the runtime data",
        ),
        CsvError::ChainMissing => Problem::new(Kind::CollateralMissing,
            "no HSK/CEK for this chip: import them (scute collateral import-csv) or have the attester include them",
        ),
        e => Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind())),
    }
}

/// Stores a chip's HSK ‖ CEK once they chain to a trusted root.
pub(crate) async fn import(
    store: &Store,
    roots: &TrustRoots,
    chip_serial: &str,
    hsk_cek: &[u8],
    now: i64,
) -> Result<(), Problem> {
    if chip_serial.is_empty()
        || chip_serial.len() >= 64
        || !chip_serial.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Problem::new(
            Kind::BadField,
            "a chip serial is 1..63 printable ASCII characters",
        ));
    }
    let chain = HskCek::decode(hsk_cek).map_err(csv_rejected)?;
    scute_csv::verify_hsk_cek(&chain, roots).map_err(csv_rejected)?;
    store
        .put_csv_hsk_cek(chip_serial, &chain.encode(), now)
        .await?;
    Ok(())
}

/// A registry adapter's refusal of CSV evidence, with CSV's own kinds (`csv_rejected`).
fn refused(e: scute_verify::Error) -> Problem {
    match e {
        scute_verify::Error::Tee(scute_verify::TeeError::Csv(e)) => csv_rejected(e),
        other => adapter_refused(other),
    }
}

pub(crate) async fn verify(
    verifiers: &Verifiers,
    binding: Binding<'_>,
    evidence: &Evidence,
    now: i64,
) -> Result<Verified, Problem> {
    let adapter = scute_verify::adapter(Family::Csv);
    let decoded = adapter.decode(&evidence.bytes).map_err(refused)?;
    let wire = decoded
        .downcast_ref::<scute_csv::Evidence>()
        .ok_or_else(|| Problem::internal("the CSV adapter decoded no report"))?;
    let serial = wire.chip_serial().map_err(csv_rejected)?;
    // All that needs no chip chain, first: evidence that could never verify (unsigned,
    // unbound) must not make the service look up, let alone fetch, a chain for the serial it
    // claims.
    scute_csv::check_before_chain(wire, binding.report_data).map_err(csv_rejected)?;
    // Collateral: the store's, verified at import; else what the evidence carries (verified
    // below like any other chain); else the configured KDS's, verified before it is stored.
    let stored = match verifiers.store.csv_hsk_cek(&serial).await? {
        Some(b) => Some(
            HskCek::decode(&b).map_err(|e| Problem::internal(format!("stored HSK/CEK: {e}")))?,
        ),
        None => match (&verifiers.csv_kds, wire.hsk_cek()) {
            (Some(kds), None) => Some(kds.fetch_and_store(verifiers, &serial, now).await?),
            _ => None,
        },
    };
    let looked_up = stored.is_some();
    // report_data is always bound: it is also what pins a V1 report's anonce.
    let verified = adapter
        .verify(
            &decoded,
            stored.map(Endorsements::new).as_ref(),
            &verifiers.given_roots.csv,
            now,
            Some(binding.report_data),
            &Options::default(),
        )
        .map_err(refused)?;
    bind(verified.report(), binding)?;
    let verified = verified
        .downcast_ref::<VerifiedReport>()
        .ok_or_else(|| Problem::internal("the CSV adapter verified no report"))?;
    let log = evidence.cc_eventlog.as_deref().or(wire.cc_eventlog());
    // Looked up by the report's serial (store or KDS): that is what proves the serial.
    let verified = if looked_up {
        verified.clone().serial_looked_up()
    } else {
        verified.clone()
    };
    let log_claims = match (log, verified.rtmrs()) {
        (Some(bytes), Some(rtmrs)) => Some(replay_event_log(rtmrs, bytes)?),
        // A V1 report has no RTMRs to bind a log to: it is left out of the claims.
        _ => None,
    };
    // The serial is only bound when the chain was looked up by it (store or KDS): a chain the
    // evidence carries certifies the PEK, not the serial the (MAC-only) signer block names.
    // The chain `verify` was given is `stored`, looked up by the serial: the report's
    // `chip_serial_verified` says the same, and names the serial by it.
    debug_assert_eq!(verified.chip_serial_verified(), looked_up);
    let (major, minor) = verified.firmware();
    // A platform is recorded by its proven serial only: one the evidence merely claims (its
    // own HSK/CEK certified the PEK, not the serial) would let a client name any chip, and
    // fill the table with chips it never ran on.
    let sighting = if verified.chip_serial_verified() {
        crate::platforms::Sighting::plain(
            "csv",
            verified.chip_serial().to_string(),
            &serde_json::json!({ "firmware": format!("{major}.{minor}") }),
            "None",
        )
    } else {
        None
    };
    Ok(Verified {
        sighting,
        claims: claims(&verified, log_claims),
        tcb_status: "None".into(),
        // CSV certificates carry no validity period: the token's own lifetime bounds it.
        expires: now + verifiers.token_lifetime_secs,
    })
}

/// Largest KDS answer read (HSK ‖ CEK is 2916 bytes).
const MAX_KDS_BYTES: usize = 4096;

/// A Hygon KDS-compatible server (`csv_kds_url`), asked `?snumber=` for a chip's HSK ‖ CEK at
/// most once per serial and `upstream_negative_cache_secs`, within the upstream's limits
/// (`upstream.rs`).
pub(crate) struct HygonKds {
    http: crate::collateral::upstream::Http,
    url: String,
    /// By serial: the chain as verified and stored.
    fetches: crate::collateral::upstream::Upstream<Vec<u8>>,
}

fn kds_failed(detail: impl std::fmt::Display) -> Problem {
    Problem::new(Kind::UpstreamFailed, format!("Hygon KDS: {detail}"))
}

impl HygonKds {
    pub(crate) fn new(
        url: &str,
        limits: crate::collateral::upstream::Limits,
        counters: &crate::collateral::upstream::Counters,
    ) -> Result<Self, ServerError> {
        let http = crate::collateral::upstream::Http::new(None, MAX_KDS_BYTES)
            .map_err(|e| ServerError::Config(format!("csv_kds_url {url}: {e}")))?;
        Ok(Self {
            http,
            url: url.to_string(),
            fetches: crate::collateral::upstream::Upstream::new("hygon_kds", limits, counters),
        })
    }

    /// Asks the KDS for a chip's HSK ‖ CEK, verifies them against the trusted roots, stores
    /// them. The serial is the (unauthenticated) report's: whatever comes back is only kept
    /// once it chains to a trusted HRK.
    async fn fetch_and_store(
        &self,
        verifiers: &Verifiers,
        serial: &str,
        now: i64,
    ) -> Result<HskCek, Problem> {
        let query: String =
            percent_encoding::utf8_percent_encode(serial, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let url = format!("{}?snumber={query}", self.url);
        // The fetch runs on a task of its own (`upstream.rs`): it owns what it uses.
        let (http, roots, store) = (
            self.http.clone(),
            verifiers.csv_roots.clone(),
            verifiers.store.clone(),
        );
        let chip = serial.to_string();
        let encoded = self
            .fetches
            .fetch(serial, move || async move {
                let answer = http.get(&url, &[]).await.map_err(kds_failed)?;
                if answer.status == reqwest::StatusCode::NOT_FOUND {
                    return Err(Problem::new(
                        Kind::CollateralMissing,
                        format!("the Hygon KDS has no HSK/CEK for chip {chip}"),
                    ));
                }
                if !answer.status.is_success() {
                    return Err(kds_failed(format!("answered {}", answer.status)));
                }
                let chain = HskCek::decode(&answer.body).map_err(kds_failed)?;
                scute_csv::verify_hsk_cek(&chain, &roots).map_err(csv_rejected)?;
                let encoded = chain.encode();
                store.put_csv_hsk_cek(&chip, &encoded, now).await?;
                Ok(encoded)
            })
            .await
            .map_err(|r| r.or_limited(kds_failed))?;
        HskCek::decode(&encoded).map_err(|e| Problem::internal(format!("fetched HSK/CEK: {e}")))
    }
}

/// The SM3 CCEL must replay to V2's rtmr1..rtmr4 (CC MR index i extends rtmr i; rtmr0 is the
/// launch measure), and each event's data must be what its digest proves.
fn replay_event_log(rtmrs: &[[u8; 32]; 5], bytes: &[u8]) -> Result<EventLogClaims, Problem> {
    let err = |e: scute_eventlog::EventLogError| {
        Problem::new(Kind::EventlogRejected, format!("cc_eventlog: {e}"))
    };
    let log = scute_eventlog::parse(bytes, scute_eventlog::ParseOptions::default()).map_err(err)?;
    let replay = log.replay_as(Flavor::Csv).map_err(err)?;
    let mismatched: Vec<String> = (1..=4usize)
        .filter(|i| {
            let name = format!("cc_mr{i}");
            let replayed = replay.register(&name).map(|r| r.value.as_slice());
            replayed != rtmrs.get(*i).map(|r| r.as_slice())
        })
        .map(|i| format!("rtmr{i}"))
        .collect();
    if !mismatched.is_empty() {
        return Err(Problem::new(
            Kind::EventlogMismatch,
            format!(
                "cc_eventlog does not replay to the report's {}",
                mismatched.join(", ")
            ),
        ));
    }
    Ok(EventLogClaims::new(
        log.measured_events().map_err(err)?,
        ALG_SM3_256,
    ))
}

/// Claims about a verified CSV report: the decoded report, the debug rule's answer, and the
/// measurements policies compare with reference values. The serial is named by its proof
/// (`ChipSerial`), at the top and in `report`: an unproven one is `claimed_chip_serial`.
pub(crate) fn claims(verified: &VerifiedReport, event_log: Option<EventLogClaims>) -> Claims {
    let report = verified.claims();
    let serial = verified.chip_serial().to_string();
    let proven = verified.chip_serial_verified();
    let (major, minor) = verified.firmware();
    let rtmrs = match report.tee_info {
        scute_csv::TeeInfoClaims::V1 { .. } => None,
        scute_csv::TeeInfoClaims::V2 {
            rtmr1,
            rtmr2,
            rtmr3,
            rtmr4,
            ..
        } => Some(CsvRtmrs {
            rtmr1,
            rtmr2,
            rtmr3,
            rtmr4,
        }),
    };
    Claims::Csv(Box::new(CsvClaims {
        tee: "csv",
        quote_version: verified.version(),
        // CSV has no TCB evaluation; the default policy judges it by the chain and debug.
        tcb_status: "None",
        debug: verified.is_debug(),
        chip_serial: if proven {
            ChipSerial::Verified(serial)
        } else {
            ChipSerial::Claimed(serial)
        },
        firmware: format!("{major}.{minor}"),
        mac_checked: verified.mac() == scute_csv::MacCheck::Verified,
        report_data_bound: verified.report_data_bound(),
        measurements: CsvMeasurements {
            measure: report.measure,
            vm_id: report.vm_id,
            vm_version: report.vm_version,
            user_pubkey_digest: report.user_pubkey_digest,
            rtmrs,
        },
        report,
        event_log,
        chip_serial_verified: proven,
    }))
}
