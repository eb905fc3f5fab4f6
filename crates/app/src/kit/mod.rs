//! The `kit` feature.

pub mod audit;
pub mod bounded_cache;
pub mod clock;
pub mod context;
pub mod crypto;
pub mod domain_schema;
pub mod error;
pub mod field_cipher;
pub mod invalidation;
pub mod phi;
pub mod platform_secrets;
