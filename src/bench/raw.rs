//! The raw-database side of each scenario: the same row work as the
//! ClinicOS request, straight on the store's sqlx pool, without HTTP,
//! routing, authentication code, policy or JSON.
//!
//! Invariants:
//! - Same pool (size and connection settings) as the server uses, same
//!   rows (ids from the fixture), same columns as the repositories select.
//! - On PostgreSQL each transaction sets `app.tenant_id` first, as the
//!   row-level security policies require; so the baseline pays that too.
//! - A missing row is an error (`fetch_one`), so a baseline that silently
//!   read nothing (e.g. RLS filtering everything) cannot look fast.

use super::fixture::Fixture;
use chrono::Utc;
use clinicos_app::crypto;
use clinicos_store::{Backend, Db};
use sqlx::{Any, AnyPool, Row, Transaction};

const SESSION: &str = "SELECT id, user_id, kind, secret_hash, refresh_hash, csrf_token, branch_id, ip, \
    user_agent, created_at, last_seen_at, revoked_at FROM sessions WHERE tenant_id = $1 AND id = $2";
const TENANT: &str =
    "SELECT tenant_id, slug, legal_name, display_name, logo_mime, address_line, city, \
    state, postcode, country, home_region, default_locale, default_currency, default_time_zone, \
    subscription_status, plan_code, idle_timeout_minutes, absolute_timeout_minutes, created_at, \
    updated_at FROM tenants WHERE tenant_id = $1";
const USER: &str = "SELECT id, email, name, phone, languages, locale, registration_number, \
    registration_council, qualifications, specialisation, health_professional_id, avatar_mime, \
    signature_mime, is_active, password_hash, last_login_at, created_at, updated_at \
    FROM users WHERE tenant_id = $1 AND id = $2";
const ROLES: &str = "SELECT role FROM user_roles WHERE tenant_id = $1 AND user_id = $2";
const USER_BRANCHES: &str =
    "SELECT branch_id FROM user_branches WHERE tenant_id = $1 AND user_id = $2 ORDER BY branch_id";
const BRANCH: &str =
    "SELECT id, code, name, address_line, city, state, postcode, country, time_zone, \
    currency, gstin, vat_id, tin, working_hours, phone, email, is_active, created_at, updated_at \
    FROM branches WHERE tenant_id = $1 AND id = $2";
const CREDENTIALS: &str = "SELECT id, password_hash, is_active, name, email FROM users \
    WHERE tenant_id = $1 AND email = $2";
const NEW_SESSION: &str = "INSERT INTO sessions (tenant_id, id, user_id, kind, secret_hash, \
    refresh_hash, csrf_token, branch_id, ip, user_agent, created_at, last_seen_at) \
    VALUES ($1, $2, $3, 'api', $4, $4, $5, $6, '127.0.0.1', 'clinicos-bench', $7, $7)";

/// The baseline's connection and the fixture's ids.
pub struct Raw {
    pool: AnyPool,
    backend: Backend,
    tenant: String,
    session: String,
    user: String,
    branch: String,
    email: String,
    password: String,
}

fn db_err(e: sqlx::Error) -> String {
    format!("database: {e}")
}

impl Raw {
    pub fn new(db: &Db, fx: &Fixture) -> Raw {
        Raw {
            pool: db.pool().clone(),
            backend: db.backend(),
            tenant: fx.tenant_id.clone(),
            session: fx.session_id.clone(),
            user: fx.user_id.clone(),
            branch: fx.branch_id.clone(),
            email: fx.email.clone(),
            password: fx.password.clone(),
        }
    }

    async fn begin(&self, write: bool) -> Result<Transaction<'static, Any>, String> {
        let mut tx = match (self.backend, write) {
            (Backend::Sqlite, true) => self.pool.begin_with("BEGIN IMMEDIATE").await,
            _ => self.pool.begin().await,
        }
        .map_err(db_err)?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(self.tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        Ok(tx)
    }

    /// Session, tenant, user (+ roles, branches) and the branch, in one
    /// read transaction.
    pub async fn get_branch(&self) -> Result<(), String> {
        let mut tx = self.begin(false).await?;
        for (sql, id) in [
            (SESSION, Some(&self.session)),
            (TENANT, None),
            (USER, Some(&self.user)),
            (BRANCH, Some(&self.branch)),
        ] {
            let q = sqlx::query(sql).bind(self.tenant.as_str());
            let q = match id {
                Some(id) => q.bind(id.as_str()),
                None => q,
            };
            q.fetch_one(&mut *tx).await.map_err(db_err)?;
        }
        for sql in [ROLES, USER_BRANCHES] {
            let rows = sqlx::query(sql)
                .bind(self.tenant.as_str())
                .bind(self.user.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            if rows.is_empty() {
                return Err("the owner has no roles or branches".into());
            }
        }
        tx.commit().await.map_err(db_err)
    }

    /// Look the owner up by email, verify the password (argon2id, same
    /// parameters, on the blocking pool) and insert a session row.
    pub async fn login(&self) -> Result<(), String> {
        let mut tx = self.begin(false).await?;
        let row = sqlx::query(CREDENTIALS)
            .bind(self.tenant.as_str())
            .bind(self.email.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let hash: String = row.try_get("password_hash").map_err(db_err)?;
        let password = self.password.clone();
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
            .await
            .map_err(|e| format!("password check failed: {e}"))?;
        if !ok {
            return Err("the password did not verify".into());
        }
        let secret = crypto::random_token(32);
        let now = Utc::now().timestamp_micros();
        let mut tx = self.begin(true).await?;
        sqlx::query(NEW_SESSION)
            .bind(self.tenant.as_str())
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(self.user.as_str())
            .bind(crypto::sha256_hex(&secret))
            .bind(crypto::random_token(24))
            .bind(self.branch.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}
