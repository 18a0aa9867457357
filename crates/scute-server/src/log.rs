//! The service's log: one line per event on stderr, `key=value` text or one JSON object a
//! line (`log_format`). Callers pass only what an operator may read: never evidence, tokens,
//! keys or secrets.

use crate::config::LogFormat;
use serde_json::{Map, Value};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// The process writes one log, so its format is the process's: set by `start` from the
/// configuration (the last started service's setting wins; one process runs one service).
static JSON: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// Writes one event line. `fields` are written in the order given.
pub(crate) fn event(event: &str, fields: &[(&str, Value)]) {
    let format = if JSON.load(Ordering::Relaxed) {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    let line = render(format, crate::clock::now(), event, fields);
    // One write of the whole line, so concurrent events never interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn render(format: LogFormat, now: i64, event: &str, fields: &[(&str, Value)]) -> String {
    let time = scute_dcap::format_rfc3339(now);
    match format {
        LogFormat::Json => {
            let mut object = Map::new();
            object.insert("time".into(), Value::String(time));
            object.insert("event".into(), Value::String(event.into()));
            for (key, value) in fields {
                object.insert((*key).into(), value.clone());
            }
            format!("{}\n", Value::Object(object))
        }
        LogFormat::Text => {
            let mut line = format!("{time} {event}");
            for (key, value) in fields {
                let text = match value {
                    Value::String(s) => quote_if_needed(s),
                    Value::Array(items) => quote_if_needed(
                        &items
                            .iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    other => other.to_string(),
                };
                line.push_str(&format!(" {key}={text}"));
            }
            line.push('\n');
            line
        }
    }
}

/// Text values with spaces, quotes or control characters are written as JSON strings, so a
/// line always parses back into the same pairs (and a client cannot forge a second line).
fn quote_if_needed(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=' && c != '\\');
    if plain {
        text.to_string()
    } else {
        Value::String(text.to_string()).to_string()
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

    #[test]
    fn json_lines_are_one_object_with_the_fields_in_order() {
        let line = render(
            LogFormat::Json,
            0,
            "attestation",
            &[
                ("tee", json!("tdx")),
                ("policy_ids", json!(["default", "site"])),
            ],
        );
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "attestation");
        assert_eq!(v["time"], "1970-01-01T00:00:00Z");
        assert_eq!(v["policy_ids"], json!(["default", "site"]));
    }

    #[test]
    fn text_values_that_could_forge_a_line_are_quoted() {
        let line = render(
            LogFormat::Text,
            0,
            "attestation",
            &[
                ("tee", json!("tdx")),
                ("detail", json!("bad\nevent=forged status=affirming")),
                ("policy_ids", json!(["default", "site"])),
            ],
        );
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(line.starts_with("1970-01-01T00:00:00Z attestation tee=tdx detail=\"bad\\n"));
        assert!(line.ends_with(" policy_ids=default,site\n"), "{line}");
    }
}
