//! Platform (operator) tables in the primary database: tenant directory,
//! plans, regions, operator accounts and sessions, platform secrets. None of
//! these hold patient data.

use crate::kit::row::{ts, RowExt};
use crate::{Db, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use clinicos_domain::tenancy::tenant::SubscriptionStatus;
use clinicos_domain::{OperatorId, TenantId};
use sqlx::any::AnyRow;

/// A directory entry: where a tenant lives and its status.
#[derive(Clone, Debug)]
pub struct DirectoryEntry {
    pub tenant_id: TenantId,
    pub slug: String,
    pub display_name: String,
    pub region_code: String,
    pub plan_code: String,
    pub status: SubscriptionStatus,
    pub created_at: DateTime<Utc>,
}

fn entry(r: &AnyRow) -> StoreResult<DirectoryEntry> {
    Ok(DirectoryEntry {
        tenant_id: r.parse("tenant_id")?,
        slug: r.text("slug")?,
        display_name: r.text("display_name")?,
        region_code: r.text("region_code")?,
        plan_code: r.text("plan_code")?,
        status: r.parse("status")?,
        created_at: r.time("created_at")?,
    })
}

const DIR_COLS: &str = "tenant_id, slug, display_name, region_code, plan_code, status, created_at";

pub async fn insert_directory(db: &Db, e: &DirectoryEntry) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tenant_directory (tenant_id, slug, display_name, region_code, plan_code, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(e.tenant_id.as_text())
    .bind(e.slug.clone())
    .bind(e.display_name.clone())
    .bind(e.region_code.clone())
    .bind(e.plan_code.clone())
    .bind(e.status.as_str())
    .bind(ts(e.created_at))
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn delete_directory(db: &Db, tenant: TenantId) -> StoreResult<()> {
    sqlx::query("DELETE FROM tenant_directory WHERE tenant_id = $1")
        .bind(tenant.as_text())
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn directory_by_slug(db: &Db, slug: &str) -> StoreResult<Option<DirectoryEntry>> {
    let sql = format!("SELECT {DIR_COLS} FROM tenant_directory WHERE slug = $1");
    sqlx::query(&sql)
        .bind(slug.to_owned())
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(entry)
        .transpose()
}

pub async fn directory_get(db: &Db, tenant: TenantId) -> StoreResult<DirectoryEntry> {
    let sql = format!("SELECT {DIR_COLS} FROM tenant_directory WHERE tenant_id = $1");
    let row = sqlx::query(&sql)
        .bind(tenant.as_text())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    entry(&row)
}

pub async fn directory_list(db: &Db) -> StoreResult<Vec<DirectoryEntry>> {
    let sql = format!("SELECT {DIR_COLS} FROM tenant_directory ORDER BY created_at");
    sqlx::query(&sql)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(entry)
        .collect()
}

pub async fn directory_set_status(
    db: &Db,
    tenant: TenantId,
    status: SubscriptionStatus,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("UPDATE tenant_directory SET status = $2, updated_at = $3 WHERE tenant_id = $1")
        .bind(tenant.as_text())
        .bind(status.as_str())
        .bind(ts(now))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A subscription plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub code: String,
    pub name: String,
    pub max_branches: i64,
    pub max_staff: i64,
    pub price_minor: i64,
    pub currency: String,
}

pub async fn upsert_plan(db: &Db, p: &Plan, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO plans (code, name, max_branches, max_staff, price_minor, currency, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
         max_branches = excluded.max_branches, max_staff = excluded.max_staff, \
         price_minor = excluded.price_minor, currency = excluded.currency",
    )
    .bind(p.code.clone())
    .bind(p.name.clone())
    .bind(p.max_branches)
    .bind(p.max_staff)
    .bind(p.price_minor)
    .bind(p.currency.clone())
    .bind(ts(now))
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn plans(db: &Db) -> StoreResult<Vec<Plan>> {
    sqlx::query("SELECT code, name, max_branches, max_staff, price_minor, currency FROM plans ORDER BY price_minor, code")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Plan {
                code: r.text("code")?,
                name: r.text("name")?,
                max_branches: r.int("max_branches")?,
                max_staff: r.int("max_staff")?,
                price_minor: r.int("price_minor")?,
                currency: r.text("currency")?,
            })
        })
        .collect()
}

/// A data-residency region (the database URL is never shown in full).
#[derive(Clone, Debug)]
pub struct Region {
    pub code: String,
    pub name: String,
    /// "sqlite" or "postgres" (the URL itself may hold credentials).
    pub backend: String,
}

pub async fn regions(db: &Db) -> StoreResult<Vec<Region>> {
    sqlx::query("SELECT code, name, database_url FROM regions ORDER BY code")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            let url = r.text("database_url")?;
            let backend = if url == crate::kit::regions::PRIMARY_URL {
                match db.backend() {
                    crate::Backend::Sqlite => "sqlite",
                    crate::Backend::Postgres => "postgres",
                }
            } else if url.starts_with("sqlite:") {
                "sqlite"
            } else {
                "postgres"
            };
            Ok(Region {
                code: r.text("code")?,
                name: r.text("name")?,
                backend: backend.to_owned(),
            })
        })
        .collect()
}

/// An operator account as stored.
#[derive(Clone, Debug)]
pub struct OperatorRecord {
    pub id: OperatorId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_active: bool,
}

pub async fn insert_operator(db: &Db, o: &OperatorRecord, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("INSERT INTO operators (id, email, name, password_hash, is_active, created_at) VALUES ($1, $2, $3, $4, 1, $5)")
        .bind(o.id.as_text())
        .bind(o.email.clone())
        .bind(o.name.clone())
        .bind(o.password_hash.clone())
        .bind(ts(now))
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn operator_by_email(db: &Db, email: &str) -> StoreResult<Option<OperatorRecord>> {
    sqlx::query("SELECT id, email, name, password_hash, is_active FROM operators WHERE email = $1")
        .bind(email.to_owned())
        .fetch_optional(db.pool())
        .await?
        .map(|r| {
            Ok(OperatorRecord {
                id: r.parse("id")?,
                email: r.text("email")?,
                name: r.text("name")?,
                password_hash: r.text("password_hash")?,
                is_active: r.flag("is_active")?,
            })
        })
        .transpose()
}

/// An operator's session.
#[derive(Clone, Debug)]
pub struct OperatorSession {
    pub id: String,
    pub operator_id: OperatorId,
    pub secret_hash: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked: bool,
}

pub async fn insert_operator_session(
    db: &Db,
    s: &OperatorSession,
    ip: &str,
    ua: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO operator_sessions (id, operator_id, secret_hash, csrf_token, ip, user_agent, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(s.id.clone())
    .bind(s.operator_id.as_text())
    .bind(s.secret_hash.clone())
    .bind(s.csrf_token.clone())
    .bind(ip.to_owned())
    .bind(ua.to_owned())
    .bind(ts(s.created_at))
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn operator_session(db: &Db, id: &str) -> StoreResult<Option<OperatorSession>> {
    sqlx::query("SELECT id, operator_id, secret_hash, csrf_token, created_at, last_seen_at, revoked_at FROM operator_sessions WHERE id = $1")
        .bind(id.to_owned())
        .fetch_optional(db.pool())
        .await?
        .map(|r| {
            Ok(OperatorSession {
                id: r.text("id")?,
                operator_id: r.parse("operator_id")?,
                secret_hash: r.text("secret_hash")?,
                csrf_token: r.text("csrf_token")?,
                created_at: r.time("created_at")?,
                last_seen_at: r.time("last_seen_at")?,
                revoked: r.opt_int("revoked_at")?.is_some(),
            })
        })
        .transpose()
}

pub async fn touch_operator_session(db: &Db, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE operator_sessions SET last_seen_at = $2 WHERE id = $1")
        .bind(id.to_owned())
        .bind(ts(now))
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn revoke_operator_session(db: &Db, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE operator_sessions SET revoked_at = $2 WHERE id = $1")
        .bind(id.to_owned())
        .bind(ts(now))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A platform secret's stored bytes (wrapped by the master key; a legacy
/// row may still hold the plaintext until the application upgrades it).
pub async fn secret_value(db: &Db, name: &str) -> StoreResult<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT value FROM platform_secrets WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(r) => Ok(Some(r.bytes("value")?.ok_or_else(|| {
            StoreError::Corrupt(format!("secret {name} is empty"))
        })?)),
        None => Ok(None),
    }
}

/// Store a secret unless one of that name exists (concurrent first starts
/// agree on the first value; callers re-read with [`secret_value`]).
pub async fn insert_secret_if_absent(db: &Db, name: &str, value: &[u8]) -> StoreResult<()> {
    sqlx::query("INSERT INTO platform_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(name.to_owned())
        .bind(value.to_vec())
        .bind(ts(Utc::now()))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Replace a secret's stored bytes only if they are still `old` (so two
/// instances upgrading or re-wrapping at once cannot both apply).
pub async fn replace_secret(db: &Db, name: &str, old: &[u8], new: &[u8]) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE platform_secrets SET value = $1 WHERE name = $2 AND value = $3")
        .bind(new.to_vec())
        .bind(name.to_owned())
        .bind(old.to_vec())
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The names of every stored platform secret.
pub async fn secret_names(db: &Db) -> StoreResult<Vec<String>> {
    sqlx::query("SELECT name FROM platform_secrets ORDER BY name")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.text("name"))
        .collect()
}
