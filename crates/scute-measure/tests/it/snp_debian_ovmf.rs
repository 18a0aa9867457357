//! SEV-SNP launch digests of Debian's `OVMF.fd` (package `ovmf` 2022.11-6+deb12u2, Debian 12;
//! `/usr/share/ovmf/OVMF.fd`, 2 097 152 bytes, SHA-256
//! 7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773), compared with values
//! computed independently by virtee/sev-snp-measure 0.0.13 (`pip install
//! sev-snp-measure==0.0.13`), each with the command line written next to it. The firmware must
//! be installed (`apt-get install ovmf`): without it these tests fail, they never skip.

use scute_measure::snp::{launch_digest, KernelHashes, Launch, VmmType, DEFAULT_GUEST_FEATURES};
use scute_measure::MeasureError;

const DEBIAN_OVMF: &str = "/usr/share/ovmf/OVMF.fd";
const DEBIAN_OVMF_SHA256: &str = "7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773";

fn debian_ovmf() -> Vec<u8> {
    let image = std::fs::read(DEBIAN_OVMF).unwrap_or_else(|e| {
        panic!(
            "{DEBIAN_OVMF} cannot be read ({e}): these tests need Debian's `ovmf` package \
             (apt-get install ovmf)"
        )
    });
    let sha256 = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &image,
    ));
    assert_eq!(
        sha256, DEBIAN_OVMF_SHA256,
        "{DEBIAN_OVMF} is not the build the expected values were computed for \
         (ovmf 2022.11-6+deb12u2)"
    );
    image
}

fn measure(firmware: &[u8], vcpus: u32, vcpu_type: &str, vmm: VmmType, features: u64) -> String {
    hex::encode(
        launch_digest(&Launch {
            firmware,
            vcpus,
            vcpu_type,
            vmm,
            guest_features: features,
            kernel: None,
        })
        .unwrap(),
    )
}

/// `sev-snp-measure --mode snp --vcpus N --vcpu-type T --ovmf /usr/share/ovmf/OVMF.fd`
/// (sev-snp-measure 0.0.13; QEMU VMM type and guest features 0x1 are its defaults).
#[test]
fn debian_ovmf_qemu_digests_equal_sev_snp_measure() {
    let image = debian_ovmf();
    let expected: [(u32, &str, &str); 12] = [
        (1, "EPYC-v4", "11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3"),
        (1, "EPYC-Milan", "80479ca85a2b182c026f6a3a2f2b180ab968d84b17540dd30de39039e70b8c0c33ead2cae6d34e37750035fcff60bfc8"),
        (1, "EPYC-Genoa", "98988ff584a1d2b80cbac0c290d592aec2caf460ca58ec34f13c29d44b84dcc3141a8571bb1747aba84fe30c36b2c757"),
        (2, "EPYC-v4", "a5b54e62ae971b58274dd24cc6c47b842662617036e7bd67d7326c07ac6363f35399ef933330a5ea160cead90a00603f"),
        (2, "EPYC-Milan", "a175292a4a09fcfb760c5bd80c93ed667dbaafce6247d0f21fc06638658b3ebf2804d3019e2abed05cb6a9efe0a7464e"),
        (2, "EPYC-Genoa", "143c7e1f11948ce6cbc700b16c3acff0797146df54b0b3d6c5899dc30dc8e31c34a2217d162a219bbbf7a2a1aedd104a"),
        (4, "EPYC-v4", "32ac9d7a17d28f7cd4404a4516d2f00519668c40ada2062351c36767e908eb3f090d66c33ab10f80150e00a4385b6d0f"),
        (4, "EPYC-Milan", "e9c10ab98f8086bf4a4993dcdc1f768b1128bcb02301d1791f1d3274329e790db2d12a301d66d99a462a13b5d87e2840"),
        (4, "EPYC-Genoa", "a509186122f6e4e095ebab39abf4aea568d9949b9e929d0759f45a3983dfc2df71404de97367aba26c08ddeebc3d7ba0"),
        (16, "EPYC-v4", "fa9940223e9be52a85477049ac7526462ed002c64eaa75437ac3b09adfd3fb18b4821dd0136d1399eca4ec0fe7116416"),
        (16, "EPYC-Milan", "6ba3cb184a787548e1346b49a9d1a77dd1a6a7a0e4530b7e4879f06dc03cbfc827ec5f10c9a37be9d2602fa63a31302d"),
        (16, "EPYC-Genoa", "a53b092dad8e6d006642d560b6dae6269648d1e8e757a2f89c77b3bc293aced425cb86fc2b9f4f790636cb7f475aa697"),
    ];
    for (vcpus, vcpu_type, digest) in expected {
        assert_eq!(
            measure(
                &image,
                vcpus,
                vcpu_type,
                VmmType::Qemu,
                DEFAULT_GUEST_FEATURES
            ),
            digest,
            "{vcpus} × {vcpu_type}"
        );
    }
}

/// `sev-snp-measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0x21
/// --ovmf /usr/share/ovmf/OVMF.fd` (0.0.13): SEV_FEATURES SNPActive | DebugSwap.
#[test]
fn guest_features_are_measured_in_every_vmsa() {
    let image = debian_ovmf();
    assert_eq!(
        measure(&image, 2, "EPYC-Milan", VmmType::Qemu, 0x21),
        "5b3db052ccc5855965bddaedae87d1a3d1f3728bb93bc12f4eb86e07e842b7bdaa77e56f97c28eb52fdd93eb25e72305"
    );
}

/// `sev-snp-measure --mode snp --vcpus N --vmm-type ec2 --ovmf /usr/share/ovmf/OVMF.fd` (0.0.13,
/// which has AWS's RDX = 0x600; the same with `--vcpu-type EPYC-Milan`: EC2 ignores the type).
#[test]
fn debian_ovmf_ec2_digests_equal_sev_snp_measure() {
    let image = debian_ovmf();
    for vcpu_type in ["EPYC-Milan", "EPYC-v4"] {
        assert_eq!(
            measure(&image, 1, vcpu_type, VmmType::Ec2, DEFAULT_GUEST_FEATURES),
            "0aaa035d47b06741a745a62cb88eade395f648a7383d71cc322fab9df33859ca3c188a0578534c01526f1b4c0f0b0eb6"
        );
        assert_eq!(
            measure(&image, 4, vcpu_type, VmmType::Ec2, DEFAULT_GUEST_FEATURES),
            "247ad4ffd2aa671f172a61d8fc73337c2b3489dae4e53a8d9dd2d96d3b71b35ab008b3581c496f99810fe72bfd84d5ac"
        );
    }
}

/// Debian's build has no SNP_KERNEL_HASHES section and a zero SEV hashes table address: a
/// kernel cannot be measured with it, and saying so is the only honest answer
/// (sev-snp-measure 0.0.13 also refuses: "Kernel specified but OVMF metadata doesn't include
/// SNP_KERNEL_HASHES section").
#[test]
fn a_kernel_is_refused_for_debian_ovmf() {
    let image = debian_ovmf();
    let hashes = KernelHashes::new(b"kernel", Some(b"initrd"), Some("console=ttyS0"));
    let refused = launch_digest(&Launch {
        firmware: &image,
        vcpus: 1,
        vcpu_type: "EPYC-Milan",
        vmm: VmmType::Qemu,
        guest_features: DEFAULT_GUEST_FEATURES,
        kernel: Some(&hashes),
    })
    .unwrap_err();
    assert!(
        matches!(refused, MeasureError::NoKernelHashesTable(_)),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("SNP_KERNEL_HASHES"),
        "{refused}"
    );
}

/// An attacker who flips one byte of the firmware (or claims another vCPU count) cannot get
/// the expected digest.
#[test]
fn one_changed_firmware_byte_changes_the_digest() {
    let mut image = debian_ovmf();
    let genuine = measure(
        &image,
        2,
        "EPYC-Milan",
        VmmType::Qemu,
        DEFAULT_GUEST_FEATURES,
    );
    image[0x1000] ^= 1;
    assert_ne!(
        measure(
            &image,
            2,
            "EPYC-Milan",
            VmmType::Qemu,
            DEFAULT_GUEST_FEATURES
        ),
        genuine
    );
}
