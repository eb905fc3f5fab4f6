//! Shared rate counters and lockouts, kept in the primary database so that
//! every server instance sees the same numbers. Keys are hashes (an account
//! key never stores the email itself).

use crate::row::{from_ts, ts, RowExt};
use crate::{Db, StoreResult};
use chrono::{DateTime, Duration, Utc};

/// One hit on `key` in a fixed window: the row after the hit.
async fn bump(
    db: &Db,
    key: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> StoreResult<sqlx::any::AnyRow> {
    Ok(sqlx::query(
        "INSERT INTO rate_counters (key, window_start, count, locked_until) VALUES ($1, $2, 1, NULL) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_counters.window_start <= $3 THEN 1 ELSE rate_counters.count + 1 END, \
           window_start = CASE WHEN rate_counters.window_start <= $3 THEN $2 ELSE rate_counters.window_start END \
         RETURNING count, window_start, locked_until",
    )
    .bind(key.to_owned())
    .bind(ts(now))
    .bind(ts(now - window))
    .fetch_one(db.pool())
    .await?)
}

/// Count one hit on `key` in a fixed window; returns the count in the
/// current window (1 for the first hit) and any active lock.
pub async fn hit(
    db: &Db,
    key: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
    let row = bump(db, key, window, now).await?;
    let locked = row
        .opt_int("locked_until")?
        .map(from_ts)
        .filter(|t| *t > now);
    Ok((row.int("count")?, locked))
}

/// Like [`hit`], but returns the count and the start of the current
/// window (so a caller can say when the window ends: `Retry-After`).
pub async fn hit_window(
    db: &Db,
    key: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> StoreResult<(i64, DateTime<Utc>)> {
    let row = bump(db, key, window, now).await?;
    Ok((row.int("count")?, from_ts(row.int("window_start")?)))
}

/// The lock on a key, if one is active at `now`.
pub async fn locked_until(
    db: &Db,
    key: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let row = sqlx::query("SELECT locked_until FROM rate_counters WHERE key = $1")
        .bind(key.to_owned())
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => r.opt_int("locked_until")?.map(from_ts).filter(|t| *t > now),
        None => None,
    })
}

pub async fn lock(db: &Db, key: &str, until: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE rate_counters SET locked_until = $2 WHERE key = $1")
        .bind(key.to_owned())
        .bind(ts(until))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Forget a key (after a successful sign-in).
pub async fn clear(db: &Db, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM rate_counters WHERE key = $1")
        .bind(key.to_owned())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Housekeeping: forget counters whose window started before `before` and
/// that hold no active lock (the next hit would restart them anyway).
pub async fn purge_expired(db: &Db, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query(
        "DELETE FROM rate_counters WHERE window_start < $1 AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(ts(before))
    .bind(ts(now))
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}
