//! The JSON error envelope: `{"error": {"code", "message", "details",
//! "request_id"}}` with the right status. Messages are translated by code;
//! internal errors are logged (without PHI) and answered generically.

use crate::{kit::i18n, kit::scope};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clinicos_app::kit::domain_schema;
use clinicos_app::AppError;
use clinicos_domain::kit::validate::FieldError;
use serde::Serialize;

/// The error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. VALIDATION_ERROR.
    pub code: String,
    /// Human-readable message in the user's language.
    pub message: String,
    /// Field problems for validation errors; for DUPLICATE_PATIENT, one
    /// `{"field": "patient_id", "message": <id>}` per matching patient; for
    /// INVALID_ID, the path parameter or header that is not an id.
    #[schema(value_type = Vec<domain_schema::FieldError>)]
    pub details: Vec<FieldError>,
    pub request_id: String,
}

/// An API error (wraps the application error).
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

/// The localised message for an error.
pub fn message_for(e: &AppError, locale: &str) -> String {
    let key = format!("error-{}", e.code().to_lowercase().replace('_', "-"));
    match e {
        // These carry a specific English message from the service; other
        // languages get the translated generic text for the code.
        AppError::BadRequest(m)
        | AppError::Conflict(m)
        | AppError::ErasureRefused { message: m, .. }
            if locale == "en" =>
        {
            m.clone()
        }
        AppError::Forbidden(what) if locale == "en" => {
            format!("You do not have permission to {what}.")
        }
        AppError::NotFound(what) if locale == "en" => format!("The {what} was not found."),
        AppError::InvalidId(name) if locale == "en" => {
            format!(
                "\"{name}\" is not a valid id; ids are UUIDs such as \
                 0190a0a0-0000-7000-8000-000000000000."
            )
        }
        _ => i18n::t(locale, &key),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::Internal(detail) = &e {
            tracing::error!(code = e.code(), detail = %detail, "internal error");
        }
        let details = match &e {
            AppError::Validation(v) => v.clone(),
            // The parameter, never the value sent.
            AppError::InvalidId(name) => vec![FieldError {
                field: name.clone(),
                message: "must be a UUID".into(),
            }],
            // The matching records, by id only (no PHI).
            AppError::DuplicatePatient(ids) => ids
                .iter()
                .map(|id| FieldError {
                    field: "patient_id".into(),
                    message: id.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: e.code().to_owned(),
                message: message_for(&e, &scope::locale()),
                details,
                request_id: scope::request_id(),
            },
        };
        let mut resp = (status, Json(body)).into_response();
        let retry = match e {
            AppError::Locked { retry_after_secs } | AppError::RateLimited { retry_after_secs } => {
                Some(retry_after_secs)
            }
            AppError::Busy => Some(1),
            AppError::ScannerUnavailable => Some(30),
            _ => None,
        };
        if let Some(secs) = retry {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if let AppError::DeviceApprovalPending { device_id } = &e {
            if let Ok(v) = HeaderValue::from_str(device_id) {
                resp.headers_mut()
                    .insert(crate::kit::http::DEVICE_HEADER, v);
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// Result type of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;
