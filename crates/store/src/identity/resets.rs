//! Password-reset tokens: stored only as a hash, single use, expiring.

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::UserId;

pub async fn insert(
    tx: &mut TenantTx,
    user: UserId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO password_resets (tenant_id, id, user_id, token_hash, expires_at, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(user.as_text())
        .bind(token_hash.to_owned())
        .bind(ts(expires_at))
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// Consume a token: marks it used and returns its user, or `None` if it is
/// unknown, used or expired. Atomic, so a token works exactly once.
pub async fn take(
    tx: &mut TenantTx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<UserId>> {
    let q = tx
        .q(
            "UPDATE password_resets SET used_at = $3 WHERE tenant_id = $1 AND token_hash = $2 \
            AND used_at IS NULL AND expires_at > $3 RETURNING user_id",
        )
        .bind(token_hash.to_owned())
        .bind(ts(now));
    match tx.opt(q).await? {
        Some(r) => Ok(Some(r.parse("user_id")?)),
        None => Ok(None),
    }
}

/// Invalidate a user's outstanding tokens (after a successful reset).
pub async fn invalidate_for_user(
    tx: &mut TenantTx,
    user: UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE password_resets SET used_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
        .bind(user.as_text())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// Housekeeping: delete reset tokens past their expiry (used or not).
pub async fn purge_expired(tx: &mut TenantTx, now: DateTime<Utc>) -> StoreResult<u64> {
    let q = tx
        .q("DELETE FROM password_resets WHERE tenant_id = $1 AND expires_at <= $2")
        .bind(ts(now));
    tx.exec(q).await
}
