//! SGX: the enclave identity a SIGSTRUCT fixes (MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN,
//! attributes), after checking the SIGSTRUCT's own RSA-3072 signature.
//!
//! Layout: Intel SDM Vol. 3D, "Enclave Signature Structure (SIGSTRUCT)" — 1808 bytes, every
//! integer little-endian. The same offsets are read by Gramine
//! (gramineproject/gramine `python/graminelibos/sigstruct.py`, via its `_offsets`) and by
//! kudelskisecurity/sgxfun `parse_enclave.py`; Linux's `arch/x86/include/asm/sgx.h` splits it
//! into `sgx_sigstruct_header` (bytes 0..128), the key and signature, and
//! `sgx_sigstruct_body` (bytes 900..1028). The signature is RSASSA-PKCS1-v1_5 with SHA-256
//! over header ‖ body, by a 3072-bit key with public exponent 3; modulus and signature are
//! stored little-endian. MRSIGNER is SHA-256 of the modulus exactly as stored (384 bytes,
//! little-endian), which is what EINIT puts in the enclave's MRSIGNER.
//!
//! A SIGSTRUCT that verifies proves only that the holder of its key signed it: MRSIGNER names
//! that key, and trusting it is the caller's decision.

use crate::MeasureError;
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};

/// A SIGSTRUCT's size.
pub const SIGSTRUCT_LEN: usize = 1808;

/// The two constant headers (SDM; Gramine's `Sigstruct.defaults`, which refuses any other).
pub const HEADER: [u8; 16] = [
    0x06, 0x00, 0x00, 0x00, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
];
pub const HEADER2: [u8; 16] = [
    0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
];

/// Field offsets (SDM table "Layout of Enclave Signature Structure").
mod at {
    pub(super) const HEADER: usize = 0;
    pub(super) const VENDOR: usize = 16;
    pub(super) const DATE: usize = 20;
    pub(super) const HEADER2: usize = 24;
    /// The signed header part ends here (`sgx_sigstruct_header`).
    pub(super) const HEADER_END: usize = 128;
    pub(super) const MODULUS: usize = 128;
    pub(super) const EXPONENT: usize = 512;
    pub(super) const SIGNATURE: usize = 516;
    /// The signed body part (`sgx_sigstruct_body`).
    pub(super) const BODY: usize = 900;
    pub(super) const MISC_SELECT: usize = 900;
    pub(super) const MISC_MASK: usize = 904;
    pub(super) const ATTRIBUTES: usize = 928;
    pub(super) const ATTRIBUTE_MASK: usize = 944;
    pub(super) const ENCLAVE_HASH: usize = 960;
    pub(super) const ISV_PROD_ID: usize = 1024;
    pub(super) const ISV_SVN: usize = 1026;
    pub(super) const BODY_END: usize = 1028;
}

const KEY_LEN: usize = 384;
/// SGX requires public exponent 3 (SDM; Gramine asserts it when signing).
const EXPONENT: u32 = 3;

/// What a verified SIGSTRUCT fixes about the enclave it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveIdentity {
    /// ENCLAVEHASH: the MRENCLAVE EINIT requires.
    pub mr_enclave: [u8; 32],
    /// SHA-256 of the signer's modulus (as stored).
    pub mr_signer: [u8; 32],
    pub isv_prod_id: u16,
    pub isv_svn: u16,
    /// ATTRIBUTES (flags ‖ XFRM) and the mask under which the enclave's must equal them.
    pub attributes: [u8; 16],
    pub attribute_mask: [u8; 16],
    pub misc_select: u32,
    pub misc_mask: u32,
    /// 0x8086 for Intel's own enclaves, 0 for everyone else's.
    pub vendor: u32,
    /// YYYYMMDD in BCD, as a number whose hex digits read as the date.
    pub date: u32,
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(array(bytes, at))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(array(bytes, at))
}

/// The enclave identity of `sigstruct`, refused unless it is exactly one SIGSTRUCT with the
/// constant headers, exponent 3 and an RSA signature that verifies under its own modulus.
pub fn measure(sigstruct: &[u8]) -> Result<EnclaveIdentity, MeasureError> {
    if sigstruct.len() != SIGSTRUCT_LEN {
        return Err(MeasureError::SigstructSize {
            len: sigstruct.len(),
        });
    }
    let s = sigstruct;
    if s[at::HEADER..at::HEADER + 16] != HEADER {
        return Err(MeasureError::SigstructHeader("HEADER"));
    }
    if s[at::HEADER2..at::HEADER2 + 16] != HEADER2 {
        return Err(MeasureError::SigstructHeader("HEADER2"));
    }
    let exponent = u32_at(s, at::EXPONENT);
    if exponent != EXPONENT {
        return Err(MeasureError::SigstructExponent(exponent));
    }
    // aws-lc reads the modulus and the signature big-endian.
    let mut modulus: Vec<u8> = s[at::MODULUS..at::MODULUS + KEY_LEN].to_vec();
    modulus.reverse();
    let mut signature: Vec<u8> = s[at::SIGNATURE..at::SIGNATURE + KEY_LEN].to_vec();
    signature.reverse();
    let mut signed = Vec::with_capacity(at::HEADER_END + (at::BODY_END - at::BODY));
    signed.extend_from_slice(&s[..at::HEADER_END]);
    signed.extend_from_slice(&s[at::BODY..at::BODY_END]);
    let key = RsaPublicKeyComponents {
        n: modulus.as_slice(),
        e: &[3u8][..],
    };
    key.verify(&RSA_PKCS1_2048_8192_SHA256, &signed, &signature)
        .map_err(|_| MeasureError::SigstructSignature)?;
    Ok(EnclaveIdentity {
        mr_enclave: array(s, at::ENCLAVE_HASH),
        mr_signer: array(
            digest(&SHA256, &s[at::MODULUS..at::MODULUS + KEY_LEN]).as_ref(),
            0,
        ),
        isv_prod_id: u16_at(s, at::ISV_PROD_ID),
        isv_svn: u16_at(s, at::ISV_SVN),
        attributes: array(s, at::ATTRIBUTES),
        attribute_mask: array(s, at::ATTRIBUTE_MASK),
        misc_select: u32_at(s, at::MISC_SELECT),
        misc_mask: u32_at(s, at::MISC_MASK),
        vendor: u32_at(s, at::VENDOR),
        date: u32_at(s, at::DATE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    use rsa::{Pkcs1v15Sign, RsaPrivateKey};

    /// A real SIGSTRUCT and the values published for it (testdata/sgx/README.md).
    const POWERSOFTAU: &[u8] = include_bytes!("../testdata/sgx/powersoftau-enclave.sig");
    const POWERSOFTAU_MRENCLAVE: &str =
        "b1de642a41bd99668f0c3057202ef6cb083d099a660ff2db804282513f463c33";
    const POWERSOFTAU_MRSIGNER: &str =
        "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e";
    /// A throwaway RSA-3072 key with exponent 3.
    const TEST_SIGNER: &[u8] = include_bytes!("../testdata/sgx/test-signer-e3.pk8");

    /// A SIGSTRUCT for `mr_enclave`, product 7, SVN 3, signed by `key` as `sgx_sign` and
    /// Gramine do (Q1/Q2 left zero: EINIT's helpers, not signed and not read here).
    fn signed(key: &RsaPrivateKey, mr_enclave: [u8; 32]) -> Vec<u8> {
        let mut s = vec![0u8; SIGSTRUCT_LEN];
        s[at::HEADER..at::HEADER + 16].copy_from_slice(&HEADER);
        s[at::DATE..at::DATE + 4].copy_from_slice(&0x2025_0101u32.to_le_bytes());
        s[at::HEADER2..at::HEADER2 + 16].copy_from_slice(&HEADER2);
        s[at::MISC_MASK..at::MISC_MASK + 4].copy_from_slice(&[0xff; 4]);
        s[at::ATTRIBUTES] = 0x04;
        s[at::ATTRIBUTE_MASK..at::ATTRIBUTE_MASK + 16].copy_from_slice(&[0xff; 16]);
        s[at::ENCLAVE_HASH..at::ENCLAVE_HASH + 32].copy_from_slice(&mr_enclave);
        s[at::ISV_PROD_ID..at::ISV_PROD_ID + 2].copy_from_slice(&7u16.to_le_bytes());
        s[at::ISV_SVN..at::ISV_SVN + 2].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(
            key.e().to_bytes_le(),
            vec![3],
            "the test key has exponent 3"
        );
        let mut modulus = key.n().to_bytes_le();
        modulus.resize(KEY_LEN, 0);
        s[at::MODULUS..at::MODULUS + KEY_LEN].copy_from_slice(&modulus);
        s[at::EXPONENT..at::EXPONENT + 4].copy_from_slice(&EXPONENT.to_le_bytes());
        let mut signed = s[..at::HEADER_END].to_vec();
        signed.extend_from_slice(&s[at::BODY..at::BODY_END]);
        let hashed = digest(&SHA256, &signed);
        let mut signature = key
            .sign(Pkcs1v15Sign::new::<sha2::Sha256>(), hashed.as_ref())
            .unwrap();
        signature.reverse();
        signature.resize(KEY_LEN, 0);
        s[at::SIGNATURE..at::SIGNATURE + KEY_LEN].copy_from_slice(&signature);
        s
    }

    fn test_key() -> RsaPrivateKey {
        RsaPrivateKey::from_pkcs8_der(TEST_SIGNER).unwrap()
    }

    #[test]
    fn a_published_sigstruct_gives_its_published_mrenclave_and_mrsigner() {
        let id = measure(POWERSOFTAU).unwrap();
        assert_eq!(hex::encode(id.mr_enclave), POWERSOFTAU_MRENCLAVE);
        assert_eq!(hex::encode(id.mr_signer), POWERSOFTAU_MRSIGNER);
        assert_eq!((id.isv_prod_id, id.isv_svn), (0, 0));
        assert_eq!(
            hex::encode(id.attributes),
            "04000000000000000300000000000000"
        );
        assert_eq!(
            hex::encode(id.attribute_mask),
            "ffffffffffffffff1bffffffffffffff"
        );
        assert_eq!((id.vendor, id.date), (0, 0x2019_1126));
    }

    #[test]
    fn a_sigstruct_signed_here_gives_the_values_it_was_signed_with() {
        let key = test_key();
        let s = signed(&key, [0xab; 32]);
        let id = measure(&s).unwrap();
        assert_eq!(id.mr_enclave, [0xab; 32]);
        assert_eq!((id.isv_prod_id, id.isv_svn), (7, 3));
        // MRSIGNER: SHA-256 of the modulus little-endian, as stored.
        let stored = &s[at::MODULUS..at::MODULUS + KEY_LEN];
        assert_eq!(id.mr_signer.as_slice(), digest(&SHA256, stored).as_ref());
        assert_eq!(id.attributes[0], 0x04);
    }

    #[test]
    fn any_signed_byte_changed_after_signing_is_refused() {
        let key = test_key();
        let good = signed(&key, [0x11; 32]);
        // A byte of the header's free fields, MRENCLAVE, ISVSVN, ATTRIBUTES, the modulus and
        // the signature: each is covered by (or is) the signature.
        for at in [
            at::DATE,
            44,
            at::ATTRIBUTES,
            at::ENCLAVE_HASH + 5,
            at::ISV_SVN,
            at::MODULUS + 100,
            at::SIGNATURE + 7,
            1027,
        ] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            assert!(
                matches!(measure(&bad), Err(MeasureError::SigstructSignature)),
                "byte {at} changed was accepted"
            );
        }
        // Also in the real one: a different MRENCLAVE with the publisher's signature.
        let mut bad = POWERSOFTAU.to_vec();
        bad[at::ENCLAVE_HASH] ^= 0x80;
        assert!(matches!(
            measure(&bad),
            Err(MeasureError::SigstructSignature)
        ));
    }

    #[test]
    fn re_signing_a_changed_enclave_changes_mrsigner() {
        // The attacker's way round the signature: swap MRENCLAVE and sign with their own key.
        // It verifies, and MRSIGNER then names the attacker's key, not the publisher's.
        let id = measure(&signed(&test_key(), [0x22; 32])).unwrap();
        assert_ne!(hex::encode(id.mr_signer), POWERSOFTAU_MRSIGNER);
    }

    #[test]
    fn wrong_size_header_or_exponent_is_refused_before_any_signature_check() {
        for len in [0, 1807, 1809, 4096] {
            let mut s = POWERSOFTAU.to_vec();
            s.resize(len, 0);
            assert!(matches!(
                measure(&s),
                Err(MeasureError::SigstructSize { len: l }) if l == len
            ));
        }
        let mut s = POWERSOFTAU.to_vec();
        s[15] = 0x80;
        assert!(matches!(
            measure(&s),
            Err(MeasureError::SigstructHeader("HEADER"))
        ));
        let mut s = POWERSOFTAU.to_vec();
        s[at::HEADER2] = 0;
        assert!(matches!(
            measure(&s),
            Err(MeasureError::SigstructHeader("HEADER2"))
        ));
        let mut s = POWERSOFTAU.to_vec();
        s[at::EXPONENT..at::EXPONENT + 4].copy_from_slice(&65537u32.to_le_bytes());
        assert!(matches!(
            measure(&s),
            Err(MeasureError::SigstructExponent(65537))
        ));
    }

    #[test]
    fn all_zero_and_all_ones_keys_are_refused_not_panicked_on() {
        for fill in [0x00u8, 0xff] {
            let mut s = POWERSOFTAU.to_vec();
            s[at::MODULUS..at::MODULUS + KEY_LEN].fill(fill);
            assert!(matches!(measure(&s), Err(MeasureError::SigstructSignature)));
        }
    }
}
