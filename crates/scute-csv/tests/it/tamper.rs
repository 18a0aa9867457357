//! An attacker's attempts on real evidence: every field, certificate, the MAC, anonce and the
//! high bytes of coordinates altered; an untrusted root; a PEK from another chip in Trustee's
//! form. Each must be rejected, with the variant naming the check that caught it.

use scute_csv::{
    verify, xor_anonce, CsvError, Evidence, HskCek, Report, TrustRoots, CA_CERT_LEN,
    TEE_INFO_V1_LEN,
};
use serde_json::Value;
use std::path::PathBuf;

const CSVRS: &str = "csv-openanolis-csvrs-v1report-chain";
const TRUSTEE: &str = "csv-trustee-v1-evidence";

fn read(case: &str, file: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    std::fs::read(dir.join(case).join(file)).unwrap()
}

fn report() -> Vec<u8> {
    read(CSVRS, "report.cert")
}

fn chain() -> Vec<u8> {
    read(CSVRS, "hsk_cek.cert")
}

/// The verdict on a raw report and an HSK‖CEK, both possibly altered.
fn verdict(report: &[u8], chain: &[u8]) -> Result<(), CsvError> {
    let evidence = Evidence::decode(report)?;
    let chain = HskCek::decode(chain)?;
    verify(&evidence, Some(&chain), &TrustRoots::hygon(), None).map(|_| ())
}

fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0x01;
    out
}

const SIGNER: usize = TEE_INFO_V1_LEN;

#[test]
fn the_genuine_report_verifies() {
    verdict(&report(), &chain()).unwrap();
}

#[test]
fn every_signed_tee_info_field_is_covered_by_the_report_signature() {
    // user_pubkey_digest, vm_id, vm_version, report_data, mnonce, measure, policy.
    for at in [0, 31, 32, 48, 64, 127, 128, 144, 175, 176, 179] {
        assert_eq!(
            verdict(&flipped(&report(), at), &chain()),
            Err(CsvError::Signature { item: "report" }),
            "byte {at}"
        );
    }
    // The signature itself.
    assert_eq!(
        verdict(&flipped(&report(), 0xC0), &chain()),
        Err(CsvError::Signature { item: "report" })
    );
}

#[test]
fn unsigned_usage_and_algorithm_are_checked() {
    assert!(matches!(
        verdict(&flipped(&report(), 180), &chain()),
        Err(CsvError::Usage {
            item: "report sig_usage",
            ..
        })
    ));
    assert!(matches!(
        verdict(&flipped(&report(), 184), &chain()),
        Err(CsvError::Algorithm {
            item: "report sig_algo",
            ..
        })
    ));
}

#[test]
fn a_flipped_anonce_in_the_raw_form_is_rejected() {
    for at in 188..192 {
        assert!(
            verdict(&flipped(&report(), at), &chain()).is_err(),
            "byte {at}"
        );
    }
}

#[test]
fn the_signer_block_is_covered_by_the_mac() {
    // sn, reserved, mac: only the MAC protects them.
    for at in [
        SIGNER + 2084,
        SIGNER + 2084 + 63,
        SIGNER + 2148,
        SIGNER + 2179,
        SIGNER + 2180,
        SIGNER + 2211,
    ] {
        assert_eq!(
            verdict(&flipped(&report(), at), &chain()),
            Err(CsvError::Mac),
            "byte {at}"
        );
    }
    // The PEK inside: its own signature catches it first.
    assert_eq!(
        verdict(&flipped(&report(), SIGNER + 200), &chain()),
        Err(CsvError::Signature { item: "PEK" })
    );
}

/// A forger re-XORs everything under a new anonce and recomputes the MAC, whose key (mnonce)
/// is in the report: the signature still verifies and every decoded field shifts. Only the
/// report_data binding pins anonce, which is why the service always binds it.
#[test]
fn a_forged_anonce_with_a_recomputed_mac_is_caught_by_the_report_data_binding() {
    use hmac::{KeyInit, Mac};
    let genuine = report();
    let old = u32::from_le_bytes(genuine[188..192].try_into().unwrap());
    let new = old ^ 0x0101_0101;
    let mut forged = genuine.clone();
    // sig_usage and sig_algo decode as before; anonce replaced.
    xor_anonce(&mut forged[180..188], old ^ new);
    forged[188..192].copy_from_slice(&new.to_le_bytes());
    xor_anonce(&mut forged[SIGNER..SIGNER + 2148], old ^ new);
    let mut real_mnonce = forged[128..144].to_vec();
    xor_anonce(&mut real_mnonce, new);
    let mut mac = hmac::Hmac::<sm3::Sm3>::new_from_slice(&real_mnonce).unwrap();
    mac.update(&forged[SIGNER..SIGNER + 2180]);
    let tag = mac.finalize().into_bytes();
    forged[SIGNER + 2180..SIGNER + 2212].copy_from_slice(&tag);

    let chain = HskCek::decode(&chain()).unwrap();
    let roots = TrustRoots::hygon();
    let genuine_ev = Evidence::decode(&genuine).unwrap();
    let genuine_v = verify(&genuine_ev, Some(&chain), &roots, None).unwrap();
    let forged_ev = Evidence::decode(&forged).unwrap();
    let unbound = verify(&forged_ev, Some(&chain), &roots, None).unwrap();
    assert!(!unbound.report_data_bound());
    assert_ne!(unbound.fields().measure, genuine_v.fields().measure);
    // Bound to the genuine report_data, the forgery fails.
    let expected = genuine_v.fields().report_data;
    assert_eq!(
        verify(&forged_ev, Some(&chain), &roots, Some(&expected)).unwrap_err(),
        CsvError::ReportData
    );
}

#[test]
fn every_certificate_of_the_chain_is_checked() {
    let r = report();
    // HSK body, HSK signature: not signed by the trusted root.
    for at in [0, 40, 70, 214, 500, 576, 650] {
        assert_eq!(
            verdict(&r, &flipped(&chain(), at)),
            Err(CsvError::UntrustedRoot { item: "HSK" }),
            "HSK byte {at}"
        );
    }
    // HSK usage.
    assert!(matches!(
        verdict(&r, &flipped(&chain(), 36)),
        Err(CsvError::Usage { item: "HSK", .. })
    ));
    // CEK body and slot-0 signature.
    for at in [0, 5, 30, 170, 600, 1044 + 8, 1044 + 90] {
        assert_eq!(
            verdict(&r, &flipped(&chain(), CA_CERT_LEN + at)),
            Err(CsvError::Signature { item: "CEK" }),
            "CEK byte {at}"
        );
    }
    // CEK usage, algorithm, issuer ID, slot usage.
    assert!(matches!(
        verdict(&r, &flipped(&chain(), CA_CERT_LEN + 8)),
        Err(CsvError::Usage { item: "CEK", .. })
    ));
    assert!(matches!(
        verdict(&r, &flipped(&chain(), CA_CERT_LEN + 12)),
        Err(CsvError::Algorithm { item: "CEK", .. })
    ));
    assert_eq!(
        verdict(&r, &flipped(&chain(), CA_CERT_LEN + 420)),
        Err(CsvError::IssuerId { item: "CEK" })
    );
    assert!(matches!(
        verdict(&r, &flipped(&chain(), CA_CERT_LEN + 1044)),
        Err(CsvError::Usage {
            item: "CEK signature slot 0",
            ..
        })
    ));
    // PEK (un-XOR-ed inside the report, so flipping a stored bit flips the decoded one).
    for (at, want) in [
        (
            8,
            CsvError::Usage {
                item: "PEK",
                found: 0x1003,
                expected: 0x1002,
            },
        ),
        (
            1044,
            CsvError::Usage {
                item: "PEK signature slot 0",
                found: 0x1005,
                expected: 0x1004,
            },
        ),
        (1044 + 8, CsvError::Signature { item: "PEK" }),
    ] {
        assert_eq!(
            verdict(&flipped(&r, SIGNER + at), &chain()),
            Err(want),
            "PEK byte {at}"
        );
    }
}

#[test]
fn a_chain_under_an_untrusted_root_is_rejected() {
    let evidence = Evidence::decode(&report()).unwrap();
    let chain = HskCek::decode(&chain()).unwrap();
    assert_eq!(
        verify(&evidence, Some(&chain), &TrustRoots::new(vec![]), None).unwrap_err(),
        CsvError::UntrustedRoot { item: "HSK" }
    );
    // A raw report carries no chain of its own.
    assert_eq!(
        verify(&evidence, None, &TrustRoots::hygon(), None).unwrap_err(),
        CsvError::ChainMissing
    );
}

#[test]
fn high_bytes_of_coordinates_and_scalars_must_be_zero() {
    // HSK x[32], HSK signature r[40]; CEK y[50]; report signature s[33].
    for (at, field) in [(68 + 32, "ca.pubkey.x"), (576 + 40, "ca.signature.r")] {
        assert_eq!(
            verdict(&report(), &flipped(&chain(), at)),
            Err(CsvError::HighBytes { field })
        );
    }
    assert_eq!(
        verdict(&report(), &flipped(&chain(), CA_CERT_LEN + 92 + 50)),
        Err(CsvError::HighBytes {
            field: "csv.pubkey.y"
        })
    );
    assert_eq!(
        verdict(&flipped(&report(), 0xC0 + 72 + 33), &chain()),
        Err(CsvError::HighBytes {
            field: "tee_info.sig.s"
        })
    );
    // The PEK inside the signer block.
    assert_eq!(
        verdict(&flipped(&report(), SIGNER + 20 + 40), &chain()),
        Err(CsvError::HighBytes {
            field: "csv.pubkey.x"
        })
    );
}

#[test]
fn lengths_are_exact() {
    let r = report();
    assert!(matches!(
        Report::decode(&r[..r.len() - 1]),
        Err(CsvError::Length { .. })
    ));
    let mut long = r.clone();
    long.push(0);
    assert!(matches!(
        Report::decode(&long),
        Err(CsvError::Length { .. })
    ));
    assert!(matches!(
        HskCek::decode(&chain()[1..]),
        Err(CsvError::Length { .. })
    ));
    assert!(Report::decode(&[]).is_err());
}

fn trustee_json() -> Value {
    serde_json::from_slice(&read(TRUSTEE, "csv_evidence.json")).unwrap()
}

fn trustee_verdict(json: &Value, chain: Option<&HskCek>, rd: &[u8; 64]) -> Result<(), CsvError> {
    let evidence = Evidence::decode(json.to_string().as_bytes())?;
    verify(&evidence, chain, &TrustRoots::hygon(), Some(rd)).map(|_| ())
}

/// The csv-rs vector's PEK (another chip), as Trustee's PEK JSON.
fn other_pek_json() -> Value {
    let report = Report::decode(&report()).unwrap();
    let pek = report.pek_cert();
    let u32_at = |o: usize| u32::from_le_bytes(pek[o..o + 4].try_into().unwrap());
    let slot = |o: usize| {
        serde_json::json!({
            "usage": u32_at(o), "algo": u32_at(o + 4),
            "signature": {"r": pek[o + 8..o + 80], "s": pek[o + 80..o + 152]},
            "_reserved": pek[o + 152..o + 520],
        })
    };
    serde_json::json!({
        "body": {"ver": u32_at(0), "data": {
            "firmware": {"major": pek[4], "minor": pek[5]},
            "reserved1": u16::from_le_bytes([pek[6], pek[7]]),
            "pubkey": {"usage": u32_at(8), "algo": u32_at(12),
                       "key": {"g": u32_at(16), "x": pek[20..92], "y": pek[92..164]}},
            "uid_size": u16::from_le_bytes([pek[164], pek[165]]),
            "user_id": pek[166..420], "sid": pek[420..436], "reserved2": pek[436..1044],
        }},
        "sigs": [slot(1044), slot(1044 + 520)],
    })
}

#[test]
fn trustee_form_a_pek_from_another_chip_is_rejected() {
    let rd = [0u8; 64];
    let other_chain = HskCek::decode(&chain()).unwrap();
    // Only the evidence's PEK replaced: it is not the one in the report's signer block.
    let mut json = trustee_json();
    json["cert_chain"]["pek"] = other_pek_json();
    assert_eq!(
        trustee_verdict(&json, Some(&other_chain), &rd),
        Err(CsvError::SignerMismatch {
            field: "PEK certificate"
        })
    );
    // Replaced in the signer block too (the restored block has no MAC to stop it): that PEK
    // chains to its own chip's CEK, but it did not sign this report.
    let restored = Report::decode(&report()).unwrap().pek_cert();
    let mut data: Vec<u8> =
        serde_json::from_value(json["attestation_report"]["data"].clone()).unwrap();
    data[SIGNER..SIGNER + 2084].copy_from_slice(&restored);
    json["attestation_report"]["data"] = serde_json::json!(data);
    assert_eq!(
        trustee_verdict(&json, Some(&other_chain), &rd),
        Err(CsvError::Signature { item: "report" })
    );
}

#[test]
fn trustee_form_serial_and_report_data_are_checked() {
    let rd = [0u8; 64];
    let mut json = trustee_json();
    json["serial_number"][0] = serde_json::json!(b'X');
    assert_eq!(
        trustee_verdict(&json, None, &rd),
        Err(CsvError::SignerMismatch {
            field: "serial_number"
        })
    );
    // A flipped anonce in the JSON form moves every decoded field; the binding catches it.
    let mut json = trustee_json();
    let mut data: Vec<u8> =
        serde_json::from_value(json["attestation_report"]["data"].clone()).unwrap();
    data[188] ^= 1;
    data[180] ^= 1; // keep sig_usage decoding to the PEK usage
    json["attestation_report"]["data"] = serde_json::json!(data);
    let evidence = Evidence::decode(json.to_string().as_bytes()).unwrap();
    assert_ne!(evidence.report().tee_info.fields().report_data, rd);
    // Unknown members and malformed certificates are refused.
    let mut json = trustee_json();
    json["extra"] = serde_json::json!(1);
    assert!(matches!(
        trustee_verdict(&json, None, &rd),
        Err(CsvError::EvidenceJson(_))
    ));
    let mut json = trustee_json();
    json["cert_chain"]["pek"]["body"]["data"]["pubkey"]["key"]["x"][40] = serde_json::json!(1);
    assert_eq!(
        trustee_verdict(&json, None, &rd),
        Err(CsvError::HighBytes {
            field: "csv.pubkey.x"
        })
    );
}
