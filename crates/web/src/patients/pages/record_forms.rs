//! The clinical-record editors' form posts (add, update): each goes through
//! the same services as the API; a refused or invalid form shows the chart
//! again with the submitted values and the errors.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::ids::InPath;
use crate::kit::page::{redirect_with_flash, Errs};
use crate::patients::pages::chart::Failure;
use crate::patients::pages::records::{Fields, RecordFailure};
use crate::WebState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use clinicos_app::patients::allergies::{Allergies, AllergyInput};
use clinicos_app::patients::care::HistoryInput;
use clinicos_app::patients::conditions::{ConditionInput, Conditions};
use clinicos_app::patients::medications::{MedicationInput, Medications};
use clinicos_app::patients::records::ClinicalKind;
use clinicos_app::{AppError, AppResult, Ctx};
use clinicos_domain::{PatientId, RecordId};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/patients/{id}/records/{kind}", post(add))
        .route("/patients/{id}/records/{kind}/{entry}", post(update))
}

fn text(f: &Fields, k: &str) -> String {
    f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default()
}

fn given(f: &Fields, k: &str) -> Option<String> {
    Some(text(f, k)).filter(|v| !v.is_empty())
}

/// Add (`entry` None) or change one structured record.
async fn put<K: ClinicalKind>(
    st: &WebState,
    ctx: &Ctx,
    id: PatientId,
    entry: Option<RecordId>,
    input: &K::Input,
) -> AppResult<()> {
    match entry {
        None => st
            .app
            .patients()
            .clinical_add::<K>(ctx, id, input)
            .await
            .map(|_| ()),
        Some(e) => st
            .app
            .patients()
            .clinical_update::<K>(ctx, id, e, input)
            .await
            .map(|_| ()),
    }
}

/// Save one kind's form: a new entry (`entry` None) or a change.
async fn save(
    st: &WebState,
    ctx: &Ctx,
    id: PatientId,
    kind: &str,
    entry: Option<RecordId>,
    f: &Fields,
) -> AppResult<()> {
    let sensitivity = given(f, "sensitivity");
    match kind {
        "history" => {
            let input = HistoryInput {
                category: text(f, "category"),
                text: text(f, "text"),
                sensitivity: sensitivity.unwrap_or_else(|| "normal".into()),
            };
            match entry {
                None => st
                    .app
                    .patients()
                    .add_history(ctx, id, input)
                    .await
                    .map(|_| ()),
                Some(e) => st
                    .app
                    .patients()
                    .update_history(ctx, id, e, input)
                    .await
                    .map(|_| ()),
            }
        }
        "allergies" => {
            let input = AllergyInput {
                substance: text(f, "substance"),
                category: text(f, "category"),
                reaction: given(f, "reaction"),
                severity: given(f, "severity"),
                status: given(f, "status"),
                note: given(f, "note"),
                sensitivity,
            };
            put::<Allergies>(st, ctx, id, entry, &input).await
        }
        "conditions" => {
            let input = ConditionInput {
                name: text(f, "name"),
                code: given(f, "code"),
                status: given(f, "status"),
                onset_date: given(f, "onset_date"),
                resolved_date: given(f, "resolved_date"),
                note: given(f, "note"),
                sensitivity,
            };
            put::<Conditions>(st, ctx, id, entry, &input).await
        }
        "medications" => {
            let input = MedicationInput {
                name: text(f, "name"),
                dose: given(f, "dose"),
                frequency: given(f, "frequency"),
                route: given(f, "route"),
                status: given(f, "status"),
                start_date: given(f, "start_date"),
                stop_date: given(f, "stop_date"),
                note: given(f, "note"),
                sensitivity,
            };
            put::<Medications>(st, ctx, id, entry, &input).await
        }
        _ => Err(AppError::NotFound("record kind")),
    }
}

/// Back to the chart's section with a notice; refused input is shown again
/// in its form (422), with the message next to each field.
async fn done(
    st: &WebState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: PatientId,
    mut submitted: RecordFailure,
    r: AppResult<()>,
) -> Response {
    let back = format!("/patients/{id}#{}", submitted.kind);
    match r {
        Ok(()) => redirect_with_flash(&back, "flash-record-saved", false),
        Err(e @ (AppError::Validation(_) | AppError::BadRequest(_))) => {
            submitted.errs = Errs::from_app(&e, &ctx.locale);
            crate::patients::pages::chart::show_again(
                st,
                ctx,
                headers,
                id,
                &e,
                Failure::Record(submitted),
            )
            .await
        }
        Err(e) => crate::kit::page::error_response(&ctx.locale, e),
    }
}

/// What was submitted, for showing it again if refused.
fn submitted(kind: String, entry: Option<String>, values: Fields) -> RecordFailure {
    RecordFailure {
        kind,
        entry,
        values,
        errs: Errs::default(),
    }
}

pub async fn add(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, kind)): InPath<(PatientId, String)>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let r = save(&st, &ctx, id, &kind, None, &f).await;
    done(&st, &ctx, &headers, id, submitted(kind, None, f), r).await
}

pub async fn update(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, kind, entry)): InPath<(PatientId, String, RecordId)>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let r = save(&st, &ctx, id, &kind, Some(entry), &f).await;
    done(
        &st,
        &ctx,
        &headers,
        id,
        submitted(kind, Some(entry.as_text()), f),
        r,
    )
    .await
}
