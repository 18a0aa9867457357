//! RA-TLS certificate reading on arbitrary bytes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(inspection) = scute_ratls::inspect(data) {
        let _ = inspection.bound_evidence();
        let _ = inspection.formats();
    }
});
