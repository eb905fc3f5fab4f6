//! A database handle: one `Any` pool plus the backend it talks to. SQLite is
//! opened with WAL, foreign keys on and a busy timeout; PostgreSQL
//! connections drop to the non-owner role [`APP_ROLE`] so that row-level
//! security applies to every statement the application runs.

use crate::{StoreError, StoreResult};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The PostgreSQL role the application runs as (owns nothing, subject to RLS).
pub const APP_ROLE: &str = "clinicos_app";

/// Which database engine a handle talks to. SQL that must differ between
/// the two is chosen by matching on this, in the storage crate only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connected database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    url: String,
    /// SQLite's one writer, taken in arrival order by every tenant write
    /// transaction of this process (see [`Db::writer_turn`]).
    writer: Arc<Mutex<()>>,
}

/// The longest a write transaction waits for SQLite's writer in this
/// process; the same as the busy timeout for other processes.
const WRITER_WAIT: Duration = Duration::from_secs(10);

/// A pooled connection is closed after this long idle, and when released
/// after this long open (sqlx's defaults: 10 and 30 minutes). Each SQLite
/// connection holds its own page cache (up to 2 MiB) and prepared
/// statements, each PostgreSQL connection its statement cache and
/// buffers. The pool hands its idle connections out in turn, so a
/// background task every few seconds (the audit sealer) keeps every
/// connection a burst opened from ever idling a minute, and fills each
/// one's page cache: only a bounded age lets a quiet server give that
/// memory back (docs/BENCHMARKS.md, "Memory under load"). Reopening costs
/// a millisecond or so per connection per minute.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

/// The SQLite URL of the database file inside a data directory.
pub fn sqlite_url_for_dir(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("clinicos.db").display())
}

impl Db {
    /// Open a database by URL (`sqlite://path?mode=rwc` or `postgres://...`).
    /// On PostgreSQL `as_app_role` makes every connection `SET ROLE` to the
    /// application role (the owner is used only by migrations).
    pub async fn connect(url: &str, max_connections: u32, as_app_role: bool) -> StoreResult<Db> {
        install_drivers();
        let backend = backend_of(url)?;
        let opts = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::Migration(format!("bad database URL: {e}")))?
            .disable_statement_logging();
        let pool_opts = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .idle_timeout(Some(CONNECTION_LIFETIME))
            .max_lifetime(Some(CONNECTION_LIFETIME))
            .acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                pool_opts
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; \
                                 PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Backend::Postgres => {
                pool_opts
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            if as_app_role {
                                conn.execute(format!("SET ROLE {APP_ROLE}").as_str())
                                    .await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
        };
        Ok(Db {
            pool,
            backend,
            url: url.to_owned(),
            writer: Arc::new(Mutex::new(())),
        })
    }

    /// On SQLite, wait for this process's turn to write; `None` on
    /// PostgreSQL, whose writers do not exclude each other.
    ///
    /// SQLite has one writer per database. Left to the busy handler,
    /// writers that find it taken sleep and retry (1, 2, 5 ... 100 ms), so
    /// under load a write could wait a second behind writes of a few
    /// milliseconds, and an audited read (a write: its audit event) with
    /// it. A fair queue hands the writer over as soon as it is free, in
    /// arrival order. The busy timeout still covers other processes (the
    /// CLI). A wait beyond [`WRITER_WAIT`] fails as busy, as SQLite would.
    pub async fn writer_turn(&self) -> StoreResult<Option<OwnedMutexGuard<()>>> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        match tokio::time::timeout(WRITER_WAIT, Arc::clone(&self.writer).lock_owned()).await {
            Ok(turn) => Ok(Some(turn)),
            Err(_) => Err(StoreError::Busy),
        }
    }

    /// Like [`Db::connect`], but a failure to reach the server says so
    /// (instead of "busy") and gives up after a few seconds.
    pub async fn connect_or_explain(
        url: &str,
        max_connections: u32,
        as_app_role: bool,
    ) -> StoreResult<Db> {
        match tokio::time::timeout(
            Duration::from_secs(8),
            Db::connect(url, max_connections, as_app_role),
        )
        .await
        {
            Ok(Ok(db)) => Ok(db),
            Ok(Err(StoreError::Busy)) | Err(_) => Err(StoreError::Unreachable(
                "no answer (is the server running and the address right?)".into(),
            )),
            Ok(Err(StoreError::Db(e))) => Err(StoreError::Unreachable(e.to_string())),
            Ok(Err(other)) => Err(other),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Pool gauges for /metrics: (open connections, idle connections).
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Tell the backend from a URL, with a clear error for anything else.
pub fn backend_of(url: &str) -> StoreResult<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Migration(
            "database URL must start with sqlite:// or postgres://".to_owned(),
        ))
    }
}

/// A database URL fit to print: the password, if any, replaced by `***`
/// (`postgres://user:***@host/db`); anything else unchanged.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn redacted_url_hides_only_the_password() {
        assert_eq!(
            redacted_url("postgres://u:secret@h:5432/db?sslmode=disable"),
            "postgres://u:***@h:5432/db?sslmode=disable"
        );
        assert_eq!(redacted_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redacted_url("sqlite:///tmp/x/clinicos.db?mode=rwc"),
            "sqlite:///tmp/x/clinicos.db?mode=rwc"
        );
    }
}
