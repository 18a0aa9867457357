//! Attacks on each check: real reports with signed bytes changed, and simulated reports that
//! are genuinely signed but wrong in one respect (TCB, chip, kind, product, revocation, root).

use scute_sim::amd::{guest_report, AmdPki, Vek, VekKind};
use scute_snp::{
    verify, CertRole, Collateral, Product, Report, SnpError, TcbVersion, TrustRoots, SIGNED_LEN,
};
use std::path::PathBuf;
use std::sync::OnceLock;
use time::macros::datetime;

const AT_2024: i64 = datetime!(2024-01-01 00:00 UTC).unix_timestamp();
const START: i64 = datetime!(2026-01-01 00:00 UTC).unix_timestamp();
const AT: i64 = START + 86_400;

fn read(case: &str, file: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors")
            .join(case)
            .join(file),
    )
    .unwrap()
}

fn pki() -> &'static AmdPki {
    static PKI: OnceLock<AmdPki> = OnceLock::new();
    PKI.get_or_init(|| AmdPki::new(Product::Milan, START).unwrap())
}

fn roots() -> TrustRoots {
    TrustRoots::amd()
        .with_ark(pki().ark_pem().as_bytes())
        .unwrap()
}

const TCB: TcbVersion = TcbVersion([3, 0, 0, 0, 0, 0, 8, 0x73]);
const CHIP: [u8; 64] = [0xc4; 64];

fn vcek(tcb: TcbVersion, hwid: &[u8]) -> Vek {
    pki()
        .issue_vek(&pki().vek_spec(VekKind::Vcek, tcb, hwid.to_vec()))
        .unwrap()
}

fn signed(report: &mut Report, vek: &Vek) -> Vec<u8> {
    vek.sign(report).unwrap();
    report.encode()
}

fn check(report: &[u8], vek: &[u8], kind: VekKind) -> Result<scute_snp::VerifiedReport, SnpError> {
    let chain = pki().cert_chain_pem(kind);
    verify(
        report,
        &Collateral {
            vek,
            chain: Some(chain.as_bytes()),
            crl: None,
        },
        &roots(),
        AT,
    )
}

#[test]
fn a_simulated_report_verifies_and_round_trips() {
    let vek = vcek(TCB, &CHIP);
    let mut r = guest_report(Product::Milan, TCB, CHIP, [7; 64]);
    let bytes = signed(&mut r, &vek);
    let v = check(&bytes, &vek.der, VekKind::Vcek).unwrap();
    assert_eq!(v.report().report_data, [7; 64]);
    assert!(!v.is_debug());
    assert_eq!(Report::decode(&bytes).unwrap().encode(), bytes);
    // Not trusted without the simulator's root passed explicitly.
    let chain = pki().cert_chain_pem(VekKind::Vcek);
    let c = Collateral {
        vek: &vek.der,
        chain: Some(chain.as_bytes()),
        crl: None,
    };
    assert_eq!(
        verify(&bytes, &c, &TrustRoots::amd(), AT).unwrap_err(),
        SnpError::UntrustedRoot
    );
}

#[test]
fn every_signed_byte_of_a_real_report_counts() {
    let case = "snp-virtee-milan-vcek";
    let (report, vek, chain) = (
        read(case, "report.bin"),
        read(case, "vcek.der"),
        read(case, "ask_ark_chain.pem"),
    );
    let c = Collateral {
        vek: &vek,
        chain: Some(&chain),
        crl: None,
    };
    let roots = TrustRoots::amd();
    verify(&report, &c, &roots, AT_2024).unwrap();
    // One byte in each field, reserved ones included (0x04C, the TCB reserved bytes 0x182..0x185,
    // 0x188.., 0x1EB, 0x1EF, 0x1F8..), every 7th byte of the signed area besides.
    let mut offsets: Vec<usize> = vec![
        0x004, 0x008, 0x010, 0x020, 0x030, 0x038, 0x03A, 0x040, 0x048, 0x04C, 0x050, 0x090, 0x0C0,
        0x0E0, 0x110, 0x140, 0x160, 0x180, 0x182, 0x183, 0x184, 0x185, 0x186, 0x187, 0x188, 0x19F,
        0x1A0, 0x1E0, 0x1E2, 0x1E8, 0x1EB, 0x1EC, 0x1EF, 0x1F0, 0x1F8, 0x200, 0x29F,
    ];
    offsets.extend((0..SIGNED_LEN).step_by(7));
    for at in offsets {
        let mut bad = report.clone();
        bad[at] ^= 0x01;
        let err = verify(&bad, &c, &roots, AT_2024).unwrap_err();
        assert!(
            matches!(
                err,
                SnpError::ReportSignature(_)
                    | SnpError::ReportVersion(_)
                    | SnpError::ReportField { .. }
                    | SnpError::SignatureAlgorithm(_)
                    | SnpError::SignerMismatch { .. }
                    | SnpError::ProductMismatch { .. }
            ),
            "byte {at:#x}: {err:?}"
        );
    }
}

#[test]
fn the_high_bytes_of_r_and_s_and_the_rest_of_the_signature_area_must_be_zero() {
    let case = "snp-virtee-milan-vcek";
    let (report, vek) = (read(case, "report.bin"), read(case, "vcek.der"));
    let c = Collateral {
        vek: &vek,
        chain: None,
        crl: None,
    };
    for (at, field) in [
        (0x2A0 + 48, "R"),
        (0x2A0 + 71, "R"),
        (0x2E8 + 48, "S"),
        (0x2E8 + 71, "S"),
    ] {
        let mut bad = report.clone();
        bad[at] = 1;
        assert_eq!(
            verify(&bad, &c, &TrustRoots::amd(), AT_2024).unwrap_err(),
            SnpError::SignatureEncoding { field },
            "{at:#x}"
        );
    }
    for at in [0x330, 0x400, 0x49F] {
        let mut bad = report.clone();
        bad[at] = 1;
        assert!(matches!(
            verify(&bad, &c, &TrustRoots::amd(), AT_2024).unwrap_err(),
            SnpError::SignatureEncoding { .. }
        ));
    }
    // The scalar bytes themselves are signed data's proof.
    let mut bad = report.clone();
    bad[0x2A0] ^= 1;
    assert_eq!(
        verify(&bad, &c, &TrustRoots::amd(), AT_2024).unwrap_err(),
        SnpError::ReportSignature(CertRole::Vcek)
    );
    // Wrong length either way.
    assert!(matches!(
        verify(&report[..report.len() - 1], &c, &TrustRoots::amd(), AT_2024),
        Err(SnpError::ReportLength { .. })
    ));
    let mut long = report.clone();
    long.push(0);
    assert!(matches!(
        verify(&long, &c, &TrustRoots::amd(), AT_2024),
        Err(SnpError::ReportLength { .. })
    ));
}

#[test]
fn a_report_from_another_chip_or_another_vcek_is_refused() {
    // The virtee report with trustee's VCEK (another chip, same TCB): the signature fails.
    let report = read("snp-virtee-milan-vcek", "report.bin");
    let other = read("snp-trustee-milan-vcek", "vcek.der");
    let c = Collateral {
        vek: &other,
        chain: None,
        crl: None,
    };
    assert_eq!(
        verify(&report, &c, &TrustRoots::amd(), AT_2024).unwrap_err(),
        SnpError::ReportSignature(CertRole::Vcek)
    );
    // A genuinely signed report whose chip_id is not the VCEK's HWID.
    let vek = vcek(TCB, &[0xaa; 64]);
    let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
    let bytes = signed(&mut r, &vek);
    assert_eq!(
        check(&bytes, &vek.der, VekKind::Vcek).unwrap_err(),
        SnpError::ChipIdMismatch
    );
    // A masked chip ID skips the comparison only when it is zero.
    r.signer_info = 2;
    r.chip_id = [0; 64];
    let bytes = signed(&mut r, &vek);
    check(&bytes, &vek.der, VekKind::Vcek).unwrap();
    r.chip_id = CHIP;
    let bytes = signed(&mut r, &vek);
    assert!(matches!(
        check(&bytes, &vek.der, VekKind::Vcek).unwrap_err(),
        SnpError::ReportField {
            field: "chip_id",
            ..
        }
    ));
}

#[test]
fn the_hwid_may_be_raw_or_wrapped_in_an_octet_string() {
    for wrapped in [true, false] {
        let mut spec = pki().vek_spec(VekKind::Vcek, TCB, CHIP.to_vec());
        spec.hwid_wrapped = wrapped;
        let vek = pki().issue_vek(&spec).unwrap();
        assert_eq!(
            scute_snp::inspect_vek(&vek.der).unwrap().hwid.as_deref(),
            Some(&CHIP[..])
        );
        let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
        let bytes = signed(&mut r, &vek);
        check(&bytes, &vek.der, VekKind::Vcek).unwrap();
    }
}

#[test]
fn the_declared_pss_parameters_must_be_sha384_salt_48_and_the_trailer_may_be_omitted() {
    use scute_sim::amd::PssParams;
    let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
    for (pss, ok) in [
        (
            PssParams {
                salt: 48,
                explicit_trailer: false,
            },
            true,
        ),
        (
            PssParams {
                salt: 32,
                explicit_trailer: true,
            },
            false,
        ),
        (
            PssParams {
                salt: 0,
                explicit_trailer: false,
            },
            false,
        ),
    ] {
        let mut spec = pki().vek_spec(VekKind::Vcek, TCB, CHIP.to_vec());
        spec.pss = pss;
        let vek = pki().issue_vek(&spec).unwrap();
        let bytes = signed(&mut r, &vek);
        match check(&bytes, &vek.der, VekKind::Vcek) {
            Ok(_) => assert!(ok, "{pss:?}"),
            Err(SnpError::Certificate {
                role: CertRole::Vcek,
                reason,
            }) => {
                assert!(!ok, "{pss:?}: {reason}");
                assert!(reason.contains("salt"), "{reason}");
            }
            Err(e) => panic!("{pss:?}: {e:?}"),
        }
    }
}

#[test]
fn reported_tcb_must_be_the_vceks_spl_by_spl_reserved_bytes_included() {
    let vek = vcek(TCB, &CHIP);
    for (index, field) in [
        (0, "bootloader"),
        (1, "tee"),
        (2, "reserved"),
        (5, "reserved"),
        (6, "snp"),
        (7, "microcode"),
    ] {
        let mut tcb = TCB;
        tcb.0[index] = tcb.0[index].wrapping_add(1);
        let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
        r.reported_tcb = tcb;
        let bytes = signed(&mut r, &vek);
        match check(&bytes, &vek.der, VekKind::Vcek).unwrap_err() {
            SnpError::TcbMismatch { field: f, .. } => assert_eq!(f, field, "byte {index}"),
            other => panic!("byte {index}: {other:?}"),
        }
    }
    // current/committed/launch TCB are claims, not the VCEK's derivation.
    let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
    r.current_tcb = TcbVersion([4, 0, 0, 0, 0, 0, 9, 0x74]);
    let bytes = signed(&mut r, &vek);
    check(&bytes, &vek.der, VekKind::Vcek).unwrap();
}

#[test]
fn a_vlek_presented_as_a_vcek_and_the_reverse_are_refused() {
    let vlek = pki()
        .issue_vek(&pki().vek_spec(VekKind::Vlek, TCB, Vec::new()))
        .unwrap();
    let vcek = vcek(TCB, &CHIP);
    // A VCEK-signed (signer_info 0) report signed with the VLEK's key, VLEK as its "vcek".
    let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
    let bytes = signed(&mut r, &vlek);
    assert!(matches!(
        check(&bytes, &vlek.der, VekKind::Vlek).unwrap_err(),
        SnpError::SignerMismatch {
            found: CertRole::Vlek,
            ..
        }
    ));
    // A VLEK report with a VCEK.
    r.signer_info = 1 << 2;
    let bytes = signed(&mut r, &vcek);
    assert!(matches!(
        check(&bytes, &vcek.der, VekKind::Vcek).unwrap_err(),
        SnpError::SignerMismatch {
            found: CertRole::Vcek,
            ..
        }
    ));
    // A proper VLEK report verifies only through the ASVK.
    r.chip_id = [0; 64];
    let bytes = signed(&mut r, &vlek);
    let v = check(&bytes, &vlek.der, VekKind::Vlek).unwrap();
    assert_eq!(v.signer(), CertRole::Vlek);
    assert!(matches!(
        check(&bytes, &vlek.der, VekKind::Vcek).unwrap_err(),
        SnpError::Certificate {
            role: CertRole::Asvk,
            ..
        }
    ));
    // signer_info "no key" or reserved.
    for key in [2, 7] {
        r.signer_info = key << 2;
        let bytes = signed(&mut r, &vlek);
        assert!(matches!(
            check(&bytes, &vlek.der, VekKind::Vlek).unwrap_err(),
            SnpError::ReportField {
                field: "signer_info",
                ..
            }
        ));
    }
}

#[test]
fn a_genoa_vcek_under_a_milan_ark_and_a_wrong_cpuid_are_refused() {
    let mut spec = pki().vek_spec(VekKind::Vcek, TCB, CHIP.to_vec());
    spec.product_name = "Genoa-B1".into();
    let genoa = pki().issue_vek(&spec).unwrap();
    let mut r = guest_report(Product::Genoa, TCB, CHIP, [0; 64]);
    let bytes = signed(&mut r, &genoa);
    assert!(matches!(
        check(&bytes, &genoa.der, VekKind::Vcek).unwrap_err(),
        SnpError::ProductMismatch {
            what: "the ARK",
            ..
        }
    ));
    // A Milan VCEK with a report whose CPUID says Genoa.
    let milan = vcek(TCB, &CHIP);
    let bytes = signed(&mut r, &milan);
    assert!(matches!(
        check(&bytes, &milan.der, VekKind::Vcek).unwrap_err(),
        SnpError::ProductMismatch {
            what: "the report's CPUID",
            ..
        }
    ));
    // A real Milan report with AMD's Genoa chain.
    let report = read("snp-virtee-milan-vcek", "report.bin");
    let vek = read("snp-virtee-milan-vcek", "vcek.der");
    let genoa_chain = [
        read("snp-amd-ark-ask-roots", "genoa_ask.pem"),
        read("snp-amd-ark-ask-roots", "genoa_ark.pem"),
    ]
    .concat();
    let c = Collateral {
        vek: &vek,
        chain: Some(&genoa_chain),
        crl: None,
    };
    assert!(verify(&report, &c, &TrustRoots::amd(), AT_2024).is_err());
}

#[test]
fn the_chain_must_end_in_a_trusted_root_and_be_intact() {
    let vek = vcek(TCB, &CHIP);
    let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
    let bytes = signed(&mut r, &vek);
    // The simulator's chain with AMD's roots only.
    let chain = pki().cert_chain_pem(VekKind::Vcek);
    let c = Collateral {
        vek: &vek.der,
        chain: Some(chain.as_bytes()),
        crl: None,
    };
    assert_eq!(
        verify(&bytes, &c, &TrustRoots::amd(), AT).unwrap_err(),
        SnpError::UntrustedRoot
    );
    // The simulated VCEK with AMD's real Milan chain: the ASK did not sign it.
    let amd = read("snp-virtee-milan-vcek", "ask_ark_chain.pem");
    let c = Collateral {
        vek: &vek.der,
        chain: Some(&amd),
        crl: None,
    };
    assert!(matches!(
        verify(&bytes, &c, &roots(), AT).unwrap_err(),
        SnpError::Certificate {
            role: CertRole::Vcek,
            ..
        } | SnpError::CertificateSignature { .. }
    ));
    // A VCEK certificate with one byte of its signature changed.
    let mut der = vek.der.clone();
    let last = der.len() - 1;
    der[last] ^= 1;
    assert!(matches!(
        check(&bytes, &der, VekKind::Vcek).unwrap_err(),
        SnpError::CertificateSignature {
            role: CertRole::Vcek,
            issuer: CertRole::Ask
        }
    ));
    // A chain of one certificate, or of three.
    let one = pki().ark_pem();
    let c = Collateral {
        vek: &vek.der,
        chain: Some(one.as_bytes()),
        crl: None,
    };
    assert!(verify(&bytes, &c, &roots(), AT).is_err());
    let three = format!("{}{}", pki().cert_chain_pem(VekKind::Vcek), pki().ark_pem());
    let c = Collateral {
        vek: &vek.der,
        chain: Some(three.as_bytes()),
        crl: None,
    };
    assert!(verify(&bytes, &c, &roots(), AT).is_err());
}

#[test]
fn validity_windows_are_judged_at_the_instant_given() {
    let vek = vcek(TCB, &CHIP);
    let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
    let bytes = signed(&mut r, &vek);
    let chain = pki().cert_chain_pem(VekKind::Vcek);
    let c = Collateral {
        vek: &vek.der,
        chain: Some(chain.as_bytes()),
        crl: None,
    };
    let v = verify(&bytes, &c, &roots(), AT).unwrap();
    assert!(v.expires() > AT);
    assert!(matches!(
        verify(&bytes, &c, &roots(), START - 1),
        Err(SnpError::Validity { .. })
    ));
    assert!(matches!(
        verify(&bytes, &c, &roots(), v.expires() + 1),
        Err(SnpError::Validity {
            role: CertRole::Vcek,
            ..
        })
    ));
}

#[test]
fn a_revoked_ask_or_a_stale_crl_is_refused() {
    let vek = vcek(TCB, &CHIP);
    let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
    let bytes = signed(&mut r, &vek);
    let chain = pki().cert_chain_pem(VekKind::Vcek);
    let day = 86_400;
    let with = |crl: &[u8]| {
        verify(
            &bytes,
            &Collateral {
                vek: &vek.der,
                chain: Some(chain.as_bytes()),
                crl: Some(crl),
            },
            &roots(),
            AT,
        )
    };
    with(&pki().crl(&[], START, START + 30 * day).unwrap()).unwrap();
    with(
        &pki()
            .crl(&[VekKind::Vlek], START, START + 30 * day)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        with(
            &pki()
                .crl(&[VekKind::Vcek], START, START + 30 * day)
                .unwrap()
        )
        .unwrap_err(),
        SnpError::Revoked(CertRole::Ask)
    );
    assert!(matches!(
        with(&pki().crl(&[], START - 30 * day, START).unwrap()).unwrap_err(),
        SnpError::Validity {
            role: CertRole::Crl,
            ..
        }
    ));
    // A CRL with a changed byte does not verify.
    let mut crl = pki().crl(&[], START, START + 30 * day).unwrap();
    let last = crl.len() - 1;
    crl[last] ^= 1;
    assert!(with(&crl).is_err());
}

#[test]
fn debug_is_policy_bit_19() {
    let vek = vcek(TCB, &CHIP);
    let mut r = guest_report(Product::Milan, TCB, CHIP, [0; 64]);
    r.policy |= scute_snp::policy::DEBUG;
    let bytes = signed(&mut r, &vek);
    let v = check(&bytes, &vek.der, VekKind::Vcek).unwrap();
    assert!(v.is_debug());
    assert_eq!(scute_snp::report_json(&v)["policy"]["debug_allowed"], true);
    r.policy = 0x30000 | scute_snp::policy::MIGRATE_MA | scute_snp::policy::SINGLE_SOCKET;
    let bytes = signed(&mut r, &vek);
    assert!(!check(&bytes, &vek.der, VekKind::Vcek).unwrap().is_debug());
}

#[test]
fn turin_layout_reads_fmc_first_and_an_8_byte_hwid() {
    static TURIN: OnceLock<AmdPki> = OnceLock::new();
    let pki = TURIN.get_or_init(|| AmdPki::generate(Product::Turin, START).unwrap());
    let tcb = TcbVersion([1, 2, 3, 4, 0, 0, 0, 9]);
    let hwid = [0x1e; 8];
    let vek = pki
        .issue_vek(&pki.vek_spec(VekKind::Vcek, tcb, hwid.to_vec()))
        .unwrap();
    let mut chip = [0u8; 64];
    chip[..8].copy_from_slice(&hwid);
    let mut r = guest_report(Product::Turin, tcb, chip, [0; 64]);
    vek.sign(&mut r).unwrap();
    let roots = TrustRoots::amd()
        .with_ark(pki.ark_pem().as_bytes())
        .unwrap();
    let chain = pki.cert_chain_pem(VekKind::Vcek);
    let c = Collateral {
        vek: &vek.der,
        chain: Some(chain.as_bytes()),
        crl: None,
    };
    let v = verify(&r.encode(), &c, &roots, AT).unwrap();
    let claims = scute_snp::report_json(&v);
    assert_eq!(claims["reported_tcb"]["fmc"], 1);
    assert_eq!(claims["reported_tcb"]["snp"], 4);
    // A Turin VCEK with a 64-byte HWID is not Turin's.
    let long = pki
        .issue_vek(&pki.vek_spec(VekKind::Vcek, tcb, chip.to_vec()))
        .unwrap();
    long.sign(&mut r).unwrap();
    let c64 = Collateral {
        vek: &long.der,
        chain: Some(chain.as_bytes()),
        crl: None,
    };
    assert!(matches!(
        verify(&r.encode(), &c64, &roots, AT).unwrap_err(),
        SnpError::Certificate {
            role: CertRole::Vcek,
            ..
        }
    ));
    vek.sign(&mut r).unwrap();
    // The same bytes read in the Milan layout would not match: change the FMC SPL.
    r.reported_tcb = TcbVersion([2, 2, 3, 4, 0, 0, 0, 9]);
    vek.sign(&mut r).unwrap();
    assert!(matches!(
        verify(&r.encode(), &c, &roots, AT).unwrap_err(),
        SnpError::TcbMismatch { field: "fmc", .. }
    ));
}
