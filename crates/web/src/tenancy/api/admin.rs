//! `/api/v1/tenant`, `/api/v1/branches`, `/api/v1/staff`:
//! the organisation, its branches and staff.

use crate::kit::error::{ApiError, ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, paged, ApiJson, ApiQuery, Envelope};
use crate::WebState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use clinicos_app::identity::types::{Image, User};
use clinicos_app::kit::domain_schema;
use clinicos_app::tenancy::admin::{BranchPatch, StaffAccess, TenantPatch};
use clinicos_app::tenancy::provisioning::NewUser;
use clinicos_app::tenancy::types::Branch;
use clinicos_app::tenancy::types::Tenant;
use clinicos_domain::{BranchId, UserId};

/// The organisation profile.
#[utoipa::path(get, path = "/api/v1/tenant", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, body = Envelope<Tenant>), (status = 401, body = ErrorBody)))]
pub async fn get_tenant(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().tenant_profile(&ctx).await?))
}

/// Update the organisation profile (owner).
#[utoipa::path(patch, path = "/api/v1/tenant", tag = "organisation", security(("bearer" = [])), request_body = TenantPatch,
    responses((status = 200, body = Envelope<Tenant>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_tenant(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<TenantPatch>,
) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().update_tenant(&ctx, b).await?))
}

/// The organisation logo image.
#[utoipa::path(get, path = "/api/v1/tenant/logo", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, content_type = "image/png", description = "PNG, JPEG or WebP"), (status = 404, body = ErrorBody)))]
pub async fn get_logo(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    let (bytes, mime) = st.app.tenancy().tenant_logo(&ctx).await?;
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}

/// Upload the organisation logo (raw PNG, JPEG or WebP body, at most 2 MB).
#[utoipa::path(put, path = "/api/v1/tenant/logo", tag = "organisation", security(("bearer" = [])), request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_logo(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|_| {
        ApiError(clinicos_app::AppError::field(
            "image",
            "must be at most 2 MB",
        ))
    })?;
    st.app
        .tenancy()
        .set_tenant_logo(&ctx, body.to_vec())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /branches` query: paging, sorting and filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct BranchQuery {
    /// 1-based page number.
    pub page: Option<u32>,
    /// Rows per page (1-100, default 20).
    pub limit: Option<u32>,
    /// name, code, city or created_at; prefix `-` for descending.
    pub sort: Option<String>,
    /// Only active (true) or inactive (false) branches.
    pub active: Option<bool>,
    /// Only branches in this city (case-insensitive).
    pub city: Option<String>,
}

/// `GET /staff` query: paging, sorting and filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct StaffQuery {
    /// 1-based page number.
    pub page: Option<u32>,
    /// Rows per page (1-100, default 20).
    pub limit: Option<u32>,
    /// name, email or created_at; prefix `-` for descending.
    pub sort: Option<String>,
    /// Only staff holding this role.
    #[param(value_type = Option<domain_schema::Role>)]
    pub role: Option<clinicos_domain::Role>,
    /// Only active (true) or deactivated (false) staff.
    pub active: Option<bool>,
    /// Name or email contains this text (case-insensitive).
    pub q: Option<String>,
}

pub(crate) fn page_of(
    page: Option<u32>,
    limit: Option<u32>,
) -> Result<clinicos_domain::kit::page::PageRequest, ApiError> {
    clinicos_domain::kit::page::PageRequest::new(page, limit)
        .map_err(|m| ApiError(clinicos_app::AppError::field("page", &m)))
}

/// The organisation's records as one JSON document (also while suspended).
#[utoipa::path(get, path = "/api/v1/tenant/export", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, body = Envelope<clinicos_app::tenancy::admin::TenantExport>), (status = 403, body = ErrorBody)))]
pub async fn export_tenant(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
) -> ApiResult<Response> {
    let export = st.app.tenancy().export_tenant(&ctx).await?;
    let mut r = ok(export);
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_static("attachment; filename=\"clinicos-export.json\""),
    );
    Ok(r)
}

/// The organisation's retention periods: the jurisdiction packs that apply
/// to its country, its branches' countries and its home region, and the
/// longest audit and medical-record periods among them (owner, privacy officer).
#[utoipa::path(get, path = "/api/v1/tenant/retention", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, body = Envelope<clinicos_app::governance::retention::TenantRetention>), (status = 403, body = ErrorBody)))]
pub async fn retention(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    Ok(ok(st.app.governance().tenant_retention(&ctx).await?))
}

/// Branches, paged and filtered; sort by name, code, city or created_at.
#[utoipa::path(get, path = "/api/v1/branches", tag = "organisation", security(("bearer" = [])), params(BranchQuery),
    responses((status = 200, body = Envelope<Vec<Branch>>), (status = 422, body = ErrorBody)))]
pub async fn list_branches(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiQuery(q): ApiQuery<BranchQuery>,
) -> ApiResult<Response> {
    let filter = clinicos_app::tenancy::types::BranchFilter {
        active: q.active,
        city: q.city.filter(|c| !c.trim().is_empty()),
    };
    let page = page_of(q.page, q.limit)?;
    let (rows, meta) = st
        .app
        .tenancy()
        .list_branches(&ctx, &filter, page, q.sort.as_deref())
        .await?;
    Ok(paged(rows, meta))
}

/// Create a branch (owner); country, time zone and currency default from the organisation.
#[utoipa::path(post, path = "/api/v1/branches", tag = "organisation", security(("bearer" = [])), request_body = BranchPatch,
    responses((status = 201, body = Envelope<Branch>), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_branch(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<BranchPatch>,
) -> ApiResult<Response> {
    Ok(created(st.app.tenancy().create_branch(&ctx, b).await?))
}

/// One branch.
#[utoipa::path(get, path = "/api/v1/branches/{id}", tag = "organisation", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Envelope<Branch>), (status = 404, body = ErrorBody)))]
pub async fn get_branch(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<BranchId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().get_branch(&ctx, id).await?))
}

/// Update a branch (owner); omitted fields keep their value.
#[utoipa::path(patch, path = "/api/v1/branches/{id}", tag = "organisation", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = BranchPatch,
    responses((status = 200, body = Envelope<Branch>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_branch(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<BranchId>,
    ApiJson(b): ApiJson<BranchPatch>,
) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().update_branch(&ctx, id, b).await?))
}

/// Staff, paged and filtered; sort by name, email or created_at.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])), params(StaffQuery),
    responses((status = 200, body = Envelope<Vec<User>>), (status = 403, body = ErrorBody)))]
pub async fn list_staff(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiQuery(q): ApiQuery<StaffQuery>,
) -> ApiResult<Response> {
    let filter = clinicos_app::identity::types::StaffFilter {
        role: q.role,
        active: q.active,
        text: q.q.filter(|t| !t.trim().is_empty()),
    };
    let page = page_of(q.page, q.limit)?;
    let (rows, meta) = st
        .app
        .tenancy()
        .list_staff(&ctx, &filter, page, q.sort.as_deref())
        .await?;
    Ok(paged(rows, meta))
}

/// Invite a staff member: a set-password link is emailed.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])), request_body = NewUser,
    responses((status = 201, body = Envelope<User>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn invite_staff(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<NewUser>,
) -> ApiResult<Response> {
    Ok(created(st.app.tenancy().invite_staff(&ctx, b).await?))
}

/// One staff member.
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Envelope<User>), (status = 404, body = ErrorBody)))]
pub async fn get_staff(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<UserId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.tenancy().get_staff(&ctx, id).await?))
}

/// Change a staff member's roles, branches or active state.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = StaffAccess,
    responses((status = 200, body = Envelope<User>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_staff(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<UserId>,
    ApiJson(b): ApiJson<StaffAccess>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .tenancy()
        .update_staff_access(&ctx, id, b)
        .await?))
}

/// A staff member's avatar image.
#[utoipa::path(get, path = "/api/v1/staff/{id}/avatar", tag = "staff", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 200, content_type = "image/png", description = "PNG, JPEG or WebP"), (status = 404, body = ErrorBody)))]
pub async fn get_avatar(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<UserId>,
) -> ApiResult<Response> {
    let (bytes, mime) = st
        .app
        .tenancy()
        .staff_image(&ctx, id, Image::Avatar)
        .await?;
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}

/// Upload one's own avatar (raw image body).
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "me", security(("bearer" = [])), request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn put_avatar(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|_| {
        ApiError(clinicos_app::AppError::field(
            "image",
            "must be at most 2 MB",
        ))
    })?;
    st.app
        .tenancy()
        .set_my_image(&ctx, Image::Avatar, body.to_vec())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Upload one's own signature image, used on documents.
#[utoipa::path(put, path = "/api/v1/me/signature", tag = "me", security(("bearer" = [])), request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn put_signature(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|_| {
        ApiError(clinicos_app::AppError::field(
            "image",
            "must be at most 2 MB",
        ))
    })?;
    st.app
        .tenancy()
        .set_my_image(&ctx, Image::Signature, body.to_vec())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
