//! The chart's photo and family parts: the photo served to the header
//! (an `<img>` cannot send a bearer token, so the page route reads it with
//! the cookie session through the same audited service as the API), the
//! photo form (set, replace, remove), and the family links (list, add,
//! remove, the adolescent's consent). Refused input comes back to the
//! chart's section with a notice; nothing is written then.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::ids::InPath;
use crate::kit::page::{error_response, redirect_with_flash};
use crate::WebState;
use axum::extract::multipart::MultipartRejection;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clinicos_app::patients::links::{LinkConsent, NewLink, PatientLink};
use clinicos_app::AppError;
use clinicos_domain::{FamilyLinkId, PatientId};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/patients/{id}/photo",
            get(photo).post(set_photo).layer(DefaultBodyLimit::max(
                clinicos_app::patients::photo::MAX_PHOTO_BYTES + crate::kit::page::FORM_OVERHEAD,
            )),
        )
        .route("/patients/{id}/photo/remove", post(remove_photo))
        .route("/patients/{id}/links", post(add_link))
        .route("/patients/{id}/links/{link}/remove", post(remove_link))
        .route("/patients/{id}/links/{link}/consent", post(link_consent))
}

/// A link as the family section shows it.
pub struct FamilyRow {
    pub id: FamilyLinkId,
    pub other_id: PatientId,
    pub other_name: String,
    pub other_born: String,
    /// Locale key of how this patient stands to the other one.
    pub role_key: &'static str,
    /// This patient is the dependant (their consent is asked for).
    pub is_dependant: bool,
    pub dependent_adult: bool,
    pub consent_at: Option<String>,
}

/// How `patient` stands to the other side of `l`.
pub fn family_row(patient: PatientId, l: &PatientLink) -> FamilyRow {
    let parent = l.kind.as_str() == "parent";
    let is_dependant = l.dependant_id == patient;
    let role_key = match (parent, is_dependant) {
        (true, false) => "family-parent-of",
        (false, false) => "family-guardian-of",
        (true, true) => "family-child-of",
        (false, true) => "family-ward-of",
    };
    FamilyRow {
        id: l.id,
        other_id: l.other.id,
        other_name: format!("{} {}", l.other.given_name, l.other.family_name)
            .trim()
            .to_owned(),
        other_born: l.other.birth_date.clone().unwrap_or_default(),
        role_key,
        is_dependant,
        dependent_adult: l.dependent_adult,
        consent_at: l.adolescent_consent_at.as_ref().map(crate::kit::page::when),
    }
}

/// A patient id typed or pasted: the id itself or a chart address.
pub fn patient_ref(s: &str) -> String {
    let s = s.trim();
    let s = s.split(['?', '#']).next().unwrap_or_default();
    s.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The photo, for the chart header (audited read).
pub async fn photo(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
) -> Response {
    match st.app.patients().patient_photo(&ctx, id).await {
        Ok(p) => {
            let ct = HeaderValue::from_str(&p.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            (
                [
                    (header::CONTENT_TYPE, ct),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("private, no-store"),
                    ),
                    (
                        header::X_CONTENT_TYPE_OPTIONS,
                        HeaderValue::from_static("nosniff"),
                    ),
                ],
                p.bytes,
            )
                .into_response()
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

/// The `photo` file field: declared type, name and bytes (None when empty).
async fn read_photo(mut form: Multipart) -> Result<Option<(String, String, Vec<u8>)>, ()> {
    let mut out = None;
    while let Some(field) = form.next_field().await.map_err(|_| ())? {
        if field.name() == Some("photo") {
            let name = field.file_name().unwrap_or_default().to_owned();
            let ct = field.content_type().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|_| ())?;
            if !bytes.is_empty() {
                out = Some((ct, name, bytes.to_vec()));
            }
        }
    }
    Ok(out)
}

pub async fn set_photo(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let back = format!("/patients/{id}#photo");
    let Ok(form) = form else {
        return redirect_with_flash(&back, "flash-photo-invalid", true);
    };
    let Ok(Some((ct, name, bytes))) = read_photo(form).await else {
        return redirect_with_flash(&back, "flash-upload-missing", true);
    };
    let name = Some(name.as_str()).filter(|n| !n.is_empty());
    match st
        .app
        .patients()
        .set_patient_photo(&ctx, id, &ct, name, bytes)
        .await
    {
        Ok(_) => redirect_with_flash(&back, "flash-photo-saved", false),
        Err(AppError::Validation(_) | AppError::BadRequest(_)) => {
            redirect_with_flash(&back, "flash-photo-invalid", true)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn remove_photo(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
) -> Response {
    match st.app.patients().remove_patient_photo(&ctx, id).await {
        Ok(()) => redirect_with_flash(
            &format!("/patients/{id}#photo"),
            "flash-photo-removed",
            false,
        ),
        Err(e) => error_response(&ctx.locale, e),
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    kind: String,
    /// `responsible`: this patient is the parent or guardian of the other;
    /// `dependant`: the other one is this patient's.
    side: String,
    other: String,
    #[serde(default)]
    dependent_adult: Option<String>,
    #[serde(default)]
    adolescent_consent: Option<String>,
}

/// Back to the family section: saved, or refused with a notice.
fn family_done<T>(id: PatientId, r: Result<T, AppError>, ctx: &clinicos_app::Ctx) -> Response {
    let back = format!("/patients/{id}#family");
    match r {
        Ok(_) => redirect_with_flash(&back, "flash-saved", false),
        Err(AppError::Validation(_) | AppError::BadRequest(_) | AppError::Conflict(_)) => {
            redirect_with_flash(&back, "flash-family-invalid", true)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn add_link(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    Form(f): Form<LinkForm>,
) -> Response {
    let other = Some(patient_ref(&f.other)).filter(|o| !o.is_empty());
    let (dependant_id, responsible_id) = if f.side == "dependant" {
        (None, other)
    } else {
        (other, None)
    };
    let input = NewLink {
        kind: f.kind,
        dependant_id,
        responsible_id,
        dependent_adult: f.dependent_adult.is_some(),
        adolescent_consent: f.adolescent_consent.is_some(),
    };
    let r = st.app.patients().add_patient_link(&ctx, id, input).await;
    family_done(id, r, &ctx)
}

pub async fn remove_link(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, link)): InPath<(PatientId, FamilyLinkId)>,
) -> Response {
    let r = st.app.patients().remove_patient_link(&ctx, id, link).await;
    family_done(id, r, &ctx)
}

#[derive(Deserialize)]
pub struct ConsentForm {
    consent: String,
}

pub async fn link_consent(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, link)): InPath<(PatientId, FamilyLinkId)>,
    Form(f): Form<ConsentForm>,
) -> Response {
    let consent = LinkConsent {
        consent: f.consent == "yes",
    };
    let r = st
        .app
        .patients()
        .set_link_consent(&ctx, id, link, consent)
        .await;
    family_done(id, r, &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_chart_address_gives_the_id() {
        assert_eq!(patient_ref(" abc "), "abc");
        assert_eq!(patient_ref("https://x.example/patients/abc/"), "abc");
        assert_eq!(patient_ref("/patients/abc?kind=x#family"), "abc");
        assert_eq!(patient_ref(""), "");
    }
}
