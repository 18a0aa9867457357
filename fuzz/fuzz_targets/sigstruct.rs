//! SGX SIGSTRUCTs on arbitrary bytes (`scute measure sgx`): measuring never panics, and only a
//! SIGSTRUCT whose signed parts (bytes 0..128 and 900..1028), key and signature are exactly
//! the real fixture's gives the fixture's identity — nothing else forges its MRSIGNER.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_fuzz::seed;

const REAL: &[u8] =
    include_bytes!("../../crates/scute-measure/testdata/sgx/powersoftau-enclave.sig");

fuzz_target!(
    init: seed([("powersoftau-enclave.sig".to_string(), REAL.to_vec())]),
    |data: &[u8]| {
        let Ok(id) = scute_measure::sgx::measure(data) else {
            return;
        };
        let real = scute_measure::sgx::measure(REAL).unwrap();
        if id.mr_signer == real.mr_signer {
            // Same key: the signature must be the real one over the same signed bytes.
            assert_eq!(&data[..1028], &REAL[..1028], "a forged SIGSTRUCT verified under the real key");
        }
    }
);
