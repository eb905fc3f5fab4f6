//! `/api/v1/auth/*`: sign-in, refresh, sign-out, forgot / reset password.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiAuth, Client};
use crate::json::{ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::auth::{Issued, LoginInput, SessionKind};
use clinicos_store::users::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Clinic code (tenant slug).
    pub tenant: String,
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    #[serde(flatten)]
    pub tokens: Issued,
    pub user: User,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotRequest {
    pub tenant: String,
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The token from the emailed link.
    pub token: String,
    pub new_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub message: String,
}

/// Sign in; returns a short-lived access token and a rotating refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Envelope<LoginResponse>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let input = LoginInput {
        tenant_slug: b.tenant,
        email: b.email,
        password: b.password,
        kind: SessionKind::Api,
    };
    let (tokens, user) = st.app.login(input, &c).await?;
    Ok(ok(LoginResponse { tokens, user }))
}

/// Exchange a refresh token (single use) for new tokens.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Envelope<Issued>), (status = 401, body = ErrorBody)))]
pub async fn refresh(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<RefreshRequest>,
) -> ApiResult<Response> {
    Ok(ok(st.app.refresh(&b.refresh_token, &c).await?))
}

/// End the current session (its access and refresh tokens stop working).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    st.app.logout(&ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ask for a password-reset link. Always 202, whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/auth/forgot-password", tag = "auth", request_body = ForgotRequest,
    responses((status = 202, body = Envelope<Accepted>), (status = 429, body = ErrorBody)))]
pub async fn forgot_password(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<ForgotRequest>,
) -> ApiResult<Response> {
    st.app.forgot_password(&b.tenant, &b.email, &c).await?;
    let msg = crate::i18n::t(&crate::scope::locale(), "forgot-sent");
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Envelope {
            data: Accepted { message: msg },
            meta: None,
        }),
    )
        .into_response())
}

/// Set a new password with the emailed token; ends every session.
#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "auth", request_body = ResetRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reset_password(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<ResetRequest>,
) -> ApiResult<Response> {
    st.app.reset_password(&b.token, &b.new_password, &c).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
