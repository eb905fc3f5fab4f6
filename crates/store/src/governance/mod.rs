//! The `governance` feature.

pub mod audit;
pub mod audit_report;
pub mod break_glass;
pub mod policy;
pub mod security_events;
