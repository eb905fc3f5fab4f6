//! The `governance` feature: its server-rendered pages.

pub mod audit;
pub mod policy;
pub mod security;
