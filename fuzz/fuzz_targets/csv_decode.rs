//! Hygon CSV decoders on arbitrary bytes: never panic; whatever decodes encodes back to the
//! same bytes (reports bare and in csv-rs's container, CA- and CSV-format certificates,
//! HSK‖CEK, Trustee's evidence JSON through its encoder); verification of whatever decodes,
//! with the real chain, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scute_csv::{verify, CaCert, CsvCert, Evidence, HskCek, Report, TrustRoots};
use scute_fuzz::{read, seed};

const CSVRS: &str = "csv-openanolis-csvrs-v1report-chain";
const TRUSTEE: &str = "csv-trustee-v1-evidence";

fn seeds() -> Vec<(String, Vec<u8>)> {
    [
        (CSVRS, "report.cert"),
        (CSVRS, "hrk.cert"),
        (CSVRS, "hsk.cert"),
        (CSVRS, "cek.cert"),
        (CSVRS, "hsk_cek.cert"),
        (TRUSTEE, "csv_evidence.json"),
    ]
    .into_iter()
    .filter_map(|(case, file)| Some((format!("{case}-{file}"), read(case, file)?)))
    .collect()
}

fuzz_target!(
    init: seed(seeds()),
    |data: &[u8]| {
        if let Ok(report) = Report::decode(data) {
            assert_eq!(report.encode(), data, "report re-encodes differently");
            let _ = report.tee_info.fields();
            let _ = CsvCert::decode(&report.pek_cert());
        }
        if let Ok(cert) = CaCert::decode(data) {
            assert_eq!(cert.encode(), data, "CA-format certificate re-encodes differently");
        }
        if let Ok(cert) = CsvCert::decode(data) {
            assert_eq!(cert.encode(), data, "CSV-format certificate re-encodes differently");
        }
        if let Ok(chain) = HskCek::decode(data) {
            assert_eq!(chain.encode(), data, "HSK‖CEK re-encodes differently");
            let _ = scute_csv::verify_hsk_cek(&chain, &TrustRoots::hygon());
        }
        if let Ok(evidence) = Evidence::decode(data) {
            if let Evidence::Trustee(t) = &evidence {
                let again = scute_csv::TrusteeEvidence::from_value(&t.to_value())
                    .expect("encoded Trustee evidence decodes");
                assert_eq!(&again, t.as_ref(), "Trustee evidence changes through its encoder");
            }
            let chain = read(CSVRS, "hsk_cek.cert").and_then(|b| HskCek::decode(&b).ok());
            let _ = evidence.chip_serial();
            let roots = TrustRoots::hygon();
            let _ = verify(&evidence, chain.as_ref(), &roots, None);
            let _ = verify(&evidence, None, &roots, Some(&[0u8; 64]));
        }
    }
);
