//! Certificates, CRLs and PEM are read as strictly as Intel's QVL (OpenSSL) and dcap-qvl read
//! them: a real quote and its collateral are re-encoded one byte at a time (an ASN.1 tag, a PEM
//! label, text between blocks) and each variant must fail with a typed error, while x509-parser
//! alone would still read it.

use scute_dcap::{verify, Collateral, DcapError, TrustAnchor, VerifyOptions};
use scute_quote::Quote;
use std::path::PathBuf;

const TDX: &str = "dcapqvl-tdx-v4";
const SGX: &str = "dcapqvl-sgx-v3";

/// AlgorithmIdentifier { ecdsa-with-SHA256 }: the TBS `signature` field and the outer
/// `signatureAlgorithm` of every Intel certificate and CRL; the outer one is the last.
const ECDSA_SHA256: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];

/// Non-SEQUENCE encodings of tag number 16: primitive universal, and every other class/form.
const RETAGS: [u8; 7] = [0x10, 0x50, 0x70, 0x90, 0xb0, 0xd0, 0xf0];

struct Case {
    quote: Quote,
    collateral: Collateral,
    at: i64,
}

fn case(name: &str) -> Case {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(name);
    let quote = Quote::decode(&std::fs::read(dir.join("quote.bin")).unwrap()).unwrap();
    let collateral = Collateral::from_files(|f| std::fs::read(dir.join(f)).ok()).unwrap();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let case = Case {
        quote,
        collateral,
        at: expected["verify_time_unix"].as_i64().unwrap(),
    };
    case.run(&case.quote, &case.collateral)
        .expect("the untouched vector verifies");
    case
}

impl Case {
    fn run(
        &self,
        quote: &Quote,
        collateral: &Collateral,
    ) -> Result<scute_dcap::VerifiedQuote, DcapError> {
        verify(
            &quote.encode(),
            collateral,
            &TrustAnchor::intel_sgx_root(),
            self.at,
            VerifyOptions::default(),
        )
    }

    /// The quote with its certification data replaced.
    fn with_chain(&self, pem: Vec<u8>) -> Result<scute_dcap::VerifiedQuote, DcapError> {
        let mut quote = self.quote.clone();
        quote.signature.certification_data.data = pem;
        self.run(&quote, &self.collateral)
    }

    fn with_collateral(&self, edit: impl FnOnce(&mut Collateral)) -> Result<(), DcapError> {
        let mut collateral = self.collateral.clone();
        edit(&mut collateral);
        self.run(&self.quote, &collateral).map(drop)
    }

    fn pck_chain(&self) -> Vec<u8> {
        self.quote.signature.certification_data.data.clone()
    }
}

fn blocks(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = std::str::from_utf8(pem).unwrap().trim_end_matches('\0');
    text.split_inclusive("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN"))
        .map(|b| pem_rfc7468::decode_vec(b.trim().as_bytes()).unwrap().1)
        .collect()
}

fn pem(ders: &[Vec<u8>]) -> Vec<u8> {
    ders.iter()
        .map(|der| {
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap()
        })
        .collect::<String>()
        .into_bytes()
}

/// `der` with the tag of its outer signatureAlgorithm replaced.
fn retag_signature_algorithm(der: &[u8], tag: u8) -> Vec<u8> {
    let at = der
        .windows(ECDSA_SHA256.len())
        .rposition(|w| w == ECDSA_SHA256)
        .expect("an ecdsa-with-SHA256 signatureAlgorithm");
    let mut out = der.to_vec();
    out[at] = tag;
    out
}

fn retag_outer(der: &[u8], tag: u8) -> Vec<u8> {
    let mut out = der.to_vec();
    out[0] = tag;
    out
}

fn assert_certificate_invalid(result: Result<impl std::fmt::Debug, DcapError>, what: &str) {
    match result {
        Err(e @ DcapError::Certificate { .. }) => assert_eq!(e.kind(), "certificate_invalid"),
        other => panic!("{what}: expected a certificate_invalid error, got {other:?}"),
    }
}

/// The lenient reader still accepts the variant, so the strict layer is what rejects it.
fn x509_parser_reads(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok()
}

#[test]
fn retagged_signature_algorithm_in_the_pck_chain_is_refused() {
    for name in [TDX, SGX] {
        let c = case(name);
        let chain = blocks(&c.pck_chain());
        assert_eq!(chain.len(), 3, "{name}: leaf, PCK CA, root");
        for (index, position) in ["leaf", "intermediate", "root"].iter().enumerate() {
            for tag in RETAGS {
                let mut certs = chain.clone();
                certs[index] = retag_signature_algorithm(&certs[index], tag);
                if tag == 0x10 {
                    assert!(x509_parser_reads(&certs[index]), "{name} {position}");
                }
                assert_certificate_invalid(
                    c.with_chain(pem(&certs)),
                    &format!("{name} {position} signatureAlgorithm tag {tag:#04x}"),
                );
            }
        }
    }
}

#[test]
fn retagged_outer_certificate_is_refused() {
    let c = case(TDX);
    let chain = blocks(&c.pck_chain());
    for index in 0..3 {
        for tag in [0x10, 0xb0] {
            let mut certs = chain.clone();
            certs[index] = retag_outer(&certs[index], tag);
            assert_certificate_invalid(
                c.with_chain(pem(&certs)),
                &format!("certificate {index} tag {tag:#04x}"),
            );
        }
    }
}

#[test]
fn outer_algorithm_must_equal_the_signed_one() {
    // ecdsa-with-SHA384 outside, SHA-256 inside: valid DER, but not what the issuer signed.
    let c = case(TDX);
    let mut certs = blocks(&c.pck_chain());
    let at = certs[0]
        .windows(ECDSA_SHA256.len())
        .rposition(|w| w == ECDSA_SHA256)
        .unwrap();
    certs[0][at + ECDSA_SHA256.len() - 1] = 0x03;
    assert_certificate_invalid(c.with_chain(pem(&certs)), "SHA-384 outer algorithm");
}

#[test]
fn retagged_certificates_in_collateral_chains_are_refused() {
    let c = case(TDX);
    type Field = fn(&mut Collateral) -> &mut Vec<u8>;
    let fields: [(&str, Field); 3] = [
        ("tcb_info_issuer_chain", |c| &mut c.tcb_info_issuer_chain),
        ("qe_identity_issuer_chain", |c| {
            &mut c.qe_identity_issuer_chain
        }),
        ("pck_crl_issuer_chain", |c| &mut c.pck_crl_issuer_chain),
    ];
    for (name, field) in fields {
        let chain = blocks(field(&mut c.collateral.clone()));
        for index in 0..chain.len() {
            for tag in [0x10, 0xb0] {
                let mut certs = chain.clone();
                certs[index] = retag_signature_algorithm(&certs[index], tag);
                let result = c.with_collateral(|col| *field(col) = pem(&certs));
                assert_certificate_invalid(result, &format!("{name} certificate {index}"));
            }
        }
    }
}

#[test]
fn retagged_crls_are_refused() {
    let c = case(TDX);
    type Field = fn(&mut Collateral) -> &mut Vec<u8>;
    let fields: [(&str, &str, Field); 2] = [
        ("PCK CRL", "pck_crl", |c| &mut c.pck_crl),
        ("Root CA CRL", "root_ca_crl", |c| &mut c.root_ca_crl),
    ];
    for (item, name, field) in fields {
        let der = field(&mut c.collateral.clone()).clone();
        let mut variants: Vec<Vec<u8>> = RETAGS
            .iter()
            .map(|&t| retag_signature_algorithm(&der, t))
            .collect();
        variants.extend([0x10, 0xb0].map(|t| retag_outer(&der, t)));
        for variant in variants {
            match c.with_collateral(|col| *field(col) = variant) {
                Err(DcapError::CollateralDecode { item: got, .. }) => assert_eq!(got, item),
                other => panic!("{name}: expected collateral_decode, got {other:?}"),
            }
        }
    }
}

#[test]
fn pem_end_label_must_match_begin_label() {
    let c = case(TDX);
    let bad = String::from_utf8(c.pck_chain()).unwrap().replacen(
        "-----END CERTIFICATE-----",
        "-----END CERTxFICATE-----",
        1,
    );
    assert_certificate_invalid(c.with_chain(bad.into_bytes()), "quote chain END label");

    let issuer = String::from_utf8(c.collateral.tcb_info_issuer_chain.clone()).unwrap();
    let bad = issuer.replacen("-----END CERTIFICATE-----", "-----END CERTxFICATE-----", 1);
    assert_certificate_invalid(
        c.with_collateral(|col| col.tcb_info_issuer_chain = bad.into_bytes()),
        "TCB Info issuer chain END label",
    );

    let root = pem_rfc7468::encode_string(
        "CERTIFICATE",
        pem_rfc7468::LineEnding::LF,
        &blocks(&c.pck_chain())[2],
    )
    .unwrap();
    assert!(TrustAnchor::from_certificate(root.as_bytes()).is_ok());
    let bad = root.replace("-----END CERTIFICATE-----", "-----END CERTxFICATE-----");
    assert!(matches!(
        TrustAnchor::from_certificate(bad.as_bytes()),
        Err(DcapError::Certificate { .. })
    ));
}

#[test]
fn text_between_pem_blocks_is_refused() {
    let c = case(TDX);
    let chain = String::from_utf8(c.pck_chain()).unwrap();
    for junk in ["x", "subject=CN = Intel\n", "-----", "\0"] {
        let bad = chain.replacen(
            "-----END CERTIFICATE-----\n",
            &format!("-----END CERTIFICATE-----\n{junk}\n"),
            1,
        );
        assert_ne!(bad, chain);
        assert_certificate_invalid(c.with_chain(bad.into_bytes()), &format!("junk {junk:?}"));
    }
    let bad = format!("junk\n{chain}");
    assert_certificate_invalid(
        c.with_chain(bad.into_bytes()),
        "text before the first block",
    );
}

#[test]
fn pem_crl_is_strict_too() {
    let c = case(TDX);
    let crl = |label: &str| {
        pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, &c.collateral.pck_crl)
            .unwrap()
    };
    assert!(c
        .with_collateral(|col| col.pck_crl = crl("X509 CRL").into_bytes())
        .is_ok());
    let mismatched = crl("X509 CRL").replace("-----END X509 CRL", "-----END X509 CRX");
    let wrong_label = crl("CERTIFICATE");
    let two = crl("X509 CRL").repeat(2);
    for bad in [mismatched, wrong_label, two] {
        assert!(
            matches!(
                c.with_collateral(|col| col.pck_crl = bad.into_bytes()),
                Err(DcapError::CollateralDecode {
                    item: "PCK CRL",
                    ..
                })
            ),
            "PEM CRL variant accepted"
        );
    }
}

#[test]
fn what_the_design_accepts_still_verifies() {
    let c = case(TDX);
    let mut chain = blocks(&c.pck_chain());
    // Root first, with CRLF line ends, whitespace around the blocks, trailing NULs.
    chain.reverse();
    let root_first = String::from_utf8(pem(&chain))
        .unwrap()
        .replace('\n', "\r\n");
    let text = format!("\n \n{root_first}\n\0\0");
    c.with_chain(text.into_bytes()).expect("accepted by design");
}

/// A block of another label in a certificate chain is refused, not skipped: the bytes a chain
/// is accepted from are the certificates judged (issue 22: DCAP's old reader skipped such
/// blocks, SEV-SNP's refused them; both now read PEM through `scute_codec::pem` and refuse).
#[test]
fn a_block_of_another_label_in_a_chain_is_refused() {
    let c = case(TDX);
    let chain = String::from_utf8(c.pck_chain()).unwrap();
    let key =
        pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &[1, 2, 3]).unwrap();
    for text in [format!("{key}{chain}"), format!("{chain}\n{key}")] {
        assert_certificate_invalid(c.with_chain(text.into_bytes()), "PUBLIC KEY block");
    }
}

/// The SEV-SNP side of `dcap_and_snp_give_every_pem_variant_one_verdict`: a simulated Milan
/// PKI and a report its VCEK signed.
mod snp {
    use scute_sim::amd::{guest_report, AmdPki, VekKind};
    use scute_snp::{verify, Collateral, Product, SnpError, TcbVersion, TrustRoots};

    /// 2026-01-01, the simulated PKI's start, and a day later.
    const START: i64 = 1_767_225_600;
    pub(super) const AT: i64 = START + 86_400;
    const TCB: TcbVersion = TcbVersion([3, 0, 0, 0, 0, 0, 8, 0x73]);

    pub(super) struct Case {
        pki: AmdPki,
        vek: Vec<u8>,
        report: Vec<u8>,
    }

    impl Case {
        pub(super) fn new() -> Self {
            let pki = AmdPki::new(Product::Milan, START).unwrap();
            let vek = pki
                .issue_vek(&pki.vek_spec(VekKind::Vcek, TCB, vec![0xc4; 64]))
                .unwrap();
            let mut report = guest_report(Product::Milan, TCB, [0xc4; 64], [0; 64]);
            vek.sign(&mut report).unwrap();
            Self {
                vek: vek.der.clone(),
                report: report.encode(),
                pki,
            }
        }

        pub(super) fn chain(&self) -> String {
            self.pki.cert_chain_pem(VekKind::Vcek)
        }

        pub(super) fn crl(&self) -> Vec<u8> {
            self.pki.crl(&[], START, START + 30 * 86_400).unwrap()
        }

        pub(super) fn run(&self, chain: &[u8], crl: Option<&[u8]>) -> Result<(), SnpError> {
            let roots = TrustRoots::amd()
                .with_ark(self.pki.ark_pem().as_bytes())
                .unwrap();
            let collateral = Collateral {
                vek: &self.vek,
                chain: Some(chain),
                crl,
            };
            verify(&self.report, &collateral, &roots, AT).map(drop)
        }
    }
}

/// DCAP and SEV-SNP read PEM through one reader (`scute_codec::pem`), so every variant of a
/// certificate chain or a CRL gets one verdict from both, including the variants on which the
/// two old readers differed (marked "was").
#[test]
fn dcap_and_snp_give_every_pem_variant_one_verdict() {
    type Edit = fn(&str) -> String;
    let dcap = case(TDX);
    let snp = snp::Case::new();
    let chains: [(&str, Edit, bool); 7] = [
        ("as issued", |t| t.to_string(), true),
        (
            "CRLF, whitespace around, trailing NULs",
            |t| {
                format!(
                    "\n  {}\n\0\0",
                    t.replace("\r\n", "\n").replace('\n', "\r\n")
                )
            },
            true,
        ),
        // Was: SEV-SNP refused, DCAP skipped the block.
        (
            "a PUBLIC KEY block first",
            |t| {
                let key = pem_rfc7468::encode_string(
                    "PUBLIC KEY",
                    pem_rfc7468::LineEnding::LF,
                    &[1, 2, 3],
                )
                .unwrap();
                format!("{key}{t}")
            },
            false,
        ),
        // Was: DCAP refused, SEV-SNP let pem-rfc7468 skip it as RFC 7468 "explanatory text".
        (
            "explanatory text first",
            |t| format!("subject=CN = ARK\n{t}"),
            false,
        ),
        // Was: DCAP refused, SEV-SNP skipped it as the second block's preamble.
        (
            "text between blocks",
            |t| {
                t.replacen(
                    "-----END CERTIFICATE-----",
                    "-----END CERTIFICATE-----\njunk",
                    1,
                )
            },
            false,
        ),
        (
            "END label unlike the BEGIN label",
            |t| t.replacen("-----END CERTIFICATE-----", "-----END CERTxFICATE-----", 1),
            false,
        ),
        (
            "no END line",
            |t| {
                t.rsplit_once("-----END")
                    .map(|(head, _)| head.to_string())
                    .unwrap()
            },
            false,
        ),
    ];
    let dcap_chain = String::from_utf8(dcap.pck_chain()).unwrap();
    let dcap_chain = dcap_chain.trim_end_matches('\0');
    let snp_chain = snp.chain();
    for (what, edit, accepted) in chains {
        let d = dcap.with_chain(edit(dcap_chain).into_bytes());
        let s = snp.run(edit(&snp_chain).as_bytes(), None);
        assert_eq!(d.is_ok(), accepted, "DCAP, chain {what}: {:?}", d.err());
        assert_eq!(s.is_ok(), accepted, "SEV-SNP, chain {what}: {s:?}");
        if !accepted {
            assert_certificate_invalid(d, what);
            assert!(
                matches!(s, Err(scute_snp::SnpError::CertificateDecode { .. })),
                "SEV-SNP, chain {what}: {s:?}"
            );
        }
    }

    let pem = |label: &str, der: &[u8]| {
        pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
    };
    let dcap_crl = dcap.collateral.pck_crl.clone();
    let snp_crl = snp.crl();
    type Encode<'a> = &'a dyn Fn(&[u8]) -> Vec<u8>;
    let crls: [(&str, Encode, bool); 6] = [
        ("DER", &|der| der.to_vec(), true),
        ("PEM", &|der| pem("X509 CRL", der).into_bytes(), true),
        // Was: DCAP read leading whitespace as DER and refused it.
        (
            "PEM after whitespace",
            &|der| format!("\n {}", pem("X509 CRL", der)).into_bytes(),
            true,
        ),
        // Was: SEV-SNP refused the NUL.
        (
            "PEM, trailing NUL",
            &|der| format!("{}\0", pem("X509 CRL", der)).into_bytes(),
            true,
        ),
        (
            "PEM labelled CERTIFICATE",
            &|der| pem("CERTIFICATE", der).into_bytes(),
            false,
        ),
        (
            "two PEM blocks",
            &|der| pem("X509 CRL", der).repeat(2).into_bytes(),
            false,
        ),
    ];
    for (what, encode, accepted) in crls {
        let d = dcap.with_collateral(|col| col.pck_crl = encode(&dcap_crl));
        let s = snp.run(snp_chain.as_bytes(), Some(&encode(&snp_crl)));
        assert_eq!(d.is_ok(), accepted, "DCAP, CRL {what}: {d:?}");
        assert_eq!(s.is_ok(), accepted, "SEV-SNP, CRL {what}: {s:?}");
    }
}
