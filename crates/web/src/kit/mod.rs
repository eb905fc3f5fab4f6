//! The web kit shared by every feature: the error envelope, extractors,
//! ids in paths and headers, JSON bodies, forms, page chrome, middleware,
//! rate limits, i18n, metrics and the log format. It imports no feature.

pub mod error;
pub mod extract;
pub mod form;
pub mod http;
pub mod i18n;
pub mod ids;
pub mod input_guard;
pub mod json;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod middleware;
pub mod page;
pub mod rate_limit;
pub mod scope;
pub mod state;
