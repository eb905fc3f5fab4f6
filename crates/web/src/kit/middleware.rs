//! Middleware every request passes through, outermost first:
//! 1. [`request_scope`]: request id (kept from a sane `X-Request-Id` or
//!    made), language from Accept-Language, echoed in `X-Request-Id`.
//! 2. [`security_headers`]: seed 003's headers with `X-XSS-Protection: 0`
//!    and a strict CSP that the pages satisfy (no inline script or style).
//! 3. [`observe`]: metrics and one structured access-log line per request
//!    (method, route template, status, latency, request id; never query
//!    strings, bodies or headers, which may carry PHI).
//! 4. [`csrf`]: every state-changing page request (not `/api`) must carry
//!    the CSRF token matching its cookie, and a same-origin Origin header
//!    if the browser sent one.

use crate::kit::http::CSRF_COOKIE;
use crate::kit::scope::{RequestScope, SCOPE};
use crate::{kit::i18n, kit::metrics};
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Mutex;
use std::time::Instant;

/// The request id header (kept from a sane client value, else minted).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

fn sane_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| s.to_owned())
}

pub async fn request_scope(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let cookie_lang = crate::kit::http::cookie(req.headers(), "clinicos_lang")
        .filter(|l| clinicos_domain::kit::validate::SUPPORTED_LOCALES.contains(&l.as_str()));
    let locale = cookie_lang.unwrap_or_else(|| {
        i18n::negotiate(
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
        .to_owned()
    });
    let scope = RequestScope {
        request_id: id.clone(),
        locale: Mutex::new(locale),
        authenticated: Mutex::new(None),
    };
    let mut resp = SCOPE.scope(scope, next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-xss-protection", HeaderValue::from_static("0"));
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

pub async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    metrics::record_request(method.as_str(), &route, status, secs);
    if route != "/metrics" && !route.starts_with("/health") {
        tracing::info!(target: "access", method = %method, route = %route, status, latency_ms = (secs * 1000.0).round() as u64, request_id = %crate::kit::scope::request_id(), "request");
    }
    resp
}

/// Is this request state-changing?
fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn csrf(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if !unsafe_method(req.method()) || path.starts_with("/api/") {
        return next.run(req).await;
    }
    // Same-origin check when the browser says where the form came from.
    if let (Some(origin), Some(host)) = (
        req.headers().get(header::ORIGIN),
        req.headers().get(header::HOST),
    ) {
        let origin = origin.to_str().unwrap_or("");
        let host = host.to_str().unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        if origin != "null" && origin_host != host {
            return forbidden_csrf();
        }
    }
    if req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        == Some("cross-site")
    {
        return forbidden_csrf();
    }
    let Some(cookie) = crate::kit::http::cookie(req.headers(), CSRF_COOKIE) else {
        return forbidden_csrf();
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("multipart/form-data") {
        // Multipart forms carry the token in the action URL.
        let q = req.uri().query().unwrap_or("");
        let token = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()
            .and_then(|v| v.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
        if token
            .as_deref()
            .map(|t| clinicos_app::kit::crypto::ct_eq(t, &cookie))
            != Some(true)
        {
            return forbidden_csrf();
        }
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let token = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if token.map(|t| clinicos_app::kit::crypto::ct_eq(t, &cookie)) != Some(true) {
        return forbidden_csrf();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn forbidden_csrf() -> Response {
    let locale = crate::kit::scope::locale();
    let body = crate::kit::page::render_error_page(&locale, 403, &i18n::t(&locale, "error-csrf"));
    (StatusCode::FORBIDDEN, body).into_response()
}

/// Give every page visitor a CSRF cookie (HttpOnly; the token reaches
/// forms through the server-rendered hidden field).
pub async fn csrf_cookie(
    axum::extract::State(st): axum::extract::State<crate::WebState>,
    req: Request,
    next: Next,
) -> Response {
    let has = crate::kit::http::cookie(req.headers(), CSRF_COOKIE).is_some();
    let path = req.uri().path().to_owned();
    let mut req = req;
    let token = if has {
        None
    } else {
        Some(clinicos_app::kit::crypto::random_token(24))
    };
    if let Some(t) = &token {
        // Let this very request's page render with the new token.
        req.extensions_mut()
            .insert(crate::kit::http::FreshCsrf(t.clone()));
    }
    let mut resp = next.run(req).await;
    if let Some(t) = token {
        if !path.starts_with("/api/") && !path.starts_with("/health") && path != "/metrics" {
            let secure = st.app.settings.secure_cookies;
            let c = crate::kit::http::set_cookie(CSRF_COOKIE, &t, "Strict", secure, None);
            if let Ok(v) = HeaderValue::from_str(&c) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
    }
    resp
}
