//! ClinicOS domain rules: identifiers, roles, tenant and session states,
//! password policy, pagination, the patient-name matching rule. Pure: no I/O, no clock reads (callers pass
//! `now`), so every rule here is unit- and property-testable.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod access;
pub mod audit;
pub mod family;
pub mod file_type;
pub mod ids;
pub mod jurisdiction;
pub mod name_pairs;
pub mod name_search;
pub mod page;
pub mod password;
pub mod permission;
pub mod portal;
pub mod role;
pub mod security;
pub mod session;
pub mod tenant;
pub mod validate;

pub use access::{Action, Sensitivity};
pub use ids::{BranchId, OperatorId, SessionId, TenantId, UserId};
pub use permission::{Permission, PermissionSet};
pub use role::Role;
