//! ClinicOS domain rules: identifiers, roles, tenant and session states,
//! password policy, pagination, the patient-name matching rule. Pure: no I/O, no clock reads (callers pass
//! `now`), so every rule here is unit- and property-testable.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod governance;
pub mod identity;
pub mod kit;
pub mod messaging;
pub mod patients;
pub mod tenancy;

pub use governance::access::{Action, Sensitivity};
pub use governance::permission::{Permission, PermissionSet};
pub use identity::role::Role;
pub use kit::ids::{
    AttachmentId, BranchId, FamilyLinkId, IdentifierId, LegalHoldId, MergeId, OperatorId,
    PatientId, RecordId, SessionId, ShareLinkId, TenantId, UserId, VisitId,
};
