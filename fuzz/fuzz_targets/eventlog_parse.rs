//! Event-log decoding, replay and payload decoding on arbitrary bytes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_eventlog::{parse, ParseOptions};
use scute_fuzz::{cases, read, seed};

fuzz_target!(
    init: seed(
        cases(|n| read(n, "ccel.bin").is_some())
            .into_iter()
            .filter_map(|c| Some((c.clone(), read(&c, "ccel.bin")?))),
    ),
    |data: &[u8]| {
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
    }
);
