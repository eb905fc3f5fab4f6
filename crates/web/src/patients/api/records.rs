//! A patient's allergies, chronic conditions and current medications
//! (`/api/v1/patients/{id}/allergies|conditions|medications`). Handlers
//! parse and render; the policy point, encryption and audit live in
//! `clinicos_app::patients::records`.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::response::Response;
use clinicos_app::patients::allergies::{Allergies, Allergy, AllergyInput};
use clinicos_app::patients::conditions::{Condition, ConditionInput, Conditions};
use clinicos_app::patients::medications::{Medication, MedicationInput, Medications};
use clinicos_app::patients::records::ClinicalList;
use clinicos_domain::{PatientId, RecordId};

/// The patient's allergies as far as the reader may see them (restricted entries withheld and counted; audited).
#[utoipa::path(get, path = "/api/v1/patients/{id}/allergies", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<ClinicalList<Allergy>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_allergies(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .clinical_list::<Allergies>(&ctx, id)
        .await?))
}

/// Record an allergy (substance, reaction and note encrypted; the author is the current user).
#[utoipa::path(post, path = "/api/v1/patients/{id}/allergies", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = AllergyInput,
    responses((status = 201, body = Envelope<Allergy>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_allergy(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<AllergyInput>,
) -> ApiResult<Response> {
    Ok(created(
        st.app
            .patients()
            .clinical_add::<Allergies>(&ctx, id, &b)
            .await?,
    ))
}

/// Change an allergy, its status included (its author only).
#[utoipa::path(put, path = "/api/v1/patients/{id}/allergies/{entry}", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("entry" = uuid::Uuid, Path, description = "Allergy id")), request_body = AllergyInput,
    responses((status = 200, body = Envelope<Allergy>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_allergy(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, entry)): InPath<(PatientId, RecordId)>,
    ApiJson(b): ApiJson<AllergyInput>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .clinical_update::<Allergies>(&ctx, id, entry, &b)
        .await?))
}

/// The patient's chronic conditions as far as the reader may see them (restricted entries withheld and counted; audited).
#[utoipa::path(get, path = "/api/v1/patients/{id}/conditions", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<ClinicalList<Condition>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_conditions(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .clinical_list::<Conditions>(&ctx, id)
        .await?))
}

/// Record a condition (name, ICD-10 code and note encrypted; the author is the current user).
#[utoipa::path(post, path = "/api/v1/patients/{id}/conditions", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = ConditionInput,
    responses((status = 201, body = Envelope<Condition>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_condition(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<ConditionInput>,
) -> ApiResult<Response> {
    Ok(created(
        st.app
            .patients()
            .clinical_add::<Conditions>(&ctx, id, &b)
            .await?,
    ))
}

/// Change a condition, its status included (its author only).
#[utoipa::path(put, path = "/api/v1/patients/{id}/conditions/{entry}", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("entry" = uuid::Uuid, Path, description = "Condition id")), request_body = ConditionInput,
    responses((status = 200, body = Envelope<Condition>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_condition(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, entry)): InPath<(PatientId, RecordId)>,
    ApiJson(b): ApiJson<ConditionInput>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .clinical_update::<Conditions>(&ctx, id, entry, &b)
        .await?))
}

/// The patient's current and past medications as far as the reader may see them (restricted entries withheld and counted; audited).
#[utoipa::path(get, path = "/api/v1/patients/{id}/medications", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<ClinicalList<Medication>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_medications(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .clinical_list::<Medications>(&ctx, id)
        .await?))
}

/// Record a medication (name, dose, frequency, route and note encrypted; the author is the current user).
#[utoipa::path(post, path = "/api/v1/patients/{id}/medications", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = MedicationInput,
    responses((status = 201, body = Envelope<Medication>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_medication(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<MedicationInput>,
) -> ApiResult<Response> {
    Ok(created(
        st.app
            .patients()
            .clinical_add::<Medications>(&ctx, id, &b)
            .await?,
    ))
}

/// Change a medication, e.g. stop it with a stop date (its author only).
#[utoipa::path(put, path = "/api/v1/patients/{id}/medications/{entry}", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("entry" = uuid::Uuid, Path, description = "Medication id")), request_body = MedicationInput,
    responses((status = 200, body = Envelope<Medication>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_medication(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, entry)): InPath<(PatientId, RecordId)>,
    ApiJson(b): ApiJson<MedicationInput>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .clinical_update::<Medications>(&ctx, id, entry, &b)
        .await?))
}
