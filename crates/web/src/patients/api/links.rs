//! A patient's photo (`/api/v1/patients/{id}/photo`), family links
//! (`/api/v1/patients/{id}/links`) and, in the portal, the dependants a
//! signed-in parent or guardian may see (`/api/v1/portal/dependants`).
//! Sniffing, encryption, the policy points, the adolescent-confidentiality
//! rule and audit live in `clinicos_app::{patients::photo as patient_photo, patients::links as patient_links}`.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::{ApiAuth, PortalAuth};
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, ApiJson, Envelope};
use crate::WebState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use clinicos_app::patients::links::{LinkConsent, NewLink, PatientLink, PortalDependant};
use clinicos_app::patients::patient::Patient;
use clinicos_app::patients::photo::{too_large, PhotoInfo, MAX_PHOTO_BYTES};
use clinicos_domain::{FamilyLinkId, PatientId};

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Set or replace the patient's photo: the raw image as the body with its `Content-Type` (image/jpeg, image/png or image/webp; the content must be that kind), optionally its name in `X-File-Name` (the extension must fit). At most 5 MiB. Stored encrypted; audited.
#[utoipa::path(put, path = "/api/v1/patients/{id}/photo", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"),
        ("X-File-Name" = Option<String>, Header, description = "The image's file name (ASCII)")),
    request_body(content = Vec<u8>, description = "The image", content_type = "image/jpeg"),
    responses((status = 200, body = Envelope<PhotoInfo>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_photo(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let bytes = axum::body::to_bytes(body, MAX_PHOTO_BYTES)
        .await
        .map_err(|_| too_large())?;
    let content_type = header_text(&headers, "content-type").unwrap_or_default();
    let name = header_text(&headers, "x-file-name");
    let info = st
        .app
        .patients()
        .set_patient_photo(&ctx, id, &content_type, name.as_deref(), bytes.to_vec())
        .await?;
    Ok(ok(info))
}

/// The patient's photo, decrypted, with its content type (audited read).
#[utoipa::path(get, path = "/api/v1/patients/{id}/photo", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, description = "The image", content_type = "image/jpeg"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_photo(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    let photo = st.app.patients().patient_photo(&ctx, id).await?;
    let content_type = HeaderValue::from_str(&photo.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        photo.bytes,
    )
        .into_response())
}

/// Remove the patient's photo (audited).
#[utoipa::path(delete, path = "/api/v1/patients/{id}/photo", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_photo(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    st.app.patients().remove_patient_photo(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The patient's family links, either side (parent, child, guardian, ward), with the other patient's name and birth date (audited read of every patient named).
#[utoipa::path(get, path = "/api/v1/patients/{id}/links", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<Vec<PatientLink>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_links(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().patient_links(&ctx, id).await?))
}

/// Record a parent or guardian link: the patient is the parent/guardian of `dependant_id`, or the dependant of `responsible_id`. Both patients in this organisation, no self-links, no duplicates (409), no cycles of parent links (422). Audited.
#[utoipa::path(post, path = "/api/v1/patients/{id}/links", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = NewLink,
    responses((status = 201, body = Envelope<PatientLink>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_link(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<NewLink>,
) -> ApiResult<Response> {
    Ok(created(
        st.app.patients().add_patient_link(&ctx, id, b).await?,
    ))
}

/// Remove a family link the patient is on (audited).
#[utoipa::path(delete, path = "/api/v1/patients/{id}/links/{link}", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("link" = uuid::Uuid, Path, description = "Link id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_link(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, link)): InPath<(PatientId, FamilyLinkId)>,
) -> ApiResult<Response> {
    st.app
        .patients()
        .remove_patient_link(&ctx, id, link)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Record (`consent: true`) or withdraw the dependant's consent to the parent's or guardian's portal access beyond the adolescent-confidentiality age (audited).
#[utoipa::path(put, path = "/api/v1/patients/{id}/links/{link}/consent", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("link" = uuid::Uuid, Path, description = "Link id")), request_body = LinkConsent,
    responses((status = 200, body = Envelope<PatientLink>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_link_consent(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, link)): InPath<(PatientId, FamilyLinkId)>,
    ApiJson(b): ApiJson<LinkConsent>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .patients()
        .set_link_consent(&ctx, id, link, b)
        .await?))
}

/// The children and wards the signed-in patient may see now: below the jurisdiction's adolescent-confidentiality age, or beyond it with the adolescent's consent, or a dependent adult under legal guardianship (audited).
#[utoipa::path(get, path = "/api/v1/portal/dependants", tag = "portal", security(("portal" = [])),
    responses((status = 200, body = Envelope<Vec<PortalDependant>>), (status = 401, body = ErrorBody)))]
pub async fn portal_dependants(
    State(st): State<WebState>,
    PortalAuth(ctx): PortalAuth,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().portal_dependants(&ctx).await?))
}

/// A dependant's demographics and contact details as the portal shows them, when the rule above allows it (403 otherwise; audited either way).
#[utoipa::path(get, path = "/api/v1/portal/dependants/{id}", tag = "portal", security(("portal" = [])),
    params(("id" = uuid::Uuid, Path, description = "The dependant's patient id")),
    responses((status = 200, body = Envelope<Patient>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn portal_dependant(
    State(st): State<WebState>,
    PortalAuth(ctx): PortalAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().portal_dependant(&ctx, id).await?))
}
