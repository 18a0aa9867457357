//! The `/v1/attest` body path on arbitrary bytes: parsing never panics, and what it accepts is
//! consistent — a known TEE, at most 16 distinct extra policies, a decoded nonce, and the
//! report_data of the runtime data it carries.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = scute_api::parse_attest_request(data) else {
        return;
    };
    assert!(matches!(
        request.tee.name(),
        "sgx" | "tdx" | "snp" | "csv" | "sample"
    ));
    assert!(
        request.tee == scute_api::Tee::Snp
            || (request.vcek.is_none() && request.cert_chain.is_none())
    );
    assert!(request.extra_policy_ids.len() <= scute_api::MAX_POLICY_IDS);
    for (i, id) in request.extra_policy_ids.iter().enumerate() {
        assert!(
            !request.extra_policy_ids[..i].contains(id),
            "repeated policy id"
        );
    }
    assert_eq!(
        request.runtime_data["nonce"].as_str(),
        Some(request.nonce_text.as_str())
    );
    let expected = scute_api::report_data_for(&request.runtime_data).expect("canonicalises");
    assert_eq!(request.report_data, expected);
    assert_eq!(&request.report_data[48..], &[0u8; 16]);
});
