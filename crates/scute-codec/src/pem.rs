//! Strict PEM: RFC 7468's strict grammar for each block (pem-rfc7468: the END label must be the
//! BEGIN label, Base64 without stray characters, no headers), every block carrying the label
//! the caller expects, and nothing but whitespace before or between blocks; after the last one
//! whitespace and NULs may follow (DCAP quotes NUL-terminate their certification data).
//! RFC 7468 lets parsers skip explanatory text and other labels; Intel's QVL (OpenSSL) and AMD's
//! tools do not need that, so text outside blocks and blocks of another label are refused: the
//! bytes a verifier accepts are exactly the certificates it judged.
//!
//! DCAP (certificate chains, CRLs, the pinned root) and SEV-SNP (ASK/ARK chains, VCEK/VLEK,
//! CRLs) read PEM only through here.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use thiserror::Error;

/// The label of X.509 certificates.
pub const CERTIFICATE: &str = "CERTIFICATE";
/// The label of X.509 certificate revocation lists.
pub const X509_CRL: &str = "X509 CRL";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PemError {
    #[error("no PEM block")]
    Empty,
    #[error("text outside PEM blocks")]
    TextOutside,
    #[error("PEM block without an END line")]
    NoEnd,
    /// The block breaks RFC 7468's strict grammar (mismatched END label, bad Base64, …).
    #[error("PEM: {0}")]
    Grammar(pem_rfc7468::Error),
    #[error("PEM block {found:?} is not {expected}")]
    Label {
        found: String,
        expected: &'static str,
    },
    #[error("expected one {expected} PEM block, found {found}")]
    NotOne {
        expected: &'static str,
        found: usize,
    },
}

/// The DER of every block of `text`, each of which must be labelled `label`.
pub fn decode_all(text: &[u8], label: &'static str) -> Result<Vec<Vec<u8>>, PemError> {
    let mut blocks = Vec::new();
    for block in blocks_of(text) {
        blocks.push(decode_block(block?, label)?);
    }
    if blocks.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(blocks)
}

/// The exact text of each block of `text`, in order, under the rules of [`decode_all`] (only
/// whitespace around blocks); each is then read by [`decode_block`]. A caller that already
/// decoded a byte-identical block may take that result instead: decoding is a function of the
/// block's bytes alone. Yields no block for empty text, and stops after the first error.
pub fn blocks_of(text: &[u8]) -> Blocks<'_> {
    Blocks { rest: Some(text) }
}

/// See [`blocks_of`].
#[derive(Debug, Clone)]
pub struct Blocks<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<&'a [u8], PemError>;

    fn next(&mut self) -> Option<Self::Item> {
        const BEGIN: &[u8] = b"-----BEGIN ";
        const END: &[u8] = b"-----END ";
        const DASHES: &[u8] = b"-----";
        let rest = self.rest.take()?.trim_ascii_start();
        if rest.iter().all(|&b| b == 0 || b.is_ascii_whitespace()) {
            return None;
        }
        if !rest.starts_with(BEGIN) {
            return Some(Err(PemError::TextOutside));
        }
        // The block runs to the dashes closing its END line's label, whatever that label is:
        // pem-rfc7468 then checks that it is the BEGIN label.
        let block_len = find(rest, END).and_then(|end| {
            let label_at = end.checked_add(END.len())?;
            let close = find(rest.get(label_at..)?, DASHES)?;
            label_at.checked_add(close)?.checked_add(DASHES.len())
        });
        let Some((block, tail)) = block_len.and_then(|len| rest.split_at_checked(len)) else {
            return Some(Err(PemError::NoEnd));
        };
        self.rest = Some(tail);
        Some(Ok(block))
    }
}

/// Where `needle` first occurs in `hay`: candidates are found by their first byte (a plain
/// byte scan), then compared.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, tail) = needle.split_first()?;
    let mut from = 0usize;
    loop {
        let at = from.checked_add(hay.get(from..)?.iter().position(|&b| b == first)?)?;
        let next = at.checked_add(1)?;
        if hay.get(next..)?.starts_with(tail) {
            return Some(at);
        }
        from = next;
    }
}

/// The DER of one block given by [`blocks_of`], which must be labelled `label`.
pub fn decode_block(block: &[u8], label: &'static str) -> Result<Vec<u8>, PemError> {
    let (found, der) = pem_rfc7468::decode_vec(block).map_err(PemError::Grammar)?;
    if found != label {
        return Err(PemError::Label {
            found: found.to_string(),
            expected: label,
        });
    }
    Ok(der)
}

/// The DER of the one block of `text`, labelled `label` (the rules of [`decode_all`]).
pub fn decode_one(text: &[u8], label: &'static str) -> Result<Vec<u8>, PemError> {
    let mut blocks = decode_all(text, label)?;
    match (blocks.pop(), blocks.len()) {
        (Some(der), 0) => Ok(der),
        (_, others) => Err(PemError::NotOne {
            expected: label,
            found: others.saturating_add(1),
        }),
    }
}

/// Whether `bytes` is PEM rather than DER: it starts (after whitespace) with a BEGIN line. DER
/// never does (it starts with a tag byte), so this decides which decoder reads the bytes.
pub fn is_pem(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"-----BEGIN")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn find_agrees_with_a_window_scan() {
        let naive = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
        let hay = b"--- -----EN -----END X----- -----END ";
        for needle in [&b"-----END "[..], b"-----", b"X", b"END X-", b"nope", b" "] {
            assert_eq!(find(hay, needle), naive(hay, needle), "{needle:?}");
        }
        assert_eq!(find(b"", b"-"), None);
        assert_eq!(find(b"-----", b"------"), None);
    }

    #[test]
    fn blocks_of_yields_each_block_s_exact_text() {
        let one = block(CERTIFICATE, b"one");
        let two = block(CERTIFICATE, b"two").replace('\n', "\r\n");
        let text = format!("\n {one}\r\n{two}\n\0");
        let blocks: Vec<&[u8]> = blocks_of(text.as_bytes()).map(Result::unwrap).collect();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], one.trim_end().as_bytes());
        assert_eq!(blocks[1], two.trim_end().as_bytes());
        assert_eq!(decode_block(blocks[1], CERTIFICATE).unwrap(), b"two");
        let mut bad = blocks_of(b"  junk");
        assert!(matches!(bad.next(), Some(Err(PemError::TextOutside))));
        assert!(bad.next().is_none());
    }

    fn block(label: &str, der: &[u8]) -> String {
        pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
    }

    #[test]
    fn blocks_are_read_in_order_with_whitespace_and_trailing_nuls() {
        let text = format!(
            "\n  {}\r\n{}\n\0\0",
            block(CERTIFICATE, b"one"),
            block(CERTIFICATE, b"two").replace('\n', "\r\n")
        );
        assert_eq!(
            decode_all(text.as_bytes(), CERTIFICATE).unwrap(),
            [b"one".to_vec(), b"two".to_vec()]
        );
    }

    #[test]
    fn the_end_label_must_be_the_begin_label() {
        let text = block(CERTIFICATE, b"one").replace("END CERTIFICATE", "END CERTxFICATE");
        assert!(matches!(
            decode_all(text.as_bytes(), CERTIFICATE),
            Err(PemError::Grammar(_))
        ));
    }

    #[test]
    fn a_block_of_another_label_is_refused_not_skipped() {
        let text = format!(
            "{}{}",
            block("PUBLIC KEY", b"key"),
            block(CERTIFICATE, b"one")
        );
        assert_eq!(
            decode_all(text.as_bytes(), CERTIFICATE),
            Err(PemError::Label {
                found: "PUBLIC KEY".into(),
                expected: CERTIFICATE
            })
        );
        assert!(matches!(
            decode_one(block(CERTIFICATE, b"crl").as_bytes(), X509_CRL),
            Err(PemError::Label { .. })
        ));
    }

    #[test]
    fn text_outside_blocks_is_refused() {
        let one = block(CERTIFICATE, b"one");
        // RFC 7468's "explanatory text" (which pem-rfc7468 alone would skip), junk between
        // blocks, a NUL before a block, and a stray dash line.
        for bad in [
            format!("subject=CN = Intel\n{one}"),
            format!("{one}x\n{one}"),
            format!("{one}\0{one}"),
            format!("{one}-----\n"),
        ] {
            assert!(decode_all(bad.as_bytes(), CERTIFICATE).is_err(), "{bad:?}");
        }
        assert_eq!(decode_all(b"junk", CERTIFICATE), Err(PemError::TextOutside));
    }

    #[test]
    fn empty_and_unterminated_texts_are_refused() {
        assert_eq!(decode_all(b" \n\0", CERTIFICATE), Err(PemError::Empty));
        let one = block(CERTIFICATE, b"one");
        let cut = one.split("-----END").next().unwrap();
        assert_eq!(
            decode_all(cut.as_bytes(), CERTIFICATE),
            Err(PemError::NoEnd)
        );
    }

    #[test]
    fn exactly_one_block_when_one_is_asked_for() {
        let one = block(X509_CRL, b"crl");
        assert_eq!(decode_one(one.as_bytes(), X509_CRL).unwrap(), b"crl");
        assert_eq!(
            decode_one(one.repeat(2).as_bytes(), X509_CRL),
            Err(PemError::NotOne {
                expected: X509_CRL,
                found: 2
            })
        );
    }

    #[test]
    fn pem_is_told_from_der_by_its_begin_line() {
        assert!(is_pem(b"\n-----BEGIN X509 CRL-----"));
        assert!(!is_pem(&[0x30, 0x82, 0x01, 0x00]));
    }
}
