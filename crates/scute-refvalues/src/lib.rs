//! Reference values signed by someone the service trusts: a signed CoRIM (COSE_Sign1, RFC 9052,
//! carrying draft-ietf-rats-corim CoMIDs) or an in-toto/DSSE envelope, verified against the
//! configured signers at an explicit time and mapped to Scute's reference-value names. What
//! comes out is typed ([`SignedReferenceValues`]) and carries its [`Provenance`]; what does not
//! verify, is outside its validity, or uses a profile this crate does not map is refused with a
//! reason, so the caller stores nothing. Pure: bytes and time in, values out.
//!
//! - [`corim`]: COSE_Sign1 / CoRIM / CoMID decoding and the TDX, SNP and SGX profiles.
//! - [`dsse`]: the DSSE envelope, its PAE, and the in-toto statement carrying the values.

pub mod corim;
pub mod dsse;
mod signer;

pub use signer::Signer;

use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// Which signed format a document came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Corim,
    Dsse,
}

/// Where a set of reference values came from: who signed which document, valid when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub format: Format,
    /// The signer's name as configured ([`Signer::name`]).
    pub signer: String,
    /// Hex SHA-256 of the signer's DER SubjectPublicKeyInfo ([`Signer::key_sha256`]): who
    /// signed, in a form no two keys share (a name is only what a certificate says).
    pub signer_key_sha256: String,
    /// `sha256:<hex>` of the signed content (DSSE: the PAE of payloadType and payload; COSE:
    /// the Sig_structure of the protected header and payload), so the same signed content
    /// re-encoded (another `keyid`, whitespace, unprotected header or signature) is the same
    /// document.
    pub document_digest: String,
    /// Validity of the document, Unix seconds, when it states one.
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
}

/// Verified reference values: Scute reference-value name (`mr_td`, `rtmr0`…, `measurement`,
/// `mr_enclave`, `mr_signer`, `isv_prod_id`, `isv_svn_min`…) → accepted values, as JSON values
/// in exactly the form `PUT /v1/reference-values/{name}` takes (lowercase hex strings, numbers
/// for the SGX identifiers).
#[derive(Debug, Clone, PartialEq)]
pub struct SignedReferenceValues {
    pub values: BTreeMap<String, Vec<serde_json::Value>>,
    pub provenance: Provenance,
}

/// Why a signed document was refused. Nothing of a refused document is to be stored.
#[derive(Debug, Error)]
pub enum RefValueError {
    /// The bytes are neither a COSE_Sign1 (CBOR) nor a DSSE envelope (JSON).
    #[error("not a signed CoRIM (COSE_Sign1) or a DSSE envelope: {0}")]
    UnknownFormat(String),
    /// The document's structure is wrong (where, and what was expected).
    #[error("malformed {format:?} document: {detail}")]
    Malformed { format: Format, detail: String },
    /// No configured signer's key verifies the signature.
    #[error("the signature does not verify under any configured reference-value signer")]
    BadSignature,
    /// The document is signed without a signature, or with an algorithm this crate does not take.
    #[error("unsupported or missing signature: {0}")]
    Unsigned(String),
    /// The document is outside its validity at the time given.
    #[error("the document is not valid at {now}: valid {not_before:?}..{not_after:?}")]
    NotValid {
        now: i64,
        not_before: Option<i64>,
        not_after: Option<i64>,
    },
    /// The document carries a measurement profile or claim Scute does not map.
    #[error("unsupported profile or claim: {0}")]
    UnsupportedProfile(String),
    /// The document verified but carries no reference value Scute maps.
    #[error("the document holds no reference values")]
    Empty,
    /// A configured signer could not be read.
    #[error("reference-value signer {name}: {detail}")]
    BadSigner { name: String, detail: String },
}

/// Verifies `document` (CoRIM or DSSE, told apart by its first byte) against `signers` at
/// `now` (Unix seconds).
pub fn verify_document(
    document: &[u8],
    signers: &[Signer],
    now: i64,
) -> Result<SignedReferenceValues, RefValueError> {
    match document.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => dsse::verify(document, signers, now),
        Some(_) => corim::verify(document, signers, now),
        None => Err(RefValueError::UnknownFormat("the document is empty".into())),
    }
}

/// `sha256:<hex>` of bytes (a document's signed content).
pub fn document_digest(document: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, document);
    format!("sha256:{}", hex::encode(digest.as_ref()))
}

/// Reference-value names whose values are byte strings (lowercase hex of exactly this many
/// bytes: the length of the report field they are compared with). Shared by the CoRIM profile
/// and the DSSE predicate, so a value of the wrong length is refused whichever way it came.
pub const HEX_NAMES: &[(&str, usize)] = &[
    ("mr_td", 48),
    ("rtmr0", 48),
    ("rtmr1", 48),
    ("rtmr2", 48),
    ("rtmr3", 48),
    ("mr_config_id", 48),
    ("mr_owner", 48),
    ("mr_owner_config", 48),
    ("mr_seam", 48),
    ("measurement", 48),
    ("host_data", 32),
    ("family_id", 16),
    ("image_id", 16),
    ("id_key_digest", 48),
    ("mr_enclave", 32),
    ("mr_signer", 32),
    ("config_id", 64),
];

/// Reference-value names whose values are 16-bit unsigned integers (the SGX report's
/// ISVPRODID and ISVSVN).
pub const U16_NAMES: &[&str] = &["isv_prod_id", "isv_svn", "isv_svn_min"];

/// The byte length of a hex-valued name ([`HEX_NAMES`]).
pub fn hex_length(name: &str) -> Option<usize> {
    HEX_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, len)| *len)
}

/// Why `value` cannot be a value of `name`, for the names this crate knows the form of;
/// `None` when it can (or the name is one a custom policy defines).
pub fn value_problem(name: &str, value: &serde_json::Value) -> Option<String> {
    if let Some(len) = hex_length(name) {
        let ok = value.as_str().is_some_and(|s| {
            s.len() == 2 * len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        return (!ok)
            .then(|| format!("{name} takes lowercase hex strings of {len} bytes, not {value}"));
    }
    if U16_NAMES.contains(&name) {
        // An integer as JSON writes it: 7, never 7.0 (a float would compare unlike the
        // report's integer in some readers and like it in others).
        let ok = value.as_u64().is_some_and(|n| n <= u64::from(u16::MAX));
        return (!ok).then(|| format!("{name} takes integers 0-65535, not {value}"));
    }
    setting_value_problem(name, value)
}

/// Reference-value names that are settings the default policy reads rather than values a
/// measurement is compared with (docs/tcb-baselines.md). The service checks their form on
/// `PUT /v1/reference-values/{name}` as a signed document's are checked here.
pub const SETTING_NAMES: &[&str] = &[
    "tcb_min_evaluation_data_number",
    "tcb_baseline_date",
    "tcb_grace_days",
    "snp_min_launch_tcb",
    "snp_min_mit_vector",
];

/// The settings that hold exactly one value: one value decides, so a list of several (which
/// would leave the reader to guess which counts) is refused.
pub const SINGLE_VALUED_SETTINGS: &[&str] = &[
    "tcb_min_evaluation_data_number",
    "tcb_baseline_date",
    "tcb_grace_days",
    "snp_min_mit_vector",
];

/// The longest `tcb_grace_days` window: ten years.
pub const MAX_GRACE_DAYS: u64 = 3650;

/// The SPL names of an SEV-SNP TCB a minimum (`snp_min_tcb`, `snp_min_launch_tcb`) may name:
/// the members of the report's TCB claims (`fmc` on Turin).
pub const SNP_TCB_COMPONENTS: &[&str] = &["bootloader", "tee", "snp", "microcode", "fmc"];

/// Why `values`, as a whole, cannot be the values of `name`: a single-valued setting
/// ([`SINGLE_VALUED_SETTINGS`]) holds exactly one, and every value must have its name's form
/// ([`value_problem`]). `None` when they can.
pub fn values_problem(name: &str, values: &[serde_json::Value]) -> Option<String> {
    if SINGLE_VALUED_SETTINGS.contains(&name) && values.len() != 1 {
        return Some(format!(
            "{name} is a setting and takes exactly one value, not {}: one value decides",
            values.len()
        ));
    }
    values.iter().find_map(|v| value_problem(name, v))
}

/// The form of one value of a setting ([`SETTING_NAMES`]); `None` for other names.
fn setting_value_problem(name: &str, value: &serde_json::Value) -> Option<String> {
    let ok = match name {
        // Intel's tcbEvaluationDataNumber is a 32-bit unsigned integer.
        "tcb_min_evaluation_data_number" => {
            value.as_u64().is_some_and(|n| n <= u64::from(u32::MAX))
        }
        "tcb_grace_days" => value.as_u64().is_some_and(|n| n <= MAX_GRACE_DAYS),
        // MIT_VECTOR is a 64-bit field of the report.
        "snp_min_mit_vector" => value.as_u64().is_some(),
        "tcb_baseline_date" => value.as_str().is_some_and(is_baseline_date),
        "snp_min_launch_tcb" => value.as_object().is_some_and(|tcb| {
            !tcb.is_empty()
                && tcb.iter().all(|(component, spl)| {
                    SNP_TCB_COMPONENTS.contains(&component.as_str())
                        && spl.as_u64().is_some_and(|n| n <= u64::from(u8::MAX))
                })
        }),
        _ => return None,
    };
    let form = match name {
        "tcb_min_evaluation_data_number" => "an integer 0-4294967295".to_string(),
        "tcb_grace_days" => format!("an integer of days 0-{MAX_GRACE_DAYS}"),
        "snp_min_mit_vector" => "an integer bitmask 0-18446744073709551615".to_string(),
        "tcb_baseline_date" => {
            "a UTC date \"YYYY-MM-DD\" or date-time \"YYYY-MM-DDThh:mm:ssZ\" (RFC 3339)".to_string()
        }
        _ => format!(
            "a non-empty object of SPL values 0-255 by component ({})",
            SNP_TCB_COMPONENTS.join(", ")
        ),
    };
    (!ok).then(|| format!("{name} takes {form}, not {value}"))
}

/// A TCB baseline in the one form the default policy compares as text with Intel's `tcbDate`
/// (`YYYY-MM-DDThh:mm:ssZ`, fixed width, so text order is time order): an RFC 3339 full-date
/// (that day's midnight UTC) or date-time in UTC (`Z`) without fractional seconds, naming a
/// real day and time.
fn is_baseline_date(text: &str) -> bool {
    use time::format_description::well_known::Rfc3339;
    let date = time::macros::format_description!("[year]-[month]-[day]");
    match text.len() {
        10 => time::Date::parse(text, &date)
            .ok()
            .and_then(|d| d.format(&date).ok())
            .is_some_and(|canonical| canonical == text),
        20 => time::OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .filter(|t| t.offset().is_utc())
            .and_then(|t| t.format(&Rfc3339).ok())
            .is_some_and(|canonical| canonical == text),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each setting's form at its edges: the last value taken and the first refused.
    #[test]
    fn settings_take_their_forms_up_to_their_edges() {
        let ok = |name: &str, value: serde_json::Value| value_problem(name, &value).is_none();
        assert!(ok("tcb_grace_days", json!(0)) && ok("tcb_grace_days", json!(3650)));
        assert!(!ok("tcb_grace_days", json!(3651)) && !ok("tcb_grace_days", json!(-1)));
        assert!(!ok("tcb_grace_days", json!(30.0)));
        assert!(ok("tcb_min_evaluation_data_number", json!(u32::MAX)));
        assert!(!ok(
            "tcb_min_evaluation_data_number",
            json!(u64::from(u32::MAX) + 1)
        ));
        assert!(ok("snp_min_mit_vector", json!(0)) && ok("snp_min_mit_vector", json!(u64::MAX)));
        assert!(!ok("snp_min_mit_vector", json!("0x1")) && !ok("snp_min_mit_vector", json!(-1)));
        for date in [
            "2024-03-13",
            "2024-02-29",
            "2024-03-13T00:00:00Z",
            "2024-03-13T23:59:59Z",
        ] {
            assert!(ok("tcb_baseline_date", json!(date)), "{date}");
        }
        for date in [
            "2023-02-29",
            "2024-3-13",
            "2024-03-13T00:00:00",
            "2024-03-13T00:00:00.5Z",
            "2024-03-13t00:00:00z",
            "2024-03-13T00:00:00+00:00",
            "2024-03-13T24:00:00Z",
            "20240313",
            "",
        ] {
            assert!(!ok("tcb_baseline_date", json!(date)), "{date}");
        }
        assert!(!ok("tcb_baseline_date", json!(20240313)));
        assert!(ok(
            "snp_min_launch_tcb",
            json!({"bootloader": 0, "fmc": 255})
        ));
        assert!(!ok("snp_min_launch_tcb", json!({})));
        assert!(!ok("snp_min_launch_tcb", json!({"fmc": 256})));
        assert!(!ok("snp_min_launch_tcb", json!([{"snp": 1}])));
        // A name that is no setting keeps whatever form its policy gives it.
        assert!(ok("my_policy_value", json!(["anything"])));
    }

    #[test]
    fn a_single_valued_setting_takes_exactly_one_value() {
        for name in SINGLE_VALUED_SETTINGS {
            assert!(values_problem(name, &[]).is_some(), "{name}");
            let two = values_problem(name, &[json!(1), json!(1)]).unwrap();
            assert!(two.contains("exactly one value"), "{name}: {two}");
        }
        assert_eq!(values_problem("tcb_grace_days", &[json!(30)]), None);
        // Several minimums are several minimums: each must be met.
        let minimums = [json!({"snp": 1}), json!({"bootloader": 2})];
        assert_eq!(values_problem("snp_min_launch_tcb", &minimums), None);
        assert_eq!(values_problem("mr_td", &[]), None);
    }
}
