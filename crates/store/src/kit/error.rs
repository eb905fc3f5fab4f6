//! Storage errors. Constraint violations are told apart so that services can
//! answer 409 instead of 500; messages never carry row values.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated; the payload names the constraint or
    /// column list as the database reported it.
    #[error("already exists ({0})")]
    Duplicate(String),
    /// A foreign key did not match (e.g. a row of another tenant).
    #[error("refers to a record that does not exist")]
    ForeignKey,
    #[error("the database is busy; try again")]
    Busy,
    /// The database could not be reached at all (refused, timed out, DNS).
    #[error("cannot connect to the database: {0}")]
    Unreachable(String),
    #[error("unknown region '{0}'")]
    UnknownRegion(String),
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// An audit event cannot be written without its MAC: the application
    /// has not installed the audit keys (`Store::install_audit_keys`).
    #[error("the audit keys are not loaded, so no audit event can be written")]
    AuditKeysMissing,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => {
                let msg = db.message().to_owned();
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                // PostgreSQL SQLSTATEs; SQLite extended result codes.
                if code == "23505" || code == "2067" || code == "1555" {
                    StoreError::Duplicate(db.constraint().map(str::to_owned).unwrap_or(msg))
                } else if code == "23503" || code == "787" {
                    StoreError::ForeignKey
                } else if code == "5" || code == "517" || code == "40001" || code == "40P01" {
                    StoreError::Busy
                } else {
                    StoreError::Db(e)
                }
            }
            sqlx::Error::PoolTimedOut => StoreError::Busy,
            _ => StoreError::Db(e),
        }
    }
}
