//! Firmware images on arbitrary bytes: reading the OVMF GUIDed footer table and the SEV
//! metadata never panics, every section returned is whole pages below 4 GiB, and the SEV-SNP
//! launch digest of any image (with and without a direct-boot kernel) is either a refusal or
//! a digest computed the same way twice. Inputs shorter than a page are padded into a 16 KiB
//! image with the fuzzer's bytes at its end, so the footer table and metadata are reachable.
//! Seed: the last 4 KiB of Debian's `/usr/share/ovmf/OVMF.fd` when installed (its footer
//! table, SEV-ES reset block and `ASEV` metadata all sit there: a measurable image itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_fuzz::seed;
use scute_measure::ovmf;
use scute_measure::snp::{self, KernelHashes, Launch, VmmType};

fn debian_ovmf_tail() -> Vec<(String, Vec<u8>)> {
    std::fs::read("/usr/share/ovmf/OVMF.fd")
        .ok()
        .filter(|image| image.len() >= 4096)
        .map(|image| {
            (
                "debian-ovmf-tail".to_owned(),
                image[image.len() - 4096..].to_vec(),
            )
        })
        .into_iter()
        .collect()
}

fuzz_target!(
    init: seed(debian_ovmf_tail()),
    |data: &[u8]| {
    let image: Vec<u8> = if data.len() >= 4096 {
        data.to_vec()
    } else {
        let mut image = vec![0u8; 16384];
        image[16384 - data.len()..].copy_from_slice(data);
        image
    };
    if let Ok(table) = ovmf::footer_table(&image) {
        if let Ok(sections) = snp::sev_metadata(&image, &table) {
            for s in sections {
                assert!(s.size > 0 && s.size % 4096 == 0 && s.gpa % 4096 == 0);
                assert!(u64::from(s.gpa) + u64::from(s.size) <= 1 << 32);
            }
        }
    }
    let hashes = KernelHashes::new(b"kernel", Some(b"initrd"), Some("console=ttyS0"));
    for kernel in [None, Some(&hashes)] {
        for vmm in [VmmType::Qemu, VmmType::Ec2] {
            let launch = Launch {
                firmware: &image,
                vcpus: 2,
                vcpu_type: "EPYC-Milan",
                vmm,
                guest_features: 1,
                kernel,
            };
            if let Ok(first) = snp::launch_digest(&launch) {
                assert_eq!(snp::launch_digest(&launch).ok(), Some(first));
            }
        }
    }
}
);
