//! ClinicOS application services: the use cases behind every route, page
//! and CLI command. Handlers parse and render; the rules live here and in
//! `clinicos-domain`.
//!
//! Cross-cutting hooks used by every service:
//! - [`kit::context::Ctx`]: who is acting, for which tenant and branch.
//! - [`governance::policy::authorize`]: the one policy point.
//! - `clinicos_store::governance::audit::record`: the audit writer (same transaction).
//! - [`kit::field_cipher::FieldCipher`]: encrypts PHI fields, blind indexes, crypto-shredding.
//! - [`kit::error::AppError`]: the one error type, mapped to HTTP at the edge.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod demo;
pub mod documents;
pub mod governance;
pub mod identity;
pub mod kit;
pub mod messaging;
pub mod patients;
pub mod services;
pub mod state;
pub mod tenancy;

pub use kit::clock::{Clock, FixedClock, SystemClock};
pub use kit::context::Ctx;
pub use kit::error::{AppError, AppResult};
pub use kit::field_cipher::FieldCipher;
pub use state::{App, AuthSettings};
