//! Quote v5 body type 4 (TD 1.5 extended, "TD partitioning"), on the one public type-4 quote
//! (dcap-qvl's `sample/tdx_quote_td15ex`, `shared/vectors/dcapqvl-tdx-v5-td15ex`). The layout is
//! Intel QVL's (intel/confidential-computing.tee.dcap.qvl): `QuoteConstants.h` @1b16a69e
//! (`BODY_TD_REPORT15EX_TYPE = 4`, `TD_REPORT15EX_BYTE_LEN = 885`), `QuoteStructures.h`
//! @4f45190a (`TDReport15Ex`: TD15 then vmid[1], tdId[32], devInfo[48], initServTdHash[48],
//! initServTdAttributes[8], initCpuSvn[16], initTeeTcbSvn[16], initTeeFmspc[12],
//! curServTdHash[48], curServTdAttributes[8]) and `Quote.cpp` @1b16a69e (the declared size
//! must be exactly 885).

use scute_quote::{Body, Quote, QuoteError, TdReport15, TdReport15Ex};
use std::path::PathBuf;

/// Where the body starts: the 48-byte header and the 6-byte descriptor.
const BODY_AT: usize = 54;

fn type4() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/dcapqvl-tdx-v5-td15ex/quote.bin");
    std::fs::read(path).unwrap()
}

/// A field of the extension read out of a decoded body.
type Field = fn(&TdReport15Ex) -> Vec<u8>;

fn declared(bytes: &[u8]) -> (u16, u32) {
    (
        u16::from_le_bytes(bytes[48..50].try_into().unwrap()),
        u32::from_le_bytes(bytes[50..54].try_into().unwrap()),
    )
}

#[test]
fn the_public_type_4_quote_round_trips_byte_for_byte() {
    let bytes = type4();
    assert_eq!(declared(&bytes), (4, 885));
    let quote = Quote::decode(&bytes).unwrap();
    assert_eq!(quote.body.body_type(), 4);
    assert_eq!(quote.body.len(), TdReport15Ex::LEN);
    assert_eq!(quote.encode(), bytes);
    // The signed region is header ‖ descriptor ‖ 885-byte body (QVL `Quote::parse`:
    // HEADER_BYTE_LEN + BODY_BYTE_SIZE + TD_REPORT15EX_BYTE_LEN).
    assert_eq!(quote.signed_bytes(), bytes[..BODY_AT + 885]);
}

/// Each extension field sits at QVL's offset: a byte written there in the raw quote comes out
/// in that field and nowhere else.
#[test]
fn extension_fields_sit_at_qvls_offsets() {
    let fields: [(usize, usize, Field); 10] = [
        (648, 1, |b| vec![b.vm_index]),
        (649, 32, |b| b.td_id.to_vec()),
        (681, 48, |b| b.dev_info.to_vec()),
        (729, 48, |b| b.init_service_td_hash.to_vec()),
        (777, 8, |b| b.init_service_td_attributes.to_vec()),
        (785, 16, |b| b.init_cpu_svn.to_vec()),
        (801, 16, |b| b.init_tee_tcb_svn.to_vec()),
        (817, 12, |b| b.init_tee_fmspc.to_vec()),
        (829, 48, |b| b.cur_service_td_hash.to_vec()),
        (877, 8, |b| b.cur_service_td_attributes.to_vec()),
    ];
    let original = type4();
    let Body::Td15Ex(plain) = Quote::decode(&original).unwrap().body else {
        panic!("not type 4")
    };
    let mut end = TdReport15::LEN;
    for (offset, len, get) in fields {
        assert_eq!(offset, end, "fields are contiguous");
        end += len;
        let mut bytes = original.clone();
        for i in 0..len {
            bytes[BODY_AT + offset + i] ^= 0xa5;
        }
        let Body::Td15Ex(changed) = Quote::decode(&bytes).unwrap().body else {
            panic!("not type 4")
        };
        let want: Vec<u8> = get(&plain).iter().map(|b| b ^ 0xa5).collect();
        assert_eq!(get(&changed), want, "offset {offset}");
        assert_eq!(
            changed.base, plain.base,
            "offset {offset}: the TD15 part moved"
        );
    }
    assert_eq!(end, TdReport15Ex::LEN);
}

#[test]
fn a_declared_size_other_than_885_is_refused() {
    for size in [0u32, 648, 884, 886, u32::MAX] {
        let mut bytes = type4();
        bytes[50..54].copy_from_slice(&size.to_le_bytes());
        assert_eq!(
            Quote::decode(&bytes),
            Err(QuoteError::BodySizeMismatch {
                body_type: 4,
                declared: size,
                expected: 885
            }),
            "size {size}"
        );
    }
}

/// An oversized body: one byte more than the layout, declared as such or not.
#[test]
fn an_oversized_type_4_body_is_refused() {
    let original = type4();
    let mut grown = original[..BODY_AT + 885].to_vec();
    grown.push(0);
    grown.extend_from_slice(&original[BODY_AT + 885..]);
    // Declared 885: the extra byte is read as the start of signature_data_len.
    assert!(
        matches!(
            Quote::decode(&grown),
            Err(QuoteError::Truncated { .. } | QuoteError::SizeMismatch { .. })
        ),
        "{:?}",
        Quote::decode(&grown)
    );
    grown[50..54].copy_from_slice(&886u32.to_le_bytes());
    assert!(matches!(
        Quote::decode(&grown),
        Err(QuoteError::BodySizeMismatch {
            body_type: 4,
            declared: 886,
            ..
        })
    ));
}

/// Every cut through a type-4 quote (header, descriptor, body, signature data) is a typed
/// error, never a panic or a short quote taken for a whole one.
#[test]
fn every_truncation_of_a_type_4_quote_is_a_typed_error() {
    let bytes = type4();
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

/// A TD 1.5 body relabelled type 4 (and the reverse) is refused by its size before any field
/// is read: the descriptor and the layout must agree.
#[test]
fn a_body_of_another_type_under_type_4_is_refused() {
    let mut relabelled = type4();
    relabelled[48] = 3;
    assert_eq!(
        Quote::decode(&relabelled),
        Err(QuoteError::BodySizeMismatch {
            body_type: 3,
            declared: 885,
            expected: 648
        })
    );
    let mut sgx_header = type4();
    sgx_header[4] = 0; // tee_type SGX under a TD body
    assert!(matches!(
        Quote::decode(&sgx_header),
        Err(QuoteError::TeeTypeMismatch { version: 5, .. })
    ));
}
