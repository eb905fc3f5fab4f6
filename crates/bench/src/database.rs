//! The bench database: a fresh SQLite directory or a fresh PostgreSQL
//! database, made for one run and removed after it.
//!
//! Invariants:
//! - The bench never writes into an existing ClinicOS database: a given
//!   `--data-dir` must be empty or absent, and on PostgreSQL a new database
//!   `clinicos_bench_<random>` is created next to the one in the URL.
//! - What the bench created it removes ([`BenchDb::remove`]); a directory
//!   the user named is kept so its contents can be inspected.

use clinicos_store::kit::db::{backend_of, redacted_url, sqlite_url_for_dir};
use clinicos_store::{Backend, Db};
use std::path::{Path, PathBuf};

/// A directory under the system temp dir, removed when dropped.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn new(purpose: &str) -> Result<ScratchDir, String> {
        let path = std::env::temp_dir().join(format!("clinicos-{purpose}-{}", random_suffix()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(ScratchDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// 32 lower-case hex digits from a UUIDv7 (time plus 74 random bits).
pub fn random_suffix() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

enum Place {
    Scratch(ScratchDir),
    Kept(PathBuf),
    Postgres { admin_url: String, name: String },
}

/// The database a bench run uses.
pub struct BenchDb {
    pub url: String,
    pub backend: Backend,
    place: Place,
}

impl BenchDb {
    /// Make the bench database from `--data-dir` / `--database-url`.
    pub async fn create(data_dir: Option<PathBuf>, url: Option<String>) -> Result<BenchDb, String> {
        match (data_dir, url) {
            (Some(_), Some(_)) => Err("give either --data-dir or --database-url, not both".into()),
            (None, Some(url)) => Self::postgres(url).await,
            (Some(dir), None) => {
                let empty = match std::fs::read_dir(&dir) {
                    Ok(mut entries) => entries.next().is_none(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                    Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
                };
                if !empty {
                    return Err(format!(
                        "--data-dir {} is not empty: the bench needs a fresh directory",
                        dir.display()
                    ));
                }
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Ok(BenchDb {
                    url: sqlite_url_for_dir(&dir),
                    backend: Backend::Sqlite,
                    place: Place::Kept(dir),
                })
            }
            (None, None) => {
                let dir = ScratchDir::new("bench")?;
                Ok(BenchDb {
                    url: sqlite_url_for_dir(dir.path()),
                    backend: Backend::Sqlite,
                    place: Place::Scratch(dir),
                })
            }
        }
    }

    async fn postgres(admin_url: String) -> Result<BenchDb, String> {
        if backend_of(&admin_url).map_err(|e| e.to_string())? != Backend::Postgres {
            return Err(
                "--database-url must be a postgres:// URL (use --data-dir for SQLite)".into(),
            );
        }
        let name = format!("clinicos_bench_{}", random_suffix());
        admin_exec(&admin_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(BenchDb {
            url: with_database(&admin_url, &name),
            backend: Backend::Postgres,
            place: Place::Postgres { admin_url, name },
        })
    }

    /// Remove the database, then hand back what was measured on it (its
    /// error first); call after closing every pool.
    pub async fn remove_after<T>(self, measured: Result<T, String>) -> Result<T, String> {
        let removed = self.remove().await;
        let value = measured?;
        removed?;
        Ok(value)
    }

    /// Remove what [`BenchDb::create`] made (call after closing every pool).
    async fn remove(self) -> Result<(), String> {
        match self.place {
            Place::Scratch(dir) => drop(dir),
            Place::Kept(dir) => eprintln!("bench: the database is kept in {}", dir.display()),
            Place::Postgres { admin_url, name } => {
                admin_exec(
                    &admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Bring PostgreSQL's planner statistics up to date (`ANALYZE`, as the
    /// owner), as autovacuum keeps them on a database that has been
    /// running; nothing on SQLite, which has no such daemon. A bench
    /// database made seconds ago has no statistics, and each connection's
    /// cached plans, chosen while the tables were empty, may pick any index
    /// that starts with `tenant_id`: a primary-key lookup (the foreign-key
    /// check of every name token, say) then reads every row of the tenant,
    /// and identical runs swung between 0.3x and 1x. Called between rounds,
    /// outside the timed windows, so both sides see the same plans.
    pub async fn refresh_statistics(&self) -> Result<(), String> {
        match self.backend {
            Backend::Sqlite => Ok(()),
            Backend::Postgres => admin_exec(&self.url, "ANALYZE").await,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Run one statement on the server named by `admin_url`, outside any
/// transaction (CREATE / DROP DATABASE refuse to run inside one).
async fn admin_exec(admin_url: &str, sql: &str) -> Result<(), String> {
    let shown = redacted_url(admin_url);
    let db = Db::connect(admin_url, 1, false)
        .await
        .map_err(|e| format!("cannot connect to {shown}: {e}"))?;
    let r = sqlx::Executor::execute(db.pool(), sql).await;
    db.close().await;
    r.map(|_| ())
        .map_err(|e| format!("{sql} failed on {shown}: {e}"))
}

/// `url` with its database name replaced by `name` (query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{server}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b1"),
            "postgres://postgres@127.0.0.1:5432/b1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "b2"),
            "postgres://u:p@h/b2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "b3"),
            "postgres://h:5432/b3"
        );
    }

    #[test]
    fn scratch_dir_is_removed_on_drop() {
        let d = ScratchDir::new("test").unwrap();
        let p = d.path().to_owned();
        assert!(p.is_dir());
        drop(d);
        assert!(!p.exists());
    }
}
