//! Session expiry: a session ends after `idle` without use, or `absolute`
//! after sign-in, whichever comes first; or when revoked. Pure: the caller
//! passes `now` (an injected clock in tests).

use chrono::{DateTime, Duration, Utc};

/// Per-tenant session limits (defaults: 15 min idle, 12 h absolute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(15),
            absolute: Duration::hours(12),
        }
    }
}

/// Why a session is no longer usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    Revoked,
    Idle,
    Absolute,
}

/// The times that decide a session's validity.
#[derive(Clone, Copy, Debug)]
pub struct SessionTimes {
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked: bool,
}

impl SessionTimes {
    /// `Ok(())` if the session may be used at `now`, else why not.
    pub fn check(&self, limits: SessionLimits, now: DateTime<Utc>) -> Result<(), SessionEnd> {
        if self.revoked {
            Err(SessionEnd::Revoked)
        } else if now >= self.created_at + limits.absolute {
            Err(SessionEnd::Absolute)
        } else if now >= self.last_seen_at + limits.idle {
            Err(SessionEnd::Idle)
        } else {
            Ok(())
        }
    }

    /// When the session ends at the latest if it keeps being used.
    pub fn absolute_end(&self, limits: SessionLimits) -> DateTime<Utc> {
        self.created_at + limits.absolute
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A session used every minute still dies at the absolute limit; an
        /// unused one dies at the idle limit.
        #[test]
        fn expiry_is_the_earlier_of_idle_and_absolute(idle_m in 1i64..120, abs_m in 1i64..1440, gap_m in 0i64..2000) {
            let limits = SessionLimits { idle: Duration::minutes(idle_m), absolute: Duration::minutes(abs_m) };
            let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
            let s = SessionTimes { created_at: t0, last_seen_at: t0, revoked: false };
            let now = t0 + Duration::minutes(gap_m);
            let ok = s.check(limits, now).is_ok();
            prop_assert_eq!(ok, gap_m < idle_m && gap_m < abs_m);
        }
    }

    #[test]
    fn revoked_beats_everything() {
        let t0 = Utc::now();
        let s = SessionTimes {
            created_at: t0,
            last_seen_at: t0,
            revoked: true,
        };
        assert_eq!(
            s.check(SessionLimits::default(), t0),
            Err(SessionEnd::Revoked)
        );
    }
}
