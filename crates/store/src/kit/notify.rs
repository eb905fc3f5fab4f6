//! Telling every running instance to forget cached state (a patient's
//! data key after an erasure, and later sessions and policy), through the
//! primary database: PostgreSQL `NOTIFY` on one channel, heard by a
//! `LISTEN` connection in every instance. The embedded default (SQLite) is
//! one process, so sending is a no-op there and the caller forgets its own
//! cache directly.
//!
//! Invariants:
//! - A payload names ids only (tenant and subject ids), never PHI.
//! - A listener that lost its connection may have missed messages, so it
//!   reports [`Invalidation::Everything`] once it is back.

use crate::kit::db::{Backend, Db};
use crate::{StoreError, StoreResult};

/// The one channel every instance listens on.
pub const CHANNEL: &str = "clinicos_cache";

/// One thing every instance must forget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalidation {
    /// A subject's (patient's) data key.
    SubjectKey { tenant: String, subject: String },
    /// Everything cached (after a lost listener connection).
    Everything,
}

impl Invalidation {
    /// The wire form: `subject_key <tenant> <subject>` or `everything`.
    pub fn encode(&self) -> String {
        match self {
            Invalidation::SubjectKey { tenant, subject } => {
                format!("subject_key {tenant} {subject}")
            }
            Invalidation::Everything => "everything".to_owned(),
        }
    }

    /// Parse the wire form; an unknown message is `None` (a newer
    /// instance may send kinds this one does not cache).
    pub fn decode(s: &str) -> Option<Invalidation> {
        let mut parts = s.split(' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("subject_key"), Some(t), Some(sub), None) if !t.is_empty() && !sub.is_empty() => {
                Some(Invalidation::SubjectKey {
                    tenant: t.to_owned(),
                    subject: sub.to_owned(),
                })
            }
            (Some("everything"), None, None, None) => Some(Invalidation::Everything),
            _ => None,
        }
    }
}

/// Tell every instance listening on `db` (the primary database). A no-op
/// on SQLite.
pub async fn notify(db: &Db, what: &Invalidation) -> StoreResult<()> {
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(what.encode())
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

/// A `LISTEN` connection on the primary database.
pub struct Listener {
    inner: sqlx::postgres::PgListener,
}

impl Listener {
    /// Listen on `db` (`None` on SQLite: nothing to hear).
    pub async fn connect(db: &Db) -> StoreResult<Option<Listener>> {
        if db.backend() != Backend::Postgres {
            return Ok(None);
        }
        let mut inner = sqlx::postgres::PgListener::connect(db.url())
            .await
            .map_err(|e| StoreError::Unreachable(e.to_string()))?;
        inner.listen(CHANNEL).await?;
        Ok(Some(Listener { inner }))
    }

    /// The next message (waits). After a lost connection (reconnected on
    /// the next call) it answers [`Invalidation::Everything`].
    pub async fn next(&mut self) -> StoreResult<Invalidation> {
        loop {
            match self.inner.try_recv().await? {
                None => return Ok(Invalidation::Everything),
                Some(n) => {
                    if let Some(i) = Invalidation::decode(n.payload()) {
                        return Ok(i);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_unknown_ones_are_ignored() {
        for i in [
            Invalidation::SubjectKey {
                tenant: "t-1".into(),
                subject: "p-2".into(),
            },
            Invalidation::Everything,
        ] {
            assert_eq!(Invalidation::decode(&i.encode()), Some(i));
        }
        for bad in [
            "",
            "subject_key",
            "subject_key t",
            "subject_key t p x",
            "session s",
        ] {
            assert_eq!(Invalidation::decode(bad), None, "{bad}");
        }
    }
}
