//! RA-TLS certificate reading on arbitrary bytes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_fuzz::{cases, read, seed};

fuzz_target!(
    init: seed(
        cases(|n| read(n, "cert.der").is_some())
            .into_iter()
            .filter_map(|c| Some((c.clone(), read(&c, "cert.der")?))),
    ),
    |data: &[u8]| {
        if let Ok(inspection) = scute_ratls::inspect(data) {
            let _ = inspection.bound_evidence();
            let _ = inspection.formats();
        }
    }
);
