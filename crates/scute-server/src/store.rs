//! The embedded store: one SQLite file under the data directory, through sqlx's `Any` driver
//! with portable SQL, so the same code can run on PostgreSQL. Secrets arrive here sealed; the
//! database files are the owner's alone (0600) from before the first byte is written.

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Row};
use std::path::Path;

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

const SCHEMA: [&str; 6] = [
    "CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, sealed BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS policies (id TEXT PRIMARY KEY, rego TEXT NOT NULL, updated BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reference_values (name TEXT PRIMARY KEY, value_json TEXT NOT NULL, updated BIGINT NOT NULL)",
    // Intel publishes an SGX and a TDX TCB Info for the same FMSPC: the TEE is part of the key.
    "CREATE TABLE IF NOT EXISTS collateral (fmspc TEXT NOT NULL, ca TEXT NOT NULL, tee TEXT NOT NULL, files_json TEXT NOT NULL, updated BIGINT NOT NULL, PRIMARY KEY (fmspc, ca, tee))",
    // Spent challenge nonces (by MAC tag), kept only until the nonce would have expired anyway.
    "CREATE TABLE IF NOT EXISTS spent_nonces (tag BLOB PRIMARY KEY, expires BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS spent_nonces_expires ON spent_nonces (expires)",
];

/// The database and the journal files SQLite keeps beside it.
const DB_FILES: [&str; 3] = ["scute.db", "scute.db-wal", "scute.db-shm"];

/// Creates the database file 0600 (SQLite gives its -wal and -shm files the main file's mode)
/// and takes group and world access away from any older files.
fn restrict_db_files(data_dir: &Path) -> Result<(), sqlx::Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(data_dir.join(DB_FILES[0]))?;
    for name in DB_FILES {
        let path = data_dir.join(name);
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

impl Store {
    pub async fn open(data_dir: &Path) -> Result<Self, sqlx::Error> {
        install_default_drivers();
        restrict_db_files(data_dir)?;
        let url = format!("sqlite://{}?mode=rwc", data_dir.join("scute.db").display());
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await?;
        sqlx::query("PRAGMA journal_mode=WAL")
            .execute(&pool)
            .await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    pub async fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        let row = sqlx::query("SELECT sealed FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()
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

    pub async fn put_policy(&self, id: &str, rego: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO policies (id, rego, updated) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET rego = excluded.rego, updated = excluded.updated")
            .bind(id)
            .bind(rego)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_policy(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM policies WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
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
        sqlx::query("INSERT INTO reference_values (name, value_json, updated) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value_json = excluded.value_json, updated = excluded.updated")
            .bind(name)
            .bind(value_json)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_reference_value(&self, name: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM reference_values WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// (files JSON, updated) of the collateral set for a platform.
    pub async fn collateral(
        &self,
        fmspc: &str,
        ca: &str,
        tee: &str,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT files_json, updated FROM collateral WHERE fmspc = $1 AND ca = $2 AND tee = $3",
        )
        .bind(fmspc)
        .bind(ca)
        .bind(tee)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    pub async fn put_collateral(
        &self,
        fmspc: &str,
        ca: &str,
        tee: &str,
        files_json: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO collateral (fmspc, ca, tee, files_json, updated) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fmspc, ca, tee) DO UPDATE SET files_json = excluded.files_json, updated = excluded.updated")
            .bind(fmspc)
            .bind(ca)
            .bind(tee)
            .bind(files_json)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a spent nonce; false when it was already spent. One statement, so two spends
    /// racing (on this or another replica) cannot both succeed.
    pub async fn spend_nonce(&self, tag: &[u8], expires: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO spent_nonces (tag, expires) VALUES ($1, $2) ON CONFLICT (tag) DO NOTHING",
        )
        .bind(tag.to_vec())
        .bind(expires)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets spent nonces that have expired (a replay of one is refused as expired).
    pub async fn purge_spent_nonces(&self, now: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM spent_nonces WHERE expires < $1")
            .bind(now)
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
}
