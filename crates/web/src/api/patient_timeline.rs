//! A patient's timeline and machine-readable record export
//! (`/api/v1/patients/{id}/timeline`, `/api/v1/patients/{id}/export`).
//! Handlers parse and render; the policy point, withholding and audit live
//! in `clinicos_app::timeline` and `clinicos_app::record_export`.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiAuth;
use crate::json::{ok, ApiPath, ApiQuery, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::response::Response;
use clinicos_app::record_export::PatientRecord;
use clinicos_app::timeline::{Timeline, TimelineQuery};

/// Timeline filters.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Kinds, comma-separated: registration, history, allergy, condition, medication.
    pub kind: Option<String>,
    /// First day (YYYY-MM-DD, UTC, inclusive).
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD, UTC, inclusive).
    pub to: Option<String>,
}

/// The patient's timeline, newest first, as far as the reader may see it (restricted items withheld and counted; one audit event names the patient and every item shown).
#[utoipa::path(get, path = "/api/v1/patients/{id}/timeline", tag = "patients", security(("bearer" = [])), params(("id" = String, Path, description = "Patient id"), TimelineParams),
    responses((status = 200, body = Envelope<Timeline>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_timeline(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TimelineParams>,
) -> ApiResult<Response> {
    let q = TimelineQuery {
        kind: q.kind,
        from: q.from,
        to: q.to,
    };
    Ok(ok(st.app.timeline(&ctx, &id, &q).await?))
}

/// The patient's record as JSON, schema `clinicos-patient-record/1` (docs/EXPORT_SCHEMA.md); restricted entries only as the reader may see them; audited as `export.patient_record`.
#[utoipa::path(get, path = "/api/v1/patients/{id}/export", tag = "patients", security(("bearer" = [])), params(("id" = String, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<PatientRecord>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_record(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    Ok(ok(st.app.export_patient_record(&ctx, &id).await?))
}
