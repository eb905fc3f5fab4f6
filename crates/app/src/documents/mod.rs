//! The `documents` feature.

pub mod blob_store;
pub mod clamd;
