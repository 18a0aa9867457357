//! `scute ratls serve|connect|inspect`: an attested echo server, the `openssl s_client` of
//! RA-TLS, and a reader for RA-TLS certificates from any implementation.

use crate::quote_cmd::TeeArgs;
use crate::verify_cmd::read_collateral;
use crate::{EXIT_CANNOT_RUN, EXIT_REJECTED};
use anyhow::Context;
use clap::{Args, Subcommand};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use scute_attester::GuestTee;
use scute_dcap::{
    report_json, verify_collateral, TcbStatus, TrustAnchor, UnixTime, VerifiedCollateral,
    VerifyOptions,
};
use scute_ratls::{
    inspect, issue, CollateralLookup, CollateralSource, Expectations, IssueOptions, KeyAlgorithm,
    RaTlsVerifier,
};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Subcommand)]
pub(crate) enum RaTlsCommand {
    /// An attested echo server: each line sent comes back.
    Serve(ServeArgs),
    /// Handshake with an RA-TLS server, verify it, print its identity.
    Connect(ConnectArgs),
    /// Decode an RA-TLS certificate, check its key binding, and verify its quote.
    Inspect(InspectArgs),
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[arg(long)]
    listen: String,
    #[command(flatten)]
    tee: TeeArgs,
    /// Carry this collateral directory in the certificate (endorsements extension), so
    /// verifiers need none of their own. With the simulator, its collateral is carried.
    #[arg(long)]
    endorsements: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ConnectArgs {
    /// host:port of the server.
    addr: String,
    /// Collateral directory for the server's platform; without it (and without --pccs), the
    /// collateral the server's certificate carries is used (authenticated against the trusted
    /// root).
    #[arg(long, conflicts_with = "pccs")]
    collateral: Option<PathBuf>,
    /// Fetch the collateral the server's quote needs from this PCCS-compatible server and
    /// verify it [default without --collateral: pccs_url of /etc/sgx_default_qcnl.conf, else
    /// the certificate's endorsements].
    #[arg(long)]
    pccs: Option<String>,
    /// A PEM CA certificate for a --pccs server with a private CA.
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// Trust this root CA (PEM or DER) instead of the Intel SGX Root CA.
    #[arg(long)]
    trust_root: Option<PathBuf>,
    /// A measurement the server must have: NAME=HEX, NAME one of mr_enclave, mr_signer, mr_td,
    /// rtmr0..rtmr3.
    #[arg(long = "expect")]
    expect: Vec<String>,
    /// Also accept this TCB status (UpToDate always is).
    #[arg(long = "allow-tcb")]
    allow_tcb: Vec<String>,
    /// Refuse a peer appraised against TCB evaluation data older than N (the lower of TCB
    /// Info's and QE Identity's tcbEvaluationDataNumber); advised when the peer's own
    /// certificate carries the collateral.
    #[arg(long, value_name = "N")]
    min_tcb_evaluation_data_number: Option<u32>,
    #[arg(long)]
    allow_debug: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct InspectArgs {
    /// Certificate, PEM or DER.
    cert: PathBuf,
    #[arg(long)]
    collateral: Option<PathBuf>,
    /// Verify as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
    #[arg(long)]
    trust_root: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: RaTlsCommand) -> anyhow::Result<u8> {
    match command {
        RaTlsCommand::Serve(args) => serve(args),
        RaTlsCommand::Connect(args) => connect(args),
        RaTlsCommand::Inspect(args) => inspect_cmd(args),
    }
}

fn now() -> UnixTime {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    let attester = args.tee.attester()?;
    let tee = attester.guest_tee();
    anyhow::ensure!(
        matches!(tee, GuestTee::Tdx | GuestTee::Sgx),
        "RA-TLS certificates carry Intel quotes (CBOR tag 60000): {} ({}) evidence has no RA-TLS form yet",
        tee.name(),
        attester.name()
    );
    let endorsements_dir = args.endorsements.clone().or_else(|| {
        let sim = args
            .tee
            .sim_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("scute-sim"));
        attester
            .name()
            .contains("simulated")
            .then(|| sim.join("collateral"))
    });
    let endorsements = endorsements_dir
        .as_deref()
        .map(read_collateral)
        .transpose()?;
    let t = now();
    let options = IssueOptions {
        nonce: None,
        endorsements: endorsements.as_ref(),
    };
    let identity = issue(
        KeyAlgorithm::P256,
        options,
        (t - 3600, t + 24 * 3600),
        |rd| match attester.collect_guest(rd) {
            Ok(scute_attester::GuestEvidence::Dcap(e)) => Ok(e.quote),
            Ok(other) => Err(format!(
                "RA-TLS certificates carry Intel quotes (CBOR tag 60000); {} evidence has no RA-TLS form here",
                other.tee().name()
            )),
            Err(e) => Err(e.to_string()),
        },
    )
    .context("issuing the RA-TLS certificate")?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_pkcs8_der.clone()));
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(identity.cert_der.clone())], key)
        .context("TLS configuration")?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        eprintln!(
            "RA-TLS echo server on {} (evidence from {})",
            listener.local_addr()?,
            attester.name()
        );
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => accepted?,
                _ = tokio::signal::ctrl_c() => return anyhow::Ok(0),
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(tls) => {
                        let (read, mut write) = tokio::io::split(tls);
                        let mut lines = BufReader::new(read).lines();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if write
                                .write_all(format!("{line}\n").as_bytes())
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                    }
                    Err(e) => eprintln!("{peer}: handshake failed: {e}"),
                }
            });
        }
    })
}

fn anchor(path: &Option<PathBuf>) -> anyhow::Result<TrustAnchor> {
    Ok(match path {
        Some(p) => TrustAnchor::from_certificate(
            &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )?,
        None => TrustAnchor::intel_sgx_root(),
    })
}

fn collateral(dir: &std::path::Path, root: &Option<PathBuf>) -> anyhow::Result<VerifiedCollateral> {
    let c = read_collateral(dir)?;
    verify_collateral(&c, &anchor(root)?)
        .with_context(|| format!("collateral in {}", dir.display()))
}

/// The server's collateral, fetched from a PCCS once its quote is known (mid-handshake) and
/// verified under the trusted root before the quote is judged by it.
struct PccsLookup {
    client: scute_server::PccsClient,
    anchor: TrustAnchor,
}

impl CollateralLookup for PccsLookup {
    fn collateral_for(&self, quote: &[u8]) -> Result<Arc<VerifiedCollateral>, String> {
        // The handshake runs on an async runtime and the fetch starts its own: another thread.
        std::thread::scope(|scope| {
            scope
                .spawn(|| crate::serve_cmd::fetch_verified(&self.client, quote, &self.anchor))
                .join()
        })
        .map_err(|_| "the collateral fetch failed unexpectedly".to_string())?
        .map(|(_, verified)| Arc::new(verified))
        .map_err(|e| format!("{e:#}"))
    }
}

const MEASUREMENTS: [&str; 7] = [
    "mr_enclave",
    "mr_signer",
    "mr_td",
    "rtmr0",
    "rtmr1",
    "rtmr2",
    "rtmr3",
];

fn connect(args: ConnectArgs) -> anyhow::Result<u8> {
    let source = match &args.collateral {
        Some(dir) => CollateralSource::Verified(Arc::new(collateral(dir, &args.trust_root)?)),
        None => {
            match crate::serve_cmd::pccs_client(args.pccs.as_deref(), args.cacert.as_deref())? {
                Some(client) => CollateralSource::Lookup(Arc::new(PccsLookup {
                    client,
                    anchor: anchor(&args.trust_root)?,
                })),
                None => CollateralSource::Endorsements(vec![anchor(&args.trust_root)?]),
            }
        }
    };
    let mut expect = Expectations {
        allow_debug: args.allow_debug,
        min_tcb_evaluation_data_number: args.min_tcb_evaluation_data_number,
        ..Expectations::default()
    };
    for e in &args.expect {
        let (name, hex) = e
            .split_once('=')
            .with_context(|| format!("--expect {e:?} is not NAME=HEX"))?;
        anyhow::ensure!(
            MEASUREMENTS.contains(&name),
            "--expect: {name} is not one of {}",
            MEASUREMENTS.join(", ")
        );
        anyhow::ensure!(hex::decode(hex).is_ok(), "--expect {name}: not hex");
        expect
            .measurements
            .push((name.to_string(), hex.to_lowercase()));
    }
    for s in &args.allow_tcb {
        expect.accepted_tcb.push(
            TcbStatus::from_name(s)
                .with_context(|| format!("--allow-tcb: unknown TCB status {s:?}"))?,
        );
    }
    let verifier = RaTlsVerifier::with_source(source, expect);
    let config = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(&args.addr)
            .await
            .with_context(|| format!("connecting to {}", args.addr))?;
        // Identity comes from the attestation, not the name; SNI is a placeholder.
        let name = ServerName::try_from("ratls.invalid").context("server name")?;
        let tls = connector.connect(name, tcp).await;
        anyhow::Ok(tls.map(|tls| {
            let cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.as_ref().to_vec());
            cert.and_then(|c| verifier.identity(&c))
        }))
    })?;
    match outcome {
        Ok(Some(peer)) => {
            if args.json {
                outln!(
                    "{}",
                    json!({"accepted": true, "tee": peer.tee, "format": peer.format, "tcb_status": peer.tcb_status.name(),
                    "advisory_ids": peer.advisory_ids, "report": peer.report, "error": null})
                );
            } else {
                outln!(
                    "ACCEPTED: {} ({} evidence), TCB status {}",
                    peer.tee.to_uppercase(),
                    peer.format,
                    peer.tcb_status
                );
                for name in MEASUREMENTS {
                    if let Some(v) = peer.report.get(name).and_then(Value::as_str) {
                        outln!("  {name} {v}");
                    }
                }
            }
            Ok(0)
        }
        Ok(None) => anyhow::bail!("handshake completed without a verified identity"),
        Err(e) => {
            if args.json {
                outln!("{}", json!({"accepted": false, "error": e.to_string()}));
            } else {
                outln!("REJECTED: {e}");
            }
            Ok(EXIT_REJECTED)
        }
    }
}

fn read_cert(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(b"-----BEGIN") {
        let block = x509_parser::pem::Pem::iter_from_buffer(&bytes)
            .next()
            .context("empty PEM")?;
        Ok(block.context("PEM")?.contents)
    } else {
        Ok(bytes)
    }
}

const NO_QUOTE: &str = "the certificate carries no quote";
const NO_COLLATERAL: &str = "no --collateral given, so the quote could not be verified";

/// Exit 0 only for a key bound to a quote that verified; anything less is 1.
fn inspect_cmd(args: InspectArgs) -> anyhow::Result<u8> {
    let der = read_cert(&args.cert)?;
    let at = match &args.at {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .context("--at is not RFC 3339")?
            .unix_timestamp(),
        None => now(),
    };
    let inspection = match inspect(&der) {
        Ok(i) => i,
        Err(e) => {
            if args.json {
                outln!(
                    "{}",
                    json!({"formats": [], "key_bound": false, "verified": null, "tee": null, "report": null, "error": e.to_string()})
                );
            } else {
                outln!("NOT RA-TLS: {e}");
            }
            return Ok(EXIT_REJECTED);
        }
    };
    let evidence = inspection.bound_evidence().or(inspection.evidence.first());
    let decoded = evidence.and_then(|e| scute_quote::Quote::decode(&e.quote).ok());
    // Without collateral nothing is verified, and an unverified quote is never a yes.
    let (verified, error) = match (&args.collateral, evidence) {
        (_, None) => (None, Some(NO_QUOTE.to_string())),
        (None, Some(_)) => (None, Some(NO_COLLATERAL.to_string())),
        (Some(dir), Some(e)) => {
            let collateral = match collateral(dir, &args.trust_root) {
                Ok(c) => c,
                Err(err) => {
                    eprintln!("scute: {err:#}");
                    return Ok(EXIT_CANNOT_RUN);
                }
            };
            match collateral.verify_quote(
                &e.quote,
                at,
                VerifyOptions {
                    allow_debug: true,
                    ..VerifyOptions::default()
                },
            ) {
                Ok(_) => (Some(true), None),
                Err(err) => (Some(false), Some(format!("{}: {err}", err.kind()))),
            }
        }
    };
    let out = json!({
        "formats": inspection.formats(),
        "key_bound": inspection.key_bound(),
        "binding_rules": inspection.evidence.iter().map(|e| json!({"format": e.format, "key_bound": e.key_bound, "rule": e.binding_rule})).collect::<Vec<_>>(),
        "verified": verified,
        "tee": decoded.as_ref().map(|q| q.tee_type().name()),
        "report": decoded.as_ref().map(|q| report_json(&q.body)),
        "endorsements": inspection.has_endorsements,
        "error": error,
    });
    if args.json {
        outln!("{out}");
    } else {
        outln!("formats: {}", inspection.formats().join(", "));
        for e in &inspection.evidence {
            outln!(
                "  {}: key {}{}",
                e.format,
                if e.key_bound { "bound" } else { "NOT bound" },
                e.binding_rule
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
        }
        match (verified, &error) {
            (Some(true), _) => outln!("quote: verified"),
            (_, Some(why)) => outln!("quote: NOT verified: {why}"),
            (_, None) => outln!("quote: NOT verified"),
        }
    }
    let ok = inspection.key_bound() && verified == Some(true);
    Ok(if ok { 0 } else { EXIT_REJECTED })
}
