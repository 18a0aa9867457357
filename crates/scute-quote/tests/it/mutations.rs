//! The fuzz property (decode never panics; decode then encode gives the same bytes), run on
//! stable over deterministic mutations of every vector quote, so CI checks it on each commit.

use scute_quote::Quote;
use std::path::PathBuf;

/// xorshift64*: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(5) {
            0 => {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
            1 => {
                let at = rng.below(out.len());
                out[at] = [0x00, 0xff, 0x7f, 0x80][rng.below(4)];
            }
            2 => out.truncate(rng.below(out.len())),
            3 => out.extend(std::iter::repeat_n(rng.below(2) as u8, rng.below(64))),
            _ if out.len() >= 4 => {
                // Overwrite a little-endian length-sized field with an extreme value.
                let at = rng.below(out.len().saturating_sub(4));
                let value: u32 = [0, 1, u32::MAX, 0x8000_0000][rng.below(4)];
                out[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            _ => out.push(0),
        }
        if out.is_empty() {
            break;
        }
    }
    out
}

#[test]
fn mutated_quotes_never_panic_and_round_trip_when_they_decode() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    let mut seeds = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("vectors") {
        let path = entry.unwrap().path().join("quote.bin");
        if let Ok(bytes) = std::fs::read(path) {
            if Quote::decode(&bytes).is_ok() {
                seeds.push(bytes);
            }
        }
    }
    assert!(seeds.len() > 20);
    let mut rng = Rng(0x5c07e);
    let (mut decoded, mut rejected) = (0, 0);
    for _ in 0..40_000 {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        match Quote::decode(&input) {
            Ok(quote) => {
                assert_eq!(quote.encode(), input);
                decoded += 1;
            }
            Err(_) => rejected += 1,
        }
    }
    // Both outcomes must be exercised for the property to mean anything.
    assert!(
        decoded > 1000 && rejected > 1000,
        "decoded {decoded}, rejected {rejected}"
    );
}
