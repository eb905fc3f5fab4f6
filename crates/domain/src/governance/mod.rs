//! The `governance` feature.

pub mod access;
pub mod audit;
pub mod audit_catalogue;
pub mod jurisdiction;
pub mod permission;
pub mod security;
