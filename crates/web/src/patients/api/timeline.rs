//! A patient's timeline and machine-readable record export
//! (`/api/v1/patients/{id}/timeline`, `/api/v1/patients/{id}/export`).
//! Handlers parse and render; the policy point, withholding and audit live
//! in `clinicos_app::patients::timeline` and `clinicos_app::patients::record`.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{ok, ApiQuery, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use clinicos_app::patients::record::{PatientRecord, RecordFormat};
use clinicos_app::patients::timeline::{Timeline, TimelineQuery};
use clinicos_app::AppError;
use clinicos_domain::PatientId;

/// Timeline filters.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Kinds, comma-separated: registration, history, attachment, allergy, condition, medication.
    pub kind: Option<String>,
    /// First day (YYYY-MM-DD, UTC, inclusive).
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD, UTC, inclusive).
    pub to: Option<String>,
}

/// The patient's timeline, newest first, as far as the reader may see it (restricted items withheld and counted; one audit event names the patient and every item shown).
#[utoipa::path(get, path = "/api/v1/patients/{id}/timeline", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id"), TimelineParams),
    responses((status = 200, body = Envelope<Timeline>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_timeline(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiQuery(q): ApiQuery<TimelineParams>,
) -> ApiResult<Response> {
    let q = TimelineQuery {
        kind: q.kind,
        from: q.from,
        to: q.to,
    };
    Ok(ok(st.app.patients().timeline(&ctx, id, &q).await?))
}

/// Export options.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (the default: schema `clinicos-patient-record/1`) or `pdf` (a printable copy for referrals).
    pub format: Option<String>,
}

fn parse_format(v: Option<&str>) -> Result<RecordFormat, AppError> {
    match v.map(str::trim) {
        None | Some("") | Some("json") => Ok(RecordFormat::Json),
        Some("pdf") => Ok(RecordFormat::Pdf),
        Some(_) => Err(AppError::field("format", "must be json or pdf")),
    }
}

/// The patient's record as JSON, schema `clinicos-patient-record/1` (docs/EXPORT_SCHEMA.md), or with `format=pdf` as a printable PDF; restricted entries only as the reader may see them; audited as `export.patient_record` / `export.patient_record_pdf`.
#[utoipa::path(get, path = "/api/v1/patients/{id}/export", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id"), ExportParams),
    responses((status = 200, body = Envelope<PatientRecord>), (status = 200, description = "The record as PDF (format=pdf)", content_type = "application/pdf"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_record(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    match parse_format(q.format.as_deref())? {
        RecordFormat::Json => Ok(ok(st
            .app
            .patients()
            .export_patient_record(&ctx, id, RecordFormat::Json)
            .await?)),
        RecordFormat::Pdf => {
            let pdf = st
                .app
                .patients()
                .export_patient_record_pdf(&ctx, id)
                .await?;
            // The id is opaque (no PHI in the file name).
            let name = format!("attachment; filename=\"patient-record-{id}.pdf\"");
            let disposition = HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static(
                "attachment; filename=\"patient-record.pdf\"",
            ));
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/pdf"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                pdf,
            )
                .into_response())
        }
    }
}
