//! The privacy officer's erasure page (`/patients/{id}/erasure`): what
//! stands in the way (legal holds, retention), the legal holds with their
//! place and release forms, and the erasure form, which asks for a reason
//! code and the word shown to be typed before anything is destroyed. Once
//! erased, the page shows the tombstone. The rules are the service's
//! (`clinicos_app::patients::erasure`).

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::ids::InPath;
use crate::kit::page::{allowed, error_response, redirect_with_flash, render, when, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use clinicos_app::governance::policy::Action;
use clinicos_app::patients::erasure::{
    EraseInput, Erasure, ErasureCheck, LegalHold, LegalHoldInput, REASONS,
};
use clinicos_app::{AppError, Ctx};
use clinicos_domain::{LegalHoldId, PatientId};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/patients/{id}/erasure", get(page).post(erase))
        .route("/patients/{id}/legal-holds", post(place_hold))
        .route(
            "/patients/{id}/legal-holds/{hold}/release",
            post(release_hold),
        )
}

/// The word the erasure form asks to be typed (not translated: the same
/// in every language, so nobody types it by reflex from a translation).
pub const CONFIRM_WORD: &str = "ERASE";

pub struct ErasedView {
    pub erased_at: String,
    pub reason: String,
    pub reference: String,
    pub key_destroyed: bool,
}

pub struct HoldView {
    pub id: LegalHoldId,
    pub reason: String,
    pub placed_at: String,
    pub released_at: Option<String>,
}

#[derive(Template)]
#[template(path = "patient_erasure.html")]
struct ErasurePage {
    c: Chrome,
    id: PatientId,
    name: String,
    check: Option<ErasureCheck>,
    erased: Option<ErasedView>,
    holds: Option<Vec<HoldView>>,
    can_erase: bool,
    reasons: Vec<(&'static str, String)>,
    confirm_word: &'static str,
}

fn hold_view(h: LegalHold) -> HoldView {
    HoldView {
        id: h.id,
        reason: h.reason,
        placed_at: when(&h.placed_at),
        released_at: h.released_at.as_ref().map(when),
    }
}

async fn build(
    st: &WebState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: PatientId,
) -> Result<ErasurePage, AppError> {
    let patients = st.app.patients();
    let can_erase = allowed(ctx, Action::ErasePatients);
    let may_hold = allowed(ctx, Action::ManageLegalHolds);
    if !can_erase && !may_hold {
        return Err(AppError::Forbidden("erase patient records".into()));
    }
    let (name, check, erased, holds) = match patients.patient(ctx, id).await {
        Ok(p) => {
            let check = if can_erase {
                Some(patients.erasure_check(ctx, id).await?)
            } else {
                None
            };
            let holds = if may_hold {
                Some(
                    patients
                        .legal_holds(ctx, id)
                        .await?
                        .into_iter()
                        .map(hold_view)
                        .collect(),
                )
            } else {
                None
            };
            (
                crate::patients::pages::display::full_name(&p),
                check,
                None,
                holds,
            )
        }
        Err(AppError::PatientErased) if can_erase => (
            String::new(),
            None,
            Some(patients.erasure(ctx, id).await?),
            None,
        ),
        Err(e) => return Err(e),
    };
    let c = Chrome::signed_in(st, ctx, headers, None, "erasure-title", "/patients").await;
    let erased = erased.map(|e: Erasure| ErasedView {
        erased_at: when(&e.erased_at),
        reason: c.i.t(&format!("erasure-reason-{}", e.reason)),
        reference: e.reference,
        key_destroyed: e.key_destroyed,
    });
    let reasons = REASONS
        .iter()
        .map(|(code, _)| (*code, c.i.t(&format!("erasure-reason-{code}"))))
        .collect();
    Ok(ErasurePage {
        id,
        name,
        check,
        erased,
        holds,
        can_erase,
        reasons,
        confirm_word: CONFIRM_WORD,
        c,
    })
}

pub async fn page(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    headers: HeaderMap,
) -> Response {
    match build(&st, &ctx, &headers, id).await {
        Ok(p) => {
            let had = p.c.flash.is_some();
            render(&p, had)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    confirm: String,
}

pub async fn erase(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    Form(f): Form<EraseForm>,
) -> Response {
    let back = format!("/patients/{id}/erasure");
    if f.confirm.trim() != CONFIRM_WORD {
        return redirect_with_flash(&back, "flash-erasure-confirm", true);
    }
    let input = EraseInput {
        reason: f.reason,
        reference: f.reference,
    };
    match st.app.patients().erase_patient(&ctx, id, input).await {
        Ok(_) => redirect_with_flash(&back, "flash-erased", false),
        Err(AppError::ErasureRefused { .. }) => {
            redirect_with_flash(&back, "flash-erasure-refused", true)
        }
        Err(AppError::Validation(_)) => redirect_with_flash(&back, "flash-erasure-invalid", true),
        Err(e) => error_response(&ctx.locale, e),
    }
}

#[derive(Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    reason: String,
}

pub async fn place_hold(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    Form(f): Form<HoldForm>,
) -> Response {
    let back = format!("/patients/{id}/erasure");
    let input = LegalHoldInput { reason: f.reason };
    match st.app.patients().place_legal_hold(&ctx, id, input).await {
        Ok(_) => redirect_with_flash(&back, "flash-hold-placed", false),
        Err(AppError::Validation(_)) => redirect_with_flash(&back, "flash-hold-invalid", true),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn release_hold(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, hold)): InPath<(PatientId, LegalHoldId)>,
) -> Response {
    let back = format!("/patients/{id}/erasure");
    match st.app.patients().release_legal_hold(&ctx, id, hold).await {
        Ok(()) => redirect_with_flash(&back, "flash-hold-released", false),
        Err(e) => error_response(&ctx.locale, e),
    }
}
