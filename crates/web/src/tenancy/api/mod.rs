//! The `tenancy` feature: its JSON API handlers.

pub mod admin;
pub mod operator;
