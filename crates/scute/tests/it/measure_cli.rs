//! `scute measure snp` through the real binary, as scripts use it: the JSON shape exactly
//! `{"measurement": ["<96 hex>"]}` and exit 0; a refusal is exit 1 with the reason on stderr;
//! a usage error is exit 2. The firmware is Debian's `OVMF.fd` (package `ovmf`,
//! 2022.11-6+deb12u2); the expected values are sev-snp-measure 0.0.13's (see
//! crates/scute-measure/tests/snp_debian_ovmf.rs for the command lines). Without the package
//! these tests fail, they never skip.

use serde_json::{json, Value};
use std::process::Command;

const DEBIAN_OVMF: &str = "/usr/share/ovmf/OVMF.fd";

fn run(args: &[&str]) -> (i32, String, String) {
    assert!(
        std::path::Path::new(DEBIAN_OVMF).is_file(),
        "{DEBIAN_OVMF} is missing: these tests need Debian's `ovmf` package (apt-get install ovmf)"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        stderr,
    )
}

fn snp(extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["measure", "snp", "--ovmf", DEBIAN_OVMF];
    args.extend(extra);
    run(&args)
}

#[test]
fn measure_snp_prints_exactly_the_reference_value_body() {
    let (code, stdout, stderr) = snp(&["--vcpus", "4", "--vcpu-type", "EPYC-Milan"]);
    assert_eq!(code, 0, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    // `sev-snp-measure --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf OVMF.fd` (0.0.13).
    assert_eq!(
        printed,
        json!({"measurement": ["e9c10ab98f8086bf4a4993dcdc1f768b1128bcb02301d1791f1d3274329e790db2d12a301d66d99a462a13b5d87e2840"]})
    );
}

#[test]
fn measure_snp_takes_the_vmm_type_and_guest_features() {
    // `sev-snp-measure --mode snp --vcpus 4 --vmm-type ec2 --ovmf OVMF.fd` (0.0.13).
    let (code, stdout, stderr) = snp(&[
        "--vcpus",
        "4",
        "--vcpu-type",
        "EPYC-Milan",
        "--vmm-type",
        "ec2",
        "--guest-features",
        "0x1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        printed["measurement"],
        json!(["247ad4ffd2aa671f172a61d8fc73337c2b3489dae4e53a8d9dd2d96d3b71b35ab008b3581c496f99810fe72bfd84d5ac"])
    );
    // `... --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0x21` (0.0.13), hex without 0x.
    let (code, stdout, stderr) = snp(&[
        "--vcpus",
        "2",
        "--vcpu-type",
        "EPYC-Milan",
        "--guest-features",
        "21",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        printed["measurement"],
        json!(["5b3db052ccc5855965bddaedae87d1a3d1f3728bb93bc12f4eb86e07e842b7bdaa77e56f97c28eb52fdd93eb25e72305"])
    );
}

#[test]
fn a_kernel_debian_ovmf_cannot_measure_is_refused_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinuz");
    std::fs::write(&kernel, b"not really a kernel").unwrap();
    let (code, stdout, stderr) = snp(&[
        "--vcpus",
        "1",
        "--vcpu-type",
        "EPYC-v4",
        "--kernel",
        kernel.to_str().unwrap(),
        "--append",
        "console=ttyS0",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "nothing measured is printed: {stdout}");
    assert!(stderr.contains("SNP_KERNEL_HASHES"), "{stderr}");
}

#[test]
fn impossible_launches_are_refused_with_exit_1() {
    for (extra, reason) in [
        (
            &["--vcpus", "0", "--vcpu-type", "EPYC-v4"][..],
            "at least 1",
        ),
        (
            &["--vcpus", "1", "--vcpu-type", "EPYC-Nope"][..],
            "unknown vCPU type",
        ),
        (
            &[
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--guest-features",
                "0x20",
            ][..],
            "SNPActive",
        ),
    ] {
        let (code, stdout, stderr) = snp(extra);
        assert_eq!(code, 1, "{extra:?}: {stderr}");
        assert!(stdout.is_empty(), "{extra:?}: {stdout}");
        assert!(stderr.contains(reason), "{extra:?}: {stderr}");
    }
    // A file that is not firmware.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.fd");
    std::fs::write(&junk, vec![0u8; 8192]).unwrap();
    let (code, _, stderr) = run(&[
        "measure",
        "snp",
        "--ovmf",
        junk.to_str().unwrap(),
        "--vcpus",
        "1",
        "--vcpu-type",
        "EPYC",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no OVMF table"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    for extra in [
        &["--vcpu-type", "EPYC-v4"][..],
        &["--vcpus", "1"][..],
        &["--vcpus", "1", "--vcpu-type", "EPYC", "--vmm-type", "gce"][..],
        &[
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--guest-features",
            "xyz",
        ][..],
        &["--vcpus", "1", "--vcpu-type", "EPYC", "--append", "quiet"][..],
        &["--vcpus", "-1", "--vcpu-type", "EPYC"][..],
        // Bounded: not 4 billion VMSAs for a typo.
        &["--vcpus", "513", "--vcpu-type", "EPYC"][..],
        &["--vcpus", "4294967295", "--vcpu-type", "EPYC"][..],
    ] {
        let (code, stdout, stderr) = snp(extra);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stdout.is_empty(), "{extra:?}: {stdout}");
    }
    // The bound itself is a launch.
    let (code, _, stderr) = snp(&["--vcpus", "512", "--vcpu-type", "EPYC"]);
    assert_eq!(code, 0, "{stderr}");
}
