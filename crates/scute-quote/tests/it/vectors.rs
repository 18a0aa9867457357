//! Every real quote in ../shared/vectors decodes, re-encodes to the same bytes, and its fields
//! match the expected.json written from the reference parser.

use scute_quote::{Body, Quote, QuoteError, TeeType};
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    assert!(dir.is_dir(), "test vectors not found at {}", dir.display());
    dir
}

fn all_quotes() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let dir = entry.unwrap().path();
        for file in ["quote.bin", "quote-legacy.bin"] {
            let path = dir.join(file);
            if path.is_file() {
                let name = format!("{}/{}", dir.file_name().unwrap().to_string_lossy(), file);
                out.push((name, std::fs::read(path).unwrap()));
            }
        }
    }
    assert!(
        out.len() >= 30,
        "expected the vector quotes, found {}",
        out.len()
    );
    out
}

fn expected(case: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(vectors_dir().join(case).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_dcap_and_quote_only_case_decodes_and_round_trips() {
    let mut checked = 0;
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let dir = entry.unwrap().path();
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let quote_path = dir.join("quote.bin");
        if !quote_path.is_file() || case.starts_with("ratls-") {
            continue;
        }
        let bytes = std::fs::read(&quote_path).unwrap();
        if case == "gotdx-tdx-v4-spr" {
            // go-tdx-guest appended "extra bytes(only for testing purpose)" after the quote.
            // dcap-qvl ignores them; we reject anything but zero padding.
            assert!(matches!(
                Quote::decode(&bytes),
                Err(QuoteError::TrailingData { offset: 4935 })
            ));
            continue;
        }
        let quote = Quote::decode(&bytes).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(quote.encode(), bytes, "{case}: re-encoding differs");
        let exp = expected(&case);
        let meta = [exp.get("quote"), exp.get("parse"), exp.get("quote_parse")]
            .into_iter()
            .flatten()
            .find(|m| m.get("version").is_some());
        if let Some(meta) = meta {
            assert_eq!(
                quote.header.version as u64,
                meta["version"].as_u64().unwrap(),
                "{case}"
            );
            let tee = meta["tee_type"].as_str().unwrap();
            assert_eq!(format!("{:#010x}", quote.tee_type().code()), tee, "{case}");
            checked += 1;
        }
        if let Some(parse) = exp.get("parse") {
            assert_eq!(
                quote.header.qe_svn as u64,
                parse["qe_svn"].as_u64().unwrap(),
                "{case}"
            );
            assert_eq!(
                quote.header.pce_svn as u64,
                parse["pce_svn"].as_u64().unwrap(),
                "{case}"
            );
            let report = &parse["report"];
            assert_eq!(
                hex::encode(quote.report_data()),
                report["report_data"],
                "{case}"
            );
        }
    }
    assert!(checked >= 20, "only {checked} cases checked");
}

#[test]
fn every_ratls_embedded_quote_decodes_and_round_trips() {
    for (name, bytes) in all_quotes()
        .into_iter()
        .filter(|(n, _)| n.starts_with("ratls-"))
    {
        match Quote::decode(&bytes) {
            Ok(quote) => assert_eq!(quote.encode(), bytes, "{name}"),
            // Open Enclave legacy reports are not DCAP quotes.
            Err(e) => assert!(name.starts_with("ratls-oe-"), "{name}: {e}"),
        }
    }
}

#[test]
fn v5_td15ex_body_is_decoded_with_its_extension_fields() {
    let bytes = std::fs::read(vectors_dir().join("dcapqvl-tdx-v5-td15ex/quote.bin")).unwrap();
    let quote = Quote::decode(&bytes).unwrap();
    let Body::Td15Ex(body) = &quote.body else {
        panic!("not a TD 1.5 extended body")
    };
    let exp = expected("dcapqvl-tdx-v5-td15ex");
    assert_eq!(hex::encode(body.td_id), exp["result"]["report"]["td_id"]);
    assert_eq!(
        body.vm_index as u64,
        exp["result"]["report"]["vmid"].as_u64().unwrap()
    );
    assert_eq!(
        hex::encode(body.base.base.mr_td),
        exp["result"]["report"]["mr_td"]
    );
}

fn sgx_v3() -> Vec<u8> {
    std::fs::read(vectors_dir().join("dcapqvl-sgx-v3/quote.bin")).unwrap()
}

fn tdx_v4() -> Vec<u8> {
    std::fs::read(vectors_dir().join("dcapqvl-tdx-v4/quote.bin")).unwrap()
}

#[test]
fn every_truncation_is_a_typed_error() {
    for bytes in [sgx_v3(), tdx_v4()] {
        let quote = Quote::decode(&bytes).unwrap();
        let end = bytes.len() - quote.padding_len;
        for len in 0..end {
            let err = Quote::decode(&bytes[..len]).unwrap_err();
            assert!(
                matches!(
                    err,
                    QuoteError::Truncated { .. } | QuoteError::SizeMismatch { .. }
                ),
                "len {len}: {err:?}"
            );
        }
    }
}

#[test]
fn header_fields_are_checked() {
    let mut q = tdx_v4();
    q[0] = 6;
    assert_eq!(Quote::decode(&q), Err(QuoteError::UnsupportedVersion(6)));
    let mut q = tdx_v4();
    q[2] = 3;
    assert_eq!(
        Quote::decode(&q),
        Err(QuoteError::UnsupportedAttestationKeyType(3))
    );
    let mut q = tdx_v4();
    q[4] = 0x82;
    assert_eq!(Quote::decode(&q), Err(QuoteError::UnknownTeeType(0x82)));
    let mut q = sgx_v3();
    q[4] = 0x81;
    assert!(matches!(
        Quote::decode(&q),
        Err(QuoteError::TeeTypeMismatch { version: 3, .. })
    ));
}

#[test]
fn trailing_bytes_only_zero() {
    let mut q = sgx_v3();
    let quote = Quote::decode(&q).unwrap();
    let end = q.len() - quote.padding_len;
    q.truncate(end);
    q.extend_from_slice(&[0; 7]);
    assert_eq!(Quote::decode(&q).unwrap().padding_len, 7);
    q.push(1);
    assert_eq!(
        Quote::decode(&q),
        Err(QuoteError::TrailingData { offset: end + 7 })
    );
}

#[test]
fn declared_sizes_must_match_their_blocks() {
    // Grow signature_data_len by one and append a byte: the inner layout no longer fills it.
    let q = tdx_v4();
    let quote = Quote::decode(&q).unwrap();
    let mut grown = q[..q.len() - quote.padding_len].to_vec();
    let len_at = 48 + 584;
    let sig_len = u32::from_le_bytes(grown[len_at..len_at + 4].try_into().unwrap());
    grown[len_at..len_at + 4].copy_from_slice(&(sig_len + 1).to_le_bytes());
    grown.push(0);
    assert!(matches!(
        Quote::decode(&grown),
        Err(QuoteError::SizeMismatch {
            field: "signature_data_len",
            ..
        })
    ));
    // Outer certification data type other than 6 in a v4 quote.
    let mut bad = q.clone();
    let outer_type_at = len_at + 4 + 128;
    bad[outer_type_at] = 5;
    assert!(matches!(
        Quote::decode(&bad),
        Err(QuoteError::UnsupportedCertificationDataType {
            position: "outer",
            cert_type: 5
        })
    ));
}

#[test]
fn v5_body_descriptor_is_checked() {
    let q =
        std::fs::read(vectors_dir().join("composite-gotdxv5-v5+dcapqvl-coll/quote.bin")).unwrap();
    let quote = Quote::decode(&q).unwrap();
    assert!(matches!(quote.body, Body::Td15(_)));
    assert_eq!(quote.tee_type(), TeeType::Tdx);
    let mut bad = q.clone();
    bad[50] = 0x49; // size 0x249 instead of 0x288
    assert!(matches!(
        Quote::decode(&bad),
        Err(QuoteError::BodySizeMismatch { body_type: 3, .. })
    ));
    let mut bad = q.clone();
    bad[48] = 1; // SGX body type under a TDX header
    bad[49] = 0;
    assert!(matches!(
        Quote::decode(&bad),
        Err(QuoteError::BodySizeMismatch { .. }) | Err(QuoteError::TeeTypeMismatch { .. })
    ));
    let mut bad = q;
    bad[48] = 9;
    assert_eq!(Quote::decode(&bad), Err(QuoteError::UnsupportedBodyType(9)));
}
