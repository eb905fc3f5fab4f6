//! ClinicOS storage: one query layer (sqlx's `Any` driver, one SQL text) over
//! embedded SQLite and PostgreSQL.
//!
//! Invariants:
//! - Feature code reaches tenant data only through [`TenantTx`], which binds
//!   the tenant as `$1` of every statement and, on PostgreSQL, sets
//!   `app.tenant_id` for row-level security in the same transaction.
//! - Feature code never names a region: [`Store::tenant_db`] routes a tenant
//!   to its home region's database through the [`kit::regions`] registry.
//! - Timestamps are stored as BIGINT microseconds since the Unix epoch (UTC);
//!   ids as UUID text; flags as BIGINT 0/1; bytes as BLOB/BYTEA. These types
//!   behave the same on both databases.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod governance;
pub mod identity;
pub mod kit;
pub mod messaging;
pub mod patients;
pub mod tenancy;

pub use kit::db::{Backend, Db};
pub use kit::error::StoreError;
pub use kit::keystore::{FieldKeys, KeyStore};
pub use kit::regions::Store;
pub use kit::tenant_tx::TenantTx;

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;
