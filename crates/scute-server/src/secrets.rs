//! Secrets at rest: sealed with AES-256-GCM under a key-encryption key kept in its own file
//! (mode 0600) in the data directory; the secret's name is the associated data, so a sealed
//! value cannot be moved to another name. Files holding secrets are written 0600, atomically.

use crate::ServerError;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub struct Sealer {
    key: LessSafeKey,
}

fn secret_err(name: &str, reason: impl std::fmt::Display) -> ServerError {
    ServerError::Secret {
        name: name.into(),
        reason: reason.to_string(),
    }
}

/// Writes `bytes` to `path` readable by the owner only, replacing any old file atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    let io = |e: std::io::Error| ServerError::DataDir {
        path: path.display().to_string(),
        source: e,
    };
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // SystemRandom fails only if the OS has no entropy source, which makes every key unsafe.
    if SystemRandom::new().fill(&mut out).is_err() {
        std::process::abort();
    }
    out
}

impl Sealer {
    /// Loads the key-encryption key from `path`, creating it on first start.
    pub fn open(path: &Path) -> Result<Self, ServerError> {
        let key = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let fresh = random_bytes::<32>().to_vec();
                write_private(path, &fresh)?;
                fresh
            }
            Err(e) => {
                return Err(ServerError::DataDir {
                    path: path.display().to_string(),
                    source: e,
                })
            }
        };
        let unbound =
            UnboundKey::new(&AES_256_GCM, &key).map_err(|e| secret_err("master.key", e))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    pub fn seal(&self, name: &str, plaintext: &[u8]) -> Result<Vec<u8>, ServerError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut data = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(name.as_bytes()),
                &mut data,
            )
            .map_err(|e| secret_err(name, e))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    pub fn open_sealed(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, ServerError> {
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or_else(|| secret_err(name, "too short"))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|e| secret_err(name, e))?;
        let mut data = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut data)
            .map_err(|_| {
                secret_err(
                    name,
                    "does not decrypt with this data directory's master key",
                )
            })?;
        Ok(plain.to_vec())
    }
}
