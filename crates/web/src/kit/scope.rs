//! Per-request scope (request id and language), readable anywhere in the
//! request's task, so that error responses carry the request id and speak
//! the user's language without threading them through every handler.

use std::sync::Mutex;

/// What the request scope knows.
#[derive(Debug)]
pub struct RequestScope {
    pub request_id: String,
    pub locale: Mutex<String>,
    /// The tenant of a session cookie that authenticated on this request
    /// (lets the rate limiter key that cookie by session from now on).
    pub authenticated: Mutex<Option<clinicos_domain::TenantId>>,
}

tokio::task_local! {
    pub static SCOPE: RequestScope;
}

/// The current request id ("" outside a request).
pub fn request_id() -> String {
    SCOPE.try_with(|s| s.request_id.clone()).unwrap_or_default()
}

/// The current language ("en" outside a request).
pub fn locale() -> String {
    SCOPE
        .try_with(|s| {
            s.locale
                .lock()
                .map(|l| l.clone())
                .unwrap_or_else(|_| "en".into())
        })
        .unwrap_or_else(|_| "en".into())
}

/// Switch the language once the user is known.
pub fn set_locale(l: &str) {
    let _ = SCOPE.try_with(|s| {
        if let Ok(mut g) = s.locale.lock() {
            *g = l.to_owned();
        }
    });
}

/// Note that this request's session cookie authenticated.
pub fn set_authenticated(t: clinicos_domain::TenantId) {
    let _ = SCOPE.try_with(|s| {
        if let Ok(mut g) = s.authenticated.lock() {
            *g = Some(t);
        }
    });
}

/// The tenant whose session cookie authenticated on this request.
pub fn authenticated_tenant() -> Option<clinicos_domain::TenantId> {
    SCOPE
        .try_with(|s| s.authenticated.lock().ok().and_then(|g| *g))
        .ok()
        .flatten()
}
