//! Merge and unmerge from the chart, for users the policy point allows
//! `MergePatients`: pick the duplicate and give a reason, confirm after
//! seeing both records side by side, then the merge (one audited
//! transaction in the service). A merged record's chart carries a banner
//! naming the survivor, and the newest live merge can be undone.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::i18n::I18n;
use crate::kit::ids::InPath;
use crate::kit::page::{error_response, redirect_with_flash, render, Chrome};
use crate::patients::pages::links::patient_ref;
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use clinicos_app::governance::policy::Action;
use clinicos_app::patients::merge::MergeInput;
use clinicos_app::patients::patient::Patient;
use clinicos_app::{AppError, Ctx};
use clinicos_domain::{MergeId, PatientId};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/patients/{id}/merge", post(merge))
        .route("/patients/{id}/merges/{merge}/undo", post(undo))
}

/// One record's summary on the confirm step.
pub struct Summary {
    pub id: PatientId,
    pub name: String,
    pub born: String,
    pub sex: String,
    pub phone: String,
    pub city: String,
    pub registered: String,
}

fn summary(i: &I18n, p: &Patient) -> Summary {
    Summary {
        id: p.id,
        name: crate::patients::pages::display::full_name(p),
        born: p.birth_date.clone().unwrap_or_default(),
        sex: i.t(&format!("sex-{}", p.sex)),
        phone: p.phone.clone().unwrap_or_default(),
        city: p.city.clone(),
        registered: crate::kit::page::when(&p.created_at),
    }
}

#[derive(Template)]
#[template(path = "patient_merge.html")]
struct ConfirmPage {
    c: Chrome,
    /// Heading and summary of the survivor, then of the duplicate.
    sides: Vec<(String, Summary)>,
    survivor_id: PatientId,
    merged_id: PatientId,
    reason: String,
}

#[derive(Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    duplicate: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

async fn confirm_page(
    st: &WebState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: PatientId,
    dup: PatientId,
    reason: String,
) -> Result<ConfirmPage, AppError> {
    let survivor = st.app.patients().patient(ctx, id).await?;
    let merged = match st.app.patients().patient(ctx, dup).await {
        Ok(p) => p,
        Err(AppError::NotFound(_)) => {
            return Err(AppError::field("duplicate", "no such patient"));
        }
        Err(e) => return Err(e),
    };
    let c = Chrome::signed_in(st, ctx, headers, None, "merge-title", "/patients").await;
    Ok(ConfirmPage {
        sides: vec![
            (c.i.t("merge-survivor"), summary(&c.i, &survivor)),
            (c.i.t("merge-duplicate-record"), summary(&c.i, &merged)),
        ],
        survivor_id: survivor.id,
        merged_id: merged.id,
        reason,
        c,
    })
}

/// First post: the confirm step; with `confirm=yes`: the merge.
pub async fn merge(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    headers: HeaderMap,
    Form(f): Form<MergeForm>,
) -> Response {
    if !crate::kit::page::allowed(&ctx, Action::MergePatients) {
        return error_response(&ctx.locale, AppError::Forbidden("merge patients".into()));
    }
    let back = format!("/patients/{id}#actions");
    let reason = f.reason.trim().to_owned();
    // An address or id that names no patient is refused like an unknown one.
    let dup = match patient_ref(&f.duplicate).parse::<PatientId>() {
        Ok(dup) if dup != id && !reason.is_empty() => dup,
        _ => return redirect_with_flash(&back, "flash-merge-invalid", true),
    };
    if f.confirm != "yes" {
        return match confirm_page(&st, &ctx, &headers, id, dup, reason).await {
            Ok(p) => render(&p, false),
            Err(AppError::Validation(_)) => redirect_with_flash(&back, "flash-merge-invalid", true),
            Err(e) => error_response(&ctx.locale, e),
        };
    }
    let input = MergeInput {
        survivor_id: id.as_text(),
        merged_id: dup.as_text(),
        reason,
    };
    match st.app.patients().merge_patients(&ctx, input).await {
        Ok(_) => redirect_with_flash(&back, "flash-merged", false),
        Err(AppError::Validation(_) | AppError::BadRequest(_) | AppError::Conflict(_)) => {
            redirect_with_flash(&back, "flash-merge-invalid", true)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn undo(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, merge)): InPath<(PatientId, MergeId)>,
) -> Response {
    let back = format!("/patients/{id}");
    match st.app.patients().undo_merge(&ctx, merge).await {
        Ok(_) => redirect_with_flash(&back, "flash-unmerged", false),
        Err(AppError::Conflict(_)) => redirect_with_flash(&back, "flash-unmerge-refused", true),
        Err(e) => error_response(&ctx.locale, e),
    }
}
