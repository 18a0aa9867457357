//! `scute measure tdx` end to end: exit 0 and exactly the registers the inputs determine (MRTD
//! of Debian's OVMF.fd against an independent tool's value; RTMR1/RTMR2 of a direct boot
//! recomputed here from the published formulas), exit 1 for firmware or kernels that cannot be
//! measured, exit 2 for usage errors. Needs Debian's `ovmf` package: fails without it.

use aws_lc_rs::digest::{digest, SHA384};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const DEBIAN_OVMF: &str = "/usr/share/ovmf/OVMF.fd";
/// flashbots' mosaik 0.4.2 `compute_mrtd` (two-pass order) on Debian's OVMF.fd; see
/// crates/scute-measure/tests/tdx_debian_ovmf.rs for how it was obtained.
const MRTD_TWO_PASS: &str = "acccbcc870a381adab0d3919d90a7f268ac3b0364771f202ed4bb4e892d045b33db3b32e6924cba830a724eed443f7e1";

fn ovmf() -> &'static str {
    assert!(
        Path::new(DEBIAN_OVMF).is_file(),
        "{DEBIAN_OVMF} is needed (apt-get install ovmf)"
    );
    DEBIAN_OVMF
}

fn scute(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scute"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        err,
    )
}

fn sha384(parts: &[&[u8]]) -> Vec<u8> {
    digest(&SHA384, &parts.concat()).as_ref().to_vec()
}

fn replay(events: &[Vec<u8>]) -> String {
    let mut register = vec![0u8; 48];
    for event in events {
        register = sha384(&[&register, event]);
    }
    hex::encode(register)
}

/// The JSON object's keys, and each value as a list of strings (all 96 lowercase hex digits).
fn registers(stdout: &str) -> Vec<(String, Vec<String>)> {
    let json: Value = serde_json::from_str(stdout).unwrap();
    let mut out: Vec<(String, Vec<String>)> = json
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, values)| {
            let values: Vec<String> = values
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            for v in &values {
                assert_eq!(v.len(), 96, "{v}");
                assert!(v
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            }
            (name.clone(), values)
        })
        .collect();
    out.sort();
    out
}

/// A minimal EFI-stub bzImage: a Linux setup header (protocol 2.15, loaded high, initrd
/// above 4 GiB allowed) and a PE32+ header with no sections, SizeOfHeaders = the whole file.
fn kernel() -> Vec<u8> {
    let mut k = vec![0u8; 0x1000];
    k[0..2].copy_from_slice(b"MZ");
    k[0x3c..0x40].copy_from_slice(&0x400u32.to_le_bytes());
    k[0x1f1] = 1;
    k[0x202..0x206].copy_from_slice(b"HdrS");
    k[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    k[0x211] = 0x01;
    k[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    k[0x236..0x238].copy_from_slice(&0x0002u16.to_le_bytes());
    let pe = 0x400;
    k[pe..pe + 4].copy_from_slice(b"PE\0\0");
    let coff = pe + 4;
    k[coff..coff + 2].copy_from_slice(&0x8664u16.to_le_bytes());
    k[coff + 16..coff + 18].copy_from_slice(&240u16.to_le_bytes()); // optional header size
    k[coff + 18..coff + 20].copy_from_slice(&0x0206u16.to_le_bytes());
    let opt = coff + 20;
    k[opt..opt + 2].copy_from_slice(&0x020bu16.to_le_bytes()); // PE32+
    k[opt + 24..opt + 32].copy_from_slice(&0x10_0000u64.to_le_bytes()); // ImageBase
    k[opt + 32..opt + 36].copy_from_slice(&0x1000u32.to_le_bytes()); // SectionAlignment
    k[opt + 36..opt + 40].copy_from_slice(&0x200u32.to_le_bytes()); // FileAlignment
    k[opt + 56..opt + 60].copy_from_slice(&0x1000u32.to_le_bytes()); // SizeOfImage
    k[opt + 60..opt + 64].copy_from_slice(&0x1000u32.to_le_bytes()); // SizeOfHeaders
    k[opt + 64..opt + 68].copy_from_slice(&0x1234_5678u32.to_le_bytes()); // CheckSum
    k[opt + 68..opt + 70].copy_from_slice(&10u16.to_le_bytes()); // EFI application
    k[opt + 108..opt + 112].copy_from_slice(&16u32.to_le_bytes()); // NumberOfRvaAndSizes
                                                                   // Bytes the Authenticode digest covers, so a wrong range shows.
    for (i, b) in k[0x800..].iter_mut().enumerate() {
        *b = (i % 253) as u8;
    }
    k
}

/// The Authenticode SHA-384 of [`kernel`]'s layout, by the PE/COFF spec's steps: everything
/// up to SizeOfHeaders but the CheckSum (opt + 64) and the certificate-table entry (data
/// directory 4, opt + 112 + 32); no sections, no trailing data.
fn authenticode(k: &[u8]) -> Vec<u8> {
    let opt = 0x400 + 4 + 20;
    let checksum = opt + 64;
    let cert_dir = opt + 112 + 4 * 8;
    sha384(&[
        &k[..checksum],
        &k[checksum + 4..cert_dir],
        &k[cert_dir + 8..0x1000],
    ])
}

/// QEMU's x86_load_linux setup-header patches, written out from hw/i386/x86-common.c.
fn as_qemu_loads(k: &[u8], initrd_at: Option<(u32, u32)>) -> Vec<u8> {
    let mut k = k.to_vec();
    k[0x228..0x22c].copy_from_slice(&0x2_0000u32.to_le_bytes());
    k[0x210] = 0xb0;
    k[0x211] |= 0x80;
    k[0x224..0x226].copy_from_slice(&(0x2_0000u32 - 0x1_0000 - 0x200).to_le_bytes()[..2]);
    if let Some((address, size)) = initrd_at {
        k[0x218..0x21c].copy_from_slice(&address.to_le_bytes());
        k[0x21c..0x220].copy_from_slice(&size.to_le_bytes());
    }
    k
}

fn utf16_nul(text: &str) -> Vec<u8> {
    text.bytes().chain([0]).flat_map(|b| [b, 0]).collect()
}

struct Files {
    _dir: tempfile::TempDir,
    kernel: PathBuf,
    initrd: PathBuf,
    no_tdx: PathBuf,
    not_pe: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("bzImage");
    std::fs::write(&kernel, self::kernel()).unwrap();
    let initrd = dir.path().join("initrd");
    std::fs::write(&initrd, vec![0x5a; 12345]).unwrap();
    let no_tdx = dir.path().join("no-tdx.fd");
    std::fs::write(&no_tdx, vec![0u8; 0x10000]).unwrap();
    let not_pe = dir.path().join("not-pe");
    let mut bytes = self::kernel();
    bytes[0..2].copy_from_slice(b"XX");
    std::fs::write(&not_pe, bytes).unwrap();
    Files {
        _dir: dir,
        kernel,
        initrd,
        no_tdx,
        not_pe,
    }
}

#[test]
fn firmware_alone_gives_mrtd_and_says_what_is_missing() {
    let (code, out, err) = scute(&[
        "measure",
        "tdx",
        "--firmware",
        ovmf(),
        "--two-pass-add-pages",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        registers(&out),
        [("mr_td".to_owned(), vec![MRTD_TWO_PASS.to_owned()])]
    );
    assert!(err.contains("rtmr1 and rtmr2 need --kernel"), "{err}");
    assert!(err.contains("rtmr0 is not computed"), "{err}");
    // The default order (page by page) gives another value: the order is not ignored.
    let (code, out, _) = scute(&["measure", "tdx", "--firmware", ovmf()]);
    assert_eq!(code, 0);
    let default = registers(&out);
    assert_eq!(default[0].0, "mr_td");
    assert_ne!(default[0].1, [MRTD_TWO_PASS]);
}

#[test]
fn a_direct_boot_gives_rtmr1_and_rtmr2_as_recomputed_from_the_formulas() {
    let f = files();
    let cmdline = "console=ttyS0 root=/dev/vda1";
    let (code, out, err) = scute(&[
        "measure",
        "tdx",
        "--firmware",
        ovmf(),
        "--kernel",
        f.kernel.to_str().unwrap(),
        "--initrd",
        f.initrd.to_str().unwrap(),
        "--cmdline",
        cmdline,
        "--memory",
        "4G",
        "--two-pass-add-pages",
    ]);
    assert_eq!(code, 0, "{err}");
    // 4 GiB on q35: 2 GiB below 4 GiB; initrd_max = 2 GiB - 0x28000 (ACPI) - 1.
    let initrd_at = ((0x8000_0000u32 - 0x2_8000 - 1 - 12345) & !0xfff, 12345);
    let kernel_digest = authenticode(&as_qemu_loads(&kernel(), Some(initrd_at)));
    let calling = sha384(&[b"Calling EFI Application from Boot Option"]);
    let separator = sha384(&[&[0u8; 4]]);
    let exit = sha384(&[b"Exit Boot Services Invocation"]);
    let exited = sha384(&[b"Exit Boot Services Returned with Success"]);
    let rtmr1_with_separator = replay(&[
        kernel_digest.clone(),
        calling.clone(),
        separator,
        exit.clone(),
        exited.clone(),
    ]);
    let rtmr1_without = replay(&[kernel_digest, calling, exit, exited]);
    let rtmr2 = replay(&[
        sha384(&[&utf16_nul(&format!("{cmdline} initrd=initrd"))]),
        sha384(&[&vec![0x5a; 12345]]),
    ]);
    assert_eq!(
        registers(&out),
        [
            ("mr_td".to_owned(), vec![MRTD_TWO_PASS.to_owned()]),
            (
                "rtmr1".to_owned(),
                vec![rtmr1_with_separator, rtmr1_without]
            ),
            ("rtmr2".to_owned(), vec![rtmr2]),
        ]
    );
    assert!(err.contains("rtmr0 is not computed"), "{err}");
    assert!(!err.contains("rtmr1"), "{err}");
    // An independent implementation on the same inputs: flashbots' mosaik 0.4.2 (crates.io)
    // `src/tee/tdx/builder/mrtd.rs` `compute_rtmr1(kernel, initrd, "4G")` (the layout without
    // the RTMR1 separator, its own PE hashing and QEMU patching) and `compute_rtmr2(cmdline,
    // initrd)`, compiled unchanged outside this repository and run on this test's kernel() and
    // initrd files on 2026-12-07. (On Debian's real signed linux-image-6.1.0-57-cloud-amd64
    // vmlinuz, 3 MB initrd, 4G, Scute's RTMR1 and RTMR2 equalled mosaik's as well, and the
    // unpatched kernel's Authenticode SHA-384 equalled signify 0.9.3's; not a test here, as the
    // kernel is not a fixture.)
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["rtmr1"][1],
        "7ca7274c91ba0873b2915f15b09082902f1b83c38a2380ecfe0e9e6e8b4cd27cf1df724fd23fd6c5538ce3a3d42d2de9"
    );
    assert_eq!(
        json["rtmr2"][0],
        "e27878b4da99ce102f00451b7d4abaeba48fcc6109acf45e1ac7302268774871180905bf07b47a89414846e3959b0fb1"
    );
}

#[test]
fn rtmr1_is_left_out_without_the_memory_size_an_initrd_depends_on() {
    let f = files();
    let (code, out, err) = scute(&[
        "measure",
        "tdx",
        "--firmware",
        ovmf(),
        "--kernel",
        f.kernel.to_str().unwrap(),
        "--initrd",
        f.initrd.to_str().unwrap(),
        "--cmdline",
        "",
    ]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<String> = registers(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["mr_td", "rtmr2"]);
    assert!(err.contains("rtmr1 needs --memory"), "{err}");
    // A different memory size moves the initrd, and with it RTMR1.
    let with = |memory: &str| {
        let (code, out, err) = scute(&[
            "measure",
            "tdx",
            "--firmware",
            ovmf(),
            "--kernel",
            f.kernel.to_str().unwrap(),
            "--initrd",
            f.initrd.to_str().unwrap(),
            "--cmdline",
            "",
            "--memory",
            memory,
        ]);
        assert_eq!(code, 0, "{err}");
        registers(&out)
            .into_iter()
            .find(|(n, _)| n == "rtmr1")
            .unwrap()
            .1
    };
    assert_ne!(with("2G"), with("2560M"));
    assert_eq!(
        with("4G"),
        with("8G"),
        "above 2.75 GiB the split stays at 2 GiB"
    );
}

#[test]
fn firmware_without_tdx_metadata_and_non_pe_kernels_are_refused() {
    let f = files();
    let (code, out, err) = scute(&["measure", "tdx", "--firmware", f.no_tdx.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("no TDX metadata"), "{err}");

    let (code, out, err) = scute(&[
        "measure",
        "tdx",
        "--firmware",
        ovmf(),
        "--kernel",
        f.not_pe.to_str().unwrap(),
        "--cmdline",
        "",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("not a PE/COFF image"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let f = files();
    for args in [
        vec!["measure", "tdx"],
        vec![
            "measure",
            "tdx",
            "--firmware",
            DEBIAN_OVMF,
            "--initrd",
            f.initrd.to_str().unwrap(),
        ],
        vec![
            "measure",
            "tdx",
            "--firmware",
            DEBIAN_OVMF,
            "--cmdline",
            "x",
        ],
        vec![
            "measure",
            "tdx",
            "--firmware",
            DEBIAN_OVMF,
            "--memory",
            "lots",
        ],
        vec!["measure", "tdx", "--firmware", DEBIAN_OVMF, "--bogus"],
    ] {
        let (code, out, err) = scute(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
    }
}
