//! `/api/v1/operator/*`: the platform operator's API. Answers carry only
//! directory and platform data (names, slugs, regions, plans, statuses),
//! never tenant records.

use crate::kit::error::{ApiError, ApiResult, ErrorBody};
use crate::kit::extract::{Client, OperatorAuth};
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::tenancy::provisioning::NewTenant;
use clinicos_app::tenancy::types::{DirectoryEntry, Plan, Region};
use clinicos_app::AppError;
use clinicos_domain::tenancy::tenant::SubscriptionEvent;
use clinicos_domain::TenantId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct OperatorLogin {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct OperatorToken {
    /// Bearer credential for the operator API.
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct StatusChange {
    /// activate, suspend, reactivate or close.
    pub action: String,
}

#[derive(Deserialize, ToSchema)]
pub struct NewRegion {
    pub code: String,
    pub name: String,
    /// sqlite://... or postgres://...
    pub database_url: String,
}

/// Operator sign-in.
#[utoipa::path(post, path = "/api/v1/operator/auth/login", tag = "operator", request_body = OperatorLogin,
    responses((status = 200, body = Envelope<OperatorToken>), (status = 401, body = ErrorBody)))]
pub async fn login(
    State(st): State<WebState>,
    Client(c): Client,
    ApiJson(b): ApiJson<OperatorLogin>,
) -> ApiResult<Response> {
    let (token, _) = st
        .app
        .tenancy()
        .operator_login(&b.email, &b.password, &c)
        .await?;
    Ok(ok(OperatorToken { token }))
}

/// Operator sign-out.
#[utoipa::path(post, path = "/api/v1/operator/auth/logout", tag = "operator", security(("operator" = [])), responses((status = 204)))]
pub async fn logout(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
) -> ApiResult<Response> {
    st.app.tenancy().operator_logout(&op).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every tenant in the directory.
#[utoipa::path(get, path = "/api/v1/operator/tenants", tag = "operator", security(("operator" = [])),
    responses((status = 200, body = Envelope<Vec<DirectoryEntry>>), (status = 401, body = ErrorBody)))]
pub async fn list_tenants(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().op_list_tenants(&op).await?))
}

/// Open a tenant with its first branch and owner (invited by email unless a password is given).
#[utoipa::path(post, path = "/api/v1/operator/tenants", tag = "operator", security(("operator" = [])), request_body = NewTenant,
    responses((status = 201, body = Envelope<DirectoryEntry>), (status = 422, body = ErrorBody)))]
pub async fn create_tenant(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    ApiJson(b): ApiJson<NewTenant>,
) -> ApiResult<Response> {
    Ok(created(st.app.tenancy().op_create_tenant(&op, &b).await?))
}

/// Suspend, reactivate, activate or close a tenant.
#[utoipa::path(post, path = "/api/v1/operator/tenants/{id}/status", tag = "operator", security(("operator" = [])), params(("id" = uuid::Uuid, Path)), request_body = StatusChange,
    responses((status = 200, body = Envelope<DirectoryEntry>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_status(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    InPath(id): InPath<TenantId>,
    ApiJson(b): ApiJson<StatusChange>,
) -> ApiResult<Response> {
    let event = parse_event(&b.action)?;
    Ok(ok(st
        .app
        .tenancy()
        .op_change_status(&op, id, event)
        .await?))
}

/// Parse a status action name.
pub fn parse_event(s: &str) -> Result<SubscriptionEvent, ApiError> {
    match s {
        "activate" => Ok(SubscriptionEvent::Activate),
        "suspend" => Ok(SubscriptionEvent::Suspend),
        "reactivate" => Ok(SubscriptionEvent::Reactivate),
        "close" => Ok(SubscriptionEvent::Close),
        _ => Err(ApiError(AppError::field(
            "action",
            "must be activate, suspend, reactivate or close",
        ))),
    }
}

/// Data-residency regions.
#[utoipa::path(get, path = "/api/v1/operator/regions", tag = "operator", security(("operator" = [])),
    responses((status = 200, body = Envelope<Vec<Region>>)))]
pub async fn list_regions(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().op_regions(&op).await?))
}

/// Register a region and prepare its database.
#[utoipa::path(post, path = "/api/v1/operator/regions", tag = "operator", security(("operator" = [])), request_body = NewRegion,
    responses((status = 201, body = Envelope<Vec<Region>>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_region(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    ApiJson(b): ApiJson<NewRegion>,
) -> ApiResult<Response> {
    Ok(created(
        st.app
            .tenancy()
            .op_add_region(&op, &b.code, &b.name, &b.database_url)
            .await?,
    ))
}

/// Subscription plans.
#[utoipa::path(get, path = "/api/v1/operator/plans", tag = "operator", security(("operator" = [])),
    responses((status = 200, body = Envelope<Vec<Plan>>)))]
pub async fn list_plans(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().op_plans(&op).await?))
}

/// Create or update a plan.
#[utoipa::path(post, path = "/api/v1/operator/plans", tag = "operator", security(("operator" = [])), request_body = Plan,
    responses((status = 200, body = Envelope<Vec<Plan>>), (status = 422, body = ErrorBody)))]
pub async fn upsert_plan(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    ApiJson(b): ApiJson<Plan>,
) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().op_upsert_plan(&op, b).await?))
}
