//! Sign-in security administration: the organisation's MFA and device
//! approval settings, pending device approvals, and other staff members'
//! sessions (`/api/v1/tenant/sign-in-security`, `/api/v1/staff/...`).

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::identity::devices::SignInSecurity;
use clinicos_app::identity::types::Device;
use clinicos_app::identity::types::SessionSummary;
use clinicos_app::tenancy::types::Tenant;
use clinicos_domain::{SessionId, UserId};

/// Set which roles must use two-step sign-in and whether new staff devices need approval (owner).
#[utoipa::path(put, path = "/api/v1/tenant/sign-in-security", tag = "organisation", security(("bearer" = [])), request_body = SignInSecurity,
    responses((status = 200, body = Envelope<Tenant>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_sign_in_security(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<SignInSecurity>,
) -> ApiResult<Response> {
    Ok(ok(st.app.identity().set_sign_in_security(&ctx, b).await?))
}

/// Devices waiting for approval (staff this admin manages).
#[utoipa::path(get, path = "/api/v1/staff/device-approvals", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Envelope<Vec<Device>>), (status = 403, body = ErrorBody)))]
pub async fn list_device_approvals(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
) -> ApiResult<Response> {
    Ok(ok(st.app.identity().pending_devices(&ctx).await?))
}

/// Approve a pending device: the staff member can then sign in from it.
#[utoipa::path(post, path = "/api/v1/staff/device-approvals/{id}/approve", tag = "staff", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Device approval id")),
    responses((status = 200, body = Envelope<Device>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_device(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<uuid::Uuid>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .identity()
        .decide_device(&ctx, &id.to_string(), true)
        .await?))
}

/// Deny a pending device: sign-in from it stays blocked.
#[utoipa::path(post, path = "/api/v1/staff/device-approvals/{id}/deny", tag = "staff", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Device approval id")),
    responses((status = 200, body = Envelope<Device>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn deny_device(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<uuid::Uuid>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .identity()
        .decide_device(&ctx, &id.to_string(), false)
        .await?))
}

/// A staff member's live sessions.
#[utoipa::path(get, path = "/api/v1/staff/{id}/sessions", tag = "staff", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Staff member id")),
    responses((status = 200, body = Envelope<Vec<SessionSummary>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_staff_sessions(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<UserId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.identity().staff_sessions(&ctx, id).await?))
}

/// End a staff member's session; its tokens stop working at once.
#[utoipa::path(delete, path = "/api/v1/staff/{id}/sessions/{sid}", tag = "staff", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Staff member id"), ("sid" = uuid::Uuid, Path, description = "Session id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_staff_session(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, sid)): InPath<(UserId, SessionId)>,
) -> ApiResult<Response> {
    st.app
        .identity()
        .revoke_staff_session(&ctx, id, sid)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
