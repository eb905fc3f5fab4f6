//! Per-instance memory of which patients each user read recently, so the
//! mass-read detector does not scan the audit trail on every read. The
//! in-process window raises the event as soon as one instance sees more
//! than the threshold; the audit trail (all instances) is consulted at
//! most once a minute per user to catch reads spread across instances.

use chrono::{DateTime, Duration, Utc};
use clinicos_domain::{PatientId, TenantId, UserId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// Most reads remembered per user (beyond this the user is far past any
/// sensible threshold anyway).
const MAX_PER_USER: usize = 5_000;
/// How often the audit trail is consulted per user.
pub const DB_CHECK_EVERY: i64 = 60;

#[derive(Default)]
struct Window {
    reads: VecDeque<(DateTime<Utc>, PatientId)>,
    last_db_check: Option<DateTime<Utc>>,
}

/// What the caller should do after noting reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// This instance alone saw more distinct patients than the threshold.
    Exceeded(usize),
    /// Ask the audit trail (other instances' reads count too).
    CheckDatabase,
    Fine,
}

#[derive(Clone, Default)]
pub struct ReadTracker {
    inner: Arc<Mutex<HashMap<(TenantId, UserId), Window>>>,
}

impl ReadTracker {
    pub fn note(
        &self,
        tenant: TenantId,
        user: UserId,
        ids: &[PatientId],
        now: DateTime<Utc>,
        window: Duration,
        threshold: i64,
    ) -> Verdict {
        let Ok(mut map) = self.inner.lock() else {
            return Verdict::CheckDatabase;
        };
        if map.len() > 50_000 {
            map.clear();
        }
        let w = map.entry((tenant, user)).or_default();
        for id in ids {
            w.reads.push_back((now, *id));
        }
        while w.reads.len() > MAX_PER_USER
            || w.reads.front().is_some_and(|(at, _)| *at < now - window)
        {
            w.reads.pop_front();
        }
        let distinct = w
            .reads
            .iter()
            .map(|(_, id)| id)
            .collect::<HashSet<_>>()
            .len();
        if i64::try_from(distinct).unwrap_or(i64::MAX) > threshold {
            return Verdict::Exceeded(distinct);
        }
        let due = w
            .last_db_check
            .is_none_or(|at| now - at >= Duration::seconds(DB_CHECK_EVERY));
        if due {
            w.last_db_check = Some(now);
            Verdict::CheckDatabase
        } else {
            Verdict::Fine
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_patients_in_the_window_and_paces_database_checks() {
        let t = ReadTracker::default();
        let (tenant, user) = (TenantId::new(), UserId::new());
        let now = Utc::now();
        let w = Duration::minutes(10);
        let ids: Vec<PatientId> = (0..52).map(|_| PatientId::new()).collect();
        let (ids, more) = ids.split_at(50);
        assert_eq!(
            t.note(tenant, user, ids, now, w, 50),
            Verdict::CheckDatabase
        );
        // The same 50 again: still 50 distinct, and the check is not due.
        assert_eq!(t.note(tenant, user, ids, now, w, 50), Verdict::Fine);
        assert_eq!(
            t.note(tenant, user, &more[..1], now, w, 50),
            Verdict::Exceeded(51)
        );
        // Eleven minutes later the old reads have left the window.
        let later = now + Duration::minutes(11);
        assert_eq!(
            t.note(tenant, user, &more[1..], later, w, 50),
            Verdict::CheckDatabase
        );
    }
}
