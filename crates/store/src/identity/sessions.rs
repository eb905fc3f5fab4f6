//! Server-side sign-in sessions. Secrets (cookie secret, refresh token) are
//! stored only as SHA-256 hashes.

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{BranchId, SessionId, UserId};
use sqlx::any::AnyRow;

/// A stored session.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user_id: UserId,
    /// "browser" or "api".
    pub kind: String,
    pub secret_hash: String,
    pub refresh_hash: Option<String>,
    pub csrf_token: String,
    pub branch_id: Option<BranchId>,
    pub ip: String,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The columns of a session row that [`get`] and [`by_refresh`] read.
pub const COLS: &str =
    "id, user_id, kind, secret_hash, refresh_hash, csrf_token, branch_id, ip, user_agent, \
    created_at, last_seen_at, revoked_at";

/// The statement of [`get`]: one session by id (`$2`).
pub fn get_sql() -> String {
    format!("SELECT {COLS} FROM sessions WHERE tenant_id = $1 AND id = $2")
}

fn from_row(r: &AnyRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: r.parse("id")?,
        user_id: r.parse("user_id")?,
        kind: r.text("kind")?,
        secret_hash: r.text("secret_hash")?,
        refresh_hash: r.opt_text("refresh_hash")?,
        csrf_token: r.text("csrf_token")?,
        branch_id: r
            .opt_text("branch_id")?
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| crate::StoreError::Corrupt("branch_id".into()))?,
        ip: r.text("ip")?,
        user_agent: r.text("user_agent")?,
        created_at: r.time("created_at")?,
        last_seen_at: r.time("last_seen_at")?,
        revoked_at: r.opt_time("revoked_at")?,
    })
}

/// The statement of [`insert`].
pub const INSERT_SQL: &str = "INSERT INTO sessions (tenant_id, id, user_id, kind, secret_hash, \
    refresh_hash, csrf_token, branch_id, ip, user_agent, created_at, last_seen_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub async fn insert(tx: &mut TenantTx, s: &SessionRecord) -> StoreResult<()> {
    let q = tx
        .q(INSERT_SQL)
        .bind(s.id.as_text())
        .bind(s.user_id.as_text())
        .bind(s.kind.clone())
        .bind(s.secret_hash.clone())
        .bind(s.refresh_hash.clone())
        .bind(s.csrf_token.clone())
        .bind(s.branch_id.map(|b| b.as_text()))
        .bind(s.ip.clone())
        .bind(s.user_agent.clone())
        .bind(ts(s.created_at))
        .bind(ts(s.last_seen_at));
    tx.exec(q).await?;
    Ok(())
}

pub async fn get(tx: &mut TenantTx, id: SessionId) -> StoreResult<Option<SessionRecord>> {
    let sql = get_sql();
    let q = tx.q(&sql).bind(id.as_text());
    tx.opt(q).await?.as_ref().map(from_row).transpose()
}

pub async fn by_refresh(
    tx: &mut TenantTx,
    refresh_hash: &str,
) -> StoreResult<Option<SessionRecord>> {
    let sql = format!("SELECT {COLS} FROM sessions WHERE tenant_id = $1 AND refresh_hash = $2");
    let q = tx.q(&sql).bind(refresh_hash.to_owned());
    tx.opt(q).await?.as_ref().map(from_row).transpose()
}

/// Record use (the web layer calls this at most once a minute per session).
pub async fn touch(tx: &mut TenantTx, id: SessionId, now: DateTime<Utc>) -> StoreResult<()> {
    let q = tx
        .q("UPDATE sessions SET last_seen_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// Swap the refresh token, only if `old` is still the current one
/// (compare-and-set: two concurrent refreshes cannot both win).
pub async fn rotate_refresh(
    tx: &mut TenantTx,
    id: SessionId,
    old: &str,
    new: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q("UPDATE sessions SET refresh_hash = $4, last_seen_at = $5 WHERE tenant_id = $1 AND id = $2 \
            AND refresh_hash = $3 AND revoked_at IS NULL")
        .bind(id.as_text())
        .bind(old.to_owned())
        .bind(new.to_owned())
        .bind(ts(now));
    Ok(tx.exec(q).await? == 1)
}

pub async fn set_branch(tx: &mut TenantTx, id: SessionId, branch: BranchId) -> StoreResult<()> {
    let q = tx
        .q("UPDATE sessions SET branch_id = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(branch.as_text());
    tx.exec(q).await?;
    Ok(())
}

pub async fn revoke(
    tx: &mut TenantTx,
    id: SessionId,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q(
            "UPDATE sessions SET revoked_at = $3, revoked_reason = $4, refresh_hash = NULL \
            WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(id.as_text())
        .bind(ts(now))
        .bind(reason.to_owned());
    Ok(tx.exec(q).await? == 1)
}

/// Revoke every live session of a user except `keep` (e.g. the one that
/// changed the password). Returns how many ended.
pub async fn revoke_all_for_user(
    tx: &mut TenantTx,
    user: UserId,
    keep: Option<SessionId>,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let q = tx
        .q(
            "UPDATE sessions SET revoked_at = $3, revoked_reason = $4, refresh_hash = NULL \
            WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND id <> $5",
        )
        .bind(user.as_text())
        .bind(ts(now))
        .bind(reason.to_owned())
        .bind(keep.map(|k| k.as_text()).unwrap_or_default());
    tx.exec(q).await
}

/// Live (not revoked, not expired) sessions of a user, newest first.
pub async fn live_for_user(
    tx: &mut TenantTx,
    user: UserId,
    idle_cutoff: DateTime<Utc>,
    absolute_cutoff: DateTime<Utc>,
) -> StoreResult<Vec<SessionRecord>> {
    let sql = format!(
        "SELECT {COLS} FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL \
         AND last_seen_at > $3 AND created_at > $4 ORDER BY created_at DESC"
    );
    let q = tx
        .q(&sql)
        .bind(user.as_text())
        .bind(ts(idle_cutoff))
        .bind(ts(absolute_cutoff));
    tx.all(q).await?.iter().map(from_row).collect()
}
