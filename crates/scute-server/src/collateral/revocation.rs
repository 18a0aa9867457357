//! Revocation belongs to the issuer, not to a collateral set: Intel's PCK CRL is its PCK CA's
//! (Platform or Processor), shared by every FMSPC and by SGX and TDX, and the Root CA CRL is
//! the root's. This module keeps, for each issuer (by its key), the newest CRL that verified in
//! any set, however the set arrived (import, PCCS upload, upstream fill, refresh, another
//! replica), and gives each set those CRLs to be judged with. Nothing here does I/O.

use aws_lc_rs::digest::{digest, SHA256};
use scute_dcap::{Collateral, CrlRank, IssuerKeyId, VerifiedCollateral};
use std::collections::HashMap;

/// The newest CRL of one issuer, as some stored set carried it.
#[derive(Debug, Clone)]
struct IssuerCrl {
    rank: CrlRank,
    /// The CRL's bytes as stored (DER or PEM).
    crl: Vec<u8>,
    /// For a PCK CA: the issuer chain that came with the CRL (the CA and the root).
    issuer_chain: Option<Vec<u8>>,
    /// SHA-256 of `crl`: which CRL a cached verdict was reached with.
    digest: [u8; 32],
}

impl IssuerCrl {
    fn new(rank: CrlRank, crl: &[u8], issuer_chain: Option<&[u8]>) -> Self {
        let mut d = [0u8; 32];
        d.copy_from_slice(digest(&SHA256, crl).as_ref());
        Self {
            rank,
            crl: crl.to_vec(),
            issuer_chain: issuer_chain.map(<[u8]>::to_vec),
            digest: d,
        }
    }

    /// Newer: a higher rank; at an equal rank (two different CRLs the issuer signed with the
    /// same number and thisUpdate) the larger digest, so every replica picks the same one.
    fn newer_than(&self, other: &Self) -> bool {
        (self.rank, self.digest) > (other.rank, other.digest)
    }
}

/// Which CRLs a set was judged with: the digests of its PCK CRL and Root CA CRL.
pub(crate) type CrlFingerprint = ([u8; 32], [u8; 32]);

/// The newest verified CRL of each issuer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Revocations {
    pck: HashMap<IssuerKeyId, IssuerCrl>,
    root: HashMap<IssuerKeyId, IssuerCrl>,
}

fn keep_newest(map: &mut HashMap<IssuerKeyId, IssuerCrl>, issuer: IssuerKeyId, offered: IssuerCrl) {
    match map.get(&issuer) {
        Some(known) if !offered.newer_than(known) => {}
        _ => {
            map.insert(issuer, offered);
        }
    }
}

impl Revocations {
    /// Learns the CRLs of a set that verified (`verified` is `collateral` verified); keeps each
    /// only when it is newer than what its issuer is already known by. Never makes a CRL older.
    pub(crate) fn offer(&mut self, collateral: &Collateral, verified: &VerifiedCollateral) {
        let (pck_issuer, pck_rank) = verified.pck_crl_issuer();
        keep_newest(
            &mut self.pck,
            pck_issuer,
            IssuerCrl::new(
                pck_rank,
                &collateral.pck_crl,
                Some(&collateral.pck_crl_issuer_chain),
            ),
        );
        let (root_issuer, root_rank) = verified.root_crl_issuer();
        keep_newest(
            &mut self.root,
            root_issuer,
            IssuerCrl::new(root_rank, &collateral.root_ca_crl, None),
        );
    }

    /// `collateral` (which verified as `verified`) with its PCK CRL (and that CRL's issuer
    /// chain) and its Root CA CRL replaced by the newest of the same issuers, when newer.
    /// `None` when the set's own CRLs are the newest known. The result must be verified again:
    /// a newer Root CA CRL may revoke the set's own signers.
    pub(crate) fn newest_for(
        &self,
        collateral: &Collateral,
        verified: &VerifiedCollateral,
    ) -> Option<Collateral> {
        let (pck_issuer, pck_rank) = verified.pck_crl_issuer();
        let (root_issuer, root_rank) = verified.root_crl_issuer();
        let own_pck = IssuerCrl::new(pck_rank, &collateral.pck_crl, None);
        let own_root = IssuerCrl::new(root_rank, &collateral.root_ca_crl, None);
        let pck = self.pck.get(&pck_issuer).filter(|n| n.newer_than(&own_pck));
        let root = self
            .root
            .get(&root_issuer)
            .filter(|n| n.newer_than(&own_root));
        if pck.is_none() && root.is_none() {
            return None;
        }
        let mut newest = collateral.clone();
        if let Some(pck) = pck {
            newest.pck_crl = pck.crl.clone();
            if let Some(chain) = &pck.issuer_chain {
                newest.pck_crl_issuer_chain = chain.clone();
            }
        }
        if let Some(root) = root {
            newest.root_ca_crl = root.crl.clone();
        }
        Some(newest)
    }

    /// The CRLs a set whose CRLs were issued by these issuers is judged with now: the digests
    /// of the newest known (or `own` where none is known). A cached verdict stands only while
    /// this is unchanged.
    pub(crate) fn fingerprint(
        &self,
        issuers: (IssuerKeyId, IssuerKeyId),
        own: CrlFingerprint,
    ) -> CrlFingerprint {
        (
            self.pck.get(&issuers.0).map_or(own.0, |c| c.digest),
            self.root.get(&issuers.1).map_or(own.1, |c| c.digest),
        )
    }
}

/// The digests of the CRLs `collateral` carries.
pub(crate) fn own_fingerprint(collateral: &Collateral) -> CrlFingerprint {
    let d = |bytes: &[u8]| {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, bytes).as_ref());
        out
    };
    (d(&collateral.pck_crl), d(&collateral.root_ca_crl))
}

/// The issuers of a verified set's PCK CRL and Root CA CRL.
pub(crate) fn issuers(verified: &VerifiedCollateral) -> (IssuerKeyId, IssuerKeyId) {
    (verified.pck_crl_issuer().0, verified.root_crl_issuer().0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scute_dcap::TrustAnchor;
    use scute_sim::{CollateralOptions, Simulator, Tee};

    fn set(sim: &Simulator, tee: Tee, this_update: i64, revoke: bool) -> Collateral {
        let mut options = CollateralOptions::valid_at(tee, 1_800_000_000);
        options.window.0 = this_update;
        options.revoke_pck = revoke;
        let files = sim.collateral(&options).unwrap();
        Collateral::from_files(|n| files.iter().find(|(f, _)| *f == n).map(|(_, b)| b.clone()))
            .unwrap()
    }

    fn verified(sim: &Simulator, c: &Collateral) -> VerifiedCollateral {
        let anchor = TrustAnchor::from_certificate(sim.root_ca_der()).unwrap();
        scute_dcap::verify_collateral(c, &anchor).unwrap()
    }

    #[test]
    fn the_newest_crl_of_an_issuer_wins_in_any_order_and_reaches_every_set() {
        let sim = Simulator::new(3, 1_800_000_000).unwrap();
        let old_tdx = set(&sim, Tee::Tdx, 1_799_990_000, false);
        let new_sgx = set(&sim, Tee::Sgx, 1_799_995_000, true);
        let (v_old, v_new) = (verified(&sim, &old_tdx), verified(&sim, &new_sgx));
        for order in [[0, 1], [1, 0]] {
            let mut known = Revocations::default();
            for i in order {
                let (c, v) = [(&old_tdx, &v_old), (&new_sgx, &v_new)][i];
                known.offer(c, v);
            }
            // The TDX set is judged with the SGX set's newer PCK CRL (and its chain)…
            let newest = known.newest_for(&old_tdx, &v_old).unwrap();
            assert_eq!(newest.pck_crl, new_sgx.pck_crl);
            assert_eq!(newest.tcb_info, old_tdx.tcb_info);
            assert_eq!(
                known.fingerprint(issuers(&v_old), own_fingerprint(&old_tdx)),
                own_fingerprint(&newest)
            );
            // …which revokes the platform's PCK under the TDX set too.
            let judged = verified(&sim, &newest);
            assert_eq!(judged.pck_crl_issuer(), v_new.pck_crl_issuer());
            // The newer set needs nothing newer.
            assert!(known.newest_for(&new_sgx, &v_new).is_none());
        }
    }

    #[test]
    fn an_older_crl_offered_later_changes_nothing() {
        let sim = Simulator::new(3, 1_800_000_000).unwrap();
        let newer = set(&sim, Tee::Sgx, 1_799_995_000, true);
        let older = set(&sim, Tee::Tdx, 1_799_990_000, false);
        let mut known = Revocations::default();
        known.offer(&newer, &verified(&sim, &newer));
        let before = known.fingerprint(issuers(&verified(&sim, &older)), own_fingerprint(&older));
        known.offer(&older, &verified(&sim, &older));
        let after = known.fingerprint(issuers(&verified(&sim, &older)), own_fingerprint(&older));
        assert_eq!(before, after);
        assert_eq!(before.0, own_fingerprint(&newer).0);
    }
}
