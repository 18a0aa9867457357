//! The TEE adapters of the service: per TEE, what verifying its evidence needs from the
//! service (trust roots, stored and fetched endorsements) around the pure verification of its
//! crate, and the bindings every TEE checks the same way (report data, init-data). The
//! pipeline hands evidence and what it must bind to [`Verifiers::verify`], and gets back
//! [`Verified`] evidence; nothing here knows about HTTP or policies.

pub(crate) mod claims;
pub(crate) mod csv;
pub(crate) mod dcap;
pub(crate) mod direct;
pub(crate) mod eventlog;
pub(crate) mod snp;

use crate::collateral::CollateralCache;
use crate::problem::{Kind, Problem};
use crate::store::Store;
pub(crate) use claims::Claims;
use scute_dcap::TrustAnchor;
use scute_verify::{EndorsementService, Family, InitDataSlot, Service, VerifiedReport};

/// The TEEs the pipeline can appraise: the workspace's one vocabulary (`scute-tee`), which the
/// registry (`scute_verify::Family::of`) maps to an adapter.
pub(crate) use scute_tee::Tee;

/// Evidence as a front door received it, not decoded yet: decoding is the TEE's registry
/// adapter's (`scute_verify`), inside the pipeline, so a request refused before it (a spent
/// nonce) costs no parse.
pub(crate) struct Evidence {
    pub(crate) tee: Tee,
    /// The evidence bytes in a form the TEE's adapter decodes: a DCAP quote, an SEV-SNP report
    /// or its KBS evidence JSON, a CSV report or its evidence JSON, sample report data.
    pub(crate) bytes: Vec<u8>,
    /// `/v1/attest`'s form: the bytes are the raw report (an SEV-SNP report, never its JSON
    /// form), and its SEV-SNP VEK and chain, if sent, travel beside it.
    pub(crate) api: bool,
    pub(crate) sent_vek: Option<Vec<u8>>,
    pub(crate) sent_chain: Option<Vec<u8>>,
    /// The CCEL event log, where the front door carries one apart from the evidence.
    pub(crate) cc_eventlog: Option<Vec<u8>>,
}

impl Evidence {
    /// `/v1/attest`: `quote` (the raw evidence), the CCEL, and SEV-SNP's `vcek`/`cert_chain`.
    pub(crate) fn api(
        tee: Tee,
        quote: Vec<u8>,
        cc_eventlog: Option<Vec<u8>>,
        vek: Option<Vec<u8>>,
        chain: Option<Vec<u8>>,
    ) -> Self {
        Self {
            tee,
            bytes: quote,
            api: true,
            sent_vek: vek,
            sent_chain: chain,
            cc_eventlog,
        }
    }

    /// The KBS: the TEE's `primary_evidence` as its adapter decodes it, and the TDX CCEL.
    pub(crate) fn kbs(tee: Tee, bytes: Vec<u8>, cc_eventlog: Option<Vec<u8>>) -> Self {
        Self {
            tee,
            bytes,
            api: false,
            sent_vek: None,
            sent_chain: None,
            cc_eventlog,
        }
    }
}

/// What the evidence must bind, as the front door computed it.
#[derive(Clone, Copy)]
pub(crate) struct Binding<'a> {
    /// What the evidence's report data must be, all 64 bytes (the front door's binding rule).
    pub(crate) report_data: &'a [u8; 64],
    /// The init-data digest the TEE's init-data field must carry, when init-data was sent.
    pub(crate) init_data: Option<&'a [u8]>,
}

/// Verified evidence in the one shape the rest of the pipeline consumes.
pub(crate) struct Verified {
    pub(crate) claims: Claims,
    pub(crate) tcb_status: String,
    /// The instant after which the verdict is no longer vouched for (collateral expiry).
    pub(crate) expires: i64,
    /// The platform and TCB level, for the platforms table (none for TEEs without one).
    pub(crate) sighting: Option<crate::platforms::Sighting>,
}

/// Everything verification needs from the service: the trust roots of each TEE, the stored and
/// fetched endorsements, and the warm caches of verified ones.
pub(crate) struct Verifiers {
    pub(crate) store: Store,
    /// Intel's root first, then `trust_roots`.
    pub(crate) anchors: Vec<TrustAnchor>,
    pub(crate) collateral: CollateralCache,
    /// Which platform (FMSPC, CA) a quote's PCK chain names, by the chain's bytes.
    pub(crate) platforms: scute_dcap::PlatformCache,
    /// The ARKs SEV-SNP chains may end in: AMD's pinned roots and `snp_trust_roots`.
    pub(crate) snp_roots: scute_snp::TrustRoots,
    /// Where VCEKs missing from evidence and store are fetched (`snp_kds_url`).
    pub(crate) snp_kds: Option<snp::Kds>,
    pub(crate) csv_roots: scute_csv::TrustRoots,
    /// Where HSK/CEKs missing from evidence and store are fetched (`csv_kds_url`).
    pub(crate) csv_kds: Option<csv::HygonKds>,
    /// `snp_roots` and `csv_roots` as the registry adapters take them (shared, not copied per
    /// request).
    pub(crate) given_roots: GivenRoots,
    /// `allow_sample_tee`.
    pub(crate) allow_sample_tee: bool,
    /// How long a verdict stands when nothing in the evidence expires (CSV, sample).
    pub(crate) token_lifetime_secs: i64,
}

/// The service's trust roots of the TEEs that verify against configured roots.
pub(crate) struct GivenRoots {
    pub(crate) snp: scute_verify::Roots,
    pub(crate) csv: scute_verify::Roots,
}

impl GivenRoots {
    pub(crate) fn new(snp: &scute_snp::TrustRoots, csv: &scute_csv::TrustRoots) -> Self {
        let given = |r| scute_verify::Roots::Given(r);
        Self {
            snp: given(scute_verify::GivenRoots::new(snp.clone())),
            csv: given(scute_verify::GivenRoots::new(csv.clone())),
        }
    }
}

impl Verifiers {
    /// Decoding (the TEE's registry adapter), authenticity with the service's endorsements,
    /// the report-data binding and the init-data binding. The registry says which path: a TEE
    /// whose evidence needs no lookup goes straight through its adapter (`direct.rs`); the
    /// others through the endorsement service the registry names, each a file here adding only
    /// what is the service's: where endorsements come from, and the claims policies read.
    pub(crate) async fn verify(
        &self,
        evidence: &Evidence,
        binding: Binding<'_>,
        now: i64,
    ) -> Result<Verified, Problem> {
        match Family::of(evidence.tee).service() {
            Service::Direct(roots) => direct::verify(self, binding, evidence, &roots, now),
            Service::Endorsed(EndorsementService::IntelCollateral) => {
                dcap::verify(self, binding, evidence, now).await
            }
            Service::Endorsed(EndorsementService::AmdVek) => {
                snp::verify_bound(self, binding, evidence, now).await
            }
            Service::Endorsed(EndorsementService::HygonHskCek) => {
                csv::verify(self, binding, evidence, now).await
            }
            // An endorsement service the registry names and this service does not run.
            _ => Err(Problem::new(
                Kind::TeeNotSupported,
                format!("TEE {} is not supported by this service", evidence.tee),
            )),
        }
    }
}

/// A registry adapter's refusal, as the service answers it: the TEE verifier's own error is
/// `evidence_rejected` with its kind; anything else (roots or endorsements of the wrong type)
/// is the service's fault.
pub(crate) fn adapter_refused(e: scute_verify::Error) -> Problem {
    match e {
        scute_verify::Error::Tee(e) => {
            Problem::new(Kind::EvidenceRejected, format!("{}: {e}", e.kind()))
        }
        other => Problem::internal(other.to_string()),
    }
}

/// The one regularize rule of every binding, as Trustee's `regularize_data`
/// (confidential-containers/trustee `deps/verifier/src/lib.rs`): `data` zero-padded to `N`
/// bytes, or cut to its first `N`. It decides what a field of `N` bytes must hold for a digest
/// of another size:
///
/// - TDX MRCONFIGID (48): a SHA-256 digest is padded; a SHA-512 digest is **cut** to its first
///   48 bytes (kept for compatibility with Trustee and guest-components, which do the same);
/// - SEV-SNP HOST_DATA (32): a SHA-256 digest fills it; SHA-384/512 digests are cut to 32;
/// - sample report data (64): the sample attester's bytes, padded (more than 64 are cut).
pub(crate) fn regularize<const N: usize>(data: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (slot, byte) in out.iter_mut().zip(data) {
        *slot = *byte;
    }
    out
}

/// What the refusals call the evidence of `tee` (the texts the service always answered;
/// any other TEE's evidence is a "report", so a new TEE needs no line here).
fn evidence_noun(tee: Tee) -> &'static str {
    match tee {
        Tee::Sgx | Tee::Tdx => "quote",
        Tee::Csv => "CSV report",
        Tee::Sample => "sample evidence",
        _ => "report",
    }
}

/// The report-data binding: all 64 bytes equal what the front door computed.
pub(crate) fn bind_report_data(
    tee: Tee,
    report_data: &[u8; 64],
    binding: Binding<'_>,
) -> Result<(), Problem> {
    if report_data != binding.report_data {
        return Err(Problem::new(
            Kind::ReportDataMismatch,
            format!(
                "the {}'s report_data does not bind the runtime data",
                evidence_noun(tee)
            ),
        ));
    }
    Ok(())
}

/// The init-data binding, when init-data was sent: the TEE's init-data field holds the digest,
/// regularized to the field's size ([`regularize`]); a TEE without such a field cannot bind it.
pub(crate) fn bind_init_data(
    tee: Tee,
    slot: InitDataSlot<'_>,
    binding: Binding<'_>,
) -> Result<(), Problem> {
    let Some(digest) = binding.init_data else {
        return Ok(());
    };
    let (matches, detail) = match slot {
        InitDataSlot::MrConfigId(field) => (
            *field == regularize::<48>(digest),
            "the quote's MRCONFIGID is not the digest of the init-data sent",
        ),
        InitDataSlot::HostData(field) => (
            *field == regularize::<32>(digest),
            "the report's HOST_DATA is not the digest of the init-data sent",
        ),
        InitDataSlot::None => (
            false,
            match tee {
                Tee::Sgx | Tee::Tdx => "init-data is bound by TDX MRCONFIGID; this quote has none",
                Tee::Csv => {
                    "init-data cannot be bound by a CSV report (it has no MRCONFIGID-like field)"
                }
                Tee::Sample => "init-data cannot be bound by the sample TEE",
                _ => "init-data cannot be bound by this report",
            },
        ),
    };
    if matches {
        Ok(())
    } else {
        Err(Problem::new(Kind::InitDataMismatch, detail))
    }
}

/// Both bindings, on a verified report (every TEE's last word on them; a TEE whose
/// verification asks anyone for endorsements also checks them on the decoded evidence first,
/// with the same functions, so unbound evidence costs no lookup).
pub(crate) fn bind(report: &dyn VerifiedReport, binding: Binding<'_>) -> Result<(), Problem> {
    bind_report_data(report.tee(), report.report_data(), binding)?;
    bind_init_data(report.tee(), report.init_data(), binding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding<'a>(report_data: &'a [u8; 64], init_data: Option<&'a [u8]>) -> Binding<'a> {
        Binding {
            report_data,
            init_data,
        }
    }

    fn kind(r: Result<(), Problem>) -> Option<&'static str> {
        r.err().map(|p| p.kind.name())
    }

    #[test]
    fn regularize_pads_or_cuts() {
        assert_eq!(regularize::<4>(&[1, 2]), [1, 2, 0, 0]);
        assert_eq!(regularize::<4>(&[1, 2, 3, 4]), [1, 2, 3, 4]);
        assert_eq!(regularize::<4>(&[1, 2, 3, 4, 5, 6]), [1, 2, 3, 4]);
        assert_eq!(regularize::<4>(&[]), [0; 4]);
    }

    #[test]
    fn report_data_binds_all_64_bytes() {
        let expected = [7u8; 64];
        assert_eq!(
            kind(bind_report_data(
                Tee::Tdx,
                &[7; 64],
                binding(&expected, None)
            )),
            None
        );
        let mut last = [7u8; 64];
        last[63] = 8;
        for tee in Tee::ALL {
            assert_eq!(
                kind(bind_report_data(tee, &last, binding(&expected, None))),
                Some("report_data_mismatch"),
                "{tee}"
            );
        }
    }

    #[test]
    fn tdx_mrconfigid_holds_the_digest_zero_padded_to_48() {
        let rd = [0u8; 64];
        let sha256 = [0xAAu8; 32];
        let mut field = [0u8; 48];
        field[..32].copy_from_slice(&sha256);
        let slot = InitDataSlot::MrConfigId(&field);
        assert_eq!(
            kind(bind_init_data(Tee::Tdx, slot, binding(&rd, Some(&sha256)))),
            None
        );
        // A SHA-384 digest fills it exactly.
        let sha384 = [0xBBu8; 48];
        let slot = InitDataSlot::MrConfigId(&sha384);
        assert_eq!(
            kind(bind_init_data(Tee::Tdx, slot, binding(&rd, Some(&sha384)))),
            None
        );
        // Not padded with zeros: refused.
        let mut other = field;
        other[40] = 1;
        let slot = InitDataSlot::MrConfigId(&other);
        assert_eq!(
            kind(bind_init_data(Tee::Tdx, slot, binding(&rd, Some(&sha256)))),
            Some("init_data_mismatch")
        );
    }

    #[test]
    fn tdx_mrconfigid_takes_a_sha512_digest_cut_to_48() {
        // Kept for compatibility (Trustee's regularize_data): only the first 48 bytes count.
        let rd = [0u8; 64];
        let sha512: Vec<u8> = (0..64).collect();
        let field: [u8; 48] = regularize(&sha512);
        let slot = InitDataSlot::MrConfigId(&field);
        assert_eq!(
            kind(bind_init_data(Tee::Tdx, slot, binding(&rd, Some(&sha512)))),
            None
        );
        let mut other_tail = sha512.clone();
        other_tail[50] ^= 1;
        assert_eq!(
            kind(bind_init_data(
                Tee::Tdx,
                slot,
                binding(&rd, Some(&other_tail))
            )),
            None,
            "bytes past 48 are not bound"
        );
        let mut other_head = sha512;
        other_head[0] ^= 1;
        assert_eq!(
            kind(bind_init_data(
                Tee::Tdx,
                slot,
                binding(&rd, Some(&other_head))
            )),
            Some("init_data_mismatch")
        );
    }

    #[test]
    fn snp_host_data_holds_the_digest_padded_or_cut_to_32() {
        let rd = [0u8; 64];
        let sha256 = [0x11u8; 32];
        let slot = InitDataSlot::HostData(&sha256);
        assert_eq!(
            kind(bind_init_data(Tee::Snp, slot, binding(&rd, Some(&sha256)))),
            None
        );
        let sha384 = [0x22u8; 48];
        let cut: [u8; 32] = regularize(&sha384);
        let slot = InitDataSlot::HostData(&cut);
        assert_eq!(
            kind(bind_init_data(Tee::Snp, slot, binding(&rd, Some(&sha384)))),
            None
        );
        let short = [0x33u8; 16];
        let padded: [u8; 32] = regularize(&short);
        let slot = InitDataSlot::HostData(&padded);
        assert_eq!(
            kind(bind_init_data(Tee::Snp, slot, binding(&rd, Some(&short)))),
            None
        );
        let slot = InitDataSlot::HostData(&sha256);
        assert_eq!(
            kind(bind_init_data(Tee::Snp, slot, binding(&rd, Some(&sha384)))),
            Some("init_data_mismatch")
        );
    }

    #[test]
    fn a_tee_without_an_init_data_field_refuses_init_data() {
        let rd = [0u8; 64];
        for tee in [Tee::Sgx, Tee::Csv, Tee::Sample] {
            assert_eq!(
                kind(bind_init_data(
                    tee,
                    InitDataSlot::None,
                    binding(&rd, Some(&[1; 32]))
                )),
                Some("init_data_mismatch"),
                "{tee}"
            );
            // Nothing sent: nothing to bind.
            assert_eq!(
                kind(bind_init_data(tee, InitDataSlot::None, binding(&rd, None))),
                None
            );
        }
    }

    #[test]
    fn sample_report_data_is_regularized_to_64() {
        // The sample attester's bytes, padded; more than 64 are cut (as before the registry).
        let short = [5u8; 20];
        let long: Vec<u8> = (0..80).collect();
        let padded: [u8; 64] = regularize(&short);
        assert_eq!(&padded[..20], &short);
        assert!(padded[20..].iter().all(|b| *b == 0));
        let cut: [u8; 64] = regularize(&long);
        assert_eq!(&cut[..], &long[..64]);
    }

    #[test]
    fn bind_checks_a_verified_report() {
        // The sample adapter is the one whose report can be made here.
        let adapter = scute_verify::adapter(Family::Sample);
        let decoded = adapter.decode(&[9; 64]).unwrap();
        let verified = adapter
            .verify(
                &decoded,
                None,
                &scute_verify::Roots::Vendor,
                0,
                None,
                &scute_verify::Options::default(),
            )
            .unwrap();
        assert_eq!(kind(bind(verified.report(), binding(&[9; 64], None))), None);
        assert_eq!(
            kind(bind(verified.report(), binding(&[8; 64], None))),
            Some("report_data_mismatch")
        );
        assert_eq!(
            kind(bind(verified.report(), binding(&[9; 64], Some(&[0; 32])))),
            Some("init_data_mismatch")
        );
    }
}
