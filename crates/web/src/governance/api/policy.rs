//! Policy as data and emergency-access review: role bundles, single
//! grants and policy settings (`/api/v1/policy/...`), and break-the-glass
//! review (`/api/v1/break-glass/...`).

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, ApiJson, ApiQuery, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::governance::break_glass::{BreakGlassGrant, ReviewInput};
use clinicos_app::governance::policy_admin::{BundleInput, GrantInput, PolicyOverview};
use clinicos_app::governance::types::{Grant, PolicySettings};
use clinicos_domain::Role;

/// The organisation's policy: permission catalogue, role bundles, single grants, settings.
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy", security(("bearer" = [])),
    responses((status = 200, body = Envelope<PolicyOverview>), (status = 403, body = ErrorBody)))]
pub async fn get_policy(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    Ok(ok(st.app.governance().policy_overview(&ctx).await?))
}

/// Replace a role's permission bundle in this organisation.
#[utoipa::path(put, path = "/api/v1/policy/roles/{role}", tag = "policy", security(("bearer" = [])), params(("role" = String, Path, description = "Role code")), request_body = BundleInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_role_bundle(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(role): InPath<Role>,
    ApiJson(b): ApiJson<BundleInput>,
) -> ApiResult<Response> {
    st.app.governance().set_role_bundle(&ctx, role, b).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Return a role to its default bundle.
#[utoipa::path(delete, path = "/api/v1/policy/roles/{role}", tag = "policy", security(("bearer" = [])), params(("role" = String, Path, description = "Role code")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_role_bundle(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(role): InPath<Role>,
) -> ApiResult<Response> {
    st.app.governance().reset_role_bundle(&ctx, role).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Grant one permission to one staff member, with the reason.
#[utoipa::path(post, path = "/api/v1/policy/grants", tag = "policy", security(("bearer" = [])), request_body = GrantInput,
    responses((status = 201, body = Envelope<Grant>), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_grant(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<GrantInput>,
) -> ApiResult<Response> {
    Ok(created(
        st.app.governance().grant_permission(&ctx, b).await?,
    ))
}

/// Revoke a single grant.
#[utoipa::path(delete, path = "/api/v1/policy/grants/{id}", tag = "policy", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Grant id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_grant(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<uuid::Uuid>,
) -> ApiResult<Response> {
    st.app
        .governance()
        .revoke_grant(&ctx, &id.to_string())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Change the policy settings (own-patient window, break-the-glass duration, consent policy, cross-branch visibility).
#[utoipa::path(put, path = "/api/v1/policy/settings", tag = "policy", security(("bearer" = [])), request_body = PolicySettings,
    responses((status = 200, body = Envelope<PolicySettings>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_policy_settings(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<PolicySettings>,
) -> ApiResult<Response> {
    Ok(ok(st.app.governance().set_policy_settings(&ctx, b).await?))
}

/// `GET /break-glass` query.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ReviewQuery {
    /// pending (default), justified, unjustified or all.
    pub status: Option<String>,
}

/// Emergency accesses to review (privacy officer).
#[utoipa::path(get, path = "/api/v1/break-glass", tag = "policy", security(("bearer" = [])), params(ReviewQuery),
    responses((status = 200, body = Envelope<Vec<BreakGlassGrant>>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_break_glass(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .governance()
        .break_glass_reviews(&ctx, q.status.as_deref())
        .await?))
}

/// Record the review of an emergency access (justified or unjustified, with a note).
#[utoipa::path(post, path = "/api/v1/break-glass/{id}/review", tag = "policy", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Grant id")), request_body = ReviewInput,
    responses((status = 200, body = Envelope<BreakGlassGrant>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn review_break_glass(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<uuid::Uuid>,
    ApiJson(b): ApiJson<ReviewInput>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .governance()
        .review_break_glass(&ctx, &id.to_string(), b)
        .await?))
}

/// End one's own emergency access before it expires.
#[utoipa::path(post, path = "/api/v1/break-glass/{id}/end", tag = "policy", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Grant id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_break_glass(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<uuid::Uuid>,
) -> ApiResult<Response> {
    st.app
        .governance()
        .end_break_glass(&ctx, &id.to_string())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
