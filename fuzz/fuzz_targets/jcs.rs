//! RFC 8785 canonicalisation on arbitrary JSON: never panics, the canonical form parses back to
//! the same value (numbers compared as the IEEE doubles RFC 8785 serialises), and is a fixpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The value with every number as the double it denotes, which is all JCS keeps of it.
fn as_doubles(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Value::Array(a) => Value::Array(a.iter().map(as_doubles).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), as_doubles(v))).collect())
        }
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(canonical) = serde_json_canonicalizer::to_vec(&value) else {
        return;
    };
    let back: Value = serde_json::from_slice(&canonical).expect("canonical JSON parses");
    assert_eq!(
        as_doubles(&back),
        as_doubles(&value),
        "canonicalisation changed the value"
    );
    let again = serde_json_canonicalizer::to_vec(&back).expect("canonical JSON canonicalises");
    assert_eq!(again, canonical, "canonicalisation is not idempotent");
});
