//! The `kit` feature.

pub mod column;
pub mod db;
pub mod error;
pub mod keystore;
pub mod migrate;
pub mod notify;
pub mod regions;
pub mod row;
pub mod sealed;
pub mod sql;
pub mod tenant_tx;
