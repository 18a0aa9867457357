//! `scute secret get|put`: the guest's side of the KBS protocol 0.4.0 (the same handshake as the
//! Confidential Containers `kbs_protocol` client: resource → 401 → auth → attest → resource,
//! with a fresh P-256 key in memory), and the admin's upload of a resource.

use crate::quote_cmd::TeeArgs;
use crate::EXIT_REJECTED;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use scute_kbs::{
    runtime_data_digest, Challenge, FlattenedJwe, HashAlgorithm, TeeKeyPair, PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum SecretCommand {
    /// Attest to a key broker and fetch a resource (exit 0 released, 1 refused, 2 usage).
    Get(GetArgs),
    /// Store a resource in a key broker (admin).
    Put(PutArgs),
}

#[derive(Args)]
pub(crate) struct GetArgs {
    /// The key broker, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    kbs: String,
    /// REPOSITORY/TYPE/TAG.
    resource: String,
    #[command(flatten)]
    tee: TeeArgs,
    /// Write the secret here (mode 0600); stdout when absent.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct PutArgs {
    #[arg(long)]
    kbs: String,
    /// REPOSITORY/TYPE/TAG.
    resource: String,
    /// The file whose bytes become the resource.
    file: PathBuf,
    /// The admin token's file (as `scute serve` wrote it).
    #[arg(long, default_value = "scute-data/admin-token")]
    admin_token_file: PathBuf,
}

pub(crate) fn run(command: SecretCommand) -> anyhow::Result<u8> {
    match command {
        SecretCommand::Get(args) => get(args),
        SecretCommand::Put(args) => put(args),
    }
}

fn resource_path(text: &str) -> anyhow::Result<&str> {
    let parts: Vec<&str> = text.split('/').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        bail!("the resource must be REPOSITORY/TYPE/TAG, not {text:?}");
    }
    Ok(text)
}

fn kbs_url(kbs: &str, path: &str) -> String {
    format!("{}/kbs/v0/{path}", kbs.trim_end_matches('/'))
}

/// The broker's `ErrorInformation` (`{type, detail}`), or the status.
async fn refusal(response: reqwest::Response) -> String {
    let status = response.status();
    match response.json::<Value>().await {
        Ok(p) => format!(
            "{} ({status}): {}",
            p["type"]
                .as_str()
                .unwrap_or("error")
                .rsplit(':')
                .next()
                .unwrap_or("error"),
            p["detail"].as_str().unwrap_or("")
        ),
        Err(_) => format!("HTTP {status}"),
    }
}

fn get(args: GetArgs) -> anyhow::Result<u8> {
    let path = resource_path(&args.resource)?.to_string();
    let attester = args.tee.attester()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let released = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .context("building the HTTP client")?;
        let resource_url = kbs_url(&args.kbs, &format!("resource/{path}"));
        // As the CoCo client does: ask first, attest on a 401.
        let first = http
            .get(&resource_url)
            .send()
            .await
            .context("contacting the key broker")?;
        if first.status() != reqwest::StatusCode::UNAUTHORIZED {
            if first.status().is_success() {
                bail!("the key broker released a resource before attestation");
            }
            eprintln!("scute: resource: {}", refusal(first).await);
            return Ok(None);
        }
        let tee = attester.guest_tee().name();
        let auth = http
            .post(kbs_url(&args.kbs, "auth"))
            .json(&json!({
                "version": PROTOCOL_VERSION,
                "tee": tee,
                "extra-params": { "supported-hash-algorithms": ["sha256", "sha384", "sha512"] },
            }))
            .send()
            .await
            .context("POST /kbs/v0/auth")?;
        if !auth.status().is_success() {
            eprintln!("scute: attestation: auth refused: {}", refusal(auth).await);
            return Ok(None);
        }
        let challenge: Challenge = auth.json().await.context("reading the challenge")?;
        let algorithm = match challenge.extra_params.get("selected-hash-algorithm") {
            Some(Value::String(name)) => HashAlgorithm::from_name(name)?,
            _ => HashAlgorithm::Sha384,
        };
        let key = TeeKeyPair::generate()?;
        let tee_pubkey = key.public_jwk();
        let digest = runtime_data_digest(algorithm, &challenge.nonce, &tee_pubkey, "")?;
        let mut report_data = [0u8; 64];
        report_data[..digest.len().min(64)].copy_from_slice(&digest[..digest.len().min(64)]);
        let evidence = attester
            .collect_guest(&report_data)
            .context("collecting evidence")?;
        let primary = evidence.kbs_primary_json(crate::quote_cmd::events_len(&evidence));
        let attest = http
            .post(kbs_url(&args.kbs, "attest"))
            .json(&json!({
                "runtime-data": { "nonce": challenge.nonce, "tee-pubkey": tee_pubkey },
                "tee-evidence": { "primary_evidence": primary, "additional_evidence": "" },
            }))
            .send()
            .await
            .context("POST /kbs/v0/attest")?;
        if !attest.status().is_success() {
            eprintln!("scute: attestation: {}", refusal(attest).await);
            return Ok(None);
        }
        let resource = http
            .get(&resource_url)
            .send()
            .await
            .context("fetching the resource")?;
        match resource.status() {
            s if s.is_success() => {}
            reqwest::StatusCode::FORBIDDEN => {
                eprintln!("scute: policy: {}", refusal(resource).await);
                return Ok(None);
            }
            reqwest::StatusCode::NOT_FOUND => {
                eprintln!("scute: missing resource: {}", refusal(resource).await);
                return Ok(None);
            }
            _ => {
                eprintln!("scute: resource: {}", refusal(resource).await);
                return Ok(None);
            }
        }
        let jwe: FlattenedJwe = resource.json().await.context("reading the JWE")?;
        Ok(Some(key.decrypt(&jwe).context("opening the JWE")?))
    })?;
    let Some(secret) = released else {
        return Ok(EXIT_REJECTED);
    };
    match &args.out {
        Some(out) => crate::files::write_private(out, &secret)?,
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&secret).context("writing the secret")?;
            stdout.flush().context("writing the secret")?;
        }
    }
    Ok(0)
}

fn put(args: PutArgs) -> anyhow::Result<u8> {
    let path = resource_path(&args.resource)?.to_string();
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let token = std::fs::read_to_string(&args.admin_token_file)
        .with_context(|| format!("reading {}", args.admin_token_file.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .put(kbs_url(&args.kbs, &format!("resource/{path}")))
            .bearer_auth(token.trim())
            .body(bytes)
            .send()
            .await
            .context("contacting the key broker")?;
        if response.status().is_success() {
            outln!("stored {path}");
            Ok(0)
        } else {
            eprintln!("scute: {}", refusal(response).await);
            Ok(EXIT_REJECTED)
        }
    })
}
