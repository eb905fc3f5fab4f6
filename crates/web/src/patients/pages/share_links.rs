//! Share links for an attachment, from the chart: create one (with its
//! expiry), see its URL once on a page of its own (copyable), list the
//! active ones beside each file, revoke. The service decides and audits;
//! the page never stores or shows a token again.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::ids::InPath;
use crate::kit::page::{error_response, redirect_with_flash, render, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use clinicos_app::patients::share_links::{NewShareLink, ShareLinkInfo};
use clinicos_app::AppError;
use clinicos_domain::{AttachmentId, PatientId, ShareLinkId};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/patients/{id}/attachments/{attachment}/share-links",
            post(create),
        )
        .route("/patients/{id}/share-links/{link}/revoke", post(revoke))
}

/// The expiries the form offers, in hours (the first is the default).
pub const EXPIRIES: [i64; 4] = [24, 1, 168, 720];

/// An active link as listed beside its file.
pub struct LinkRow {
    pub id: ShareLinkId,
    pub attachment_id: AttachmentId,
    pub expires: String,
    pub uses: i64,
}

/// The active links of a patient, for the chart.
pub fn active_rows(links: &[ShareLinkInfo]) -> Vec<LinkRow> {
    links
        .iter()
        .filter(|l| l.status == "active")
        .map(|l| LinkRow {
            id: l.id,
            attachment_id: l.attachment_id,
            expires: crate::kit::page::when(&l.expires_at),
            uses: l.use_count,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "patient_share.html")]
struct CreatedPage {
    c: Chrome,
    patient: PatientId,
    url: String,
    expires: String,
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    hours: String,
}

pub async fn create(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, attachment)): InPath<(PatientId, AttachmentId)>,
    headers: HeaderMap,
    Form(f): Form<CreateForm>,
) -> Response {
    let back = format!("/patients/{id}#attachments");
    let Ok(hours) = f.hours.trim().parse::<i64>() else {
        return redirect_with_flash(&back, "flash-share-invalid", true);
    };
    let input = NewShareLink {
        attachment_id: attachment.as_text(),
        expires_in_hours: Some(hours),
    };
    match st.app.patients().create_share_link(&ctx, id, input).await {
        Ok(created) => {
            let c = Chrome::signed_in(
                &st,
                &ctx,
                &headers,
                None,
                "share-created-title",
                "/patients",
            )
            .await;
            let page = CreatedPage {
                patient: id,
                url: created.url,
                expires: crate::kit::page::when(&created.link.expires_at),
                c,
            };
            let mut r = render(&page, false);
            r.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(AppError::Validation(_) | AppError::BadRequest(_)) => {
            redirect_with_flash(&back, "flash-share-invalid", true)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn revoke(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, link)): InPath<(PatientId, ShareLinkId)>,
) -> Response {
    match st.app.patients().revoke_share_link(&ctx, link).await {
        Ok(_) => redirect_with_flash(
            &format!("/patients/{id}#attachments"),
            "flash-share-revoked",
            false,
        ),
        Err(AppError::Conflict(_)) => redirect_with_flash(
            &format!("/patients/{id}#attachments"),
            "flash-share-invalid",
            true,
        ),
        Err(e) => error_response(&ctx.locale, e),
    }
}
