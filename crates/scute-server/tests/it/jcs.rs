//! The binding's canonical JSON is RFC 8785's: the RFC's own examples, byte for byte — the
//! sample of section 3.2.2, the UTF-16 key order of 3.2.3, and the numbers of Appendix B.

use aws_lc_rs::digest::{digest, SHA384};
use serde_json::Value;

fn canonical(value: &Value) -> String {
    String::from_utf8(serde_json_canonicalizer::to_vec(value).unwrap()).unwrap()
}

/// RFC 8785 section 3.2.2 input, and its output from section 3.2.3.
const SAMPLE_IN: &str = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
const SAMPLE_OUT: &str = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;

/// RFC 8785 section 3.2.4: the UTF-8 of SAMPLE_OUT.
const SAMPLE_OUT_HEX: &str = "7b226c6974657261\
6c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e33333333\
3333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c7530303066\
5c6e41274\
25c225c5c5c5c5c222f227d";

#[test]
fn the_rfc_sample_canonicalises_to_the_rfc_bytes() {
    let value: Value = serde_json::from_str(SAMPLE_IN).unwrap();
    assert_eq!(canonical(&value), SAMPLE_OUT);
    assert_eq!(hex::encode(SAMPLE_OUT), SAMPLE_OUT_HEX);
}

#[test]
fn keys_sort_by_utf16_code_units() {
    // RFC 8785 section 3.2.3; UTF-8 byte order would put U+FB33 before the emoji.
    let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canonical(&serde_json::from_str(input).unwrap()), expected);
}

#[test]
fn numbers_serialise_as_ecmascript_does() {
    // RFC 8785 Appendix B: IEEE 754 bits and their canonical text.
    let samples: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for &(bits, want) in samples {
        let n = serde_json::Number::from_f64(f64::from_bits(bits)).unwrap();
        assert_eq!(canonical(&Value::Number(n)), want, "{bits:016x}");
    }
    // Integers beyond 2^53 are doubles too, as the client's JSON.stringify sees them.
    let big: Value = serde_json::from_str(r#"{"n": 12345678901234567890}"#).unwrap();
    assert_eq!(canonical(&big), r#"{"n":12345678901234567000}"#);
}

#[test]
fn the_binding_hashes_the_rfc_bytes() {
    let value: Value = serde_json::from_str(SAMPLE_IN).unwrap();
    let report_data = scute_server::report_data_for(&value).unwrap();
    assert_eq!(
        &report_data[..48],
        digest(&SHA384, SAMPLE_OUT.as_bytes()).as_ref()
    );
    assert_eq!(&report_data[48..], &[0u8; 16]);
}
