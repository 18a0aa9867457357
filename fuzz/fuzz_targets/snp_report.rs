//! SEV-SNP reports on arbitrary bytes: decoding never panics and what decodes encodes back to
//! the same bytes; verification with each real vector's VCEK/VLEK never panics, and only the
//! genuinely signed bytes (0x000–0x29F of that vector's report) ever verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_fuzz::{cases, read, seed};
use std::sync::OnceLock;

struct SnpCase {
    report: Vec<u8>,
    vek: Vec<u8>,
    chain: Option<Vec<u8>>,
    at: i64,
}

fn snp_cases() -> &'static Vec<SnpCase> {
    static CASES: OnceLock<Vec<SnpCase>> = OnceLock::new();
    CASES.get_or_init(|| {
        cases(|n| n.starts_with("snp-"))
            .into_iter()
            .filter_map(|c| {
                let report = read(&c, "report.bin")?;
                let (vek, chain) = match read(&c, "vlek.der") {
                    Some(vlek) => (vlek, read(&c, "asvk_ark_chain.pem")),
                    None => (read(&c, "vcek.der")?, read(&c, "ask_ark_chain.pem")),
                };
                // Instants inside each case's windows (the VLEK expires 2025-12-10).
                let at = if c.contains("vlek") { 1_748_736_000 } else { 1_704_067_200 };
                Some(SnpCase { report, vek, chain, at })
            })
            .collect()
    })
}

fuzz_target!(
    init: seed(
        cases(|n| n.starts_with("snp-"))
            .into_iter()
            .filter_map(|c| Some((c.clone(), read(&c, "report.bin")?))),
    ),
    |data: &[u8]| {
        if let Ok(report) = scute_snp::Report::decode(data) {
            assert_eq!(report.encode(), data, "decode -> encode changed the bytes");
        }
        let roots = scute_snp::TrustRoots::amd();
        for case in snp_cases() {
            let collateral = scute_snp::Collateral {
                vek: &case.vek,
                chain: case.chain.as_deref(),
                crl: None,
            };
            if scute_snp::verify(data, &collateral, &roots, case.at).is_ok() {
                assert_eq!(
                    data.get(..scute_snp::SIGNED_LEN),
                    case.report.get(..scute_snp::SIGNED_LEN),
                    "a report other than the signed one verified"
                );
            }
        }
    }
);
