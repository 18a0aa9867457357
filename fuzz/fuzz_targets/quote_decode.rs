//! Quote decoding on arbitrary bytes: never panics, and whatever decodes encodes back to the
//! same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(quote) = scute_quote::Quote::decode(data) {
        assert_eq!(quote.encode(), data, "decode -> encode changed the bytes");
    }
});
