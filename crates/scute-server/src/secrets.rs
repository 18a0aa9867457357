//! Secrets at rest: sealed with AES-256-GCM under a key-encryption key kept in its own file
//! (mode 0600) in the data directory; the secret's name is the associated data, so a sealed
//! value cannot be moved to another name. Files holding secrets are written 0600, atomically.

use crate::error::ServerError;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::path::Path;

pub(crate) struct Sealer {
    key: LessSafeKey,
}

fn secret_err(name: &str, reason: impl std::fmt::Display) -> ServerError {
    ServerError::Secret {
        name: name.into(),
        reason: reason.to_string(),
    }
}

fn data_dir_err(path: &Path) -> impl FnOnce(scute_files::WriteError) -> ServerError + '_ {
    move |e| ServerError::DataDir {
        path: path.display().to_string(),
        source: e.into_io(),
    }
}

/// Writes `bytes` to `path` readable by the owner only, replacing whatever is there atomically
/// (a symlink included: it is replaced, never followed): a fresh temporary file beside it (0600
/// from its first byte), fsynced, renamed over `path`, then the directory fsynced so the rename
/// itself survives a crash. A reader sees the old file or the whole new one, never a part.
/// (`scute_files::replace_private`, the workspace's one writer.)
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    scute_files::replace_private(path, bytes).map_err(data_dir_err(path))
}

/// Like [`write_private`], but never replaces an existing `path`: returns false, writing
/// nothing, when one is there (so writers racing on one directory agree on the first file).
pub(crate) fn write_private_new(path: &Path, bytes: &[u8]) -> Result<bool, ServerError> {
    scute_files::write_private_new(path, bytes).map_err(data_dir_err(path))
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // SystemRandom fails only if the OS has no entropy source, which makes every key unsafe.
    if SystemRandom::new().fill(&mut out).is_err() {
        std::process::abort();
    }
    out
}

impl Sealer {
    /// Loads the key-encryption key from `path`, creating it on first start.
    pub(crate) fn open(path: &Path) -> Result<Self, ServerError> {
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

    pub(crate) fn seal(&self, name: &str, plaintext: &[u8]) -> Result<Vec<u8>, ServerError> {
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

    pub(crate) fn open_sealed(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, ServerError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn private_files_are_0600_whole_and_leave_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // The first file written stays; a later writer learns it was not placed.
        assert!(!write_private_new(&path, b"three").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let fresh = dir.path().join("fresh");
        assert!(write_private_new(&fresh, b"four").unwrap());
        assert_eq!(std::fs::read(&fresh).unwrap(), b"four");
        assert_eq!(names(dir.path()), ["fresh", "secret"]);
    }

    #[test]
    fn a_link_planted_at_a_secret_file_is_replaced_not_followed() {
        // Whoever can write the data directory plants admin-token -> a file of root's; an
        // operator's `scute admin reset-token` must not write the token into that file.
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("passwd");
        std::fs::write(&victim, b"root:x:0:0\n").unwrap();
        let token = dir.path().join("admin-token");
        std::os::unix::fs::symlink(&victim, &token).unwrap();
        write_private(&token, b"0123\n").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"root:x:0:0\n");
        let meta = std::fs::symlink_metadata(&token).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        assert!(write_private(&path, b"x").is_err());
        assert!(write_private_new(&path, b"x").is_ok_and(|placed| !placed));
        assert!(path.is_dir());
        assert_eq!(names(dir.path()), ["taken"]);
    }
}
