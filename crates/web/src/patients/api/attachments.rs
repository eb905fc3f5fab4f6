//! Patient attachments (`/api/v1/patients/{id}/attachments`): raw-body
//! upload, list and download. The body is read here with the attachment
//! limit (not the global JSON limit); sniffing, scanning, encryption, the
//! policy point and audit live in `clinicos_app::patients::attachments`.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::{header_id, InPath};
use crate::kit::json::{created, ok, Envelope};
use crate::WebState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use clinicos_app::patients::attachments::{
    AttachmentInfo, AttachmentList, NewAttachment, MAX_ATTACHMENT_BYTES,
};
use clinicos_app::AppError;
use clinicos_domain::{AttachmentId, PatientId};

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| String::from_utf8(v.as_bytes().to_vec()).ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Undo `%XX` escapes (names in headers are percent-encoded UTF-8).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `Content-Disposition: attachment` with an ASCII fallback name and the
/// exact name as RFC 8187 `filename*`.
pub(crate) fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

/// Upload a file to the patient: the raw body, its `Content-Type`, its name in `X-File-Name` (percent-encoded UTF-8), optionally `X-Visit-Id` and `X-Sensitivity`. PDF, PNG, JPEG, DICOM, CSV or text up to 20 MiB; the declared type, extension and content must agree. Stored encrypted; audited.
#[utoipa::path(post, path = "/api/v1/patients/{id}/attachments", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"),
        ("X-File-Name" = String, Header, description = "The file's name, percent-encoded UTF-8"),
        ("X-Visit-Id" = Option<uuid::Uuid>, Header, description = "The visit the file belongs to (a malformed id is 400 INVALID_ID)"),
        ("X-Sensitivity" = Option<String>, Header, description = "normal (default) or a restricted tier")),
    request_body(content = Vec<u8>, description = "The file", content_type = "application/octet-stream"),
    responses((status = 201, body = Envelope<AttachmentInfo>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_attachment(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let visit_id = header_id(&headers, "X-Visit-Id")?;
    let bytes = axum::body::to_bytes(body, MAX_ATTACHMENT_BYTES)
        .await
        .map_err(|_| AppError::field("file", "is larger than the 20 MiB limit"))?;
    let file_name = header_text(&headers, "x-file-name")
        .and_then(|n| percent_decode(&n))
        .unwrap_or_default();
    let input = NewAttachment {
        file_name,
        content_type: header_text(&headers, "content-type").unwrap_or_default(),
        visit_id,
        sensitivity: header_text(&headers, "x-sensitivity"),
        // Takes the buffer over (no copy when the body arrived in one piece).
        bytes: Vec::from(bytes),
    };
    Ok(created(
        st.app.patients().add_attachment(&ctx, id, input).await?,
    ))
}

/// The patient's attachments (metadata) as far as the reader may see them (restricted files withheld and counted). Audited.
#[utoipa::path(get, path = "/api/v1/patients/{id}/attachments", tag = "patients", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<AttachmentList>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_attachments(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().attachments(&ctx, id).await?))
}

/// Download one attachment (decrypted, with its stored content type, as an attachment). Audited.
#[utoipa::path(get, path = "/api/v1/patients/{id}/attachments/{attachment}", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("attachment" = uuid::Uuid, Path, description = "Attachment id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download_attachment(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, attachment)): InPath<(PatientId, AttachmentId)>,
) -> ApiResult<Response> {
    let file = st
        .app
        .patients()
        .download_attachment(&ctx, id, attachment)
        .await?;
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition(&file.file_name)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        file.bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_survive_headers() {
        assert_eq!(
            percent_decode("r%C3%A9sultat%20x.pdf").as_deref(),
            Some("résultat x.pdf")
        );
        assert_eq!(percent_decode("bad%zz"), None);
        let d = disposition("résultat \"x\".pdf");
        assert_eq!(
            d.to_str().unwrap(),
            "attachment; filename=\"r_sultat _x_.pdf\"; filename*=UTF-8''r%C3%A9sultat%20%22x%22.pdf"
        );
    }
}
