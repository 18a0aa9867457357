//! Every `snp-*` vector gives the verdict its expected.json states, at an instant inside its
//! certificates' windows (and the expired VLEK fails at an instant after its window).

use scute_snp::{
    inspect_vek, verify, verify_chain, CertRole, Collateral, Product, Report, SnpError, TrustRoots,
    REPORT_LEN,
};
use serde_json::Value;
use std::path::PathBuf;
use time::macros::datetime;

fn dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(case)
}

fn read(case: &str, file: &str) -> Vec<u8> {
    std::fs::read(dir(case).join(file)).unwrap_or_else(|e| panic!("{case}/{file}: {e}"))
}

fn expected(case: &str) -> Value {
    serde_json::from_slice(&read(case, "expected.json")).unwrap()
}

const AT_2024: i64 = datetime!(2024-01-01 00:00 UTC).unix_timestamp();
/// Inside the VLEK's window (2024-12-10 .. 2025-12-10).
const AT_VLEK: i64 = datetime!(2025-06-01 00:00 UTC).unix_timestamp();
/// The day these tests were written: after the VLEK's window.
const AT_NOW: i64 = datetime!(2026-12-02 00:00 UTC).unix_timestamp();

/// (case, endorsement key file, chain file, instant)
const REPORT_CASES: [(&str, &str, Option<&str>, i64); 4] = [
    (
        "snp-virtee-milan-vcek",
        "vcek.der",
        Some("ask_ark_chain.pem"),
        AT_2024,
    ),
    ("snp-trustee-milan-vcek", "vcek.der", None, AT_2024),
    (
        "snp-gosevguest-milan-vcek",
        "vcek.der",
        Some("ask_ark_chain.pem"),
        AT_2024,
    ),
    (
        "snp-trustee-milan-vlek",
        "vlek.der",
        Some("asvk_ark_chain.pem"),
        AT_VLEK,
    ),
];

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn reports_decode_to_their_expected_fields_and_encode_to_the_same_bytes() {
    for (case, ..) in REPORT_CASES {
        let bytes = read(case, "report.bin");
        assert_eq!(bytes.len(), REPORT_LEN);
        let r = Report::decode(&bytes).unwrap();
        assert_eq!(r.encode(), bytes, "{case}");
        let f = &expected(case)["report_fields"];
        assert_eq!(
            u64::from(r.version),
            f["version"].as_u64().unwrap(),
            "{case}"
        );
        assert_eq!(u64::from(r.guest_svn), f["guest_svn"].as_u64().unwrap());
        assert_eq!(r.policy, hex_u64(&f["policy"]), "{case}");
        assert_eq!(u64::from(r.vmpl), f["vmpl"].as_u64().unwrap());
        assert_eq!(u64::from(r.signature_algo), f["sig_algo"].as_u64().unwrap());
        assert_eq!(hex::encode(r.current_tcb.0), f["current_tcb"]);
        assert_eq!(r.platform_info, hex_u64(&f["platform_info"]));
        assert_eq!(u64::from(r.signer_info), hex_u64(&f["signer_info"]));
        assert_eq!(
            u64::from(r.mask_chip_key()),
            f["mask_chip_key"].as_u64().unwrap()
        );
        assert_eq!(
            u64::from(r.author_key_en()),
            f["author_key_en"].as_u64().unwrap()
        );
        assert_eq!(hex::encode(r.report_data), f["report_data"]);
        assert_eq!(hex::encode(r.measurement), f["measurement"]);
        assert_eq!(hex::encode(r.host_data), f["host_data"]);
        assert_eq!(hex::encode(r.reported_tcb.0), f["reported_tcb"]);
        assert_eq!(hex::encode(r.chip_id), f["chip_id"]);
        assert_eq!(hex::encode(r.committed_tcb.0), f["committed_tcb"]);
        assert_eq!(hex::encode(r.launch_tcb.0), f["launch_tcb"]);
        assert_eq!(hex::encode(&r.current_version[..3]), f["current_bmm"]);
        assert_eq!(hex::encode(&r.committed_version[..3]), f["committed_bmm"]);
        match r.cpuid() {
            Some((a, b, c)) => assert_eq!(hex::encode([a, b, c]), f["cpuid_fms"]),
            None => assert!(f["cpuid_fms"].is_null()),
        }
    }
}

#[test]
fn every_report_vector_verifies_with_its_chain() {
    let roots = TrustRoots::amd();
    for (case, vek, chain, at) in REPORT_CASES {
        let report = read(case, "report.bin");
        let vek = read(case, vek);
        let chain = chain.map(|c| read(case, c));
        let collateral = Collateral {
            vek: &vek,
            chain: chain.as_deref(),
            crl: None,
        };
        let v = verify(&report, &collateral, &roots, at).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(v.product(), Product::Milan, "{case}");
        let e = expected(case);
        assert_eq!(e["independent_checks"]["report_signature"], "valid");
        let signing_key = e["report_fields"]["signing_key"].as_u64().unwrap();
        let role = if signing_key == 1 {
            CertRole::Vlek
        } else {
            CertRole::Vcek
        };
        assert_eq!(v.signer(), role, "{case}");
        let hwid = &e["vek_amd_extensions_raw_der"]["1.3.6.1.4.1.3704.1.4"];
        assert_eq!(
            v.hwid().map(hex::encode).as_deref(),
            hwid.as_str(),
            "{case}"
        );
        // Debug is policy bit 19: only go-sev-guest's report (policy 0xb0000) is debug.
        assert_eq!(v.is_debug(), case == "snp-gosevguest-milan-vcek", "{case}");
        // The built-in chain serves when none is given.
        if chain.is_some() {
            let builtin = Collateral {
                chain: None,
                ..collateral
            };
            verify(&report, &builtin, &roots, at).unwrap_or_else(|e| panic!("{case}: {e}"));
        }
    }
}

#[test]
fn the_vlek_report_fails_after_its_window_and_before_its_start() {
    let case = "snp-trustee-milan-vlek";
    let (report, vlek, chain) = (
        read(case, "report.bin"),
        read(case, "vlek.der"),
        read(case, "asvk_ark_chain.pem"),
    );
    let collateral = Collateral {
        vek: &vlek,
        chain: Some(&chain),
        crl: None,
    };
    let roots = TrustRoots::amd();
    for at in [AT_NOW, AT_2024] {
        match verify(&report, &collateral, &roots, at) {
            Err(SnpError::Validity {
                role: CertRole::Vlek,
                ..
            }) => {}
            other => panic!("at {at}: {other:?}"),
        }
    }
    let v = verify(&report, &collateral, &roots, AT_VLEK).unwrap();
    assert_eq!(v.csp_id(), Some("CN=cc-us-east-2.amazonaws.com"));
    assert_eq!(v.report().cpuid(), Some((0x19, 0x01, 0x01)));
}

#[test]
fn altered_trustee_vceks_parse_their_hwid_but_their_signature_fails() {
    let case = "snp-trustee-milan-vcek";
    let chip_id = Report::decode(&read(case, "report.bin")).unwrap().chip_id;
    let report = read(case, "report.bin");
    for file in ["vcek-invalid-legacy.der", "vcek-invalid-new.der"] {
        let vek = read(case, file);
        let info = inspect_vek(&vek).unwrap();
        assert_eq!(info.hwid.as_ref().map(Vec::len), Some(64), "{file}");
        assert_eq!(info.kind, CertRole::Vcek);
        let collateral = Collateral {
            vek: &vek,
            chain: None,
            crl: None,
        };
        match verify(&report, &collateral, &TrustRoots::amd(), AT_2024) {
            Err(SnpError::CertificateSignature {
                role: CertRole::Vcek,
                issuer: CertRole::Ask,
            }) => {}
            other => panic!("{file}: {other:?}"),
        }
        let _ = chip_id;
    }
}

#[test]
fn turin_chain_verifies_with_its_8_byte_hwid_and_fmc_spl() {
    let case = "snp-virtee-turin-vcek-chain";
    let (vek, chain) = (read(case, "vcek.der"), read(case, "ask_ark_chain.pem"));
    let at = datetime!(2025-01-01 00:00 UTC).unix_timestamp();
    for chain in [Some(chain.as_slice()), None] {
        let collateral = Collateral {
            vek: &vek,
            chain,
            crl: None,
        };
        assert_eq!(
            verify_chain(&collateral, &TrustRoots::amd(), at).unwrap(),
            (Product::Turin, CertRole::Vcek)
        );
    }
    let info = inspect_vek(&vek).unwrap();
    assert_eq!(
        info.hwid.map(hex::encode).as_deref(),
        Some("1e550a8ee5cf9f4d")
    );
    assert!(info.spls.contains(&(9, 0)));
    assert!(info.spls.contains(&(8, 9)));
    // A Turin VCEK under the Milan chain is refused.
    let milan = read("snp-virtee-milan-vcek", "ask_ark_chain.pem");
    let collateral = Collateral {
        vek: &vek,
        chain: Some(&milan),
        crl: None,
    };
    assert!(verify_chain(&collateral, &TrustRoots::amd(), at).is_err());
}

#[test]
fn the_roots_vector_matches_the_pinned_keys() {
    let case = "snp-amd-ark-ask-roots";
    let e = expected(case);
    let roots = TrustRoots::amd();
    assert_eq!(
        roots.products(),
        [Product::Milan, Product::Genoa, Product::Turin]
    );
    for (file, info) in e.as_object().unwrap() {
        let pem = read(case, file);
        let text = String::from_utf8(pem).unwrap();
        let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64_decode(&b64);
        let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
        assert_eq!(hex::encode(sha.as_ref()), info["sha256"], "{file}");
        if file.ends_with("_ark.pem") {
            // Each ARK alone is a trusted root of its product.
            let subject = info["subject"].as_str().unwrap();
            let cn = subject
                .split(',')
                .next()
                .unwrap()
                .strip_prefix("CN=ARK-")
                .unwrap();
            let product = Product::from_name(cn).unwrap();
            let only = TrustRoots::empty().with_ark(text.as_bytes()).unwrap();
            assert_eq!(only.products(), [product], "{file}");
        }
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        acc = (acc << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
