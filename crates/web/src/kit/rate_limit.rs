//! Rate limits per route class, answered with 429 and `Retry-After`, and
//! bot signals (missing User-Agent, bursts).
//!
//! Classes (seed 003 defaults per minute, server configuration overrides):
//! - `auth` (5, per client IP): staff and operator sign-in, second factor,
//!   forgot/reset password, token refresh. Counted in the shared
//!   `rate_counters` table, so every instance sees the same numbers.
//! - `otp` (3, per client IP): patient one-time codes under
//!   `/api/v1/portal/otp`. Shared counters, like `auth`.
//! - `api` (1000, per session): requests with a verified credential (a
//!   bearer token whose signature checks, or a session cookie that this
//!   process has seen authenticate). Keyed by session, not IP, because a
//!   whole clinic shares one NAT address; tenants may set their own limit.
//!   In-process GCRA (no database write per request).
//! - `global` (100, per client IP): everything else (pages before sign-in,
//!   unauthenticated API). In-process GCRA.
//! - exempt: `/health*`, `/metrics`, `/static/*`.
//!
//! Anonymous requests without a User-Agent also pass a stricter per-IP
//! bucket. Bot signals (missing User-Agent, more than `burst_per_second`
//! requests in a second from one key) are logged (target `security`, no
//! PHI) and counted; a burst from a signed-in session is also a
//! `bot_signal` security event of its tenant. Each signal is reported at
//! most once per key per 10 minutes.

use crate::kit::error::ApiError;
use crate::kit::http::{client_ip, cookie, SESSION_COOKIE};
pub use crate::kit::limits::RateLimits;
use crate::{kit::i18n, kit::scope, WebState};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clinicos_app::governance::security::Raise;
use clinicos_app::AppError;
use clinicos_domain::governance::security::{gcra, EventKind};
use clinicos_domain::{TenantId, UserId};
use std::collections::HashMap;
use std::sync::Mutex;

const MINUTE: i64 = 60_000_000;
const SECOND: i64 = 1_000_000;
/// A signal about one key is reported at most this often.
const SIGNAL_EVERY: i64 = 10 * MINUTE;

/// The class of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class {
    Exempt,
    Auth,
    Otp,
    /// A verified credential: tenant, session key, user if known.
    Api {
        tenant: TenantId,
        key: String,
        user: Option<UserId>,
    },
    Global,
}

impl Class {
    pub fn name(&self) -> &'static str {
        match self {
            Class::Exempt => "exempt",
            Class::Auth => "auth",
            Class::Otp => "otp",
            Class::Api { .. } => "api",
            Class::Global => "global",
        }
    }
}

/// Sign-in-like routes (state-changing only; the forms themselves are `global`).
fn is_auth_route(method: &Method, path: &str) -> bool {
    *method == Method::POST
        && matches!(
            path,
            "/api/v1/auth/login"
                | "/api/v1/auth/mfa"
                | "/api/v1/auth/refresh"
                | "/api/v1/auth/forgot-password"
                | "/api/v1/auth/reset-password"
                | "/api/v1/operator/login"
                | "/login"
                | "/login/mfa"
                | "/forgot-password"
                | "/reset-password"
                | "/operator/login"
        )
}

/// The class by route alone (before any credential is looked at).
pub fn route_class(method: &Method, path: &str) -> Class {
    if path == "/metrics" || path.starts_with("/health") || path.starts_with("/static/") {
        Class::Exempt
    } else if path.starts_with("/api/v1/portal/otp") {
        Class::Otp
    } else if is_auth_route(method, path) {
        Class::Auth
    } else {
        Class::Global
    }
}

/// Most keys each in-process map holds (GCRA buckets, verified cookies,
/// reported signals). About 100 bytes an entry, so a few MiB per map
/// however many addresses an attacker sends from.
pub const MAX_KEYS: usize = 100_000;

/// A map of keys to the moment (microseconds) their entry stops
/// mattering, with a hard bound.
///
/// Invariants:
/// - It never holds more than its capacity.
/// - An entry past its moment is worth nothing (a GCRA bucket whose
///   arrival time has passed is a fresh bucket; a signal or a cookie past
///   its moment is forgotten anyway), so those go first.
/// - When every entry is still live, those closest to their moment go
///   first: for GCRA buckets that is the keys with the least debt, so a
///   flood of one-request addresses evicts itself and never the hot key
///   that is being limited (its arrival time lies furthest ahead).
/// - Room is made for a tenth of the capacity at once, so a full map
///   costs one pass per [`MAX_KEYS`] / 10 new keys, not one per request.
struct Expiring<V> {
    map: HashMap<String, (i64, V)>,
    capacity: usize,
}

impl<V> Expiring<V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The live entry of `key`: its moment and value.
    fn get(&self, key: &str, now: i64) -> Option<&(i64, V)> {
        self.map.get(key).filter(|(until, _)| *until > now)
    }

    fn insert(&mut self, key: &str, until: i64, value: V, now: i64) {
        if let Some(e) = self.map.get_mut(key) {
            *e = (until, value);
            return;
        }
        if self.map.len() >= self.capacity {
            self.make_room(now);
        }
        self.map.insert(key.to_owned(), (until, value));
    }

    /// Drop what is past, then, if that freed too little, the live
    /// entries closest to their moment, down to nine tenths of capacity.
    fn make_room(&mut self, now: i64) {
        self.map.retain(|_, (until, _)| *until > now);
        let keep = self.capacity - self.capacity.div_ceil(10);
        if self.map.len() <= keep {
            return;
        }
        let mut moments: Vec<i64> = self.map.values().map(|(until, _)| *until).collect();
        let drop = moments.len() - keep;
        let (_, cut, _) = moments.select_nth_unstable(drop - 1);
        let cut = *cut;
        // Ties at the cut go too: a little more room, never over the bound.
        self.map.retain(|_, (until, _)| *until > cut);
        if self.map.capacity() > 2 * self.capacity {
            self.map.shrink_to(self.capacity);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

/// In-process limiter state: GCRA arrival times, verified cookies, and
/// when each signal was last reported; each map bounded (see [`Expiring`]).
pub struct Limiter {
    /// Key -> theoretical arrival time.
    tat: Mutex<Expiring<()>>,
    /// sha256(cookie) -> tenant, for cookies this process saw authenticate
    /// (live for 15 minutes).
    cookies: Mutex<Expiring<TenantId>>,
    /// Key -> when its signal may be reported again.
    signals: Mutex<Expiring<()>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::with_capacity(MAX_KEYS)
    }
}

impl Limiter {
    /// A limiter whose maps hold at most `capacity` keys each.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            tat: Mutex::new(Expiring::new(capacity)),
            cookies: Mutex::new(Expiring::new(capacity)),
            signals: Mutex::new(Expiring::new(capacity)),
        }
    }

    /// Take one request from `key`'s bucket: Ok, or the wait in seconds.
    fn take(&self, key: &str, limit: i64, period: i64, now: i64) -> Result<(), u64> {
        let Ok(mut m) = self.tat.lock() else {
            return Ok(());
        };
        let tat = m.get(key, now).map_or(0, |(t, _)| *t);
        match gcra(tat, now, limit, period) {
            Ok(next) => {
                m.insert(key, next, (), now);
                Ok(())
            }
            Err(wait) => Err(((wait + SECOND - 1) / SECOND).max(1) as u64),
        }
    }

    /// Should a signal about `key` be reported now (once per 10 minutes)?
    fn first_signal(&self, key: &str, now: i64) -> bool {
        let Ok(mut m) = self.signals.lock() else {
            return false;
        };
        if m.get(key, now).is_some() {
            return false;
        }
        m.insert(key, now + SIGNAL_EVERY, (), now);
        true
    }

    fn cookie_tenant(&self, hash: &str, now: i64) -> Option<TenantId> {
        let m = self.cookies.lock().ok()?;
        m.get(hash, now).map(|(_, t)| *t)
    }

    fn remember_cookie(&self, hash: String, tenant: TenantId, now: i64) {
        if let Ok(mut m) = self.cookies.lock() {
            m.insert(&hash, now + 15 * MINUTE, tenant, now);
        }
    }

    /// Keys held: (buckets, cookies, signals).
    #[cfg(test)]
    fn sizes(&self) -> (usize, usize, usize) {
        (
            self.tat.lock().map_or(0, |m| m.len()),
            self.cookies.lock().map_or(0, |m| m.len()),
            self.signals.lock().map_or(0, |m| m.len()),
        )
    }
}

/// The middleware's state: the web state and this router's limiter.
#[derive(Clone)]
pub struct RateState {
    pub web: WebState,
    pub limiter: std::sync::Arc<Limiter>,
}

/// A credential that proves itself without the database.
fn credential_class(st: &WebState, limiter: &Limiter, req: &Request, now: i64) -> Option<Class> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        let claims = st.app.signer.verify(token.trim(), now / SECOND)?;
        return Some(Class::Api {
            tenant: claims.tid.parse().ok()?,
            key: format!("sid:{}", claims.sid),
            user: claims.sub.parse().ok(),
        });
    }
    let value = cookie(req.headers(), SESSION_COOKIE)?;
    let hash = clinicos_app::kit::crypto::sha256_hex(&value);
    let tenant = limiter.cookie_tenant(&hash, now)?;
    Some(Class::Api {
        tenant,
        key: format!("ck:{hash}"),
        user: None,
    })
}

fn too_many(path: &str, class: &Class, retry_after: u64) -> Response {
    metrics::counter!("rate_limited_total", "class" => class.name()).increment(1);
    if path.starts_with("/api/") {
        return ApiError(AppError::RateLimited {
            retry_after_secs: retry_after,
        })
        .into_response();
    }
    let locale = scope::locale();
    let body =
        crate::kit::page::render_error_page(&locale, 429, &i18n::t(&locale, "error-rate-limited"));
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Report a bot signal: a log line and a metric; for a signed-in session
/// also a `bot_signal` security event (written off the request path).
fn signal(st: &WebState, class: &Class, what: &'static str, ip: &str) {
    metrics::counter!("bot_signals_total", "signal" => what).increment(1);
    tracing::warn!(target: "security", signal = what, class = class.name(), request_id = %scope::request_id(), "bot signal");
    if let Class::Api { tenant, key, user } = class {
        let (app, tenant, user, ip) = (st.app.clone(), *tenant, *user, ip.to_owned());
        let details =
            serde_json::json!({"signal": what, "key": key.split(':').next().unwrap_or("")});
        let once = Some((format!("{what}:{key}"), chrono::Duration::minutes(10)));
        tokio::spawn(async move {
            let r = Raise {
                kind: EventKind::BotSignal,
                user,
                ip,
                details,
                once_per: once,
            };
            app.governance().raise_security_event(tenant, r).await;
        });
    }
}

/// The middleware (see the module documentation).
pub async fn rate_limit(State(rs): State<RateState>, req: Request, next: Next) -> Response {
    let (st, limiter) = (&rs.web, rs.limiter.as_ref());
    let path = req.uri().path().to_owned();
    let mut class = route_class(req.method(), &path);
    if class == Class::Exempt {
        return next.run(req).await;
    }
    let limits = &st.config.rate_limits;
    let now = st.app.clock.now().timestamp_micros();
    let ip = client_ip(req.headers(), req.extensions(), st.config.trust_proxy);
    let no_agent = req
        .headers()
        .get(header::USER_AGENT)
        .is_none_or(|v| v.as_bytes().is_empty());
    if class == Class::Global {
        if let Some(c) = credential_class(st, limiter, &req, now) {
            class = c;
        }
    }
    let verdict = match &class {
        Class::Auth | Class::Otp => shared_counter(st, &class, &ip).await,
        Class::Api { tenant, key, .. } => {
            let per_tenant = st
                .app
                .governance()
                .cached_security_settings(*tenant)
                .await
                .and_then(|s| s.api_requests_per_minute);
            limiter.take(key, per_tenant.unwrap_or(limits.api), MINUTE, now)
        }
        _ => limiter.take(&format!("ip:{ip}"), limits.global, MINUTE, now),
    };
    let anonymous = !matches!(class, Class::Api { .. });
    let verdict = verdict.and_then(|()| {
        if anonymous && no_agent {
            limiter.take(&format!("noua:{ip}"), limits.no_user_agent, MINUTE, now)
        } else {
            Ok(())
        }
    });
    let signal_key = match &class {
        Class::Api { key, .. } => key.clone(),
        _ => format!("ip:{ip}"),
    };
    if anonymous && no_agent && limiter.first_signal(&format!("noua:{ip}"), now) {
        signal(st, &class, "missing_user_agent", &ip);
    }
    let burst = limiter
        .take(
            &format!("burst:{signal_key}"),
            limits.burst_per_second,
            SECOND,
            now,
        )
        .is_err();
    if burst && limiter.first_signal(&format!("burst:{signal_key}"), now) {
        signal(st, &class, "burst", &ip);
    }
    if let Err(retry_after) = verdict {
        return too_many(&path, &class, retry_after);
    }
    let cookie_hash = cookie(req.headers(), SESSION_COOKIE)
        .filter(|_| anonymous)
        .map(|v| clinicos_app::kit::crypto::sha256_hex(&v));
    let resp = next.run(req).await;
    // A cookie that just authenticated moves its session to the `api` class.
    if let (Some(hash), Some(tenant)) = (cookie_hash, scope::authenticated_tenant()) {
        limiter.remember_cookie(hash, tenant, now);
    }
    resp
}

/// `auth` and `otp`: fixed one-minute windows in the shared counters.
async fn shared_counter(st: &WebState, class: &Class, ip: &str) -> Result<(), u64> {
    let limit = match class {
        Class::Otp => st.config.rate_limits.otp,
        _ => st.config.rate_limits.auth,
    };
    let key = format!(
        "rl:{}:{}",
        class.name(),
        clinicos_app::kit::crypto::sha256_hex(ip)
    );
    let now = st.app.clock.now();
    match st
        .app
        .identity()
        .hit_rate_window(&key, chrono::Duration::minutes(1), now)
        .await
    {
        Ok(h) if h.count <= limit => Ok(()),
        Ok(h) => Err((h.window_ends - now).num_seconds().max(1) as u64),
        // The counter store failing must not lock everyone out; the
        // per-account lockout still guards sign-in.
        Err(_) => {
            tracing::warn!(class = class.name(), "rate counter unavailable");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_route() {
        assert_eq!(route_class(&Method::GET, "/health/ready"), Class::Exempt);
        assert_eq!(route_class(&Method::GET, "/metrics"), Class::Exempt);
        assert_eq!(route_class(&Method::GET, "/static/app.css"), Class::Exempt);
        assert_eq!(
            route_class(&Method::POST, "/api/v1/auth/login"),
            Class::Auth
        );
        assert_eq!(route_class(&Method::POST, "/login"), Class::Auth);
        assert_eq!(route_class(&Method::GET, "/login"), Class::Global);
        assert_eq!(
            route_class(&Method::POST, "/api/v1/portal/otp/send"),
            Class::Otp
        );
        assert_eq!(route_class(&Method::GET, "/api/v1/branches"), Class::Global);
    }

    #[test]
    fn limiter_refuses_over_the_limit_and_says_how_long() {
        let l = Limiter::default();
        for _ in 0..3 {
            assert!(l.take("k", 3, MINUTE, 0).is_ok());
        }
        assert_eq!(l.take("k", 3, MINUTE, 0), Err(20));
        assert!(l.take("other", 3, MINUTE, 0).is_ok());
        assert!(l.take("k", 3, MINUTE, 20 * SECOND).is_ok());
        assert!(l.first_signal("s", 0));
        assert!(!l.first_signal("s", MINUTE));
        assert!(l.first_signal("s", SIGNAL_EVERY));
    }

    #[test]
    fn a_flood_of_addresses_stays_within_the_bound_and_the_hot_key_stays_limited() {
        let l = Limiter::with_capacity(1_000);
        for _ in 0..5 {
            assert!(l.take("ip:hot", 5, MINUTE, 0).is_ok());
        }
        assert!(l.take("ip:hot", 5, MINUTE, 0).is_err());
        // Ten times the bound of one-request addresses, within a second.
        for i in 0..10_000i64 {
            let now = i * 100;
            assert!(l
                .take(&format!("ip:10.0.{}.{}", i / 256, i % 256), 5, MINUTE, now)
                .is_ok());
            assert!(l.sizes().0 <= 1_000);
        }
        // Still limited: the flood evicted itself, not the key in debt.
        assert_eq!(l.take("ip:hot", 5, MINUTE, SECOND), Err(11));
        // And once its minute has passed it is served again.
        assert!(l.take("ip:hot", 5, MINUTE, MINUTE).is_ok());
    }

    #[test]
    fn what_has_expired_goes_before_what_is_live() {
        let mut m = Expiring::new(10);
        for i in 0..5 {
            m.insert(&format!("old{i}"), 100, (), 0);
        }
        for i in 0..5 {
            m.insert(&format!("live{i}"), 10_000 + i, (), 0);
        }
        // Full: the next key at t=200 sweeps the five expired ones only.
        m.insert("new", 10_500, (), 200);
        assert_eq!(m.len(), 6);
        assert!((0..5).all(|i| m.get(&format!("live{i}"), 200).is_some()));
        // Full of live keys: the ones closest to their moment go first.
        for i in 0..4 {
            m.insert(&format!("more{i}"), 20_000, (), 200);
        }
        m.insert("last", 20_000, (), 200);
        assert!(m.len() <= 10);
        assert!(m.get("live0", 200).is_none());
        assert!(m.get("last", 200).is_some() && m.get("new", 200).is_some());
    }

    #[test]
    fn cookies_and_signals_are_bounded_too() {
        let l = Limiter::with_capacity(100);
        let tenant = TenantId::new();
        for i in 0..1_000 {
            l.remember_cookie(format!("c{i}"), tenant, 0);
            assert!(l.first_signal(&format!("s{i}"), 0));
        }
        let (_, cookies, signals) = l.sizes();
        assert!(cookies <= 100 && signals <= 100, "{cookies} {signals}");
        assert_eq!(l.cookie_tenant("c999", 1), Some(tenant));
        assert!(!l.first_signal("s999", 1));
    }
}
