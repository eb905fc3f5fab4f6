//! ClinicOS application services: the use cases behind every route, page
//! and CLI command. Handlers parse and render; the rules live here and in
//! `clinicos-domain`.
//!
//! Cross-cutting hooks used by every service:
//! - [`context::Ctx`]: who is acting, for which tenant and branch.
//! - [`policy::authorize`]: the one policy point.
//! - `clinicos_store::audit::record`: the audit writer (same transaction).
//! - [`field_cipher::FieldCipher`]: encrypts PHI fields, blind indexes, crypto-shredding.
//! - [`error::AppError`]: the one error type, mapped to HTTP at the edge.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod access_report;
pub mod admin;
pub mod allergies;
pub mod attachments;
pub mod audit_trail;
pub mod auth;
pub mod blob_store;
pub mod break_glass;
pub mod clamd;
pub mod clinical;
pub mod clinical_records;
pub mod clock;
pub mod conditions;
pub mod context;
pub mod crypto;
pub mod demo;
mod demo_patients;
mod demo_records;
pub mod devices;
pub mod error;
pub mod field_cipher;
pub mod housekeeping;
pub mod medications;
pub mod mfa;
pub mod operator;
pub mod patient_access;
pub mod patient_chart_facts;
pub mod patient_export;
pub mod patient_fields;
pub mod patient_links;
pub mod patient_merge;
pub mod patient_photo;
pub mod patient_search;
pub mod patient_update;
mod patient_write;
pub mod patients;
pub mod platform_secrets;
pub mod policy;
pub mod policy_admin;
pub mod portal;
pub mod portal_session;
pub mod provisioning;
pub mod read_tracker;
pub mod record_export;
pub mod record_pdf;
pub mod retention;
pub mod security;
pub mod share_links;
pub mod siem;
pub mod state;
pub mod timeline;
pub mod totp;

pub use clock::{Clock, FixedClock, SystemClock};
pub use context::Ctx;
pub use error::{AppError, AppResult};
pub use field_cipher::FieldCipher;
pub use state::{App, AuthSettings};
