//! Each certificate is decoded once: a PEM block already read and verified in one chain (the
//! Intel root comes in every chain of a set, the PCK CA in two) is taken from the verifier's
//! memory when the very same bytes come again. The attacker's view: a block that differs in any
//! byte is read afresh and judged on its own, and the platform a service trusts before fetching
//! collateral is the one of the chain that verified.

use scute_dcap::{
    authenticated_quote_platform, quote_platform, verify, Collateral, DcapError, TrustAnchor,
    VerifyOptions,
};
use scute_quote::Quote;
use std::path::PathBuf;

struct Case {
    name: &'static str,
    quote: Quote,
    collateral: Collateral,
    at: i64,
}

fn case(name: &'static str) -> Case {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(name);
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    Case {
        name,
        quote: Quote::decode(&std::fs::read(dir.join("quote.bin")).unwrap()).unwrap(),
        collateral: Collateral::from_files(|f| std::fs::read(dir.join(f)).ok()).unwrap(),
        at: expected["verify_time_unix"].as_i64().unwrap(),
    }
}

impl Case {
    fn run(&self, quote: &Quote, collateral: &Collateral) -> Result<(), DcapError> {
        verify(
            &quote.encode(),
            collateral,
            &TrustAnchor::intel_sgx_root(),
            self.at,
            VerifyOptions::default(),
        )
        .map(drop)
    }
}

fn cases() -> [Case; 2] {
    [case("dcapqvl-tdx-v4"), case("dcapqvl-sgx-v3")]
}

/// The exact text of each block of a PEM bundle, in order.
fn blocks(pem: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(pem).unwrap().trim_end_matches('\0');
    text.split_inclusive("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN"))
        .map(|b| b.trim().to_string())
        .collect()
}

fn join(blocks: &[String]) -> Vec<u8> {
    blocks.join("\n").into_bytes()
}

/// One Base64 character of the block's body changed: the `offset`-th from the end of the body
/// (line breaks and padding not counted), in the certificate's signature.
fn flip_base64(block: &str, offset: usize) -> String {
    let end = block.find("-----END").unwrap();
    let at = (0..end)
        .rev()
        .filter(|&i| block.as_bytes()[i].is_ascii_alphanumeric())
        .nth(offset)
        .unwrap();
    let mut bytes = block.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_root_block_seen_in_an_earlier_chain_and_changed_later_is_read_afresh() {
    for c in cases() {
        let tcb_chain = blocks(&c.collateral.tcb_info_issuer_chain);
        let mut crl_chain = blocks(&c.collateral.pck_crl_issuer_chain);
        let root = crl_chain.len() - 1;
        assert_eq!(
            crl_chain[root], tcb_chain[1],
            "{}: the same root block in both chains",
            c.name
        );
        // The same certificate in other text (CRLF lines): read afresh, the same verdict.
        let mut collateral = c.collateral.clone();
        crl_chain[root] = crl_chain[root].replace('\n', "\r\n");
        collateral.pck_crl_issuer_chain = join(&crl_chain);
        c.run(&c.quote, &collateral)
            .unwrap_or_else(|e| panic!("{}: CRLF root: {e}", c.name));
        // One character of the signature changed: another certificate, not the pinned root.
        for offset in [8, 40] {
            let mut chain = blocks(&c.collateral.pck_crl_issuer_chain);
            chain[root] = flip_base64(&chain[root], offset);
            let mut collateral = c.collateral.clone();
            collateral.pck_crl_issuer_chain = join(&chain);
            match c.run(&c.quote, &collateral) {
                Err(DcapError::UntrustedRoot { .. } | DcapError::Certificate { .. }) => {}
                other => panic!(
                    "{} offset {offset}: expected a refusal, got {other:?}",
                    c.name
                ),
            }
        }
    }
}

#[test]
fn a_pck_chain_reusing_trusted_blocks_with_a_changed_leaf_is_refused() {
    for c in cases() {
        let chain = blocks(
            c.quote
                .signature
                .certification_data
                .pck_chain_pem()
                .unwrap(),
        );
        assert_eq!(chain.len(), 3, "{}", c.name);
        // The PCK CA and root blocks are byte-identical to ones verified with the collateral;
        // the leaf differs in one character of its signature.
        let mut changed = chain.clone();
        changed[0] = flip_base64(&changed[0], 8);
        let mut quote = c.quote.clone();
        quote.signature.certification_data.data = join(&changed);
        match c.run(&quote, &c.collateral) {
            Err(DcapError::Certificate { .. }) => {}
            other => panic!("{}: expected certificate_invalid, got {other:?}", c.name),
        }
        // Untouched blocks in other text still verify.
        let mut quote = c.quote.clone();
        quote.signature.certification_data.data = join(&chain).replace_crlf();
        c.run(&quote, &c.collateral)
            .unwrap_or_else(|e| panic!("{}: CRLF chain: {e}", c.name));
    }
}

trait ReplaceCrlf {
    fn replace_crlf(self) -> Vec<u8>;
}

impl ReplaceCrlf for Vec<u8> {
    fn replace_crlf(self) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes()
    }
}

#[test]
fn the_authenticated_platform_is_the_platform_of_the_chain_that_verified() {
    let anchor = TrustAnchor::intel_sgx_root();
    for c in cases() {
        let (ext, ca) = authenticated_quote_platform(&c.quote, &anchor).unwrap();
        let (fresh_ext, fresh_ca) = quote_platform(&c.quote).unwrap();
        assert_eq!((ext, ca), (fresh_ext, fresh_ca), "{}", c.name);
        // A leaf whose signature does not verify names no platform, though it still parses.
        let mut chain = blocks(
            c.quote
                .signature
                .certification_data
                .pck_chain_pem()
                .unwrap(),
        );
        chain[0] = flip_base64(&chain[0], 8);
        let mut quote = c.quote.clone();
        quote.signature.certification_data.data = join(&chain);
        assert!(quote_platform(&quote).is_ok(), "{}", c.name);
        assert!(matches!(
            authenticated_quote_platform(&quote, &anchor),
            Err(DcapError::Certificate { .. })
        ));
    }
}
