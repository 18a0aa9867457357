//! The service's log: one line per event on stderr, `key=value` text or one JSON object a
//! line (`log_format`). Events are `tracing` events, named by their message and carrying their
//! fields (`tracing::info!(tee, decision = "token", "attestation")`); `tracing-subscriber`
//! filters them by level and target and writes each line whole to stderr, and this module
//! formats the line as docs/service.md documents it (the built-in formatters name the fields
//! `timestamp` and `message`, add `level` and `target`, and cannot write a list as a JSON
//! array). Callers pass only what an operator may read: never evidence, tokens, keys or
//! secrets.
//!
//! Which events are written: the service's own (`scute_server`) at `info` and above, or what
//! `RUST_LOG` says (`tracing-subscriber`'s target syntax, e.g. `scute_server=warn` to drop the
//! per-decision `attestation` lines). A filtered event costs one cached check at its call site.

use crate::config::LogFormat;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The process writes one log, so its format is the process's: set by `start` from the
/// configuration (the last started service's setting wins; one process runs one service).
static JSON: AtomicBool = AtomicBool::new(false);

/// What is written when `RUST_LOG` is unset: the service's own events, `info` and above.
const DEFAULT_FILTER: &str = "scute_server=info";

pub(crate) fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
    install();
}

/// Installs the process's subscriber, once. A process that installed its own first (an
/// application embedding the service) keeps it, and the events go there.
fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let filter = std::env::var("RUST_LOG")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| s.parse::<tracing_subscriber::filter::Targets>().ok())
            .unwrap_or_else(|| DEFAULT_FILTER.parse().unwrap_or_default());
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(Line::default())
                    .with_writer(std::io::stderr),
            )
            .try_init();
    });
}

/// A list field (`policy_ids = ?List(&ids)`): written as a JSON array, or in text as its items
/// joined by commas. `tracing` carries it as its Debug text, which is that JSON array.
pub(crate) struct List<'a>(pub(crate) &'a [String]);

impl fmt::Debug for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self.0).map_err(|_| fmt::Error)?)
    }
}

/// One event's line as its fields are visited: its name (the message) aside, its fields
/// written in the order the call site gives them, straight into the line (no intermediate
/// values: the line costs no more than the hand-written one did).
struct Fields {
    json: bool,
    event: Option<String>,
    out: String,
}

impl Fields {
    fn key(&mut self, name: &str) {
        if self.json {
            self.out.push(',');
            json_string(&mut self.out, name);
            self.out.push(':');
        } else {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push('=');
        }
    }

    fn string(&mut self, value: &str) {
        if self.json {
            json_string(&mut self.out, value);
        } else {
            text_value(&mut self.out, value);
        }
    }

    /// A number or boolean, as serde_json writes it (the same in both formats).
    fn scalar(&mut self, name: &str, value: Value) {
        self.key(name);
        self.out.push_str(&value.to_string());
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field.name());
        self.string(value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.scalar(field.name(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.scalar(field.name(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.scalar(field.name(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.scalar(field.name(), Value::from(value));
    }

    /// The message is the event's name; a [`List`] reads back as its items (a JSON array, or
    /// in text the items joined by commas); any other value is its Debug text, as a string.
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.event = Some(text);
            return;
        }
        self.key(field.name());
        let items = match text.starts_with('[') {
            true => serde_json::from_str::<Vec<String>>(&text).ok(),
            false => None,
        };
        match items {
            Some(items) if self.json => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    json_string(&mut self.out, item);
                }
                self.out.push(']');
            }
            Some(items) => text_value(&mut self.out, &items.join(",")),
            None => self.string(&text),
        }
    }
}

/// The line format of docs/service.md, for both `log_format`s: the process's (`set_format`),
/// or the one given (tests); the time from `now` (tests fix it).
struct Line {
    format: Option<LogFormat>,
    now: fn() -> i64,
}

impl Default for Line {
    fn default() -> Self {
        Self {
            format: None,
            now: crate::clock::now,
        }
    }
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let format = self.format.unwrap_or(if JSON.load(Ordering::Relaxed) {
            LogFormat::Json
        } else {
            LogFormat::Text
        });
        let mut fields = Fields {
            json: format == LogFormat::Json,
            event: None,
            out: String::with_capacity(256),
        };
        event.record(&mut fields);
        let name = fields.event.as_deref().unwrap_or(event.metadata().name());
        let time = scute_dcap::format_rfc3339((self.now)());
        let mut line = String::with_capacity(fields.out.len() + 64);
        if fields.json {
            line.push_str("{\"time\":");
            json_string(&mut line, &time);
            line.push_str(",\"event\":");
            json_string(&mut line, name);
            line.push_str(&fields.out);
            line.push_str("}\n");
        } else {
            line.push_str(&time);
            line.push(' ');
            // Every event name of the service is a plain word; another crate's message (when
            // `RUST_LOG` lets one through) is quoted like a value, so it cannot forge a line.
            text_value(&mut line, name);
            line.push_str(&fields.out);
            line.push('\n');
        }
        writer.write_str(&line)
    }
}

/// `value` as a JSON string, exactly as serde_json writes it (which escapes only quotes,
/// backslashes and control characters).
fn json_string(out: &mut String, value: &str) {
    if value.chars().all(|c| c >= ' ' && c != '"' && c != '\\') {
        out.push('"');
        out.push_str(value);
        out.push('"');
    } else {
        out.push_str(&Value::String(value.to_string()).to_string());
    }
}

/// Text values with spaces, quotes or control characters are written as JSON strings, so a
/// line always parses back into the same pairs (and a client cannot forge a second line).
fn text_value(out: &mut String, value: &str) {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=' && c != '\\');
    if plain {
        out.push_str(value);
    } else {
        json_string(out, value);
    }
}

/// A fresh id for one request, to find its line among others.
pub(crate) fn request_id() -> String {
    hex::encode(crate::secrets::random_bytes::<8>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    /// Runs `emit` under a subscriber like the process's (filter `filter`, the format given)
    /// and returns what it wrote.
    fn written(format: LogFormat, filter: &str, emit: impl FnOnce()) -> String {
        use tracing_subscriber::layer::SubscriberExt as _;
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                filter
                    .parse::<tracing_subscriber::filter::Targets>()
                    .unwrap(),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(Line {
                        format: Some(format),
                        now: || 0,
                    })
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = sink.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    fn decision() {
        let ids = ["default".to_string(), "site".to_string()];
        tracing::info!(
            request_id = "00112233aabbccdd",
            route = "/v1/attest",
            tee = "tdx",
            policy_ids = ?List(&ids),
            decision = "refused",
            status = "policy_not_found",
            http_status = 404u16,
            "attestation"
        );
    }

    /// The time, then the rest of the line.
    fn without_time(line: &str) -> (&str, &str) {
        let (time, rest) = line.split_once([' ', '"']).unwrap();
        assert!(time.len() >= 20 && time.ends_with('Z'), "{line}");
        (time, rest)
    }

    /// The attestation line through `tracing` is the line docs/service.md documents: the
    /// same keys, values, types and order as the hand-written log wrote.
    #[test]
    fn a_decision_through_tracing_is_the_documented_line() {
        let text = written(LogFormat::Text, DEFAULT_FILTER, decision);
        let (_, rest) = without_time(&text);
        assert_eq!(
            rest,
            "attestation request_id=00112233aabbccdd route=/v1/attest tee=tdx \
             policy_ids=default,site decision=refused status=policy_not_found http_status=404\n"
        );
        let json = written(LogFormat::Json, DEFAULT_FILTER, decision);
        assert!(json.starts_with("{\"time\":\""), "{json}");
        let (_, rest) = json.split_once("Z\",").unwrap();
        assert_eq!(
            rest,
            "\"event\":\"attestation\",\"request_id\":\"00112233aabbccdd\",\"route\":\"/v1/attest\",\
             \"tee\":\"tdx\",\"policy_ids\":[\"default\",\"site\"],\"decision\":\"refused\",\
             \"status\":\"policy_not_found\",\"http_status\":404}\n"
        );
    }

    /// `RUST_LOG=scute_server=warn` drops the per-decision line, and its fields are not even
    /// computed; warnings still go through.
    #[test]
    fn a_filtered_decision_costs_nothing() {
        struct Counted<'a>(&'a std::sync::atomic::AtomicUsize);
        impl fmt::Debug for Counted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fetch_add(1, Ordering::SeqCst);
                f.write_str("x")
            }
        }
        let rendered = std::sync::atomic::AtomicUsize::new(0);
        let out = written(LogFormat::Text, "scute_server=warn", || {
            tracing::info!(field = ?Counted(&rendered), "attestation");
            tracing::warn!(detail = "down", "store_sync_failed");
        });
        assert_eq!(rendered.load(Ordering::SeqCst), 0);
        let (_, rest) = without_time(&out);
        assert_eq!(rest, "store_sync_failed detail=down\n");
        // Another crate's events are not the service's log (unless RUST_LOG names them).
        let out = written(LogFormat::Text, DEFAULT_FILTER, || {
            tracing::info!(target: "sqlx::query", "select 1");
        });
        assert_eq!(out, "");
    }

    /// A client-chosen value cannot add a line, in either format, and a list item cannot
    /// break out of its array.
    #[test]
    fn client_values_stay_inside_their_field() {
        let ids = [
            "a\"],\"decision\":\"token".to_string(),
            "b\nevent=forged".to_string(),
        ];
        let emit = || {
            tracing::info!(
                tee = "tdx\nattestation decision=token",
                policy_ids = ?List(&ids),
                "attestation"
            );
        };
        let text = written(LogFormat::Text, DEFAULT_FILTER, emit);
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(
            text.contains(" tee=\"tdx\\nattestation decision=token\" "),
            "{text}"
        );
        let json = written(LogFormat::Json, DEFAULT_FILTER, emit);
        assert_eq!(json.matches('\n').count(), 1, "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["policy_ids"], json!(ids));
        assert!(v.get("decision").is_none(), "{json}");
    }

    #[test]
    fn json_lines_are_one_object_with_the_fields_in_order() {
        let ids = ["default".to_string(), "site".to_string()];
        let line = written(LogFormat::Json, DEFAULT_FILTER, || {
            tracing::info!(tee = "tdx", policy_ids = ?List(&ids), "attestation");
        });
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "attestation");
        assert_eq!(v["time"], "1970-01-01T00:00:00Z");
        assert_eq!(v["policy_ids"], json!(["default", "site"]));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["time", "event", "tee", "policy_ids"]);
    }

    #[test]
    fn text_values_that_could_forge_a_line_are_quoted() {
        let ids = ["default".to_string(), "site".to_string()];
        let line = written(LogFormat::Text, DEFAULT_FILTER, || {
            tracing::info!(
                tee = "tdx",
                detail = "bad\nevent=forged status=affirming",
                policy_ids = ?List(&ids),
                "attestation"
            );
        });
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(line.starts_with("1970-01-01T00:00:00Z attestation tee=tdx detail=\"bad\\n"));
        assert!(line.ends_with(" policy_ids=default,site\n"), "{line}");
    }

    /// Each value is written exactly as serde_json writes it (the hand-written log rendered
    /// through serde_json values): strings that need escaping, numbers, booleans.
    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let odd = "tab\there \"quoted\" back\\slash \u{1} é";
        let line = written(LogFormat::Json, DEFAULT_FILTER, || {
            tracing::info!(s = odd, n = 404u16, i = -3i64, b = true, f = 0.5f64, "e");
        });
        let expected = json!({"time": "1970-01-01T00:00:00Z", "event": "e", "s": odd, "n": 404,
            "i": -3, "b": true, "f": 0.5});
        assert_eq!(line, format!("{expected}\n"));
        let text = written(LogFormat::Text, DEFAULT_FILTER, || {
            tracing::info!(s = odd, n = 404u16, b = false, empty = "", "e");
        });
        assert_eq!(
            text,
            format!(
                "1970-01-01T00:00:00Z e s={} n=404 b=false empty=\"\"\n",
                json!(odd)
            )
        );
    }
}
