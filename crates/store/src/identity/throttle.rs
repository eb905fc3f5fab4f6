//! Shared rate counters and lockouts, kept in the primary database so that
//! every server instance sees the same numbers. Keys are hashes (an account
//! key never stores the email itself).

use crate::kit::row::{from_ts, ts, RowExt};
use crate::{Db, StoreResult};
use chrono::{DateTime, Duration, Utc};

/// One counted hit: the count in the current window, when that window
/// ends, and any active lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub count: i64,
    pub window_ends: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// Count one hit on `key` in a fixed window; returns the count in the
/// current window (1 for the first hit) and any active lock.
pub async fn hit(
    db: &Db,
    key: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
    let h = hit_window(db, key, window, now).await?;
    Ok((h.count, h.locked_until))
}

/// [`hit`], also saying when the window ends (for `Retry-After`). The
/// upsert is one statement, so concurrent instances never lose a count.
pub async fn hit_window(
    db: &Db,
    key: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> StoreResult<Hit> {
    let row = sqlx::query(
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
    .await?;
    let locked_until = row
        .opt_int("locked_until")?
        .map(from_ts)
        .filter(|t| *t > now);
    Ok(Hit {
        count: row.int("count")?,
        window_ends: from_ts(row.int("window_start")?) + window,
        locked_until,
    })
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
