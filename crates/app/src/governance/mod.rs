//! The `governance` feature.

pub mod access_report;
pub mod audit_trail;
pub mod audit_verify;
pub mod audit_witness;
pub mod break_glass;
pub mod housekeeping;
pub mod keys;
pub mod policy;
pub mod policy_admin;
pub mod read_tracker;
pub mod retention;
pub mod security;
pub mod security_state;
pub mod service;
pub mod siem;
pub mod types;
