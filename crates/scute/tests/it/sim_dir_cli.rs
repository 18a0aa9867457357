//! The simulator's directory through `scute quote`: unseeded directories differ, `--seed`
//! repeats a machine, and `--seed` is refused where no simulator is used.

use std::path::Path;
use std::process::Command;

fn quote(sim: &Path, extra: &[&str]) -> (i32, String) {
    let out_file = sim.with_extension("bin");
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args([
            "quote",
            "--sim-dir",
            sim.to_str().unwrap(),
            "--report-data",
            "00",
        ])
        .args(["--out", out_file.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The seed the directory keeps (the root certificate itself differs between issuances).
fn seed(sim: &Path) -> u64 {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sim.join("sim-state.json")).unwrap()).unwrap();
    state["seed"].as_u64().unwrap()
}

#[test]
fn unseeded_directories_differ_and_seeded_ones_repeat() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        let (code, err) = quote(dir, &["--tee", "sim"]);
        assert_eq!(code, 0, "{err}");
    }
    assert_ne!(seed(&a), seed(&b));
    assert_ne!(seed(&a), 1, "not the seed every simulator once shared");
    let root = std::fs::read(a.join("root_ca.pem")).unwrap();
    assert_eq!(quote(&a, &["--tee", "sim"]).0, 0);
    assert_eq!(std::fs::read(a.join("root_ca.pem")).unwrap(), root, "kept");

    let (c, d) = (tmp.path().join("c"), tmp.path().join("d"));
    for dir in [&c, &d] {
        let (code, err) = quote(dir, &["--tee", "sim", "--seed", "77"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(seed(dir), 77);
    }
    // Another seed for an existing directory is an error, not a silent swap of keys.
    let (code, err) = quote(&c, &["--tee", "sim", "--seed", "78"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another seed"), "{err}");
    // --seed only means something for the simulator.
    let (code, err) = quote(&tmp.path().join("e"), &["--seed", "5"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--tee sim"), "{err}");
}
