//! Output files and the simulator's directory: temporary files that nobody can redirect, and
//! simulator keys that are unique per directory unless a seed is asked for.

use scute_attester::{write_atomic, AttesterError, Simulated};
use scute_sim::Tee;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The root CA's public key: what a seed determines (certificates differ in dates and
/// signatures between issuances).
fn root_key(dir: &Path) -> Vec<u8> {
    let pem = std::fs::read(dir.join("root_ca.pem")).unwrap();
    let der = x509_parser::pem::Pem::iter_from_buffer(&pem)
        .next()
        .unwrap()
        .unwrap()
        .contents;
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    cert.public_key().raw.to_vec()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_symlink_at_the_old_predictable_temp_name_is_not_followed() {
    // Until now the temporary file was `.NAME.tmp-PID` (the binary) or `NAME.tmp-PID` (the
    // simulator): anyone who could write the directory could point it at a file of ours.
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let pid = std::process::id();
    let planted = [
        out.join(format!(".quote.bin.tmp-{pid}")),
        out.join(format!("quote.tmp-{pid}")),
    ];
    for p in &planted {
        symlink(&victim, p).unwrap();
    }
    write_atomic(&out.join("quote.bin"), b"new quote").unwrap();
    assert_eq!(std::fs::read(out.join("quote.bin")).unwrap(), b"new quote");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    for p in &planted {
        assert!(std::fs::symlink_metadata(p)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    // Nothing is left behind but the output and what was planted.
    assert_eq!(names(&out).len(), 3, "{:?}", names(&out));

    // The same for the simulator's directory, whose files used `FILE.tmp-PID`.
    let sim = tmp.path().join("sim");
    std::fs::create_dir(&sim).unwrap();
    for name in ["tee", "root_ca", "sim-state"] {
        symlink(&victim, sim.join(format!("{name}.tmp-{pid}"))).unwrap();
    }
    let opened = Simulated::open(sim.clone(), Tee::Tdx).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(
        std::fs::read_to_string(sim.join("root_ca.pem")).unwrap(),
        opened.root_ca_pem()
    );
    assert!(!names(&sim).iter().any(|n| n.ends_with(".tmp")));
}

#[test]
fn a_file_at_the_old_predictable_temp_name_is_not_clobbered() {
    let tmp = tempfile::tempdir().unwrap();
    let squatter = tmp
        .path()
        .join(format!(".quote.bin.tmp-{}", std::process::id()));
    std::fs::write(&squatter, b"someone else's").unwrap();
    write_atomic(&tmp.path().join("quote.bin"), b"q").unwrap();
    assert_eq!(std::fs::read(&squatter).unwrap(), b"someone else's");
}

#[test]
fn an_output_that_is_a_directory_is_an_error_naming_it_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let err = write_atomic(tmp.path(), b"x").unwrap_err();
    assert!(matches!(err, AttesterError::Io { .. }), "{err:?}");
}

#[test]
fn unseeded_simulators_have_keys_of_their_own_and_keep_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let first = Simulated::open(a.clone(), Tee::Tdx).unwrap();
    Simulated::open(b.clone(), Tee::Tdx).unwrap();
    assert_ne!(
        root_key(&a),
        root_key(&b),
        "two unseeded simulators share a root"
    );
    // The random seed is kept: opened again, the directory is the same machine.
    let key = root_key(&a);
    let again = Simulated::open(a.clone(), Tee::Tdx).unwrap();
    assert_eq!(again.root_ca_pem(), first.root_ca_pem());
    assert_eq!(root_key(&a), key);
    // And it is not the seed every simulator used to share.
    let old = tmp.path().join("seed-1");
    Simulated::open_with_seed(old.clone(), Tee::Tdx, 1).unwrap();
    assert_ne!(root_key(&a), root_key(&old));
}

#[test]
fn a_seeded_simulator_is_reproducible_and_holds_to_its_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    Simulated::open_with_seed(a.clone(), Tee::Sgx, 42).unwrap();
    Simulated::open_with_seed(b.clone(), Tee::Sgx, 42).unwrap();
    assert_eq!(root_key(&a), root_key(&b));
    Simulated::open_with_seed(a.clone(), Tee::Sgx, 42).unwrap();
    assert!(matches!(
        Simulated::open_with_seed(a.clone(), Tee::Sgx, 43).map(|_| ()),
        Err(AttesterError::SeedMismatch { asked: 43, .. })
    ));
}

#[test]
fn simulator_roots_are_recognised_and_intel_roots_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Simulated::open(tmp.path().join("sim"), Tee::Tdx).unwrap();
    let pem = sim.root_ca_pem();
    assert!(scute_sim::is_simulator_root(pem.as_bytes()));
    let der = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .contents;
    assert!(scute_sim::is_simulator_root(&der));
    // Intel's chain (TCB signing certificate, then the Intel SGX Root CA) is not a simulator's.
    let intel = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/dcapqvl-tdx-v4/tcb_info_issuer_chain.pem");
    let intel = std::fs::read(intel).unwrap();
    assert!(!scute_sim::is_simulator_root(&intel));
    // The simulator's non-root certificates are not roots.
    let chain = std::fs::read(sim.collateral_dir().join("tcb_info_issuer_chain.pem")).unwrap();
    let blocks: Vec<Vec<u8>> = x509_parser::pem::Pem::iter_from_buffer(&chain)
        .map(|p| p.unwrap().contents)
        .collect();
    assert_eq!(blocks.len(), 2);
    assert!(!scute_sim::is_simulator_root(&blocks[0]));
    assert!(scute_sim::is_simulator_root(&blocks[1]));
    assert!(
        scute_sim::is_simulator_root(&chain),
        "a bundle with the root in it"
    );
    assert!(!scute_sim::is_simulator_root(b"not a certificate"));
    assert!(!scute_sim::is_simulator_root(
        b"-----BEGIN CERTIFICATE-----\nAAAA\n"
    ));
}
