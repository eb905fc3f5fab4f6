//! Per-request scope (request id and language), readable anywhere in the
//! request's task, so that error responses carry the request id and speak
//! the user's language without threading them through every handler.

use std::sync::Mutex;

/// What the request scope knows.
#[derive(Debug)]
pub struct RequestScope {
    pub request_id: String,
    pub locale: Mutex<String>,
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
