//! Shared rate counters for the web edge's `auth` and `otp` request
//! classes: fixed windows counted in the primary database, so every server
//! instance sees the same count. Keys are hashes chosen by the caller.

use crate::identity::service::Identity;
use crate::identity::types::WindowHit;
use crate::AppResult;
use chrono::{DateTime, Duration, Utc};
use clinicos_store::identity::throttle;

impl Identity<'_> {
    /// Count one request on `key` in a fixed `window` starting at its first
    /// hit; says how many requests the current window holds (1 for the
    /// first) and when it ends. One upsert, so concurrent instances never
    /// lose a count.
    pub async fn hit_rate_window(
        &self,
        key: &str,
        window: Duration,
        now: DateTime<Utc>,
    ) -> AppResult<WindowHit> {
        let h = throttle::hit_window(self.app.store.platform(), key, window, now).await?;
        Ok(WindowHit {
            count: h.count,
            window_ends: h.window_ends,
        })
    }
}
