//! Event-log decoding, replay and payload decoding on arbitrary bytes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_eventlog::{parse, ParseOptions};

fuzz_target!(|data: &[u8]| {
    for allow_trailing_padding in [true, false] {
        if let Ok(log) = parse(
            data,
            ParseOptions {
                allow_trailing_padding,
            },
        ) {
            if let Ok(mut replay) = log.replay() {
                let _ = replay.extend_with_ima(&String::from_utf8_lossy(data));
            }
            for event in &log.events {
                let _ = event.detail();
            }
        }
    }
});
