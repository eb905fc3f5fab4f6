//! The tenant-scoped transaction: the only way from a request to tenant
//! data. It
//! 1. begins a transaction (on SQLite, a write takes this process's writer
//!    turn, [`Db::writer_turn`], then `BEGIN IMMEDIATE`, so that concurrent
//!    writers queue in order instead of failing on a lock upgrade or
//!    sleeping in the busy handler),
//! 2. on PostgreSQL sets `app.tenant_id` with `set_config(.., true)` so that
//!    the RLS policies see it, and it is gone when the transaction ends (a
//!    pooled connection never carries one tenant into the next request),
//! 3. binds the tenant as `$1` of every statement built with [`TenantTx::q`],
//!    so repository SQL filters by `tenant_id = $1` by construction,
//! 4. carries the audit trail's keys, so the audit writer MACs each event
//!    in the transaction that records it (no key: the event, and so the
//!    transaction's work, is refused).

use crate::{Backend, Db, StoreResult};
use clinicos_crypto::AuditKeys;
use clinicos_domain::TenantId;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Transaction};
use std::sync::Arc;
use tokio::sync::OwnedMutexGuard;

/// A transaction bound to one tenant.
pub struct TenantTx {
    tx: Transaction<'static, Any>,
    tenant: TenantId,
    tenant_text: String,
    backend: Backend,
    audit_keys: Option<Arc<AuditKeys>>,
    /// SQLite's writer, held until the transaction ends (declared after
    /// `tx`, so it is released after the transaction is).
    _writer: Option<OwnedMutexGuard<()>>,
}

/// Whether a transaction will write (decides SQLite's locking mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Read,
    Write,
}

impl TenantTx {
    pub(crate) async fn begin(
        db: &Db,
        tenant: TenantId,
        intent: Intent,
        audit_keys: Option<Arc<AuditKeys>>,
    ) -> StoreResult<Self> {
        // The turn comes before the connection, so waiting writers hold
        // no pooled connection.
        let (writer, mut tx) = match (db.backend(), intent) {
            (Backend::Sqlite, Intent::Write) => {
                let turn = db.writer_turn().await?;
                (turn, db.pool().begin_with("BEGIN IMMEDIATE").await?)
            }
            _ => (None, db.pool().begin().await?),
        };
        let tenant_text = tenant.as_text();
        if db.backend() == Backend::Postgres {
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(tenant_text.clone())
                .execute(&mut *tx)
                .await?;
        }
        Ok(TenantTx {
            tx,
            tenant,
            tenant_text,
            backend: db.backend(),
            audit_keys,
            _writer: writer,
        })
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The audit trail's keys (None before the application installed them).
    pub(crate) fn audit_keys(&self) -> Option<&AuditKeys> {
        self.audit_keys.as_deref()
    }

    /// The tenant as bound to every statement.
    pub(crate) fn tenant_text(&self) -> &str {
        &self.tenant_text
    }

    /// A statement with the tenant already bound as `$1`. Repository SQL
    /// numbers its own parameters from `$2`.
    pub fn q<'q>(&self, sql: &'q str) -> Query<'q, Any, AnyArguments<'q>> {
        sqlx::query(sql).bind(self.tenant_text.clone())
    }

    /// Run a statement; returns rows affected.
    pub async fn exec<'q>(&mut self, q: Query<'q, Any, AnyArguments<'q>>) -> StoreResult<u64> {
        Ok(q.execute(&mut *self.tx).await?.rows_affected())
    }

    pub async fn one<'q>(&mut self, q: Query<'q, Any, AnyArguments<'q>>) -> StoreResult<AnyRow> {
        Ok(q.fetch_one(&mut *self.tx).await?)
    }

    pub async fn opt<'q>(
        &mut self,
        q: Query<'q, Any, AnyArguments<'q>>,
    ) -> StoreResult<Option<AnyRow>> {
        Ok(q.fetch_optional(&mut *self.tx).await?)
    }

    pub async fn all<'q>(
        &mut self,
        q: Query<'q, Any, AnyArguments<'q>>,
    ) -> StoreResult<Vec<AnyRow>> {
        Ok(q.fetch_all(&mut *self.tx).await?)
    }

    /// Run raw SQL without the automatic tenant binding. Only for tests that
    /// prove row-level security holds when the application filter is absent.
    #[doc(hidden)]
    pub async fn raw_all_unfiltered(&mut self, sql: &str) -> StoreResult<Vec<AnyRow>> {
        Ok(sqlx::query(sql).fetch_all(&mut *self.tx).await?)
    }

    /// Execute raw SQL without the automatic tenant binding (tests only:
    /// proving the database refuses cross-tenant writes by itself).
    #[doc(hidden)]
    pub async fn raw_exec_unfiltered(&mut self, sql: &str) -> StoreResult<u64> {
        Ok(sqlx::query(sql)
            .execute(&mut *self.tx)
            .await?
            .rows_affected())
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> StoreResult<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}
