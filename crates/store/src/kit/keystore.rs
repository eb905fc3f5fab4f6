//! The key store: wrapped tenant keys and wrapped subject (patient) data
//! keys, in a database of their own (embedded: `clinicos-keys/keys.db`;
//! PostgreSQL deployments: `--key-store-url`). It is kept apart from the
//! main database and its backups on purpose: deleting a subject's row here
//! (crypto-shredding) makes that subject's ciphertexts unreadable in every
//! copy of the main database, old backups included.
//!
//! Invariants:
//! - Only wrapped keys are stored; unwrapping needs the master key, which
//!   lives elsewhere again (file, environment or KMS).
//! - Rows are keyed by (tenant_id, subject_id, key_version); inserts never
//!   overwrite (`ON CONFLICT DO NOTHING`), so racing instances agree on the
//!   first key written.
//! - The schema has its own small migration list, not the main one.

use crate::kit::row::{ts, RowExt};
use crate::{Db, StoreResult};
use chrono::Utc;
use sqlx::Executor;
use std::path::Path;

/// The key store's own migrations: (version, statements).
const KEY_MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE IF NOT EXISTS tenant_keys (\
           tenant_id TEXT NOT NULL, key_version BIGINT NOT NULL, \
           master_version BIGINT NOT NULL, wrapped BLOB NOT NULL, \
           created_at BIGINT NOT NULL, rewrapped_at BIGINT, \
           PRIMARY KEY (tenant_id, key_version))",
            "CREATE TABLE IF NOT EXISTS subject_keys (\
           tenant_id TEXT NOT NULL, subject_id TEXT NOT NULL, key_version BIGINT NOT NULL, \
           tenant_key_version BIGINT NOT NULL, wrapped BLOB NOT NULL, \
           created_at BIGINT NOT NULL, \
           PRIMARY KEY (tenant_id, subject_id, key_version))",
        ],
    ),
    // Erased subjects: the key store outlives any backup of the main
    // database, so it remembers which patients were erased (ids, time,
    // eraser, reason code; no PHI), and a restored backup is erased again
    // at start-up (`app/patients/erasure.rs`).
    (
        2,
        &["CREATE TABLE IF NOT EXISTS erased_subjects (\
           tenant_id TEXT NOT NULL, subject_id TEXT NOT NULL, erased_at BIGINT NOT NULL, \
           erased_by TEXT, reason TEXT NOT NULL, \
           PRIMARY KEY (tenant_id, subject_id))"],
    ),
];

/// A subject's erasure as the key store remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasedSubject {
    pub subject_id: String,
    pub erased_at: chrono::DateTime<Utc>,
    pub erased_by: Option<String>,
    pub reason: String,
}

/// A tenant key as stored: wrapped by master key `master_version`.
#[derive(Clone)]
pub struct WrappedTenantKey {
    pub tenant_id: String,
    pub key_version: u32,
    pub master_version: u32,
    pub wrapped: Vec<u8>,
}

/// A subject data key as stored: wrapped by tenant key `tenant_key_version`.
#[derive(Clone)]
pub struct WrappedSubjectKey {
    pub key_version: u32,
    pub tenant_key_version: u32,
    pub wrapped: Vec<u8>,
}

/// What field encryption needs from storage: the key store and the source
/// of master keys. Attached to the store (`kit/regions.rs`) at start-up.
#[derive(Clone)]
pub struct FieldKeys {
    pub key_store: KeyStore,
    pub master: std::sync::Arc<dyn clinicos_crypto::MasterKeyProvider>,
}

/// The statement of [`KeyStore::insert_subject_key`]: a subject data key,
/// unless one of that version exists already.
pub const INSERT_SUBJECT_KEY_SQL: &str = "INSERT INTO subject_keys (tenant_id, subject_id, \
    key_version, tenant_key_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (tenant_id, subject_id, key_version) DO NOTHING";

/// The key store handle (cheap to clone).
#[derive(Clone, Debug)]
pub struct KeyStore {
    db: Db,
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

impl KeyStore {
    /// The default embedded key store in a keys directory.
    pub fn sqlite_url_for_dir(dir: &Path) -> String {
        format!("sqlite://{}?mode=rwc", dir.join("keys.db").display())
    }

    /// Connect (as the owner: this database has no tenant traffic of its
    /// own and no row-level security) and apply the key store migrations.
    pub async fn open(url: &str) -> StoreResult<KeyStore> {
        let db = Db::connect_or_explain(url, 4, false).await?;
        let backend = db.backend();
        db.pool()
            .execute("CREATE TABLE IF NOT EXISTS key_store_migrations (version BIGINT PRIMARY KEY)")
            .await?;
        for (version, stmts) in KEY_MIGRATIONS {
            let done = sqlx::query("SELECT version FROM key_store_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(db.pool())
                .await?;
            if done.is_some() {
                continue;
            }
            for s in *stmts {
                let s = match backend {
                    crate::Backend::Sqlite => (*s).to_owned(),
                    crate::Backend::Postgres => s.replace(" BLOB", " BYTEA"),
                };
                db.pool().execute(s.as_str()).await?;
            }
            sqlx::query("INSERT INTO key_store_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING")
                .bind(*version)
                .execute(db.pool())
                .await?;
        }
        Ok(KeyStore { db })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The newest key of a tenant, if it has one.
    pub async fn tenant_key(&self, tenant: &str) -> StoreResult<Option<WrappedTenantKey>> {
        let row = sqlx::query(
            "SELECT tenant_id, key_version, master_version, wrapped FROM tenant_keys \
             WHERE tenant_id = $1 ORDER BY key_version DESC LIMIT 1",
        )
        .bind(tenant)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| tenant_row(&r)).transpose()
    }

    /// A tenant key by version.
    pub async fn tenant_key_version(
        &self,
        tenant: &str,
        version: u32,
    ) -> StoreResult<Option<WrappedTenantKey>> {
        let row = sqlx::query(
            "SELECT tenant_id, key_version, master_version, wrapped FROM tenant_keys \
             WHERE tenant_id = $1 AND key_version = $2",
        )
        .bind(tenant)
        .bind(i64::from(version))
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| tenant_row(&r)).transpose()
    }

    /// Every tenant key (for re-wrapping under a new master key).
    pub async fn all_tenant_keys(&self) -> StoreResult<Vec<WrappedTenantKey>> {
        let rows = sqlx::query(
            "SELECT tenant_id, key_version, master_version, wrapped FROM tenant_keys \
             ORDER BY tenant_id, key_version",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(tenant_row).collect()
    }

    /// Store a tenant key unless one of that version exists already.
    pub async fn insert_tenant_key(&self, k: &WrappedTenantKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tenant_keys (tenant_id, key_version, master_version, wrapped, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, key_version) DO NOTHING",
        )
        .bind(k.tenant_id.clone())
        .bind(i64::from(k.key_version))
        .bind(i64::from(k.master_version))
        .bind(k.wrapped.clone())
        .bind(ts(Utc::now()))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Replace a tenant key's wrapping, only if it is still wrapped by
    /// `from_master` (so two concurrent rotations cannot both apply).
    pub async fn rewrap_tenant_key(
        &self,
        k: &WrappedTenantKey,
        from_master: u32,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE tenant_keys SET master_version = $1, wrapped = $2, rewrapped_at = $3 \
             WHERE tenant_id = $4 AND key_version = $5 AND master_version = $6",
        )
        .bind(i64::from(k.master_version))
        .bind(k.wrapped.clone())
        .bind(ts(Utc::now()))
        .bind(k.tenant_id.clone())
        .bind(i64::from(k.key_version))
        .bind(i64::from(from_master))
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest data key of a subject, if it has one.
    pub async fn subject_key(
        &self,
        tenant: &str,
        subject: &str,
    ) -> StoreResult<Option<WrappedSubjectKey>> {
        let row = sqlx::query(
            "SELECT key_version, tenant_key_version, wrapped FROM subject_keys \
             WHERE tenant_id = $1 AND subject_id = $2 ORDER BY key_version DESC LIMIT 1",
        )
        .bind(tenant)
        .bind(subject)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| subject_row(&r)).transpose()
    }

    /// Store a subject data key unless one of that version exists already.
    pub async fn insert_subject_key(
        &self,
        tenant: &str,
        subject: &str,
        k: &WrappedSubjectKey,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_SUBJECT_KEY_SQL)
            .bind(tenant)
            .bind(subject)
            .bind(i64::from(k.key_version))
            .bind(i64::from(k.tenant_key_version))
            .bind(k.wrapped.clone())
            .bind(ts(Utc::now()))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Store the first data keys of new subjects in one statement (at most
    /// 1,000 per call); returns how many rows were inserted, which is fewer
    /// than given when a subject already had a key of that version (that
    /// key is kept).
    pub async fn insert_new_subject_keys(
        &self,
        tenant: &str,
        keys: &[(String, WrappedSubjectKey)],
    ) -> StoreResult<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let rows: Vec<String> = (0..keys.len())
            .map(|i| {
                let b = 3 + i * 4;
                format!("($1, ${b}, ${}, ${}, ${}, $2)", b + 1, b + 2, b + 3)
            })
            .collect();
        let sql = format!(
            "INSERT INTO subject_keys (tenant_id, subject_id, key_version, tenant_key_version, wrapped, created_at) \
             VALUES {} ON CONFLICT (tenant_id, subject_id, key_version) DO NOTHING",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(tenant).bind(ts(Utc::now()));
        for (subject, k) in keys {
            q = q
                .bind(subject.as_str())
                .bind(i64::from(k.key_version))
                .bind(i64::from(k.tenant_key_version))
                .bind(k.wrapped.clone());
        }
        Ok(q.execute(self.db.pool()).await?.rows_affected())
    }

    /// Crypto-shredding: delete every data key of a subject. Returns how
    /// many key rows were removed.
    pub async fn erase_subject(&self, tenant: &str, subject: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2")
            .bind(tenant)
            .bind(subject)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Erase a subject for good: delete its data keys and remember the
    /// erasure, in one key store transaction. Returns how many key rows
    /// were removed (0 when they were gone already; the record is kept
    /// from the first call).
    pub async fn erase_subject_recorded(
        &self,
        tenant: &str,
        erased: &ErasedSubject,
    ) -> StoreResult<u64> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "INSERT INTO erased_subjects (tenant_id, subject_id, erased_at, erased_by, reason) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, subject_id) DO NOTHING",
        )
        .bind(tenant)
        .bind(erased.subject_id.as_str())
        .bind(ts(erased.erased_at))
        .bind(erased.erased_by.clone())
        .bind(erased.reason.as_str())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2")
            .bind(tenant)
            .bind(erased.subject_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// The tenant's erased subjects, oldest first.
    pub async fn erased_subjects(&self, tenant: &str) -> StoreResult<Vec<ErasedSubject>> {
        let rows = sqlx::query(
            "SELECT subject_id, erased_at, erased_by, reason FROM erased_subjects \
             WHERE tenant_id = $1 ORDER BY erased_at, subject_id",
        )
        .bind(tenant)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ErasedSubject {
                    subject_id: r.text("subject_id")?,
                    erased_at: r.time("erased_at")?,
                    erased_by: r.opt_text("erased_by")?,
                    reason: r.text("reason")?,
                })
            })
            .collect()
    }

    /// Tenants with at least one erased subject.
    pub async fn erased_tenants(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT DISTINCT tenant_id FROM erased_subjects ORDER BY tenant_id")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|r| r.text("tenant_id")).collect()
    }

    pub async fn close(&self) {
        self.db.close().await;
    }
}

fn tenant_row(r: &sqlx::any::AnyRow) -> StoreResult<WrappedTenantKey> {
    Ok(WrappedTenantKey {
        tenant_id: r.text("tenant_id")?,
        key_version: u32_of(r.int("key_version")?),
        master_version: u32_of(r.int("master_version")?),
        wrapped: r.bytes("wrapped")?.unwrap_or_default(),
    })
}

fn subject_row(r: &sqlx::any::AnyRow) -> StoreResult<WrappedSubjectKey> {
    Ok(WrappedSubjectKey {
        key_version: u32_of(r.int("key_version")?),
        tenant_key_version: u32_of(r.int("tenant_key_version")?),
        wrapped: r.bytes("wrapped")?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_are_stored_never_overwritten_and_erased() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KeyStore::open(&KeyStore::sqlite_url_for_dir(dir.path()))
            .await
            .unwrap();
        // Opening twice re-runs nothing.
        KeyStore::open(&KeyStore::sqlite_url_for_dir(dir.path()))
            .await
            .unwrap();
        let k = WrappedTenantKey {
            tenant_id: "t".into(),
            key_version: 1,
            master_version: 1,
            wrapped: vec![1, 2],
        };
        ks.insert_tenant_key(&k).await.unwrap();
        ks.insert_tenant_key(&WrappedTenantKey {
            wrapped: vec![9],
            ..k.clone()
        })
        .await
        .unwrap();
        assert_eq!(
            ks.tenant_key("t").await.unwrap().unwrap().wrapped,
            vec![1, 2]
        );
        let newer = WrappedTenantKey {
            master_version: 2,
            wrapped: vec![3],
            ..k.clone()
        };
        assert!(ks.rewrap_tenant_key(&newer, 1).await.unwrap());
        assert!(
            !ks.rewrap_tenant_key(&newer, 1).await.unwrap(),
            "already re-wrapped"
        );
        assert_eq!(ks.all_tenant_keys().await.unwrap()[0].master_version, 2);
        let s = WrappedSubjectKey {
            key_version: 1,
            tenant_key_version: 1,
            wrapped: vec![4],
        };
        ks.insert_subject_key("t", "p", &s).await.unwrap();
        assert!(ks.subject_key("t", "p").await.unwrap().is_some());
        assert_eq!(ks.erase_subject("t", "p").await.unwrap(), 1);
        assert!(ks.subject_key("t", "p").await.unwrap().is_none());
        // An erasure that is remembered: keys gone, record kept once.
        ks.insert_subject_key("t", "q", &s).await.unwrap();
        let e = ErasedSubject {
            subject_id: "q".into(),
            erased_at: crate::kit::row::from_ts(ts(Utc::now())),
            erased_by: Some("u".into()),
            reason: "patient_request".into(),
        };
        assert_eq!(ks.erase_subject_recorded("t", &e).await.unwrap(), 1);
        assert_eq!(ks.erase_subject_recorded("t", &e).await.unwrap(), 0);
        assert!(ks.subject_key("t", "q").await.unwrap().is_none());
        assert_eq!(ks.erased_subjects("t").await.unwrap(), vec![e]);
        assert!(ks.erased_subjects("other").await.unwrap().is_empty());
    }
}
