//! `/api/v1/portal/*`: patient sign-in with one-time codes, the patient's
//! own record and sign-out. The `/api/v1/portal/otp` prefix is what the
//! rate-limit middleware classifies as the `otp` class; the services apply
//! the per-destination limits themselves (shared counters).

use crate::identity::api::auth::Accepted;
use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::{Client, PortalAuth};
use crate::kit::json::{accepted, ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::identity::portal::{OtpRequest, PortalIssued};
use clinicos_app::patients::patient::Patient;
use serde::Deserialize;
use utoipa::ToSchema;

/// Ask for a sign-in code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpSendRequest {
    /// Clinic code.
    pub tenant: String,
    /// `sms`, `whatsapp` or `email`.
    pub channel: String,
    /// The phone number (SMS, WhatsApp) or email address.
    pub destination: String,
}

/// Sign in with the code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpVerifyRequest {
    pub tenant: String,
    pub channel: String,
    pub destination: String,
    /// The six-digit code.
    pub code: String,
}

/// Send a six-digit sign-in code (valid 5 minutes, single use) to the
/// patient's phone or email. Always 202 with the same body, whether or not
/// a patient has that destination. Limits: 3 per minute per destination and
/// per IP, 10 per destination per day (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/portal/otp/send", tag = "portal", request_body = OtpSendRequest,
    responses((status = 202, body = Envelope<Accepted>), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn send_code(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<OtpSendRequest>,
) -> ApiResult<Response> {
    let r = OtpRequest {
        tenant_slug: b.tenant,
        channel: b.channel,
        destination: b.destination,
        code: String::new(),
    };
    st.app.identity().send_portal_code(&r, &c).await?;
    let msg = crate::kit::i18n::t(&crate::kit::scope::locale(), "portal-code-sent");
    Ok(accepted(Accepted { message: msg }))
}

/// Exchange a code for a portal bearer token. One 401 (`INVALID_OTP`) for a
/// wrong, expired, used or superseded code; three wrong tries end a code;
/// more than 3 attempts a minute per destination answer 429.
#[utoipa::path(post, path = "/api/v1/portal/otp/verify", tag = "portal", request_body = OtpVerifyRequest,
    responses((status = 200, body = Envelope<PortalIssued>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify_code(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<OtpVerifyRequest>,
) -> ApiResult<Response> {
    let r = OtpRequest {
        tenant_slug: b.tenant,
        channel: b.channel,
        destination: b.destination,
        code: b.code,
    };
    Ok(ok(st.app.identity().verify_portal_code(&r, &c).await?))
}

/// The signed-in patient's own demographics and contact details (audited).
#[utoipa::path(get, path = "/api/v1/portal/me", tag = "portal", security(("portal" = [])),
    responses((status = 200, body = Envelope<Patient>), (status = 401, body = ErrorBody)))]
pub async fn me(State(st): State<WebState>, PortalAuth(ctx): PortalAuth) -> ApiResult<Response> {
    Ok(ok(st.app.identity().portal_me(&ctx).await?))
}

/// End the portal session (its token stops working at once).
#[utoipa::path(post, path = "/api/v1/portal/logout", tag = "portal", security(("portal" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(st): State<WebState>,
    PortalAuth(ctx): PortalAuth,
) -> ApiResult<Response> {
    st.app.identity().portal_logout(&ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
