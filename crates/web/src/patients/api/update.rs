//! Changing a registered patient (`PATCH /api/v1/patients/{id}`,
//! deactivate, reactivate, deceased) and the identifier kinds a country
//! offers. Handlers parse and render; the policy point and audit live in
//! `clinicos_app::patients::update`.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{ok, ApiJson, ApiQuery, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::response::Response;
use clinicos_app::patients::fields::IdentifierKind;
use clinicos_app::patients::patient::Patient;
use clinicos_app::patients::update::{DeceasedInput, PatientUpdate};
use clinicos_domain::PatientId;

/// `GET /patients/identifier-kinds` query.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KindsQuery {
    /// ISO 3166 alpha-2 country, e.g. `IN` (required).
    pub country: Option<String>,
}

/// The identifier kinds offered at registration for a country (IN: ABHA number and address, Aadhaar; US: insurance member id; PH: PhilHealth, PhilSys; others: national id, passport).
#[utoipa::path(get, path = "/api/v1/patients/identifier-kinds", tag = "patients", security(("bearer" = [])), params(KindsQuery),
    responses((status = 200, body = Envelope<Vec<IdentifierKind>>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn identifier_kinds(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiQuery(q): ApiQuery<KindsQuery>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .identifier_kinds(&ctx, q.country.as_deref())
        .await?))
}

/// Change the fields sent (absent fields stay, `null` clears); the audit event names the changed fields, never their values.
#[utoipa::path(patch, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = PatientUpdate,
    responses((status = 200, body = Envelope<Patient>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_patient(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<PatientUpdate>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().update_patient(&ctx, id, b).await?))
}

/// Deactivate a patient (kept, but no reminders and no duplicate warnings).
#[utoipa::path(post, path = "/api/v1/patients/{id}/deactivate", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<Patient>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn deactivate_patient(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .set_patient_active(&ctx, id, false)
        .await?))
}

/// Reactivate a deactivated patient.
#[utoipa::path(post, path = "/api/v1/patients/{id}/reactivate", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<Patient>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reactivate_patient(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .set_patient_active(&ctx, id, true)
        .await?))
}

/// Record a patient's death (stops every reminder and campaign).
#[utoipa::path(post, path = "/api/v1/patients/{id}/deceased", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = DeceasedInput,
    responses((status = 200, body = Envelope<Patient>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mark_deceased(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<DeceasedInput>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().mark_deceased(&ctx, id, b).await?))
}
