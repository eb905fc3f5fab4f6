//! Patients: the registry core, care team, medical history and
//! break-the-glass (`/api/v1/patients/...`). Handlers parse and render; the
//! policy point and audit live in the services.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, paged, ApiJson, ApiQuery, Envelope};
use crate::tenancy::api::admin::page_of;
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::governance::break_glass::{BreakGlassGrant, BreakGlassRequest};
use clinicos_app::kit::domain_schema;
use clinicos_app::patients::care::{CareMember, HistoryEntry, HistoryInput, HistoryList};
use clinicos_app::patients::patient::{NewPatient, Patient};
use clinicos_app::patients::search::PatientFilter;
use clinicos_domain::UserId;
use clinicos_domain::{PatientId, RecordId};

/// `GET /patients` paging (the filters are [`PatientFilter`]).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientPage {
    /// 1-based page number.
    pub page: Option<u32>,
    /// Rows per page (1-100, default 20).
    pub limit: Option<u32>,
}

/// Find patients by name words, exact phone, identifier (kind + value), sex, age range, branch, tag and last visit; a name search ranks exact and family-name matches first, otherwise newest first (one audit event names every id returned).
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", security(("bearer" = [])), params(PatientPage, PatientFilter),
    responses((status = 200, body = Envelope<Vec<Patient>>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_patients(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiQuery(p): ApiQuery<PatientPage>,
    ApiQuery(filter): ApiQuery<PatientFilter>,
) -> ApiResult<Response> {
    let page = page_of(p.page, p.limit)?;
    let (rows, meta) = st.app.patients().list_patients(&ctx, &filter, page).await?;
    Ok(paged(rows, meta))
}

/// Register a patient (contact details, address, identifiers, emergency contact and notes are stored encrypted). A match on phone + birth date or on an identifier answers 409 DUPLICATE_PATIENT with the matching ids in `details`, unless `confirm_new` is true.
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", security(("bearer" = [])), request_body = NewPatient,
    responses((status = 201, body = Envelope<Patient>), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_patient(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<NewPatient>,
) -> ApiResult<Response> {
    Ok(created(st.app.patients().register_patient(&ctx, b).await?))
}

/// A patient's demographics and contact details (audited read).
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<Patient>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_patient(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().patient(&ctx, id).await?))
}

/// The patient's care team and recent encounters ("own patients").
#[utoipa::path(get, path = "/api/v1/patients/{id}/care-team", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<Vec<CareMember>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_care_team(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().care_team(&ctx, id).await?))
}

/// A staff member to add to a care team.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareTeamInput {
    #[schema(value_type = domain_schema::UserId)]
    pub user_id: UserId,
}

/// Put a staff member on the patient's care team.
#[utoipa::path(post, path = "/api/v1/patients/{id}/care-team", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = CareTeamInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_care_team(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<CareTeamInput>,
) -> ApiResult<Response> {
    st.app
        .patients()
        .add_to_care_team(&ctx, id, b.user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Take a staff member off the patient's care team.
#[utoipa::path(delete, path = "/api/v1/patients/{id}/care-team/{user_id}", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("user_id" = uuid::Uuid, Path, description = "Staff member id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_care_team(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, user)): InPath<(PatientId, UserId)>,
) -> ApiResult<Response> {
    st.app
        .patients()
        .remove_from_care_team(&ctx, id, user)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The patient's medical history as far as the reader may see it (restricted entries withheld and counted; break-the-glass reads flagged).
#[utoipa::path(get, path = "/api/v1/patients/{id}/history", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<HistoryList>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_history(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().history(&ctx, id).await?))
}

/// Record a medical-history entry (encrypted; the author is the current user).
#[utoipa::path(post, path = "/api/v1/patients/{id}/history", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = HistoryInput,
    responses((status = 201, body = Envelope<HistoryEntry>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_history(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<HistoryInput>,
) -> ApiResult<Response> {
    Ok(created(st.app.patients().add_history(&ctx, id, b).await?))
}

/// Change a history entry (its author only).
#[utoipa::path(put, path = "/api/v1/patients/{id}/history/{entry}", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("entry" = uuid::Uuid, Path, description = "History entry id")), request_body = HistoryInput,
    responses((status = 200, body = Envelope<HistoryEntry>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_history(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, entry)): InPath<(PatientId, RecordId)>,
    ApiJson(b): ApiJson<HistoryInput>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .update_history(&ctx, id, entry, b)
        .await?))
}

/// Emergency access: open the record without a care relationship, with a reason; time-boxed, flagged and reviewed.
#[utoipa::path(post, path = "/api/v1/patients/{id}/break-glass", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = BreakGlassRequest,
    responses((status = 201, body = Envelope<BreakGlassGrant>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn break_glass(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<BreakGlassRequest>,
) -> ApiResult<Response> {
    Ok(created(st.app.governance().break_glass(&ctx, id, b).await?))
}

/// Bulk export of patient records (demographics, contacts, history); restricted entries only with `export:restricted`. Audited.
#[utoipa::path(get, path = "/api/v1/patients/export", tag = "patients", security(("bearer" = [])),
    responses((status = 200, body = Envelope<clinicos_app::patients::export::PatientExport>), (status = 403, body = ErrorBody)))]
pub async fn export_patients(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().export_patients(&ctx).await?))
}
