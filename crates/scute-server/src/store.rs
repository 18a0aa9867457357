//! The store: SQLite in the data directory (the embedded default) or PostgreSQL shared by
//! replicas, through sqlx's `Any` driver with portable SQL and versioned migrations. Secrets
//! arrive here sealed; SQLite's files are the owner's alone (0600) from the first byte.

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Row};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    spends: mpsc::Sender<Spend>,
}

/// A nonce spend that could not be recorded: the store's error, as every spend committed with
/// it saw it. Nothing of its batch was spent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("recording the spent nonce: {0}")]
pub struct SpendFailed(Arc<sqlx::Error>);

struct Spend {
    tag: Vec<u8>,
    expires: i64,
    spent: oneshot::Sender<Result<bool, SpendFailed>>,
}

/// Most spends committed in one statement.
const MAX_SPEND_BATCH: usize = 64;

/// Group commit of nonce spends: while one batch's statement runs, the spends arriving queue,
/// and the next statement records them all, so a burst costs one write transaction per batch
/// rather than per attestation, and a lone spend waits for nothing. Each batch is one atomic
/// `INSERT … ON CONFLICT (tag) DO NOTHING RETURNING tag`: a tag comes back only to the one
/// statement (on any replica) that inserted it, and within a batch only its first spend wins.
async fn commit_spends(pool: AnyPool, mut spends: mpsc::Receiver<Spend>) {
    let mut batch = Vec::with_capacity(MAX_SPEND_BATCH);
    while spends.recv_many(&mut batch, MAX_SPEND_BATCH).await > 0 {
        let mut unique: Vec<(&[u8], i64)> = Vec::with_capacity(batch.len());
        for spend in &batch {
            if !unique.iter().any(|(tag, _)| *tag == spend.tag.as_slice()) {
                unique.push((&spend.tag, spend.expires));
            }
        }
        let values = (0..unique.len())
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO spent_nonces (tag, expires) VALUES {values} ON CONFLICT (tag) DO NOTHING RETURNING tag"
        );
        let mut query = sqlx::query(&sql);
        for (tag, expires) in &unique {
            query = query.bind(tag.to_vec()).bind(*expires);
        }
        let inserted: Result<Vec<Vec<u8>>, sqlx::Error> = query
            .fetch_all(&pool)
            .await
            .and_then(|rows| rows.iter().map(|row| row.try_get(0)).collect());
        let mut inserted = inserted.map_err(|e| SpendFailed(Arc::new(e)));
        for spend in batch.drain(..) {
            let outcome = match &mut inserted {
                Ok(tags) => Ok(match tags.iter().position(|t| *t == spend.tag) {
                    // Claimed once: a second spend of the tag in this batch is a replay.
                    Some(i) => {
                        tags.swap_remove(i);
                        true
                    }
                    None => false,
                }),
                Err(e) => Err(e.clone()),
            };
            // A spender that stopped waiting (its request was dropped) learns nothing.
            let _ = spend.spent.send(outcome);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One step of the schema, applied once, in order, recorded in `schema_migrations`. `{blob}`
/// is each backend's byte-string type. Version 1 is the schema from before migrations were
/// versioned (its statements are idempotent, so older stores take it as they are).
const MIGRATIONS: [(i64, &[&str]); 8] = [
    (
        1,
        &[
            "CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, sealed {blob} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS policies (id TEXT PRIMARY KEY, rego TEXT NOT NULL, updated BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS reference_values (name TEXT PRIMARY KEY, value_json TEXT NOT NULL, updated BIGINT NOT NULL)",
            // Intel publishes an SGX and a TDX TCB Info for the same FMSPC: the TEE is part of the key.
            "CREATE TABLE IF NOT EXISTS collateral (fmspc TEXT NOT NULL, ca TEXT NOT NULL, tee TEXT NOT NULL, files_json TEXT NOT NULL, updated BIGINT NOT NULL, PRIMARY KEY (fmspc, ca, tee))",
            // Key broker sessions, keyed by SHA-256 of the cookie (a database reader cannot ride one).
            "CREATE TABLE IF NOT EXISTS kbs_sessions (id_sha256 TEXT PRIMARY KEY, tee TEXT NOT NULL, nonce TEXT NOT NULL, hash_alg TEXT NOT NULL, nonce_spent BIGINT NOT NULL, expires BIGINT NOT NULL, token TEXT)",
            // Resources sealed with the master key; the path is the associated data.
            "CREATE TABLE IF NOT EXISTS kbs_resources (path TEXT PRIMARY KEY, sealed {blob} NOT NULL, updated BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS kbs_resource_policy (id TEXT PRIMARY KEY, rego TEXT NOT NULL, updated BIGINT NOT NULL)",
            // Spent challenge nonces (by MAC tag), kept only until the nonce would have expired anyway.
            "CREATE TABLE IF NOT EXISTS spent_nonces (tag {blob} PRIMARY KEY, expires BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS spent_nonces_expires ON spent_nonces (expires)",
            "CREATE TABLE IF NOT EXISTS pck_certs (qe_id TEXT NOT NULL, pce_id TEXT NOT NULL, tcbm TEXT NOT NULL, fmspc TEXT NOT NULL, ca TEXT NOT NULL, cert_pem TEXT NOT NULL, chain_pem TEXT NOT NULL, updated BIGINT NOT NULL, PRIMARY KEY (qe_id, pce_id, tcbm))",
            "CREATE TABLE IF NOT EXISTS pccs_items (name TEXT PRIMARY KEY, body TEXT NOT NULL, chain_pem TEXT NOT NULL, updated BIGINT NOT NULL)",
        ],
    ),
    (
        2,
        &[
            // Token signing keys, newest active; a retired key stays published until the tokens
            // it signed have expired.
            "CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, sealed {blob} NOT NULL, created BIGINT NOT NULL, retired BIGINT)",
            // A counter per kind of shared setting, bumped in the same transaction as each change,
            // so every replica sees a change by polling one row.
            "CREATE TABLE store_versions (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
        ],
    ),
    (
        3,
        &[
            // Hygon CSV: each chip's HSK ‖ CEK (as Hygon's KDS serves them), keyed by chip
            // serial, stored only once they chain to a trusted HRK.
            "CREATE TABLE csv_hsk_cek (chip_serial TEXT PRIMARY KEY, hsk_cek {blob} NOT NULL, updated BIGINT NOT NULL)",
        ],
    ),
    (
        4,
        &[
            // KBS challenges live in their self-authenticating cookies (`kbs_session`): a row
            // exists only for an attested session, inserted once (the challenge's single use),
            // keyed by SHA-256 of the cookie, kept until both the session and the challenge
            // have expired (`forget_after`, which the purge deletes by).
            "CREATE TABLE kbs_attested (id_sha256 TEXT PRIMARY KEY, token TEXT NOT NULL, expires BIGINT NOT NULL, forget_after BIGINT NOT NULL)",
            "CREATE INDEX kbs_attested_forget_after ON kbs_attested (forget_after)",
            // The per-/auth session rows of version 1 (the challenges are cookies now).
            "DROP TABLE kbs_sessions",
        ],
    ),
    (
        5,
        &[
            // Signed reference-value documents (a DSSE envelope or a signed CoRIM) as verified
            // at import, keyed by `sha256:<hex>` of the document: who signed them, their
            // validity (Unix seconds; NULL when unbounded) and the values by name (JSON). The
            // values count only while the document is valid (`domain::reference`).
            "CREATE TABLE signed_reference_values (digest TEXT PRIMARY KEY, signer TEXT NOT NULL, format TEXT NOT NULL, not_before BIGINT, not_after BIGINT, values_json TEXT NOT NULL, imported BIGINT NOT NULL)",
        ],
    ),
    (
        6,
        &[
            // Who signed a document by key (hex SHA-256 of the signer's SubjectPublicKeyInfo),
            // not by the name a certificate gives it: a document counts only while its signer's
            // key is configured (`domain::reference`). NULL for documents imported before this
            // version, which therefore count no more until imported again.
            "ALTER TABLE signed_reference_values ADD COLUMN key_sha256 TEXT",
        ],
    ),
    (
        7,
        &[
            // Intel's early and standard TCB evaluation data sets (PCS `update=`) of one
            // platform live side by side: the kind is part of the key, and nothing in the
            // signed files says which it is. Sets stored before are the standard ones (the
            // only kind fetched or served until then). A new table, as neither backend can
            // change a primary key in place.
            "CREATE TABLE collateral_by_update (fmspc TEXT NOT NULL, ca TEXT NOT NULL, tee TEXT NOT NULL, update_type TEXT NOT NULL, files_json TEXT NOT NULL, updated BIGINT NOT NULL, PRIMARY KEY (fmspc, ca, tee, update_type))",
            "INSERT INTO collateral_by_update (fmspc, ca, tee, update_type, files_json, updated) SELECT fmspc, ca, tee, 'standard', files_json, updated FROM collateral",
            "DROP TABLE collateral",
            "ALTER TABLE collateral_by_update RENAME TO collateral",
        ],
    ),
    (
        8,
        &[
            // The platforms the service attested (`platforms`): one row per TEE,
            // platform (FMSPC, chip id or chip serial) and TCB level (canonical JSON of the
            // values a verdict depends on), with the last verdict. No evidence, no report
            // data, nonces or tokens. Bounded by `platforms_max` (the least recently seen
            // rows go) and `platform_retention_days` (older rows are purged).
            "CREATE TABLE platforms (tee TEXT NOT NULL, platform TEXT NOT NULL, tcb TEXT NOT NULL, tcb_status TEXT NOT NULL, ear_status TEXT, tcb_date TEXT, superseded_at TEXT, newest_tcb_date TEXT, tcb_evaluation_data_number BIGINT, advisory_ids TEXT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, attestations BIGINT NOT NULL, PRIMARY KEY (tee, platform, tcb))",
            "CREATE INDEX platforms_last_seen ON platforms (last_seen)",
        ],
    ),
];

/// PostgreSQL advisory lock held while migrating, so replicas starting at once migrate once.
const MIGRATION_LOCK: i64 = 0x0005_c07e_0001;

/// What `store_versions` counts: policies, reference values and the resource policy (which
/// every replica compiles in memory), and the signing keys.
pub(crate) const VERSION_POLICIES: &str = "policies";
pub(crate) const VERSION_SIGNING_KEYS: &str = "signing_keys";
pub(crate) const VERSION_COLLATERAL: &str = "collateral";
/// The admin token's hash (replaced by `scute admin reset-token`).
pub(crate) const VERSION_ADMIN_TOKEN: &str = "admin_token";

/// How long past its expiry a spent nonce is still remembered: more than a request can wait
/// for a store connection, plus the clock skew replicas may have.
pub const SPENT_NONCE_GRACE_SECS: i64 = 300;

async fn bump_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO store_versions (name, version) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET version = store_versions.version + 1")
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) struct SigningKeyRow {
    pub kid: String,
    pub sealed: Vec<u8>,
    pub created: i64,
    pub retired: Option<i64>,
}

/// The database and the journal files SQLite keeps beside it.
const DB_FILES: [&str; 3] = ["scute.db", "scute.db-wal", "scute.db-shm"];

/// Creates the database file 0600 (SQLite gives its -wal and -shm files the main file's mode)
/// and takes group and world access away from any older files.
fn restrict_db_files(db: &Path) -> Result<(), sqlx::Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(db)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let path = PathBuf::from(path);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A database URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The replicas' verdicts come from the rows they read (policies, reference values, spent
/// nonces), so the link to a database on another host must be TLS with the server's name
/// verified. The URL is read by the driver's own parser (sqlx's `PgConnectOptions`, with the
/// `PG*` environment it also reads), so the check judges the host, socket and TLS mode the
/// driver will actually connect with, whatever the spelling: `ssl-mode=` as well as
/// `sslmode=`, `hostaddr=`, `host=`, repeated keys (the last wins) and percent-encoded ones.
/// A Unix socket or a loopback address needs no TLS.
///
/// `verify-ca` is not enough: it checks the chain but not the name, and without a private
/// `sslrootcert` the driver trusts the public web roots, so any certificate any public CA
/// issued, for any name, would pass.
pub(crate) fn postgres_link_is_protected(url: &str) -> Result<(), String> {
    use sqlx::postgres::{PgConnectOptions, PgSslMode};
    use std::str::FromStr;
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| format!("the PostgreSQL driver cannot read this URL: {e}"))?;
    if options.get_socket().is_some() {
        return Ok(());
    }
    let host = options.get_host();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback || matches!(options.get_ssl_mode(), PgSslMode::VerifyFull) {
        return Ok(());
    }
    Err(format!(
        "the database at {host} is reached over the network with sslmode {:?}: use \
         sslmode=verify-full (and sslrootcert=FILE for a private CA), or a Unix socket",
        options.get_ssl_mode()
    ))
}

/// Which database a URL names: `postgres://` / `postgresql://`, or `sqlite://PATH`.
pub(crate) fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else if url.starts_with("sqlite://") {
        Some(Backend::Sqlite)
    } else {
        None
    }
}

impl Store {
    /// The embedded store: `scute.db` in the data directory.
    pub async fn open(data_dir: &Path) -> Result<Self, sqlx::Error> {
        Self::connect(None, data_dir).await
    }

    /// The store at `url` (`postgres://…` or `sqlite://PATH`), or the embedded one when `None`.
    /// Runs the migrations this store has not had yet.
    pub async fn connect(url: Option<&str>, data_dir: &Path) -> Result<Self, sqlx::Error> {
        Self::connect_until(url, data_dir, i64::MAX).await
    }

    /// `connect`, running only the migrations up to version `last`: a store as an older
    /// release left it, for tests of the migrations that follow. Not for the service.
    #[doc(hidden)]
    pub async fn connect_until(
        url: Option<&str>,
        data_dir: &Path,
        last: i64,
    ) -> Result<Self, sqlx::Error> {
        install_default_drivers();
        let backend = match url {
            None => Backend::Sqlite,
            Some(u) => backend_of(u).ok_or_else(|| {
                sqlx::Error::Configuration(
                    format!("database URL {}: not postgres:// or sqlite://", redact(u)).into(),
                )
            })?,
        };
        let pool = match backend {
            Backend::Sqlite => {
                let path = match url {
                    None => data_dir.join(DB_FILES[0]),
                    Some(u) => PathBuf::from(
                        u.trim_start_matches("sqlite://")
                            .split('?')
                            .next()
                            .unwrap_or_default(),
                    ),
                };
                restrict_db_files(&path)?;
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let pool = AnyPoolOptions::new()
                    .max_connections(4)
                    // WAL with synchronous=NORMAL: a commit survives a crash of the process (the
                    // WAL is written before the call returns); only an OS crash or power loss can
                    // lose the last commits, never corrupt the file. FULL would fsync on every
                    // spent nonce and session.
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::query("PRAGMA synchronous=NORMAL")
                                .execute(conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?;
                sqlx::query("PRAGMA journal_mode=WAL")
                    .execute(&pool)
                    .await?;
                pool
            }
            Backend::Postgres => {
                // Every way into the store (serve, imports, reset-token) refuses a link the
                // driver would make in clear text or to an unverified server.
                postgres_link_is_protected(url.unwrap_or_default())
                    .map_err(|why| sqlx::Error::Configuration(why.into()))?;
                AnyPoolOptions::new()
                    .max_connections(16)
                    // A replica whose database is gone answers 503 within seconds rather than
                    // holding requests; the pool reconnects by itself when it is back.
                    .acquire_timeout(Duration::from_secs(3))
                    .connect(url.unwrap_or_default())
                    .await?
            }
        };
        let (spends, queued) = mpsc::channel(4 * MAX_SPEND_BATCH);
        tokio::spawn(commit_spends(pool.clone(), queued));
        let store = Self {
            pool,
            backend,
            spends,
        };
        store.migrate(last).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn migrate(&self, last: i64) -> Result<(), sqlx::Error> {
        let blob = match self.backend {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        };
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let done: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        for (version, statements) in MIGRATIONS {
            if done.contains(&version) || version > last {
                continue;
            }
            for statement in statements {
                sqlx::query(&statement.replace("{blob}", blob))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)")
                .bind(version)
                .bind(crate::clock::now())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// The migrations this store has had, in order.
    /// The store at `url` or in `data_dir` as it is, without running any migration: for reading
    /// a store another process owns (a dry run must not migrate a database replicas of an
    /// older release still use). `Ok(None)` when it lacks this release's migrations.
    pub async fn open_current(
        url: Option<&str>,
        data_dir: &Path,
    ) -> Result<Option<Self>, sqlx::Error> {
        let store = Self::connect_until(url, data_dir, 0).await?;
        let have = store.schema_versions().await?;
        let current = MIGRATIONS.iter().all(|(version, _)| have.contains(version));
        Ok(current.then_some(store))
    }

    pub async fn schema_versions(&self) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect()
    }

    pub async fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        let row = sqlx::query("SELECT sealed FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()
    }

    /// The sealed secret `name`, storing `sealed` first when there is none. Replicas starting
    /// at once each offer theirs; one insert wins and every replica gets the winner back.
    /// Returns whether `sealed` was the one stored.
    pub async fn secret_or_insert(
        &self,
        name: &str,
        sealed: &[u8],
    ) -> Result<(Vec<u8>, bool), sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO secrets (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed.to_vec())
        .execute(&self.pool)
        .await?;
        let stored = self.secret(name).await?.ok_or(sqlx::Error::RowNotFound)?;
        Ok((stored, done.rows_affected() == 1))
    }

    /// Signing keys not retired before `cutoff` (all of them with `i64::MIN`).
    pub(crate) async fn signing_keys(
        &self,
        cutoff: i64,
    ) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT kid, sealed, created, retired FROM signing_keys WHERE retired IS NULL OR retired >= $1 ORDER BY created, kid")
            .bind(cutoff)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get(0)?,
                    sealed: r.try_get(1)?,
                    created: r.try_get(2)?,
                    retired: r.try_get(3)?,
                })
            })
            .collect()
    }

    pub(crate) async fn add_first_signing_key(
        &self,
        kid: &str,
        sealed: &[u8],
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO signing_keys (kid, sealed, created, retired) VALUES ($1, $2, $3, NULL) ON CONFLICT (kid) DO NOTHING")
            .bind(kid)
            .bind(sealed.to_vec())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // Replicas started at once each see the others' first keys.
        bump_version(&mut tx, VERSION_SIGNING_KEYS).await?;
        tx.commit().await
    }

    /// Retires every active key and adds `kid` as the active one, in one transaction.
    pub(crate) async fn rotate_signing_key(
        &self,
        kid: &str,
        sealed: &[u8],
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET retired = $1 WHERE retired IS NULL")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, sealed, created, retired) VALUES ($1, $2, $3, NULL)",
        )
        .bind(kid)
        .bind(sealed.to_vec())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        bump_version(&mut tx, VERSION_SIGNING_KEYS).await?;
        tx.commit().await
    }

    /// The change counters replicas poll: (name, version).
    pub async fn versions(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        sqlx::query("SELECT name, version FROM store_versions ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Replaces the sealed secret `name` and counts the change under `version`, in one
    /// transaction, so every replica reloads it.
    pub(crate) async fn replace_secret(
        &self,
        name: &str,
        sealed: &[u8],
        version: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO secrets (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed")
            .bind(name)
            .bind(sealed.to_vec())
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, version).await?;
        tx.commit().await
    }

    pub async fn put_secret(&self, name: &str, sealed: &[u8]) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO secrets (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed")
            .bind(name)
            .bind(sealed.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn policy(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT rego FROM policies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<String, _>(0)).transpose()
    }

    pub async fn policy_ids(&self) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query("SELECT id FROM policies ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get(0)).collect()
    }

    /// Every stored policy: id, Rego text and when it was last stored (Unix seconds), by id.
    pub async fn policies(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, rego, updated FROM policies ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    pub async fn put_policy(&self, id: &str, rego: &str, now: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO policies (id, rego, updated) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET rego = excluded.rego, updated = excluded.updated")
            .bind(id)
            .bind(rego)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, VERSION_POLICIES).await?;
        tx.commit().await
    }

    pub async fn delete_policy(&self, id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM policies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, VERSION_POLICIES).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn reference_value(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT value_json FROM reference_values WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<String, _>(0)).transpose()
    }

    pub async fn reference_values(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT name, value_json FROM reference_values")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    pub async fn put_reference_value(
        &self,
        name: &str,
        value_json: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO reference_values (name, value_json, updated) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value_json = excluded.value_json, updated = excluded.updated")
            .bind(name)
            .bind(value_json)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, VERSION_POLICIES).await?;
        tx.commit().await
    }

    pub async fn delete_reference_value(&self, name: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM reference_values WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, VERSION_POLICIES).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a verified signed document, and counts the change so every replica rebuilds its
    /// policies; false (and nothing changed) when the same document is already stored.
    pub async fn put_signed_reference_values(
        &self,
        doc: &SignedDocumentRow,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("INSERT INTO signed_reference_values (digest, signer, format, not_before, not_after, values_json, imported, key_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (digest) DO NOTHING")
            .bind(&doc.digest)
            .bind(&doc.signer)
            .bind(&doc.format)
            .bind(doc.not_before)
            .bind(doc.not_after)
            .bind(&doc.values_json)
            .bind(doc.imported)
            .bind(&doc.key_sha256)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, VERSION_POLICIES).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every stored signed document, oldest import first, valid or not.
    pub async fn signed_reference_values(&self) -> Result<Vec<SignedDocumentRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT digest, signer, format, not_before, not_after, values_json, imported, key_sha256 FROM signed_reference_values ORDER BY imported, digest")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SignedDocumentRow {
                    digest: r.try_get(0)?,
                    signer: r.try_get(1)?,
                    format: r.try_get(2)?,
                    not_before: r.try_get(3)?,
                    not_after: r.try_get(4)?,
                    values_json: r.try_get(5)?,
                    imported: r.try_get(6)?,
                    key_sha256: r.try_get(7)?,
                })
            })
            .collect()
    }

    pub async fn delete_signed_reference_values(&self, digest: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM signed_reference_values WHERE digest = $1")
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, VERSION_POLICIES).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// (files JSON, updated) of the collateral set for a platform, of Intel's `update` kind
    /// (`standard` or `early`).
    pub async fn collateral(
        &self,
        fmspc: &str,
        ca: &str,
        tee: &str,
        update: &str,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT files_json, updated FROM collateral WHERE fmspc = $1 AND ca = $2 AND tee = $3 AND update_type = $4",
        )
        .bind(fmspc)
        .bind(ca)
        .bind(tee)
        .bind(update)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Stores (or replaces) the set of a platform of Intel's `update` kind; the other kind's
    /// set of the same platform stays.
    pub async fn put_collateral(
        &self,
        fmspc: &str,
        ca: &str,
        tee: &str,
        update: &str,
        files_json: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO collateral (fmspc, ca, tee, update_type, files_json, updated) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (fmspc, ca, tee, update_type) DO UPDATE SET files_json = excluded.files_json, updated = excluded.updated")
            .bind(fmspc)
            .bind(ca)
            .bind(tee)
            .bind(update)
            .bind(files_json)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // Every replica's PCCS index follows the store, not only the importing one's.
        bump_version(&mut tx, VERSION_COLLATERAL).await?;
        tx.commit().await
    }

    /// Records a spent nonce; false when it was already spent. Atomic in the database (see
    /// `commit_spends`), so two spends racing on this or another replica cannot both succeed.
    pub async fn spend_nonce(&self, tag: &[u8], expires: i64) -> Result<bool, SpendFailed> {
        let closed = || SpendFailed(Arc::new(sqlx::Error::PoolClosed));
        let (spent, outcome) = oneshot::channel();
        let spend = Spend {
            tag: tag.to_vec(),
            expires,
            spent,
        };
        self.spends.send(spend).await.map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }

    /// Forgets spent nonces that expired more than `SPENT_NONCE_GRACE_SECS` ago: a spend that
    /// checked expiry a moment earlier (or on a replica whose clock is behind) must still find
    /// the tag.
    pub async fn purge_spent_nonces(&self, now: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM spent_nonces WHERE expires < $1")
            .bind(now.saturating_sub(SPENT_NONCE_GRACE_SECS))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// How many spent nonces are remembered: the only per-challenge state the service keeps.
    pub async fn spent_nonce_count(&self) -> Result<i64, sqlx::Error> {
        let row = sqlx::query("SELECT COUNT(*) FROM spent_nonces")
            .fetch_one(&self.pool)
            .await?;
        row.try_get(0)
    }

    /// Records an attested KBS session; false when its cookie already attested (here or on
    /// another replica): one atomic `INSERT … ON CONFLICT DO NOTHING`, so a challenge is spent
    /// at most once however the attests race.
    pub async fn attest_kbs_session(&self, session: &KbsSession) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("INSERT INTO kbs_attested (id_sha256, token, expires, forget_after) VALUES ($1, $2, $3, $4) ON CONFLICT (id_sha256) DO NOTHING")
            .bind(&session.id_sha256)
            .bind(&session.token)
            .bind(session.expires)
            .bind(session.forget_after)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The attested session of a cookie (by its SHA-256), expired or not.
    pub async fn kbs_session(&self, id_sha256: &str) -> Result<Option<KbsSession>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id_sha256, token, expires, forget_after FROM kbs_attested WHERE id_sha256 = $1",
        )
        .bind(id_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(KbsSession {
                id_sha256: r.try_get(0)?,
                token: r.try_get(1)?,
                expires: r.try_get(2)?,
                forget_after: r.try_get(3)?,
            })
        })
        .transpose()
    }

    /// Forgets attested sessions whose session and challenge both expired more than
    /// `SPENT_NONCE_GRACE_SECS` ago (an indexed range delete): until then the row still refuses
    /// a second attest of the same cookie.
    pub async fn purge_kbs_sessions(&self, now: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM kbs_attested WHERE forget_after < $1")
            .bind(now.saturating_sub(SPENT_NONCE_GRACE_SECS))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// (table, rows) for every table of the store, by name: what a test compares to show that a
    /// route wrote nothing.
    pub async fn table_row_counts(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let names = match self.backend {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            Backend::Postgres => "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
        };
        let tables: Vec<String> = sqlx::query(names)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut counts = Vec::with_capacity(tables.len());
        for table in tables {
            // The names come from the catalogue, not from a request; quoted as identifiers.
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", table.replace('"', "\"\""));
            let count: i64 = sqlx::query(&sql).fetch_one(&self.pool).await?.try_get(0)?;
            counts.push((table, count));
        }
        Ok(counts)
    }

    pub async fn kbs_resource(&self, path: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        let row = sqlx::query("SELECT sealed FROM kbs_resources WHERE path = $1")
            .bind(path)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()
    }

    pub async fn put_kbs_resource(
        &self,
        path: &str,
        sealed: &[u8],
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO kbs_resources (path, sealed, updated) VALUES ($1, $2, $3) ON CONFLICT (path) DO UPDATE SET sealed = excluded.sealed, updated = excluded.updated")
            .bind(path)
            .bind(sealed.to_vec())
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_kbs_resource(&self, path: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM kbs_resources WHERE path = $1")
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn kbs_resource_policy(&self) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT rego FROM kbs_resource_policy WHERE id = 'resource'")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<String, _>(0)).transpose()
    }

    pub async fn put_kbs_resource_policy(&self, rego: &str, now: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO kbs_resource_policy (id, rego, updated) VALUES ('resource', $1, $2) ON CONFLICT (id) DO UPDATE SET rego = excluded.rego, updated = excluded.updated")
            .bind(rego)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, VERSION_POLICIES).await?;
        tx.commit().await
    }
}

/// A platform the service attested, at one TCB level, with its last verdict (migration 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRow {
    /// `sgx`, `tdx`, `snp` or `csv`.
    pub tee: String,
    /// Lowercase hex FMSPC (SGX, TDX), chip id (SEV-SNP) or the chip serial (CSV).
    pub platform: String,
    /// Canonical JSON of the TCB values the verdict depends on (DCAP: `scute_dcap::PlatformTcb`).
    pub tcb: String,
    /// The last TCB status (`UpToDate`, …; `VekEndorsed` for SEV-SNP, `None` for CSV).
    pub tcb_status: String,
    /// The last EAR status (`affirming`, `warning`, `contraindicated`), or `policy_denied`.
    pub ear_status: Option<String>,
    pub tcb_date: Option<String>,
    pub superseded_at: Option<String>,
    pub newest_tcb_date: Option<String>,
    pub tcb_evaluation_data_number: Option<i64>,
    /// JSON array of advisory ids.
    pub advisory_ids: String,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Attestations counted (each replica adds what it saw since its last write).
    pub attestations: i64,
}

const PLATFORM_COLUMNS: &str = "tee, platform, tcb, tcb_status, ear_status, tcb_date, superseded_at, newest_tcb_date, tcb_evaluation_data_number, advisory_ids, first_seen, last_seen, attestations";

fn platform_row(r: &sqlx::any::AnyRow) -> Result<PlatformRow, sqlx::Error> {
    Ok(PlatformRow {
        tee: r.try_get(0)?,
        platform: r.try_get(1)?,
        tcb: r.try_get(2)?,
        tcb_status: r.try_get(3)?,
        ear_status: r.try_get(4)?,
        tcb_date: r.try_get(5)?,
        superseded_at: r.try_get(6)?,
        newest_tcb_date: r.try_get(7)?,
        tcb_evaluation_data_number: r.try_get(8)?,
        advisory_ids: r.try_get(9)?,
        first_seen: r.try_get(10)?,
        last_seen: r.try_get(11)?,
        attestations: r.try_get(12)?,
    })
}

impl Store {
    /// Records a sighting of a platform (`row.last_seen` is when; `row.attestations` how many
    /// attestations it stands for), then keeps the table within its bounds: rows last seen
    /// before `oldest` are deleted, and beyond `max` rows the least recently seen go.
    pub async fn record_platform(
        &self,
        row: &PlatformRow,
        max: u64,
        oldest: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(&format!("INSERT INTO platforms ({PLATFORM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (tee, platform, tcb) DO UPDATE SET tcb_status = excluded.tcb_status, ear_status = excluded.ear_status, tcb_date = excluded.tcb_date, superseded_at = excluded.superseded_at, newest_tcb_date = excluded.newest_tcb_date, tcb_evaluation_data_number = excluded.tcb_evaluation_data_number, advisory_ids = excluded.advisory_ids, last_seen = excluded.last_seen, attestations = platforms.attestations + excluded.attestations"))
            .bind(&row.tee)
            .bind(&row.platform)
            .bind(&row.tcb)
            .bind(&row.tcb_status)
            .bind(row.ear_status.clone())
            .bind(row.tcb_date.clone())
            .bind(row.superseded_at.clone())
            .bind(row.newest_tcb_date.clone())
            .bind(row.tcb_evaluation_data_number)
            .bind(&row.advisory_ids)
            .bind(row.first_seen)
            .bind(row.last_seen)
            .bind(row.attestations)
            .execute(&self.pool)
            .await?;
        self.purge_platforms(oldest).await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM platforms")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        if count > max {
            sqlx::query("DELETE FROM platforms WHERE (tee, platform, tcb) IN (SELECT tee, platform, tcb FROM platforms ORDER BY last_seen, tee, platform, tcb LIMIT $1)")
                .bind(count - max)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Deletes the platforms last seen before `oldest` (past `platform_retention_days`).
    pub async fn purge_platforms(&self, oldest: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM platforms WHERE last_seen < $1")
            .bind(oldest)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// The platforms last seen at or after `oldest`, most recently seen first, at most
    /// `limit`, of one TEE and one platform when given; and how many match in all.
    pub async fn platforms(
        &self,
        oldest: i64,
        tee: Option<&str>,
        platform: Option<&str>,
        limit: u64,
    ) -> Result<(Vec<PlatformRow>, i64), sqlx::Error> {
        let filter = "last_seen >= $1 AND ($2 = '' OR tee = $2) AND ($3 = '' OR platform = $3)";
        let (tee, platform) = (tee.unwrap_or_default(), platform.unwrap_or_default());
        let total: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM platforms WHERE {filter}"))
            .bind(oldest)
            .bind(tee)
            .bind(platform)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let rows = sqlx::query(&format!("SELECT {PLATFORM_COLUMNS} FROM platforms WHERE {filter} ORDER BY last_seen DESC, tee, platform, tcb LIMIT $4"))
            .bind(oldest)
            .bind(tee)
            .bind(platform)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        let rows = rows.iter().map(platform_row).collect::<Result<_, _>>()?;
        Ok((rows, total))
    }
}

/// A signed reference-value document as stored (verified before it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDocumentRow {
    /// `sha256:<hex>` of the document's signed content (`scute_refvalues::Provenance`).
    pub digest: String,
    /// The signer's name (`scute_refvalues::Signer::name`), as shown; not who is trusted.
    pub signer: String,
    /// `dsse` or `corim`.
    pub format: String,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    /// name → array of values, JSON.
    pub values_json: String,
    pub imported: i64,
    /// Hex SHA-256 of the signer's SubjectPublicKeyInfo (`scute_refvalues::Signer::key_sha256`);
    /// none for a document stored before the store recorded it.
    pub key_sha256: Option<String>,
}

/// A stored DCAP collateral set (verified before it was stored), by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollateralRow {
    /// Lowercase hex.
    pub fmspc: String,
    /// The PCK CA whose CRL the set carries: `processor` or `platform`.
    pub ca: String,
    /// `sgx` or `tdx`.
    pub tee: String,
    /// Intel's TCB evaluation data set: `standard` or `early` (PCS `update=`).
    pub update: String,
    /// File name → base64 of the file.
    pub files_json: String,
    pub updated: i64,
}

/// An attested key broker session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbsSession {
    /// SHA-256 of the session cookie's bytes, hex.
    pub id_sha256: String,
    /// The EAR token the attestation earned.
    pub token: String,
    /// When the session stops releasing resources.
    pub expires: i64,
    /// When the row may go: the later of `expires` and the cookie challenge's own expiry.
    pub forget_after: i64,
}

/// The collateral service's tables: PCK certificates of registered platforms and items that
/// belong to no platform set (the QvE identity).
/// A stored PCK certificate: (tcbm, fmspc, ca, cert PEM, issuer chain PEM).
pub(crate) type PckCertRow = (String, String, String, String, String);

impl Store {
    /// Every stored collateral set, oldest stored first.
    pub async fn collateral_sets(&self) -> Result<Vec<CollateralRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT fmspc, ca, tee, update_type, files_json, updated FROM collateral ORDER BY updated",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CollateralRow {
                    fmspc: r.try_get(0)?,
                    ca: r.try_get(1)?,
                    tee: r.try_get(2)?,
                    update: r.try_get(3)?,
                    files_json: r.try_get(4)?,
                    updated: r.try_get(5)?,
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn put_pck_cert(
        &self,
        qe_id: &str,
        pce_id: &str,
        tcbm: &str,
        fmspc: &str,
        ca: &str,
        cert_pem: &str,
        chain_pem: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO pck_certs (qe_id, pce_id, tcbm, fmspc, ca, cert_pem, chain_pem, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (qe_id, pce_id, tcbm) DO UPDATE SET fmspc = excluded.fmspc, ca = excluded.ca, cert_pem = excluded.cert_pem, chain_pem = excluded.chain_pem, updated = excluded.updated")
            .bind(qe_id)
            .bind(pce_id)
            .bind(tcbm)
            .bind(fmspc)
            .bind(ca)
            .bind(cert_pem)
            .bind(chain_pem)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn pck_certs(
        &self,
        qe_id: &str,
        pce_id: &str,
    ) -> Result<Vec<PckCertRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT tcbm, fmspc, ca, cert_pem, chain_pem FROM pck_certs WHERE qe_id = $1 AND pce_id = $2 ORDER BY tcbm")
            .bind(qe_id)
            .bind(pce_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                ))
            })
            .collect()
    }

    /// (body, issuer chain PEM) of a stored item.
    pub(crate) async fn pccs_item(
        &self,
        name: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT body, chain_pem FROM pccs_items WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    pub(crate) async fn put_pccs_item(
        &self,
        name: &str,
        body: &str,
        chain_pem: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO pccs_items (name, body, chain_pem, updated) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET body = excluded.body, chain_pem = excluded.chain_pem, updated = excluded.updated")
            .bind(name)
            .bind(body)
            .bind(chain_pem)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Store {
    pub async fn csv_hsk_cek(&self, chip_serial: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        let row = sqlx::query("SELECT hsk_cek FROM csv_hsk_cek WHERE chip_serial = $1")
            .bind(chip_serial)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0)).transpose()
    }

    pub async fn put_csv_hsk_cek(
        &self,
        chip_serial: &str,
        hsk_cek: &[u8],
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO csv_hsk_cek (chip_serial, hsk_cek, updated) VALUES ($1, $2, $3) ON CONFLICT (chip_serial) DO UPDATE SET hsk_cek = excluded.hsk_cek, updated = excluded.updated")
            .bind(chip_serial)
            .bind(hsk_cek)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::postgres_link_is_protected as check;

    /// Each spelling the driver reads as a clear-text (or unverified) link to another host,
    /// which a guard reading the URL its own way let through (issue 21).
    #[test]
    fn remote_links_without_verified_tls_are_refused_however_spelled() {
        for url in [
            "postgres://scute@db.example/scute",
            "postgres://scute@db.example/scute?sslmode=prefer",
            "postgres://scute@db.example/scute?sslmode=require",
            // verify-ca checks no name: any publicly issued certificate would do.
            "postgres://scute@db.example/scute?sslmode=verify-ca",
            // The driver's other spelling of the key.
            "postgres://scute@db.example/scute?ssl-mode=disable",
            // Repeated: the driver takes the last.
            "postgres://scute@db.example/scute?sslmode=verify-full&sslmode=disable",
            "postgres://scute@db.example/scute?sslmode=verify-full&ssl-mode=disable",
            // Percent-encoded key: the driver decodes it.
            "postgres://scute@db.example/scute?sslmode=verify-full&ssl%6Dode=disable",
            "postgres://scute@db.example/scute?sslmode=verify-full&%73slmode=allow",
            // The name looks local, the address the driver dials is not.
            "postgres://scute@localhost/scute?hostaddr=192.0.2.7",
            "postgres://scute@127.0.0.1/scute?hostaddr=192.0.2.7&sslmode=disable",
            // host= in the query overrides the authority.
            "postgres://scute@localhost/scute?host=db.example",
            "postgresql://scute@[2001:db8::1]:5432/scute",
            "postgres://scute@db.example/scute?sslmode=bogus",
        ] {
            assert!(check(url).is_err(), "{url} passed");
        }
    }

    #[test]
    fn loopback_sockets_and_verified_links_are_allowed() {
        for url in [
            "postgres://scute@db.example/scute?sslmode=verify-full",
            "postgres://scute@db.example/scute?ssl-mode=verify-full",
            "postgres://scute@db.example/scute?sslmode=disable&sslmode=verify-full",
            "postgres://scute@localhost/scute",
            "postgres://scute@127.0.0.1:5433/scute",
            "postgres://scute@[::1]/scute",
            "postgres://scute@x/scute?host=/run/postgresql",
            "postgres://scute@%2Frun%2Fpostgresql/scute",
            "postgres://scute@db.example/scute?hostaddr=127.0.0.1",
        ] {
            assert!(check(url).is_ok(), "{url}: {:?}", check(url));
        }
    }
}
