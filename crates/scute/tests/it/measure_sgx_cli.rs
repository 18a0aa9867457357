//! `scute measure sgx --sigstruct FILE` as a process: the exact JSON shape for a real
//! SIGSTRUCT (the PowersOfTau-SGX enclave, its published MRENCLAVE and MRSIGNER: see
//! crates/scute-measure/testdata/sgx/README.md), exit 1 for one whose signature does not
//! verify, exit 2 for usage errors.

use serde_json::{json, Value};
use std::process::Command;

const SIGSTRUCT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scute-measure/testdata/sgx/powersoftau-enclave.sig"
);

fn measure(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(["measure", "sgx"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_real_sigstruct_prints_exactly_the_reference_values_object() {
    let out = measure(&["--sigstruct", SIGSTRUCT]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed,
        json!({
            "mr_enclave": ["b1de642a41bd99668f0c3057202ef6cb083d099a660ff2db804282513f463c33"],
            "mr_signer": ["83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e"],
            "isv_prod_id": [0],
            "isv_svn": [0],
        })
    );
    // The masked attributes are told, on stderr only.
    assert!(
        stderr.contains("04000000000000000300000000000000"),
        "{stderr}"
    );
}

#[test]
fn a_sigstruct_altered_after_signing_exits_1_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(SIGSTRUCT).unwrap();
    // Another enclave's MRENCLAVE under the publisher's signature.
    bytes[960] ^= 0x01;
    let bad = tmp.path().join("bad.sig");
    std::fs::write(&bad, &bytes).unwrap();
    let out = measure(&["--sigstruct", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing printed for a refusal");
    assert!(stderr.contains("signature does not verify"), "{stderr}");

    // Not a SIGSTRUCT at all: refused the same way.
    let short = tmp.path().join("short.sig");
    std::fs::write(&short, &bytes[..1000]).unwrap();
    let out = measure(&["--sigstruct", short.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1808"));
}

#[test]
fn usage_errors_exit_2() {
    // No --sigstruct, an unknown flag, a file that does not exist.
    assert_eq!(measure(&[]).status.code(), Some(2));
    assert_eq!(
        measure(&["--sigstruct", SIGSTRUCT, "--bogus"])
            .status
            .code(),
        Some(2)
    );
    let out = measure(&["--sigstruct", "/nonexistent/enclave.sig"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
