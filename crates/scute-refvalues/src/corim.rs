//! Signed CoRIM: a COSE_Sign1 (RFC 9052, CBOR tag 18) whose payload is a CoRIM
//! (draft-ietf-rats-corim, tag 501) holding CoMIDs (tag 506) with reference-value triples; the
//! TDX, SNP and SGX measurement profiles mapped to Scute's reference-value names.

use crate::{Format, RefValueError, SignedReferenceValues, Signer};

pub fn verify(
    document: &[u8],
    signers: &[Signer],
    now: i64,
) -> Result<SignedReferenceValues, RefValueError> {
    let _ = (document, signers, now);
    Err(RefValueError::Malformed {
        format: Format::Corim,
        detail: "being built".into(),
    })
}
