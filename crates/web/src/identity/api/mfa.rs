//! `/api/v1/me/mfa*`: the signed-in user's two-step sign-in (TOTP
//! enrolment, confirmation, turning it off). Secrets and recovery codes
//! appear in exactly one response each.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::json::{ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::identity::mfa::{MfaStatus, RecoveryCodes, SecondFactor, TotpEnrolment};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct ConfirmRequest {
    /// The current 6-digit code from the authenticator app.
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
pub struct DisableRequest {
    pub code: Option<String>,
    pub recovery_code: Option<String>,
}

/// One's two-step sign-in state.
#[utoipa::path(get, path = "/api/v1/me/mfa", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Envelope<MfaStatus>), (status = 401, body = ErrorBody)))]
pub async fn status(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    Ok(ok(st.app.identity().mfa_status(&ctx).await?))
}

/// Start TOTP enrolment: the secret and `otpauth://` URI, shown once.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Envelope<TotpEnrolment>), (status = 409, body = ErrorBody)))]
pub async fn begin_totp(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    Ok(ok(st.app.identity().begin_totp(&ctx).await?))
}

/// Confirm enrolment with a current code; returns ten single-use recovery codes (shown once).
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/confirm", tag = "me", security(("bearer" = [])), request_body = ConfirmRequest,
    responses((status = 200, body = Envelope<RecoveryCodes>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn confirm_totp(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<ConfirmRequest>,
) -> ApiResult<Response> {
    Ok(ok(st.app.identity().confirm_totp(&ctx, &b.code).await?))
}

/// Turn TOTP off with a current code or a recovery code.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/disable", tag = "me", security(("bearer" = [])), request_body = DisableRequest,
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn disable_totp(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<DisableRequest>,
) -> ApiResult<Response> {
    let f = SecondFactor {
        code: b.code,
        recovery_code: b.recovery_code,
    };
    st.app.identity().disable_totp(&ctx, f).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
