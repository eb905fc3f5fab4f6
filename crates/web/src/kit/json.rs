//! JSON in and out. [`ApiJson`] reads a body with the size limit, requires
//! `application/json`, and turns every parse failure into a 4xx envelope
//! that names the field but never echoes the submitted value (it may be
//! PHI). [`Envelope`] is the success shape: `{"data": ..., "meta": ...}`.

use crate::kit::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clinicos_app::kit::domain_schema;
use clinicos_app::AppError;
use clinicos_domain::kit::page::PageMeta;
use clinicos_domain::kit::validate::FieldError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest JSON body accepted (uploads have their own, larger limit).
pub const JSON_LIMIT: usize = 1024 * 1024;

/// A JSON request body.
pub struct ApiJson<T>(pub T);

fn sanitize(err: &serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let inner = err.inner();
    let msg = inner.to_string();
    if inner.is_syntax() || inner.is_eof() {
        return AppError::BadRequest("the body is not valid JSON".into());
    }
    let path = err.path().to_string();
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or("");
        let field = if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return AppError::Validation(vec![FieldError {
            field,
            message: "is required".into(),
        }]);
    }
    let message = if msg.starts_with("invalid type") {
        "has the wrong type"
    } else if msg.starts_with("unknown variant") {
        "is not one of the allowed values"
    } else if msg.starts_with("invalid length") {
        "has the wrong length"
    } else if msg.starts_with("unknown field") {
        "is not a known field"
    } else {
        "is invalid"
    };
    AppError::Validation(vec![FieldError {
        field: if path == "." { "body".into() } else { path },
        message: message.into(),
    }])
}

/// Parse JSON bytes into `T` with sanitized errors.
/// Anything but whitespace after the document is refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| sanitize(&e))?;
    de.end().map_err(|_| {
        AppError::BadRequest("the body is not valid JSON: text follows the document".into())
    })?;
    Ok(value)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.starts_with("application/json") || v.contains("+json"))
            .unwrap_or(false);
        if !is_json {
            return Err(unsupported_media());
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) if b.len() <= JSON_LIMIT => b,
            _ => return Err(too_large()),
        };
        parse_json(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError(e).into_response())
    }
}

fn unsupported_media() -> Response {
    let mut r = ApiError(AppError::BadRequest(
        "send the body as application/json".into(),
    ))
    .into_response();
    *r.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    r
}

/// 413 in the envelope.
pub fn too_large() -> Response {
    let mut r =
        ApiError(AppError::BadRequest("the request body is too large".into())).into_response();
    *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    r
}

/// Success envelope.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Envelope<T: Serialize> {
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<domain_schema::PageMeta>)]
    pub meta: Option<PageMeta>,
}

/// `200 {"data": ...}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    Json(Envelope { data, meta: None }).into_response()
}

/// `201 {"data": ...}`.
pub fn created<T: Serialize>(data: T) -> Response {
    (StatusCode::CREATED, Json(Envelope { data, meta: None })).into_response()
}

/// `202 {"data": ...}` (accepted for processing).
pub fn accepted<T: Serialize>(data: T) -> Response {
    (StatusCode::ACCEPTED, Json(Envelope { data, meta: None })).into_response()
}

/// `200 {"data": [...], "meta": {page, limit, total, total_pages}}`.
pub fn paged<T: Serialize>(data: Vec<T>, meta: PageMeta) -> Response {
    Json(Envelope {
        data,
        meta: Some(meta),
    })
    .into_response()
}

/// Query-string extractor with enveloped errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q).map(ApiQuery).map_err(|_| {
            ApiError(AppError::BadRequest(
                "the query string is invalid (page and limit are numbers)".into(),
            ))
        })
    }
}
