//! Quote decoding on arbitrary bytes: never panics, and whatever decodes encodes back to the
//! same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_fuzz::{cases, read, seed};

fuzz_target!(
    init: seed(
        cases(|n| read(n, "quote.bin").is_some())
            .into_iter()
            .filter_map(|c| Some((c.clone(), read(&c, "quote.bin")?))),
    ),
    |data: &[u8]| {
        if let Ok(quote) = scute_quote::Quote::decode(data) {
            assert_eq!(quote.encode(), data, "decode -> encode changed the bytes");
        }
    }
);
