//! `/api/v1/auth/*`: sign-in, refresh, sign-out, forgot / reset password.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::{ApiAuth, Client};
use crate::kit::http::DEVICE_HEADER;
use crate::kit::json::{accepted, ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::identity::auth::{Issued, LoginInput, LoginOutcome, SessionKind};
use clinicos_app::identity::mfa::SecondFactor;
use clinicos_app::identity::types::User;
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

/// The password was right and the account has two-step sign-in: finish
/// with `POST /api/v1/auth/mfa`.
#[derive(Serialize, ToSchema)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    /// Single-use, five minutes, bound to the account.
    pub mfa_token: String,
}

/// What the password step answers: tokens, or a second-factor challenge.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResult {
    SignedIn(Box<LoginResponse>),
    MfaRequired(MfaChallenge),
}

#[derive(Deserialize, ToSchema)]
pub struct MfaRequest {
    pub mfa_token: String,
    /// The current 6-digit code of the authenticator app.
    pub code: Option<String>,
    /// Or one unused recovery code.
    pub recovery_code: Option<String>,
}

fn device_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(DEVICE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
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

/// Sign in; returns a short-lived access token and a rotating refresh token,
/// or, when the account has two-step sign-in, an `mfa_token` to finish with
/// `POST /api/v1/auth/mfa`. Send the `X-Device-Id` the server issued; a new
/// device answers 403 `DEVICE_APPROVAL_PENDING` (with a new `X-Device-Id`)
/// while the organisation requires device approval.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    params(("X-Device-Id" = Option<String>, Header, description = "Device id issued by the server")),
    responses((status = 200, description = "Signed in, or a second factor is needed", body = Envelope<LoginResult>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(st): State<WebState>,
    Client(c): Client,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let input = LoginInput {
        tenant_slug: b.tenant,
        email: b.email,
        password: b.password,
        kind: SessionKind::Api,
        device_id: device_id(&headers),
    };
    match st.app.identity().login(input, &c).await? {
        LoginOutcome::SignedIn(tokens, user) => {
            Ok(ok(LoginResult::SignedIn(Box::new(LoginResponse {
                tokens,
                user: *user,
            }))))
        }
        LoginOutcome::MfaRequired { mfa_token } => Ok(ok(LoginResult::MfaRequired(MfaChallenge {
            mfa_required: true,
            mfa_token,
        }))),
    }
}

/// Finish a sign-in with the `mfa_token` and a current code or a recovery
/// code. Wrong codes count towards the account lockout.
#[utoipa::path(post, path = "/api/v1/auth/mfa", tag = "auth", request_body = MfaRequest,
    responses((status = 200, body = Envelope<LoginResponse>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn mfa(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<MfaRequest>,
) -> ApiResult<Response> {
    let f = SecondFactor {
        code: b.code,
        recovery_code: b.recovery_code,
    };
    let (tokens, user) = st.app.identity().complete_mfa(&b.mfa_token, f, &c).await?;
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
    Ok(ok(st.app.identity().refresh(&b.refresh_token, &c).await?))
}

/// End the current session (its access and refresh tokens stop working).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    st.app.identity().logout(&ctx).await?;
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
    st.app
        .identity()
        .forgot_password(&b.tenant, &b.email, &c)
        .await?;
    let msg = crate::kit::i18n::t(&crate::kit::scope::locale(), "forgot-sent");
    Ok(accepted(Accepted { message: msg }))
}

/// Set a new password with the emailed token; ends every session.
#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "auth", request_body = ResetRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reset_password(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<ResetRequest>,
) -> ApiResult<Response> {
    st.app
        .identity()
        .reset_password(&b.token, &b.new_password, &c)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
