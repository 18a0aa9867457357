//! What the guest's report data must hold: H(JCS({"additional-evidence", "nonce",
//! "tee-pubkey"})) (rcar_client.rs `get_composite_evidence`), and the digest of init-data that
//! MRCONFIGID (TDX) carries, with the algorithm the init-data TOML names.

use crate::KbsError;
use aws_lc_rs::digest::{digest, SHA256, SHA384, SHA512};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// The name on the wire (kbs-types `HashAlgorithm`, lowercase).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    pub fn from_name(name: &str) -> Result<Self, KbsError> {
        match name.to_ascii_lowercase().as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            _ => Err(KbsError::HashAlgorithm(name.to_string())),
        }
    }

    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            Self::Sha256 => &SHA256,
            Self::Sha384 => &SHA384,
            Self::Sha512 => &SHA512,
        };
        digest(algorithm, bytes).as_ref().to_vec()
    }

    /// The algorithm to select from the client's `supported-hash-algorithms` (SHA-384 when the
    /// client names none, as the client itself defaults to it; else the strongest named one
    /// among SHA-384, SHA-512, SHA-256, in that order of preference).
    pub fn select(extra_params: &Value) -> Result<Self, KbsError> {
        let Some(list) = extra_params.get("supported-hash-algorithms") else {
            return Ok(Self::Sha384);
        };
        let names: Vec<&str> = list
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for preferred in [Self::Sha384, Self::Sha512, Self::Sha256] {
            if names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(preferred.name()))
            {
                return Ok(preferred);
            }
        }
        Err(KbsError::HashAlgorithm(names.join(",")))
    }
}

/// The digest the guest's report data begins with.
pub fn runtime_data_digest(
    algorithm: HashAlgorithm,
    nonce: &str,
    tee_pubkey: &Value,
    additional_evidence: &str,
) -> Result<Vec<u8>, KbsError> {
    let object = json!({
        "additional-evidence": additional_evidence,
        "nonce": nonce,
        "tee-pubkey": tee_pubkey,
    });
    let canonical = serde_json_canonicalizer::to_vec(&object)
        .map_err(|e| KbsError::Canonical(e.to_string()))?;
    Ok(algorithm.digest(&canonical))
}

/// The digest of an init-data TOML document (`algorithm = "sha256|sha384|sha512"`,
/// `version`, `[data]`), over the whole text as sent.
pub fn init_data_digest(format: &str, body: &str) -> Result<Vec<u8>, KbsError> {
    if format != "toml" {
        return Err(KbsError::InitData(format!(
            "format must be \"toml\", not {format:?}"
        )));
    }
    let document: toml::Table =
        toml::from_str(body).map_err(|e| KbsError::InitData(format!("not TOML: {e}")))?;
    let algorithm = document
        .get("algorithm")
        .and_then(toml::Value::as_str)
        .ok_or_else(|| KbsError::InitData("no `algorithm` string".into()))?;
    Ok(HashAlgorithm::from_name(algorithm)?.digest(body.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_prefers_sha384_and_defaults_to_it() {
        assert_eq!(
            HashAlgorithm::select(&json!("")).unwrap(),
            HashAlgorithm::Sha384
        );
        let all = json!({"supported-hash-algorithms": ["sha256", "sha384", "sha512"]});
        assert_eq!(HashAlgorithm::select(&all).unwrap(), HashAlgorithm::Sha384);
        let only = json!({"supported-hash-algorithms": ["SHA512"]});
        assert_eq!(HashAlgorithm::select(&only).unwrap(), HashAlgorithm::Sha512);
        let none = json!({"supported-hash-algorithms": ["sm3"]});
        assert!(HashAlgorithm::select(&none).is_err());
    }

    #[test]
    fn runtime_digest_is_over_the_canonical_object() {
        let key =
            json!({"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW", "x": "AA", "y": "AQ"});
        let got = runtime_data_digest(HashAlgorithm::Sha384, "bm9uY2U=", &key, "").unwrap();
        // RFC 8785: members sorted at every level, no whitespace.
        let text = r#"{"additional-evidence":"","nonce":"bm9uY2U=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AA","y":"AQ"}}"#;
        assert_eq!(got, HashAlgorithm::Sha384.digest(text.as_bytes()));
        // The additional evidence counts, even as a string.
        let other = runtime_data_digest(HashAlgorithm::Sha384, "bm9uY2U=", &key, "{}").unwrap();
        assert_ne!(got, other);
    }

    #[test]
    fn init_data_names_its_algorithm() {
        let body = "algorithm = \"sha256\"\nversion = \"0.1.0\"\n[data]\n\"policy.rego\" = \"x\"\n";
        assert_eq!(
            init_data_digest("toml", body).unwrap(),
            HashAlgorithm::Sha256.digest(body.as_bytes())
        );
        assert!(init_data_digest("json", body).is_err());
        assert!(init_data_digest("toml", "version = \"0.1.0\"").is_err());
        assert!(init_data_digest("toml", "algorithm = \"md5\"").is_err());
        assert!(init_data_digest("toml", "algorithm = [").is_err());
    }
}
