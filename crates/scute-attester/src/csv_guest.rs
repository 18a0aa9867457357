//! A Hygon CSV guest's own report, from `/dev/csv-guest` (the csv-guest driver of Hygon's and
//! Anolis's kernels; no configfs-tsm provider serves CSV). The request, as the driver and
//! openanolis/csv-rs (`src/guest/mod.rs`, `get_report`) make it: a buffer the size of a V1
//! report whose first 112 bytes are the report data (64), a fresh mnonce (16) and SM3 of the
//! two (32); the PSP's report is written back over it. The evidence is Trustee's CSV JSON
//! (`scute_csv::TrusteeEvidence`), signer block restored; the HSK/CEK are not added (the guest
//! has no network to Hygon's KDS here): the verifier finds them by the chip serial, in its store
//! or from its `csv_kds_url`.
//!
//! The one ioctl needs `unsafe` (the kernel is handed a pointer to our buffer); it is the only
//! unsafe code of the workspace, in [`ioctl`], and this crate denies unsafe code elsewhere.

use crate::{AttesterError, CsvGuestEvidence, GuestAttester, GuestEvidence, GuestTee};
use scute_csv::{Report, TrusteeEvidence, REPORT_V1_LEN};
use sm3::{Digest, Sm3};
use std::path::PathBuf;

/// Report data, mnonce and their SM3 digest: what the request's buffer starts with.
const INPUT_LEN: usize = 64 + 16 + 32;

pub struct CsvGuestDevice {
    device: PathBuf,
}

impl CsvGuestDevice {
    pub fn new(device: PathBuf) -> Self {
        Self { device }
    }

    pub fn is_present(&self) -> bool {
        self.device.exists()
    }
}

/// The request buffer: a V1 report's size, starting with report_data ‖ mnonce ‖ SM3(both).
fn request(report_data: &[u8; 64], mnonce: &[u8; 16]) -> Vec<u8> {
    let mut buffer = Vec::with_capacity(REPORT_V1_LEN);
    buffer.extend_from_slice(report_data);
    buffer.extend_from_slice(mnonce);
    let mut hash = Sm3::new();
    hash.update(report_data);
    hash.update(mnonce);
    buffer.extend_from_slice(&hash.finalize());
    debug_assert_eq!(buffer.len(), INPUT_LEN);
    buffer.resize(REPORT_V1_LEN, 0);
    buffer
}

/// What the PSP answered, checked: a report carrying our report data and our mnonce (a stale
/// or foreign answer is refused before it becomes evidence), as Trustee's evidence.
fn evidence(
    answer: &[u8],
    report_data: &[u8; 64],
    mnonce: &[u8; 16],
) -> Result<GuestEvidence, AttesterError> {
    let report = Report::decode(answer).map_err(|e| AttesterError::CsvReport(e.to_string()))?;
    let fields = report.tee_info.fields();
    if &fields.report_data != report_data {
        return Err(AttesterError::ReportDataMismatch);
    }
    if &fields.mnonce != mnonce {
        return Err(AttesterError::CsvReport(
            "the report carries another mnonce than the request's".into(),
        ));
    }
    let trustee = TrusteeEvidence::from_raw_report(&report, None, None)
        .map_err(|e| AttesterError::CsvReport(e.to_string()))?;
    Ok(GuestEvidence::Csv(CsvGuestEvidence {
        report: answer.to_vec(),
        evidence: trustee.to_value(),
    }))
}

impl GuestAttester for CsvGuestDevice {
    fn name(&self) -> &'static str {
        "csv (csv-guest)"
    }

    fn guest_tee(&self) -> GuestTee {
        GuestTee::Csv
    }

    fn collect_guest(&self, report_data: &[u8; 64]) -> Result<GuestEvidence, AttesterError> {
        if !self.is_present() {
            return Err(AttesterError::NotAvailable {
                backend: "Hygon csv-guest",
                path: self.device.clone(),
            });
        }
        let mnonce = crate::machine::random_bytes::<16>()?;
        let mut buffer = request(report_data, &mnonce);
        let device = std::fs::OpenOptions::new()
            .read(true)
            .open(&self.device)
            .map_err(crate::error::io("opening", &self.device))?;
        ioctl::get_report(&device, &mut buffer).map_err(|e| AttesterError::CsvDevice {
            path: self.device.clone(),
            source: e,
        })?;
        evidence(&buffer, report_data, &mnonce)
    }
}

/// `CSV_CMD_GET_REPORT`, the csv-guest driver's one report request.
mod ioctl {
    #![allow(unsafe_code)]

    use rustix::ioctl::{opcode, Opcode, Updater};
    use std::fs::File;

    /// `struct csv_report_req { u8 *report_data; int len; }` (drivers/virt/coco/csv-guest/
    /// csv-guest.h): the buffer the request is read from and the report written to.
    #[repr(C)]
    struct ReportRequest {
        buffer: *mut u8,
        len: std::ffi::c_int,
    }

    /// `_IOWR('D', 1, struct csv_report_req)`.
    const GET_REPORT: Opcode = opcode::read_write::<ReportRequest>(b'D', 1);

    /// Asks the PSP for a report over `buffer` (the request in, the report out, in place).
    pub(super) fn get_report(device: &File, buffer: &mut [u8]) -> std::io::Result<()> {
        let len = std::ffi::c_int::try_from(buffer.len())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        let mut request = ReportRequest {
            buffer: buffer.as_mut_ptr(),
            len,
        };
        // SAFETY: GET_REPORT is the driver's CSV_CMD_GET_REPORT and ReportRequest has its
        // argument's C layout. The driver reads `len` bytes from `buffer` and writes at most
        // `len` bytes back into it (csv_get_report: copy_from_user/copy_to_user of req.len);
        // `buffer` is a live, exclusively borrowed slice of exactly `len` bytes for the whole
        // call, and nothing else holds the pointer after it returns.
        unsafe {
            rustix::ioctl::ioctl(
                device,
                Updater::<GET_REPORT, ReportRequest>::new(&mut request),
            )
        }
        .map_err(std::io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scute_sim::{CsvReportSpec, HygonSim};

    fn sim() -> HygonSim {
        HygonSim::new(b"csv guest device test", "HGN0000001").unwrap()
    }

    #[test]
    fn the_request_carries_the_report_data_the_mnonce_and_their_sm3() {
        let buffer = request(&[7; 64], &[9; 16]);
        assert_eq!(buffer.len(), REPORT_V1_LEN);
        assert_eq!(&buffer[..64], &[7; 64]);
        assert_eq!(&buffer[64..80], &[9; 16]);
        let mut both = vec![7u8; 64];
        both.extend_from_slice(&[9; 16]);
        assert_eq!(&buffer[80..112], Sm3::digest(&both).as_slice());
        assert!(buffer[112..].iter().all(|b| *b == 0));
    }

    #[test]
    fn a_psp_answer_becomes_the_evidence_trustee_and_scute_verify() {
        let sim = sim();
        let spec = CsvReportSpec {
            report_data: [0x42; 64],
            mnonce: [0x13; 16],
            ..CsvReportSpec::default()
        };
        let answer = sim.report(&spec).unwrap().encode();
        let GuestEvidence::Csv(got) = evidence(&answer, &[0x42; 64], &[0x13; 16]).unwrap() else {
            panic!("not CSV evidence");
        };
        assert_eq!(got.report, answer);
        // What the simulator's own attester path makes (without HSK/CEK), byte for byte.
        assert_eq!(
            got.evidence,
            sim.trustee_evidence(&spec, false, None).unwrap()
        );
        // And it verifies, with the chip's HSK/CEK supplied by the verifier.
        let decoded = scute_csv::Evidence::decode(got.evidence.to_string().as_bytes()).unwrap();
        let roots =
            scute_csv::TrustRoots::new(vec![scute_csv::RootKey::from_hrk(&sim.hrk_cert).unwrap()]);
        scute_csv::verify(&decoded, Some(&sim.hsk_cek()), &roots, Some(&[0x42; 64])).unwrap();
    }

    #[test]
    fn an_answer_for_other_report_data_or_another_mnonce_is_refused() {
        let sim = sim();
        let spec = CsvReportSpec {
            report_data: [0x42; 64],
            mnonce: [0x13; 16],
            ..CsvReportSpec::default()
        };
        let answer = sim.report(&spec).unwrap().encode();
        assert!(matches!(
            evidence(&answer, &[0x43; 64], &[0x13; 16]),
            Err(AttesterError::ReportDataMismatch)
        ));
        assert!(matches!(
            evidence(&answer, &[0x42; 64], &[0x14; 16]),
            Err(AttesterError::CsvReport(_))
        ));
        assert!(matches!(
            evidence(&answer[..100], &[0x42; 64], &[0x13; 16]),
            Err(AttesterError::CsvReport(_))
        ));
    }

    #[test]
    fn a_file_that_is_not_the_driver_gives_a_typed_error() {
        // A fake tree's "device" is a regular file: the ioctl fails (ENOTTY), nothing panics.
        let tmp = tempfile::tempdir().unwrap();
        let device = tmp.path().join("csv-guest");
        std::fs::write(&device, b"").unwrap();
        let err = CsvGuestDevice::new(device)
            .collect_guest(&[0; 64])
            .err()
            .unwrap();
        assert!(matches!(err, AttesterError::CsvDevice { .. }), "{err}");
    }
}
