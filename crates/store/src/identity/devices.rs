//! Staff devices for device approval: one row per (user, device), keyed by
//! a hash of the server-issued device id; status pending / approved / denied.

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::UserId;
use sqlx::any::AnyRow;

/// A device a staff member signed in from (or tried to).
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub user_id: UserId,
    /// pending, approved or denied.
    pub status: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, user_id, status, ip, user_agent, created_at, decided_at";

fn from_row(r: &AnyRow) -> StoreResult<Device> {
    Ok(Device {
        id: r.text("id")?,
        user_id: r.parse("user_id")?,
        status: r.text("status")?,
        ip: r.text("ip")?,
        user_agent: r.text("user_agent")?,
        created_at: r.time("created_at")?,
        decided_at: r.opt_time("decided_at")?,
    })
}

/// The user's device with this hash.
pub async fn find(tx: &mut TenantTx, user: UserId, hash: &str) -> StoreResult<Option<Device>> {
    let sql = format!(
        "SELECT {COLS} FROM staff_devices WHERE tenant_id = $1 AND user_id = $2 AND device_hash = $3"
    );
    let q = tx.q(&sql).bind(user.as_text()).bind(hash.to_owned());
    tx.opt(q).await?.as_ref().map(from_row).transpose()
}

/// One device by id.
pub async fn get(tx: &mut TenantTx, id: &str) -> StoreResult<Option<Device>> {
    let sql = format!("SELECT {COLS} FROM staff_devices WHERE tenant_id = $1 AND id = $2");
    let q = tx.q(&sql).bind(id.to_owned());
    tx.opt(q).await?.as_ref().map(from_row).transpose()
}

/// Record a device with a status.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut TenantTx,
    id: &str,
    user: UserId,
    hash: &str,
    status: &str,
    ip: &str,
    user_agent: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO staff_devices (tenant_id, id, user_id, device_hash, status, ip, user_agent, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(id.to_owned())
        .bind(user.as_text())
        .bind(hash.to_owned())
        .bind(status.to_owned())
        .bind(ip.to_owned())
        .bind(user_agent.to_owned())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// Devices waiting for a decision, oldest first.
pub async fn pending(tx: &mut TenantTx) -> StoreResult<Vec<Device>> {
    let sql = format!(
        "SELECT {COLS} FROM staff_devices WHERE tenant_id = $1 AND status = 'pending' ORDER BY created_at"
    );
    let q = tx.q(&sql);
    tx.all(q).await?.iter().map(from_row).collect()
}

/// Approve or deny a pending device; false if it was not pending.
pub async fn decide(
    tx: &mut TenantTx,
    id: &str,
    status: &str,
    by: UserId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q(
            "UPDATE staff_devices SET status = $3, decided_at = $4, decided_by = $5 \
            WHERE tenant_id = $1 AND id = $2 AND status = 'pending'",
        )
        .bind(id.to_owned())
        .bind(status.to_owned())
        .bind(ts(now))
        .bind(by.as_text());
    Ok(tx.exec(q).await? == 1)
}

/// Approve every pending device of a user (operator recovery from the CLI).
pub async fn approve_pending_for_user(
    tx: &mut TenantTx,
    user: UserId,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let q = tx
        .q(
            "UPDATE staff_devices SET status = 'approved', decided_at = $3, decided_by = 'cli' \
            WHERE tenant_id = $1 AND user_id = $2 AND status = 'pending'",
        )
        .bind(user.as_text())
        .bind(ts(now));
    tx.exec(q).await
}

/// Housekeeping: mark approvals pending since before `cutoff` as expired;
/// returns their ids. The rows stay (audit events name them).
pub async fn expire_pending(
    tx: &mut TenantTx,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<String>> {
    let q = tx
        .q(
            "UPDATE staff_devices SET status = 'expired', decided_at = $3 \
            WHERE tenant_id = $1 AND status = 'pending' AND created_at < $2 RETURNING id",
        )
        .bind(ts(cutoff))
        .bind(ts(now));
    tx.all(q).await?.iter().map(|r| r.text("id")).collect()
}

/// Ask again for a device whose earlier request expired (same row, so the
/// device keeps one history): pending from `now`, seen from this address.
pub async fn reopen(
    tx: &mut TenantTx,
    id: &str,
    ip: &str,
    user_agent: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q(
            "UPDATE staff_devices SET status = 'pending', created_at = $3, decided_at = NULL, \
            decided_by = NULL, ip = $4, user_agent = $5 WHERE tenant_id = $1 AND id = $2 AND status = 'expired'",
        )
        .bind(id.to_owned())
        .bind(ts(now))
        .bind(ip.to_owned())
        .bind(user_agent.to_owned());
    tx.exec(q).await?;
    Ok(())
}
