//! The warm path: collateral verified once serves many quotes, and a QE report signature that
//! verified under a PCK key is not checked again. Its verdicts must equal the cold path's on
//! every vector, and any changed byte in the QE report, its signature or the PCK chain must
//! miss what was remembered.

use scute_dcap::VerifyOptions;
use scute_dcap::{verify, verify_collateral, Collateral, DcapError, TrustAnchor, VerifiedQuote};
use scute_quote::Quote;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    assert!(dir.is_dir(), "test vectors not found at {}", dir.display());
    dir
}

fn load(dir: &Path) -> Option<(Vec<u8>, Collateral, i64)> {
    let quote = std::fs::read(dir.join("quote.bin")).ok()?;
    let collateral = Collateral::from_files(|f| std::fs::read(dir.join(f)).ok()).ok()?;
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).ok()?).ok()?;
    Some((quote, collateral, expected["verify_time_unix"].as_i64()?))
}

fn verdict(r: &Result<VerifiedQuote, DcapError>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => e.kind().to_string(),
    }
}

#[test]
fn warm_verdicts_equal_cold_ones_on_every_vector() {
    let anchor = TrustAnchor::intel_sgx_root();
    let mut compared = 0;
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let dir = entry.unwrap().path();
        let Some((quote, collateral, at)) = load(&dir) else {
            continue;
        };
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let cold = verify(&quote, &collateral, &anchor, at, VerifyOptions::default());
        match verify_collateral(&collateral, &anchor) {
            Ok(warm) => {
                for round in 0..3 {
                    let again = warm.verify_quote(&quote, at, VerifyOptions::default());
                    assert_eq!(verdict(&again), verdict(&cold), "{name}, round {round}");
                }
            }
            Err(e) => assert_eq!(e.kind(), verdict(&cold), "{name}"),
        }
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} vectors with collateral");
}

fn warm(case: &str) -> (Quote, scute_dcap::VerifiedCollateral, i64) {
    let (quote, collateral, at) = load(&vectors().join(case)).unwrap();
    let verified = verify_collateral(&collateral, &TrustAnchor::intel_sgx_root()).unwrap();
    let quote = Quote::decode(&quote).unwrap();
    // Warm it: the QE report signature of this platform is now remembered.
    verified
        .verify_quote(&quote.encode(), at, VerifyOptions::default())
        .unwrap();
    (quote, verified, at)
}

fn kind_after(
    (quote, verified, at): &(Quote, scute_dcap::VerifiedCollateral, i64),
    tamper: impl Fn(&mut Quote),
) -> &'static str {
    let mut changed = quote.clone();
    tamper(&mut changed);
    verified
        .verify_quote(&changed.encode(), *at, VerifyOptions::default())
        .unwrap_err()
        .kind()
}

#[test]
fn a_changed_qe_report_signature_or_chain_misses_the_cache() {
    for case in ["dcapqvl-sgx-v3", "dcapqvl-tdx-v4"] {
        let w = warm(case);
        assert_eq!(
            kind_after(&w, |q| q.signature.qe_report_signature[5] ^= 1),
            "qe_report_signature",
            "{case}"
        );
        assert_eq!(
            kind_after(&w, |q| q.signature.qe_report_signature[63] ^= 0x80),
            "qe_report_signature",
            "{case}"
        );
        assert_eq!(
            kind_after(&w, |q| q.signature.qe_report.isv_svn ^= 1),
            "qe_report_signature",
            "{case}"
        );
        assert_eq!(
            kind_after(&w, |q| q.signature.qe_report.report_data[0] ^= 1),
            "qe_report_signature",
            "{case}"
        );
        // One base64 character inside the PCK leaf certificate: a different chain, verified
        // (and refused) on its own.
        let chain_kind = kind_after(&w, |q| {
            let data = &mut q.signature.certification_data.data;
            let begin = b"-----BEGIN CERTIFICATE-----";
            let at =
                data.windows(begin.len()).position(|x| x == begin).unwrap() + begin.len() + 200;
            data[at] = if data[at] == b'A' { b'B' } else { b'A' };
        });
        assert_eq!(chain_kind, "certificate_invalid", "{case}");
        // The attestation key is bound per quote, cache or not.
        assert_eq!(
            kind_after(&w, |q| q.signature.attestation_key[0] ^= 1),
            "qe_report_data",
            "{case}"
        );
        // And the quote's own signature is always checked.
        assert_eq!(
            kind_after(&w, |q| q.signature.signature[0] ^= 1),
            "quote_signature",
            "{case}"
        );
        // The untampered quote still verifies after all of that.
        w.1.verify_quote(&w.0.encode(), w.2, VerifyOptions::default())
            .unwrap();
    }
}

/// The platform cache answers what `quote_platform` answers, and only for the exact chain it
/// parsed: a quote carrying another platform's chain, or one changed character of it, is
/// parsed afresh.
#[test]
fn the_platform_cache_answers_only_for_the_exact_chain() {
    let platform = |r: Result<_, DcapError>| match r {
        Ok((extension, ca)) => format!("{extension:?} {ca:?}"),
        Err(e) => e.kind().to_string(),
    };
    let cache = scute_dcap::PlatformCache::default();
    let mut quotes = Vec::new();
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let Ok(bytes) = std::fs::read(entry.unwrap().path().join("quote.bin")) else {
            continue;
        };
        let Ok(quote) = Quote::decode(&bytes) else {
            continue;
        };
        let Ok(fresh) = scute_dcap::quote_platform(&quote) else {
            continue;
        };
        for round in 0..2 {
            assert_eq!(
                platform(cache.platform(&quote)),
                platform(Ok(fresh.clone())),
                "round {round}"
            );
        }
        quotes.push((quote, fresh));
    }
    let fmspcs: std::collections::BTreeSet<_> = quotes.iter().map(|(_, p)| p.0.fmspc).collect();
    assert!(
        fmspcs.len() >= 3,
        "only {} platforms among the vectors",
        fmspcs.len()
    );

    let (first, first_platform) = &quotes[0];
    let (other, other_platform) = quotes
        .iter()
        .find(|(_, p)| p.0.fmspc != first_platform.0.fmspc)
        .unwrap();
    let mut swapped = first.clone();
    swapped.signature.certification_data = other.signature.certification_data.clone();
    assert_eq!(
        platform(cache.platform(&swapped)),
        platform(Ok(other_platform.clone()))
    );

    // One character of the leaf's base64 changed: whatever the fresh parse says, not the
    // remembered platform.
    let mut changed = first.clone();
    let data = &mut changed.signature.certification_data.data;
    let begin = b"-----BEGIN CERTIFICATE-----";
    let at = data.windows(begin.len()).position(|x| x == begin).unwrap() + begin.len() + 200;
    data[at] = if data[at] == b'A' { b'B' } else { b'A' };
    let fresh = platform(scute_dcap::quote_platform(&changed));
    assert_ne!(fresh, platform(Ok(first_platform.clone())));
    assert_eq!(platform(cache.platform(&changed)), fresh);
}

/// The warm path takes no trust roots (the service verified the set under its anchor when it
/// cached it), so it must still tie the set to the quote's platform: a genuine quote from FMSPC
/// 90C06F000000 against a warm, genuine set for B0C06F000000 is a platform mismatch, as on the
/// cold path (`rejections.rs`, `collateral_for_another_platform_is_rejected`).
#[test]
fn warm_collateral_of_another_platform_is_a_platform_mismatch() {
    let (other_quote, _, _) = load(&vectors().join("composite-gotdxv5-v5+dcapqvl-coll")).unwrap();
    let (_, mut collateral, at) = load(&vectors().join("dcapqvl-tdx-v5-td15ex")).unwrap();
    collateral.pck_chain = None;
    let warm = verify_collateral(&collateral, &TrustAnchor::intel_sgx_root()).unwrap();
    let err = warm
        .verify_quote(&other_quote, at, VerifyOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, DcapError::PlatformMismatch { field: "FMSPC", .. }),
        "{err:?}"
    );
}
