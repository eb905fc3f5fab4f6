//! What the kit reads from and writes to HTTP headers: cookies (session,
//! operator, CSRF), the CSRF token of a form, the device-id header and the
//! client's address.

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap};
use std::net::SocketAddr;

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "clinicos_session";
/// The operator console cookie.
pub const OPERATOR_COOKIE: &str = "clinicos_operator";

/// A CSRF token minted for this request (no cookie yet).
#[derive(Clone, Debug)]
pub struct FreshCsrf(pub String);

/// Read one cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

/// A `Set-Cookie` value: HttpOnly, Path=/, SameSite as given, Secure unless
/// running plain-HTTP development; `max_age` None = session cookie, Some(0)
/// = delete.
pub fn set_cookie(
    name: &str,
    value: &str,
    same_site: &str,
    secure: bool,
    max_age: Option<i64>,
) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    c
}

/// Append a `Set-Cookie` (built by [`set_cookie`]) to a response.
pub fn append_cookie(resp: &mut axum::response::Response, cookie: &str) {
    if let Ok(v) = axum::http::HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The CSRF token to put into forms on this request.
pub fn csrf_token(parts_headers: &HeaderMap, fresh: Option<&FreshCsrf>) -> String {
    fresh
        .map(|f| f.0.clone())
        .or_else(|| cookie(parts_headers, CSRF_COOKIE))
        .unwrap_or_default()
}

/// The double-submit CSRF cookie.
pub const CSRF_COOKIE: &str = "clinicos_csrf";

/// The device id header: issued by the server on a pending device approval.
pub const DEVICE_HEADER: &str = "x-device-id";

/// The client address: the peer, or the first X-Forwarded-For entry when
/// the server sits behind a trusted proxy.
pub fn client_ip(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    trust_proxy: bool,
) -> String {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    if !trust_proxy {
        return peer;
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_owned())
        .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
        .unwrap_or(peer)
}
