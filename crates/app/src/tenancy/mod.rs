//! The `tenancy` feature.
pub mod admin;
pub mod operator;
pub mod provisioning;
pub mod service;
pub mod types;
