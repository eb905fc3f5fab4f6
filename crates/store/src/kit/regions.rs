//! The region registry: region code -> database, and tenant -> home region.
//! [`Store`] is the storage entry point: services ask it for a tenant-scoped
//! transaction and it routes to the tenant's home-region database. Feature
//! code never names a region.
//!
//! The primary database holds the platform tables (regions, plans, tenant
//! directory, operators, shared counters) and also serves as the default
//! region [`PRIMARY_REGION`]. Other regions are separate databases (another
//! SQLite file or PostgreSQL database) holding only their tenants' rows.

use crate::kit::migrate;
use crate::kit::row::{ts, RowExt};
use crate::kit::tenant_tx::{Intent, TenantTx};
use crate::{Backend, Db, StoreError, StoreResult};
use chrono::Utc;
use clinicos_crypto::AuditKeys;
use clinicos_domain::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::RwLock;

/// The region served by the primary database.
pub const PRIMARY_REGION: &str = "local";
/// `regions.database_url` value meaning "the primary database itself".
pub const PRIMARY_URL: &str = "primary";

/// The storage entry point (cheap to clone).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    primary: Db,
    regions: RwLock<HashMap<String, Db>>,
    homes: RwLock<HashMap<TenantId, String>>,
    max_connections: u32,
    keys: Option<crate::FieldKeys>,
    /// The audit trail's keys, installed once the application has
    /// unwrapped them (they are a platform secret in this very database).
    audit_keys: OnceLock<Arc<AuditKeys>>,
}

impl Store {
    /// Connect to the primary database, apply migrations as the owner, and
    /// reconnect as the application role (PostgreSQL) for request traffic.
    pub async fn open(url: &str, max_connections: u32) -> StoreResult<Store> {
        Self::open_with_keys(url, max_connections, None).await
    }

    /// [`Store::open`], with the key store and master keys that field
    /// encryption uses (without them, encrypting a field is refused).
    pub async fn open_with_keys(
        url: &str,
        max_connections: u32,
        keys: Option<crate::FieldKeys>,
    ) -> StoreResult<Store> {
        let owner = Db::connect_or_explain(url, 2, false).await?;
        migrate::run(&owner).await?;
        let primary = match owner.backend() {
            Backend::Sqlite => {
                owner.close().await;
                Db::connect(url, max_connections, false).await?
            }
            Backend::Postgres => {
                owner.close().await;
                Db::connect(url, max_connections, true).await?
            }
        };
        let store = Store {
            inner: Arc::new(Inner {
                primary,
                regions: RwLock::new(HashMap::new()),
                homes: RwLock::new(HashMap::new()),
                max_connections,
                keys,
                audit_keys: OnceLock::new(),
            }),
        };
        store.ensure_primary_region().await?;
        Ok(store)
    }

    async fn ensure_primary_region(&self) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO regions (code, name, database_url, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) DO NOTHING",
        )
        .bind(PRIMARY_REGION)
        .bind("Default region")
        .bind(PRIMARY_URL)
        .bind(ts(Utc::now()))
        .execute(self.platform().pool())
        .await?;
        Ok(())
    }

    /// The primary database, for platform tables only (never tenant data).
    pub fn platform(&self) -> &Db {
        &self.inner.primary
    }

    pub fn backend(&self) -> Backend {
        self.inner.primary.backend()
    }

    /// The key store and master keys, when configured.
    pub fn field_keys(&self) -> Option<&crate::FieldKeys> {
        self.inner.keys.as_ref()
    }

    /// Install the audit trail's keys (the application does, at start-up,
    /// from the platform secret): from then on every transaction's audit
    /// events carry a MAC. The first installation stays; the keys come from
    /// one platform secret, so a later call brings the same keys.
    pub fn install_audit_keys(&self, keys: Arc<AuditKeys>) {
        let _ = self.inner.audit_keys.set(keys);
    }

    /// The audit trail's keys, once installed.
    pub fn audit_keys(&self) -> Option<&Arc<AuditKeys>> {
        self.inner.audit_keys.get()
    }

    /// Register (or update) a region and migrate its database.
    pub async fn add_region(&self, code: &str, name: &str, url: &str) -> StoreResult<()> {
        if url != PRIMARY_URL {
            let owner = Db::connect_or_explain(url, 2, false).await?;
            migrate::run(&owner).await?;
            owner.close().await;
        }
        sqlx::query(
            "INSERT INTO regions (code, name, database_url, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, database_url = excluded.database_url",
        )
        .bind(code)
        .bind(name)
        .bind(url)
        .bind(ts(Utc::now()))
        .execute(self.platform().pool())
        .await?;
        self.inner.regions.write().await.remove(code);
        Ok(())
    }

    /// The database of a region, connecting on first use.
    pub async fn region_db(&self, code: &str) -> StoreResult<Db> {
        if let Some(db) = self.inner.regions.read().await.get(code) {
            return Ok(db.clone());
        }
        let row = sqlx::query("SELECT database_url FROM regions WHERE code = $1")
            .bind(code)
            .fetch_optional(self.platform().pool())
            .await?
            .ok_or_else(|| StoreError::UnknownRegion(code.to_owned()))?;
        let url = row.text("database_url")?;
        let db = if url == PRIMARY_URL {
            self.inner.primary.clone()
        } else {
            let as_app = crate::kit::db::backend_of(&url)? == Backend::Postgres;
            Db::connect(&url, self.inner.max_connections, as_app).await?
        };
        self.inner
            .regions
            .write()
            .await
            .insert(code.to_owned(), db.clone());
        Ok(db)
    }

    /// Record a tenant's home region (called once, when the tenant is made).
    pub async fn set_home(&self, tenant: TenantId, region: &str) {
        self.inner
            .homes
            .write()
            .await
            .insert(tenant, region.to_owned());
    }

    /// The home region of a tenant, from the directory (cached: a tenant
    /// never changes region without a migration job that clears the cache).
    pub async fn home_region(&self, tenant: TenantId) -> StoreResult<String> {
        if let Some(r) = self.inner.homes.read().await.get(&tenant) {
            return Ok(r.clone());
        }
        let row = sqlx::query("SELECT region_code FROM tenant_directory WHERE tenant_id = $1")
            .bind(tenant.as_text())
            .fetch_optional(self.platform().pool())
            .await?
            .ok_or(StoreError::UnknownTenant)?;
        let region = row.text("region_code")?;
        self.inner
            .homes
            .write()
            .await
            .insert(tenant, region.clone());
        Ok(region)
    }

    /// The database that holds a tenant's rows.
    pub async fn tenant_db(&self, tenant: TenantId) -> StoreResult<Db> {
        let region = self.home_region(tenant).await?;
        self.region_db(&region).await
    }

    /// Begin a tenant-scoped transaction in the tenant's home region.
    pub async fn begin(&self, tenant: TenantId, intent: Intent) -> StoreResult<TenantTx> {
        let db = self.tenant_db(tenant).await?;
        TenantTx::begin(&db, tenant, intent, self.audit_keys().cloned()).await
    }

    /// Shorthand for a read transaction.
    pub async fn read(&self, tenant: TenantId) -> StoreResult<TenantTx> {
        self.begin(tenant, Intent::Read).await
    }

    /// Shorthand for a write transaction.
    pub async fn write(&self, tenant: TenantId) -> StoreResult<TenantTx> {
        self.begin(tenant, Intent::Write).await
    }

    /// Check every connected database (readiness).
    pub async fn ping(&self) -> StoreResult<()> {
        self.inner.primary.ping().await?;
        let dbs: Vec<Db> = self.inner.regions.read().await.values().cloned().collect();
        for db in dbs {
            db.ping().await?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.inner.primary.close().await;
        for db in self.inner.regions.read().await.values() {
            db.close().await;
        }
        if let Some(k) = &self.inner.keys {
            k.key_store.close().await;
        }
    }
}
