//! TDX: what a TD built from given artefacts should report. MRTD from the TDVF metadata (the TDX
//! module's TDH.MEM.PAGE.ADD and TDH.MR.EXTEND rules, [`tdvf`]); RTMR1 and RTMR2 for a QEMU
//! direct kernel boot as TDVF and the Linux EFI stub measure it ([`direct_boot`]). RTMR0 is
//! not computed: TDVF extends it with the TD HOB QEMU writes, QEMU's ACPI tables, table-loader
//! and RSDP blobs, and the firmware's own boot-variable events, which Scute does not model —
//! the caller says so instead of guessing.
//!
//! An RTMR starts at 48 zero bytes and each event extends it:
//! `RTMR = SHA-384(RTMR ‖ SHA-384(event data))` (TDG.MR.RTMR.EXTEND).

pub mod direct_boot;
pub mod tdvf;

use aws_lc_rs::digest::{digest, Context, SHA384};

/// A TDX measurement register (MRTD, RTMRn): one SHA-384 value.
pub type Register = [u8; 48];

/// SHA-384 of `data`.
pub fn sha384(data: &[u8]) -> Register {
    to_register(digest(&SHA384, data).as_ref())
}

/// The register after extending it with `event_digest`, as TDG.MR.RTMR.EXTEND does.
pub fn extend(register: &Register, event_digest: &Register) -> Register {
    let mut context = Context::new(&SHA384);
    context.update(register);
    context.update(event_digest);
    to_register(context.finish().as_ref())
}

/// The register a sequence of event digests leaves, starting from zero.
pub fn replay(event_digests: &[Register]) -> Register {
    event_digests
        .iter()
        .fold([0u8; 48], |register, event| extend(&register, event))
}

fn to_register(bytes: &[u8]) -> Register {
    let mut out = [0u8; 48];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_is_sha384_of_the_old_value_and_the_digest() {
        // Spelled out with a one-shot hash over the concatenation, not through `extend`.
        let event = sha384(b"event");
        let mut both = vec![0u8; 48];
        both.extend_from_slice(&event);
        assert_eq!(replay(&[event]), sha384(&both));
        assert_ne!(replay(&[event, event]), replay(&[event]));
    }
}
