//! `scute quote` against the simulator and a fake Gramine tree, and the answer when there is
//! no TEE at all.

use std::process::Command;

fn scute(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_simulated_quote_verifies_with_the_collateral_the_simulator_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let out = tmp.path().join("quote.bin");
    let (sim_s, out_s) = (sim.to_str().unwrap(), out.to_str().unwrap());
    let (code, err) = scute(&[
        "quote",
        "--tee",
        "sim",
        "--sim-dir",
        sim_s,
        "--report-data",
        "cafe",
        "--out",
        out_s,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("scute verify --quote"), "{err}");
    let collateral = sim.join("collateral");
    let root = sim.join("root_ca.pem");
    let (code, _) = scute(&[
        "verify",
        "--quote",
        out_s,
        "--collateral",
        collateral.to_str().unwrap(),
        "--root-ca",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let quote = scute_quote::Quote::decode(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(&quote.report_data()[..2], &[0xca, 0xfe]);
    // Without --root-ca the simulator's quote is not trusted.
    let (code, _) = scute(&[
        "verify",
        "--quote",
        out_s,
        "--collateral",
        collateral.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
}

#[test]
fn sgx_through_a_gramine_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let gramine = tmp.path().join("attestation");
    std::fs::create_dir(&gramine).unwrap();
    std::fs::write(gramine.join("attestation_type"), "dcap\n").unwrap();
    let mut report_data = [0u8; 64];
    report_data[0] = 0x42;
    let sim = scute_sim::Simulator::new(3, 1_790_000_000).unwrap();
    let workload = scute_sim::Workload {
        tee: scute_sim::Tee::Sgx,
        quote_version: 3,
        debug: false,
        report_data,
        rtmrs: None,
        tee_tcb_svn2: None,
        mr_config_id: None,
    };
    std::fs::write(
        gramine.join("quote"),
        sim.quote(&workload).unwrap().encode(),
    )
    .unwrap();
    let out = tmp.path().join("q.bin");
    let no_occlum = tmp.path().join("no");
    let args = [
        "quote",
        "--tee",
        "sgx",
        "--gramine-root",
        gramine.to_str().unwrap(),
        "--occlum-dev",
        no_occlum.to_str().unwrap(),
    ];
    let (code, err) = scute(
        &[
            &args[..],
            &["--report-data", "42", "--out", out.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("sgx (gramine)"), "{err}");
    assert_eq!(
        std::fs::read(gramine.join("user_report_data")).unwrap(),
        report_data
    );
    // Different report data than the TEE answers with: refused, nothing written.
    let out2 = tmp.path().join("q2.bin");
    let (code, err) = scute(
        &[
            &args[..],
            &["--report-data", "43", "--out", out2.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("report data"), "{err}");
    assert!(!out2.exists());
}

#[test]
fn no_tee_is_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let nowhere = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let (code, err) = scute(&[
        "quote",
        "--report-data",
        "00",
        "--out",
        &nowhere("q.bin"),
        "--tsm-root",
        &nowhere("tsm"),
        "--gramine-root",
        &nowhere("gramine"),
        "--occlum-dev",
        &nowhere("dev"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no TEE found"), "{err}");
}

#[test]
fn output_to_a_pipe_or_symlink_is_written_through_not_replaced() {
    // `--out /dev/null` once replaced the device with a regular file: outputs that are not
    // regular files must keep their type.
    use std::os::unix::fs::FileTypeExt;
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let fifo = tmp.path().join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let (code, err) = scute(&[
        "quote",
        "--tee",
        "sim",
        "--sim-dir",
        sim.to_str().unwrap(),
        "--report-data",
        "01",
        "--out",
        fifo.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let received = reader.join().unwrap();
    assert_eq!(
        scute_quote::Quote::decode(&received).unwrap().report_data()[0],
        1
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "still a FIFO"
    );

    let target = tmp.path().join("target.bin");
    std::fs::write(&target, b"old").unwrap();
    let link = tmp.path().join("link.bin");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (code, _) = scute(&[
        "quote",
        "--tee",
        "sim",
        "--sim-dir",
        sim.to_str().unwrap(),
        "--report-data",
        "02",
        "--out",
        link.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "still a symlink"
    );
    assert_eq!(
        scute_quote::Quote::decode(&std::fs::read(&target).unwrap())
            .unwrap()
            .report_data()[0],
        2
    );
}
