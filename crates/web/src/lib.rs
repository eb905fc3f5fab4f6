//! ClinicOS web edge: the JSON API under `/api/v1` (with its OpenAPI
//! document), server-rendered pages, the operator console, health and
//! metrics, and the middleware every request passes through:
//! request id -> security headers -> metrics/access log -> CSRF (pages) ->
//! authentication extractor -> handler -> application service.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod rate_limit;
pub mod route_actions;
pub mod scope;
pub mod serve;
pub mod state;

pub use serve::{build_router, serve, ServeOptions, TlsOptions};
pub use state::{WebConfig, WebState};
