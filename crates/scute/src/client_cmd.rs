//! The service's clients: `scute attest` (challenge, evidence, token) and `scute token verify`.

use crate::quote_cmd::TeeArgs;
use crate::EXIT_REJECTED;
use anyhow::{bail, Context};
use clap::Args;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Map, Value};

#[derive(Args)]
pub(crate) struct AttestArgs {
    /// The attestation service, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    #[command(flatten)]
    tee: TeeArgs,
    /// Appraise with this policy instead of the default one.
    #[arg(long)]
    policy: Option<String>,
    /// A JSON object bound into the evidence with the nonce (e.g. a public key).
    #[arg(long)]
    runtime_data: Option<String>,
}

#[derive(Args)]
pub(crate) struct TokenVerifyArgs {
    /// The token (an EAR JWT).
    token: String,
    /// The service whose keys (/.well-known/jwks.json) signed it.
    #[arg(long)]
    server: String,
    #[arg(long)]
    json: bool,
    /// Also exit 0 for a token with this ear_status (affirming always is). Repeatable.
    #[arg(long = "accept-status", value_parser = EAR_STATUSES)]
    accept_status: Vec<String>,
}

/// The AR4SI tiers a token's `ear_status` can name.
const EAR_STATUSES: [&str; 4] = ["affirming", "warning", "contraindicated", "none"];

fn client() -> anyhow::Result<reqwest::Client> {
    // rustls on aws-lc-rs: the provider `main` installs for the process.
    reqwest::Client::builder()
        .build()
        .context("building the HTTP client")
}

fn url(server: &str, path: &str) -> String {
    format!("{}{path}", server.trim_end_matches('/'))
}

/// The service's problem detail, or the status.
async fn failure(response: reqwest::Response) -> String {
    let status = response.status();
    match response.json::<Value>().await {
        Ok(p) => format!(
            "{} ({}): {}",
            p["title"].as_str().unwrap_or("error"),
            status,
            p["detail"].as_str().unwrap_or("")
        ),
        Err(_) => format!("HTTP {status}"),
    }
}

pub(crate) fn attest(args: AttestArgs) -> anyhow::Result<u8> {
    let mut runtime_data: Map<String, Value> = match &args.runtime_data {
        Some(text) => match serde_json::from_str(text).context("--runtime-data is not JSON")? {
            Value::Object(map) => map,
            _ => bail!("--runtime-data must be a JSON object"),
        },
        None => Map::new(),
    };
    anyhow::ensure!(
        !runtime_data.contains_key("nonce"),
        "--runtime-data must not set \"nonce\"; the server's challenge goes there"
    );
    let attester = args.tee.attester()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let http = client()?;
        let response = http
            .post(url(&args.server, "/v1/challenge"))
            .send()
            .await
            .context("asking for a challenge")?;
        if !response.status().is_success() {
            eprintln!("scute: challenge refused: {}", failure(response).await);
            return Ok(EXIT_REJECTED);
        }
        let challenge: Value = response.json().await.context("reading the challenge")?;
        let nonce = challenge["nonce"]
            .as_str()
            .context("the challenge has no nonce")?
            .to_string();
        runtime_data.insert("nonce".into(), Value::String(nonce));
        let runtime_data = Value::Object(runtime_data);
        let evidence = attester
            .collect_guest(
                &scute_server::report_data_for(&runtime_data)
                    .map_err(|e| anyhow::anyhow!("runtime data: {e}"))?,
            )
            .context("collecting evidence")?;
        let mut body = json!({
            "tee": evidence.tee().name(),
            "evidence": evidence.attest_api_json(crate::quote_cmd::events_len(&evidence)),
            "runtime_data": runtime_data,
        });
        if let Some(policy) = &args.policy {
            body["policy_ids"] = json!([policy]);
        }
        let response = http
            .post(url(&args.server, "/v1/attest"))
            .json(&body)
            .send()
            .await
            .context("sending evidence")?;
        if !response.status().is_success() {
            eprintln!("scute: attestation refused: {}", failure(response).await);
            return Ok(EXIT_REJECTED);
        }
        let token: Value = response.json().await.context("reading the token")?;
        outln!(
            "{}",
            token["token"]
                .as_str()
                .context("the response has no token")?
        );
        Ok(0)
    })
}

/// Exit 0 only for a genuine, unexpired token whose `ear_status` is affirming or accepted by
/// `--accept-status`: a script that checks the exit status must not take "warning" for "yes".
pub(crate) fn token_verify(args: TokenVerifyArgs) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let jwks: Value = runtime.block_on(async {
        let response = client()?
            .get(url(&args.server, "/.well-known/jwks.json"))
            .send()
            .await
            .context("fetching the JWKS")?;
        anyhow::ensure!(
            response.status().is_success(),
            "fetching the JWKS: HTTP {}",
            response.status()
        );
        response.json::<Value>().await.context("reading the JWKS")
    })?;
    match verify_token(&args.token, &jwks) {
        Ok(claims) => {
            if args.json {
                outln!("{}", json!({ "valid": true, "claims": claims }));
            } else {
                let sub = &claims["submods"]["cpu0"];
                let evidence = &sub["ear_veraison_annotated_evidence"];
                outln!(
                    "VALID token: status {}",
                    claims["ear_status"].as_str().unwrap_or("?")
                );
                outln!(
                    "  TEE {} quote v{}, TCB status {}",
                    evidence["tee"],
                    evidence["quote_version"],
                    evidence["tcb_status"]
                );
                outln!("  trust vector {}", sub["ear_trustworthiness_vector"]);
                outln!("  policies {}", sub["ear_appraisal_policy_ids"]);
                outln!("  measurements {}", evidence["measurements"]);
                // Which reference values the measurements matched, and where each came from
                // (`admin`, or `signed:<signer>` with the signed document's digest).
                if let Some(matched) = evidence["reference_values"].as_object() {
                    for (name, hit) in matched {
                        let from = match hit["document_digest"].as_str() {
                            Some(digest) => format!(" (document {digest})"),
                            None => String::new(),
                        };
                        outln!(
                            "  reference value {name} matched {} from {}{from}",
                            hit["value"],
                            hit["source"].as_str().unwrap_or("?")
                        );
                    }
                }
                outln!(
                    "  expires {}",
                    scute_dcap::format_rfc3339(claims["exp"].as_i64().unwrap_or(0))
                );
            }
            let status = claims["ear_status"].as_str().unwrap_or("");
            if status == "affirming" || args.accept_status.iter().any(|s| s == status) {
                Ok(0)
            } else {
                eprintln!(
                    "scute: ear_status {status:?} is not accepted (only affirming is, unless named by --accept-status)"
                );
                Ok(EXIT_REJECTED)
            }
        }
        Err(e) => {
            if args.json {
                outln!("{}", json!({ "valid": false, "error": format!("{e:#}") }));
            } else {
                outln!("INVALID token: {e:#}");
            }
            Ok(EXIT_REJECTED)
        }
    }
}

/// Checks an ES256 token against a JWK set (key chosen by `kid`) and its expiry.
pub(crate) fn verify_token(token: &str, jwks: &Value) -> anyhow::Result<Value> {
    let header = jsonwebtoken::decode_header(token).context("not a JWT")?;
    anyhow::ensure!(
        header.alg == Algorithm::ES256,
        "token algorithm {:?}, expected ES256",
        header.alg
    );
    let keys = jwks["keys"].as_array().context("JWKS has no keys")?;
    let key = keys
        .iter()
        .find(|k| header.kid.is_none() || k["kid"].as_str() == header.kid.as_deref())
        .context("no key in the JWKS matches the token's kid")?;
    let (x, y) = (
        key["x"].as_str().context("key without x")?,
        key["y"].as_str().context("key without y")?,
    );
    let decoding = DecodingKey::from_ec_components(x, y).context("JWKS key")?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_aud = false;
    // No grace after `exp`: the service already bounds a token's life, and a verifier that
    // answers "valid" for a minute past expiry (the crate's default) is not checking expiry.
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iat"]);
    let data = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .context("signature or expiry")?;
    Ok(data.claims)
}
