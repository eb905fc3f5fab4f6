//! `/api/v1/me*`: the signed-in user's profile, password, sessions, branch.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::identity::types::SessionSummary;
use clinicos_app::identity::types::{User, UserProfile};
use clinicos_app::kit::domain_schema;
use clinicos_domain::{BranchId, SessionId};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct MeUpdate {
    #[serde(flatten)]
    pub profile: UserProfile,
    /// UI language: en or hi.
    pub locale: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct BranchSwitch {
    #[schema(value_type = domain_schema::BranchId)]
    pub branch_id: BranchId,
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Envelope<User>), (status = 401, body = ErrorBody)))]
pub async fn get_me(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().me(&ctx).await?))
}

/// Update one's own profile (name, contact, languages, professional details, UI language).
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])), request_body = MeUpdate,
    responses((status = 200, body = Envelope<User>), (status = 422, body = ErrorBody)))]
pub async fn update_me(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<MeUpdate>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .tenancy()
        .update_me(&ctx, b.profile, b.locale)
        .await?))
}

/// Change one's password; all other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<PasswordChange>,
) -> ApiResult<Response> {
    st.app
        .identity()
        .change_password(&ctx, &b.current_password, &b.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One's live sessions with device and IP.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Envelope<Vec<SessionSummary>>)))]
pub async fn list_sessions(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
) -> ApiResult<Response> {
    Ok(ok(st.app.identity().my_sessions(&ctx).await?))
}

/// End one of one's sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn end_session(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<SessionId>,
) -> ApiResult<Response> {
    st.app.identity().end_my_session(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Switch the session's working branch.
#[utoipa::path(post, path = "/api/v1/me/branch", tag = "me", security(("bearer" = [])), request_body = BranchSwitch,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn switch_branch(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<BranchSwitch>,
) -> ApiResult<Response> {
    st.app.identity().switch_branch(&ctx, b.branch_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
