//! The `tenancy` feature.

pub mod branches;
pub mod platform;
pub mod tenants;
