//! The one way Scute writes a file a reader may open at any moment: outputs of the CLI (quotes,
//! certificates, collateral, the simulator's directory), secrets the CLI fetches, and the
//! server's key and token files. Whole or not at all: the bytes go into a new file beside the
//! target, created exclusively (O_EXCL) under a random name so nothing pre-placed at a
//! guessable name is followed or clobbered, then renamed over the target (or linked, when the
//! target must not be replaced). Secrets are 0600 from their first byte and reach the disk
//! (file and directory fsynced) before the call returns. A device, FIFO or symlink named as
//! the target (`/dev/stdout`, a pipe) is written through, never replaced.
//!
//! Its own crate, below both the CLI and the server: `scute-codec` must stay free of I/O, and
//! `scute-attester` (the guest side, with the simulators) is not something the server should
//! depend on for a file writer.

use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("output path {0} has no file name")]
    NoFileName(PathBuf),
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl WriteError {
    /// The underlying I/O error, for callers whose error names the path itself.
    pub fn into_io(self) -> std::io::Error {
        match self {
            WriteError::NoFileName(_) => std::io::ErrorKind::InvalidInput.into(),
            WriteError::Io { source, .. } => source,
        }
    }
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io { op, path, source }
}

/// Who may read what is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// The mode `std::fs::write` gives (0666 less the umask): quotes, certificates and
    /// collateral that other users may need to read.
    Shared,
    /// 0600 from the first byte, and durable before the call returns.
    Private,
}

/// Writes an output that others may read, replacing `path` whole.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    place(
        path,
        bytes,
        Access::Shared,
        Placement::ReplaceOrWriteThrough,
    )
    .map(drop)
}

/// Writes a secret readable by the owner only, replacing `path` whole; file and directory are
/// fsynced, so after a crash a reader sees the old file or the whole new one.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    place(
        path,
        bytes,
        Access::Private,
        Placement::ReplaceOrWriteThrough,
    )
    .map(drop)
}

/// Writes a secret of a service's own state (its key and token files), replacing whatever is at
/// `path` by rename, a symlink, device or FIFO included: never written through, so a link
/// planted in the data directory cannot point the secret at another file (which would then hold
/// it with its own mode, or be clobbered). File and directory are fsynced.
pub fn replace_private(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    place(path, bytes, Access::Private, Placement::Replace).map(drop)
}

/// Like [`write_private`], but never replaces an existing `path` (whatever it is): returns
/// false, writing nothing, when one is there, so writers racing on one directory agree on the
/// first file.
pub fn write_private_new(path: &Path, bytes: &[u8]) -> Result<bool, WriteError> {
    place(path, bytes, Access::Private, Placement::IfAbsent)
}

/// What happens to what is already at the target path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// A regular file is replaced by rename; a device, FIFO or symlink (`/dev/stdout`, a pipe)
    /// is written through: the CLI's outputs go where the user pointed them.
    ReplaceOrWriteThrough,
    /// Whatever is there is replaced by rename, never followed: a service's own state.
    Replace,
    /// Nothing is replaced: the call places the file only where none is.
    IfAbsent,
}

fn place(
    path: &Path,
    bytes: &[u8],
    access: Access,
    placement: Placement,
) -> Result<bool, WriteError> {
    let replace = placement != Placement::IfAbsent;
    if placement == Placement::ReplaceOrWriteThrough {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_file() {
                write_through(path, bytes, access)?;
                return Ok(true);
            }
        }
    }
    let mut tmp = temp_beside(path, access)?;
    tmp.write_all(bytes).map_err(io("writing", tmp.path()))?;
    if access == Access::Private {
        tmp.as_file()
            .sync_all()
            .map_err(io("syncing", tmp.path()))?;
    }
    // On failure the temporary file is dropped, which removes it.
    let placed = if replace {
        tmp.persist(path)
            .map_err(|e| io("renaming to", path)(e.error))?;
        true
    } else {
        // An atomic create-if-absent of the whole file (renameat2 NOREPLACE, or link(2)).
        match tmp.persist_noclobber(path) {
            Ok(_) => true,
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(io("placing", path)(e.error)),
        }
    };
    if placed && access == Access::Private {
        let dir = parent(path);
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing", dir))?;
    }
    Ok(placed)
}

/// Writes into an existing device, FIFO or symlink target. A secret file this creates (a
/// symlink to a missing file) is 0600 too.
fn write_through(path: &Path, bytes: &[u8], access: Access) -> Result<(), WriteError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if access == Access::Private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = access;
    let mut file = options.open(path).map_err(io("opening", path))?;
    // A regular file reached through a symlink keeps a secret only if it is the owner's alone
    // and on disk; a device or FIFO (a terminal, a pipe) is left as it is.
    if access == Access::Private && file.metadata().is_ok_and(|m| m.file_type().is_file()) {
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(io("restricting", path))?;
    }
    file.write_all(bytes).map_err(io("writing", path))?;
    if access == Access::Private && file.metadata().is_ok_and(|m| m.file_type().is_file()) {
        file.sync_all().map_err(io("syncing", path))?;
    }
    Ok(())
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A new, empty file in `path`'s directory named `.NAME.XXXXXX.tmp`, removed if dropped.
fn temp_beside(path: &Path, access: Access) -> Result<tempfile::NamedTempFile, WriteError> {
    let dir = parent(path);
    let name = path
        .file_name()
        .ok_or_else(|| WriteError::NoFileName(path.to_path_buf()))?
        .to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(match access {
        Access::Shared => 0o666,
        Access::Private => 0o600,
    }));
    #[cfg(not(unix))]
    let _ = access;
    builder
        .tempfile_in(dir)
        .map_err(io("creating a file in", dir))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn temporary_names_are_random_and_hidden_beside_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("quote.bin");
        let a = temp_beside(&out, Access::Shared).unwrap();
        let b = temp_beside(&out, Access::Private).unwrap();
        assert_ne!(a.path(), b.path());
        for t in [&a, &b] {
            assert_eq!(t.path().parent(), Some(dir.path()));
            let name = t.path().file_name().unwrap().to_string_lossy().to_string();
            assert!(
                name.starts_with(".quote.bin.") && name.ends_with(".tmp"),
                "{name}"
            );
            assert!(name.len() >= ".quote.bin.XXXXXX.tmp".len(), "{name}");
        }
        // The secret's temporary file is private before a byte is written to it.
        assert_eq!(mode(b.path()), 0o600);
    }

    #[test]
    fn private_files_are_0600_whole_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(mode(&path), 0o600);
        assert!(!write_private_new(&path, b"three").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let fresh = dir.path().join("fresh");
        assert!(write_private_new(&fresh, b"four").unwrap());
        assert_eq!(std::fs::read(&fresh).unwrap(), b"four");
        assert_eq!(mode(&fresh), 0o600);
        assert_eq!(names(dir.path()), ["fresh", "secret"]);
    }

    #[test]
    fn a_private_file_replaces_a_readable_one_instead_of_keeping_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_secret_written_through_a_dangling_symlink_is_created_0600() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        symlink(&target, &link).unwrap();
        write_private(&link, b"secret").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        assert_eq!(mode(&target), 0o600);
    }

    #[test]
    fn a_service_secret_replaces_a_planted_symlink_and_never_follows_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("admin-token");
        symlink(&target, &link).unwrap();
        replace_private(&link, b"secret").unwrap();
        // The link is gone, replaced by the owner's own file; what it pointed at is untouched.
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(mode(&target), 0o644);
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(mode(&link), 0o600);
        assert_eq!(std::fs::read(&link).unwrap(), b"secret");
        // A dangling link too: nothing is created where it points.
        let missing = dir.path().join("missing");
        let dangling = dir.path().join("master.key");
        symlink(&missing, &dangling).unwrap();
        replace_private(&dangling, b"key").unwrap();
        assert!(!missing.exists());
        assert_eq!(std::fs::read(&dangling).unwrap(), b"key");
    }

    #[test]
    fn a_secret_written_through_a_symlink_to_a_file_becomes_the_owners_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link");
        symlink(&target, &link).unwrap();
        write_private(&link, b"secret").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        assert_eq!(mode(&target), 0o600);
    }

    #[test]
    fn shared_outputs_get_the_usual_mode_and_write_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("quote.bin");
        write_atomic(&out, b"q").unwrap();
        assert_ne!(
            mode(&out) & 0o044,
            0,
            "readable by others under a usual umask"
        );
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link");
        symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        assert!(matches!(
            write_private(&path, b"x"),
            Err(WriteError::Io { .. })
        ));
        assert!(write_atomic(&path, b"x").is_err());
        assert!(write_private_new(&path, b"x").is_ok_and(|placed| !placed));
        assert!(path.is_dir());
        assert_eq!(names(dir.path()), ["taken"]);
    }

    #[test]
    fn a_file_planted_at_a_temporary_name_is_neither_followed_nor_clobbered() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let out = dir.path().join("secret");
        // Every name of the old predictable schemes, pointing at the victim.
        for name in [
            format!(".secret.tmp-{}", std::process::id()),
            "secret.tmp".to_string(),
        ] {
            symlink(&victim, dir.path().join(name)).unwrap();
        }
        write_private(&out, b"s").unwrap();
        write_atomic(&out, b"t").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&out).unwrap(), b"t");
    }

    #[test]
    fn a_path_without_a_file_name_is_an_error_naming_it() {
        let err = write_atomic(Path::new("/"), b"x").unwrap_err();
        assert!(matches!(
            err,
            WriteError::NoFileName(_) | WriteError::Io { .. }
        ));
        let err = write_private(Path::new(".."), b"x").unwrap_err();
        assert!(err.to_string().contains(".."), "{err}");
    }
}
