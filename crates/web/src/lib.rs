//! ClinicOS web edge: the JSON API under `/api/v1` (with its OpenAPI
//! document), server-rendered pages, the operator console, health and
//! metrics, and the middleware every request passes through:
//! request id -> security headers -> metrics/access log -> CSRF (pages) ->
//! authentication extractor -> handler -> application service.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod api_statuses;
pub mod governance;
pub mod identity;
pub mod kit;
pub mod messaging;
pub mod pages;
pub mod patients;
pub mod route_actions;
pub mod serve;
pub mod system;
pub mod tenancy;

pub use kit::state::{WebConfig, WebState};
pub use serve::{build_router, serve, ServeOptions, TlsOptions};
