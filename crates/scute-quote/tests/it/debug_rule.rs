//! The one debug rule on real report bodies: SGX ATTRIBUTES.DEBUG, and for TDs every bit of the
//! TUD group of TD_ATTRIBUTES (bits 0..=7), not just DEBUG; and the attribute names beside it.

use scute_quote::{sgx_attributes, td_attributes, Body, Quote};
use std::path::PathBuf;

fn quote(case: &str) -> Quote {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(case)
        .join("quote.bin");
    Quote::decode(&std::fs::read(path).unwrap()).unwrap()
}

fn with_td_attributes(mut body: Body, attributes: u64) -> Body {
    match &mut body {
        Body::Td10(td) => td.td_attributes = attributes.to_le_bytes(),
        Body::Td15(td) => td.base.td_attributes = attributes.to_le_bytes(),
        Body::Td15Ex(td) => td.base.base.td_attributes = attributes.to_le_bytes(),
        Body::Sgx(_) => panic!("not a TD"),
    }
    body
}

#[test]
fn every_tud_bit_makes_a_td_debug_and_no_other_bit_does() {
    for case in ["dcapqvl-tdx-v4", "dcapqvl-tdx-v5-td15ex", "gotdx-tdx-v5"] {
        let body = quote(case).body;
        assert!(!body.is_debug(), "{case} is a production TD");
        for bit in 0..64 {
            let flags = td_attributes::SEPT_VE_DISABLE | 1 << bit;
            let debug = with_td_attributes(body.clone(), flags).is_debug();
            assert_eq!(debug, bit < 8, "{case}: bit {bit}");
        }
    }
}

#[test]
fn perf_prof_is_bit_5() {
    let body = with_td_attributes(quote("dcapqvl-tdx-v4").body, 0x1000_0020);
    assert!(body.is_debug());
    assert_eq!(body.attribute_flags(), 0x1000_0020);
    assert_eq!(body.attribute_names(), ["PERF_PROF", "SEPT_VE_DISABLE"]);
    assert_eq!(
        td_attributes::names(1 << 1 | 1 << 40),
        ["BIT1", "BIT40"],
        "unnamed bits keep their number"
    );
}

#[test]
fn sgx_debug_is_attributes_bit_1() {
    let mut body = quote("dcapqvl-sgx-v3").body;
    assert!(!body.is_debug());
    let Body::Sgx(report) = &mut body else {
        panic!("an SGX quote");
    };
    let production = report.attribute_flags();
    assert_eq!(production & sgx_attributes::INIT, sgx_attributes::INIT);
    report.attributes[0] |= 0x02;
    assert_eq!(report.attribute_flags(), production | sgx_attributes::DEBUG);
    assert!(body.is_debug());
    assert!(body.attribute_names().contains(&"DEBUG".to_string()));
    // A TUD-like bit of an enclave (profiling has no meaning there) is not debug.
    let Body::Sgx(report) = &mut body else {
        unreachable!()
    };
    report.attributes[0] = 0x05 | 0x20;
    assert!(!body.is_debug());
}
