//! Expiring share links for a patient's report: create, list and revoke
//! (signed-in staff), and the public use endpoint that downloads the file
//! with the token alone. Rules, token handling and audit live in
//! `clinicos_app::patients::share_links`; the public endpoint is rate-limited per IP
//! like every anonymous request (`crate::kit::rate_limit`, class `global`).

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::{ApiAuth, Client};
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, ApiJson, Envelope};
use crate::patients::api::attachments::disposition;
use crate::WebState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use clinicos_app::patients::share_links::{CreatedShareLink, NewShareLink, ShareLinkInfo};
use clinicos_domain::{PatientId, ShareLinkId};

/// Create a link that downloads one of the patient's attachments without signing in, for 1 hour to 30 days (`expires_in_hours`, default 168). The token is returned once; only its hash is stored. Needs a care relationship (WriteClinical) and read access to the file's tier. Audited.
#[utoipa::path(post, path = "/api/v1/patients/{id}/share-links", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = NewShareLink,
    responses((status = 201, body = Envelope<CreatedShareLink>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_share_link(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<NewShareLink>,
) -> ApiResult<Response> {
    Ok(created(
        st.app.patients().create_share_link(&ctx, id, b).await?,
    ))
}

/// The patient's share links (active, expired, revoked; never tokens). Audited.
#[utoipa::path(get, path = "/api/v1/patients/{id}/share-links", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<Vec<ShareLinkInfo>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_share_links(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().share_links(&ctx, id).await?))
}

/// Revoke a share link at once (idempotent). Audited.
#[utoipa::path(delete, path = "/api/v1/share-links/{id}", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Share link id")),
    responses((status = 200, body = Envelope<ShareLinkInfo>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_share_link(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<ShareLinkId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().revoke_share_link(&ctx, id).await?))
}

/// Download the shared file with the link's token (no sign-in). 404 for an unknown token, 410 `SHARE_LINK_GONE` once expired or revoked. Every use is audited (`share_link.used`, naming the link, never the token).
#[utoipa::path(get, path = "/api/v1/shared/{token}", tag = "patients",
    params(("token" = String, Path, description = "The share link's token")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn use_share_link(
    State(st): State<WebState>,
    Client(c): Client,
    InPath(token): InPath<String>,
) -> ApiResult<Response> {
    let file = st.app.patients().use_share_link(&token, &c).await?;
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition(&file.file_name)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        file.bytes,
    )
        .into_response())
}
