//! The operator's side of the service's admin API: one client for every command that stores or
//! reads policies and reference values (`scute measure --put`, `scute policy`, `scute
//! reference-value`). Exit codes follow the binary's rule: a refusal by the service is 1 (its
//! problem `type` and `detail` on stderr), a server that cannot be reached or read is 2.

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;

/// Where the service is and how to prove the caller is its admin (the defaults of `scute
/// secret put`).
#[derive(Args, Clone, Debug)]
pub(crate) struct AdminServer {
    /// The service, e.g. http://127.0.0.1:8080.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The admin token's file (as `scute serve` wrote it).
    #[arg(long, default_value = "scute-data/admin-token")]
    pub admin_token_file: PathBuf,
}

/// What the service answered: a success with its body (JSON when it sent any), or a refusal.
#[derive(Debug)]
pub(crate) enum Answer {
    Done(Option<Value>),
    /// The service refused: status, problem kind (the last part of its `type`) and detail.
    Refused {
        status: u16,
        kind: String,
        detail: String,
    },
}

impl Answer {
    /// The refusal as one line for stderr, or `None` for a success.
    pub(crate) fn refusal(&self) -> Option<String> {
        match self {
            Answer::Done(_) => None,
            Answer::Refused {
                status,
                kind,
                detail,
            } => Some(format!("{kind} ({status}): {detail}")),
        }
    }
}

/// An error that means the command could not run (exit 2): the server is unreachable, its
/// answer unreadable, or the token file missing.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub(crate) struct CannotRun(pub anyhow::Error);

impl AdminServer {
    fn token(&self) -> Result<String, CannotRun> {
        let text = std::fs::read_to_string(&self.admin_token_file)
            .with_context(|| format!("reading {}", self.admin_token_file.display()))
            .map_err(CannotRun)?;
        Ok(text.trim().to_string())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.trim_end_matches('/'))
    }

    /// Sends `method path` with the admin token and an optional body (`content_type`, bytes).
    pub(crate) fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, CannotRun> {
        self.send_raw(method, path, body).map(|(answer, _)| answer)
    }

    /// Like [`send`](Self::send), and also the answer's bytes as sent (a body that is not
    /// JSON, such as a policy's Rego text).
    pub(crate) fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<(Answer, Vec<u8>), CannotRun> {
        let token = self.token()?;
        let runtime = tokio::runtime::Runtime::new()
            .context("starting the async runtime")
            .map_err(CannotRun)?;
        runtime.block_on(async {
            let mut request = reqwest::Client::new()
                .request(method, self.url(path))
                .bearer_auth(token);
            if let Some((content_type, bytes)) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(bytes);
            }
            let response = request
                .send()
                .await
                .with_context(|| format!("contacting {}", self.server))
                .map_err(CannotRun)?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .with_context(|| format!("reading the answer of {}", self.server))
                .map_err(CannotRun)?;
            let json: Option<Value> = if bytes.is_empty() {
                None
            } else {
                serde_json::from_slice(&bytes).ok()
            };
            if status.is_success() {
                return Ok((Answer::Done(json), bytes.to_vec()));
            }
            let problem = json.unwrap_or(Value::Null);
            let kind = problem["type"]
                .as_str()
                .and_then(|t| t.rsplit(':').next())
                .unwrap_or("error")
                .to_string();
            let detail = problem["detail"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            Ok((
                Answer::Refused {
                    status: status.as_u16(),
                    kind,
                    detail,
                },
                bytes.to_vec(),
            ))
        })
    }
}
