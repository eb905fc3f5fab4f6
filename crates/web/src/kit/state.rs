//! Shared state of the web layer.

use clinicos_app::App;

/// Web settings (config file / environment / flags).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Largest JSON or form body accepted (bytes).
    pub body_limit: usize,
    /// Largest upload (images) accepted (bytes).
    pub upload_limit: usize,
    /// Per-request timeout in seconds.
    pub request_timeout_secs: u64,
    /// Take the client IP from X-Forwarded-For (only behind a trusted proxy).
    pub trust_proxy: bool,
    /// Show the development outbox and demo sign-ins on the sign-in page.
    pub demo_mode: bool,
    /// Requests per minute per route class (seed 003 defaults).
    pub rate_limits: crate::kit::limits::RateLimits,
    /// Header carrying the client's country, set by a trusted proxy
    /// (e.g. `CF-IPCountry`); None = do not read one.
    pub country_header: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            upload_limit: 3 * 1024 * 1024,
            request_timeout_secs: 30,
            trust_proxy: false,
            demo_mode: false,
            rate_limits: Default::default(),
            country_header: None,
        }
    }
}

/// Cheap-to-clone state handed to every handler.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
    pub config: WebConfig,
}
