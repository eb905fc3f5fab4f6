//! Request extractors: client facts, and the three ways to be signed in
//! (API bearer token, browser session cookie, operator credential). Each
//! authenticating extractor is the single place its credential is checked.
//! The API extractor also enforces a suspended tenant's read-only mode for
//! every state-changing request.

use crate::kit::error::ApiError;
use crate::kit::http::{client_ip, cookie, OPERATOR_COOKIE, SESSION_COOKIE};
use crate::{kit::scope, WebState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Redirect, Response};
use clinicos_app::identity::portal_session::PortalCtx;
use clinicos_app::kit::context::RequestInfo;
use clinicos_app::tenancy::operator::OperatorCtx;
use clinicos_app::{AppError, Ctx};

/// Facts about the client for audit and sessions.
pub struct Client(pub RequestInfo);

impl FromRequestParts<WebState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, Self::Rejection> {
        Ok(Client(request_info(parts, st)))
    }
}

fn request_info(parts: &Parts, st: &WebState) -> RequestInfo {
    let ip = client_ip(&parts.headers, &parts.extensions, st.config.trust_proxy);
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    // Only a header the operator configured (set by their proxy) is read.
    let country = st
        .config
        .country_header
        .as_deref()
        .and_then(|h| parts.headers.get(h))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    RequestInfo {
        ip,
        user_agent,
        request_id: scope::request_id(),
        country,
    }
}

/// A signed-in API client (bearer access token).
pub struct ApiAuth(pub Ctx);

/// Paths a suspended (read-only) tenant may still POST/PATCH/DELETE:
/// signing out, ending sessions, changing one's password.
fn allowed_while_read_only(path: &str) -> bool {
    path.starts_with("/api/v1/auth/")
        || path.starts_with("/api/v1/me/sessions")
        || path == "/api/v1/me/password"
}

/// Paths a user who must enrol in MFA (tenant policy) may still use:
/// enrolment itself, their own profile read and signing out.
fn allowed_before_mfa_enrolment(path: &str) -> bool {
    path.starts_with("/api/v1/me/mfa") || path == "/api/v1/auth/logout" || path == "/api/v1/me"
}

impl FromRequestParts<WebState> for ApiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError(AppError::Unauthenticated))?;
        let ctx = st
            .app
            .identity()
            .authenticate_bearer(token, request_info(parts, st))
            .await?;
        scope::set_locale(&ctx.locale);
        if parts.method != Method::GET
            && parts.method != Method::HEAD
            && !ctx.tenant_status.allows_writes()
            && !allowed_while_read_only(parts.uri.path())
        {
            return Err(ApiError(AppError::TenantReadOnly));
        }
        if ctx.mfa_enrolment_required && !allowed_before_mfa_enrolment(parts.uri.path()) {
            return Err(ApiError(AppError::MfaEnrolmentRequired));
        }
        Ok(ApiAuth(ctx))
    }
}

/// The bearer credential of an API request, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// A signed-in patient (portal bearer token). Staff tokens are refused
/// here, and portal tokens by [`ApiAuth`]: the two never mix.
pub struct PortalAuth(pub PortalCtx);

impl FromRequestParts<WebState> for PortalAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError(AppError::Unauthenticated))?;
        let ctx = st
            .app
            .identity()
            .authenticate_portal(token, request_info(parts, st))
            .await?;
        Ok(PortalAuth(ctx))
    }
}

/// A signed-in browser user; otherwise a redirect to the sign-in page.
pub struct PageAuth(pub Ctx);

/// Where an unauthenticated page request goes.
pub struct ToLogin;

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to("/login").into_response()
    }
}

impl FromRequestParts<WebState> for PageAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, Self::Rejection> {
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ToLogin.into_response());
        };
        let ctx = match st
            .app
            .identity()
            .authenticate_cookie(&value, request_info(parts, st))
            .await
        {
            Ok(c) => c,
            Err(AppError::Unauthenticated | AppError::SessionExpired) => {
                return Err(Redirect::to("/login?expired=1").into_response())
            }
            Err(e) => return Err(crate::kit::page::error_response(&scope::locale(), e)),
        };
        scope::set_locale(&ctx.locale);
        scope::set_authenticated(ctx.tenant);
        if ctx.mfa_enrolment_required {
            let p = parts.uri.path();
            if !(p.starts_with("/me/security") || p == "/logout" || p == "/locale") {
                return Err(Redirect::to("/me/security").into_response());
            }
        }
        if parts.method == Method::POST && !ctx.tenant_status.allows_writes() {
            let p = parts.uri.path();
            if !(p == "/logout"
                || p.starts_with("/me/sessions")
                || p == "/me/password"
                || p == "/locale"
                || p == "/branch")
            {
                return Err(crate::kit::page::error_response(
                    &ctx.locale,
                    AppError::TenantReadOnly,
                ));
            }
        }
        Ok(PageAuth(ctx))
    }
}

/// A signed-in platform operator (cookie on pages, bearer on the API).
pub struct OperatorAuth(pub OperatorCtx);

impl FromRequestParts<WebState> for OperatorAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, Self::Rejection> {
        let is_api = parts.uri.path().starts_with("/api/");
        let cred = if is_api {
            bearer(parts).map(str::to_owned)
        } else {
            cookie(&parts.headers, OPERATOR_COOKIE)
        };
        let result = match cred {
            Some(c) => {
                st.app
                    .tenancy()
                    .authenticate_operator(&c, request_info(parts, st))
                    .await
            }
            None => Err(AppError::Unauthenticated),
        };
        match result {
            Ok(op) => Ok(OperatorAuth(op)),
            Err(e) if is_api => Err(ApiError(e).into_response()),
            Err(_) => Err(Redirect::to("/operator/login").into_response()),
        }
    }
}
