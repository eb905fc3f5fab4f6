//! ClinicOS storage: one query layer (sqlx's `Any` driver, one SQL text) over
//! embedded SQLite and PostgreSQL.
//!
//! Invariants:
//! - Feature code reaches tenant data only through [`TenantTx`], which binds
//!   the tenant as `$1` of every statement and, on PostgreSQL, sets
//!   `app.tenant_id` for row-level security in the same transaction.
//! - Feature code never names a region: [`Store::tenant_db`] routes a tenant
//!   to its home region's database through the [`regions`] registry.
//! - Timestamps are stored as BIGINT microseconds since the Unix epoch (UTC);
//!   ids as UUID text; flags as BIGINT 0/1; bytes as BLOB/BYTEA. These types
//!   behave the same on both databases.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod attachments;
pub mod audit;
pub mod audit_report;
pub mod branches;
pub mod break_glass;
pub mod clinical_records;
pub mod db;
pub mod devices;
pub mod error;
pub mod keystore;
pub mod mfa;
pub mod migrate;
pub mod outbox;
pub mod patient_identifiers;
pub mod patient_links;
pub mod patient_merges;
pub mod patient_search;
pub mod patients;
pub mod platform;
pub mod policy;
pub mod portal_codes;
pub mod portal_sessions;
pub mod regions;
pub mod resets;
pub mod row;
pub mod security_events;
pub mod sessions;
pub mod share_links;
pub mod tenant_tx;
pub mod tenants;
pub mod throttle;
pub mod users;

pub use db::{Backend, Db};
pub use error::StoreError;
pub use keystore::{FieldKeys, KeyStore};
pub use regions::Store;
pub use tenant_tx::TenantTx;

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;
