//! The `governance` feature: its JSON API handlers.

pub mod audit;
pub mod policy;
pub mod security;
