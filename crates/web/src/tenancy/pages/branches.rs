//! Branch pages: the list with a create form, and one branch's edit form
//! (tax ids, working hours, time zone, currency, active).

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::ids::InPath;
use crate::kit::page::{error_response, redirect_with_flash, render, render_failed, Chrome, Errs};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use clinicos_app::tenancy::admin::BranchPatch;
use clinicos_app::tenancy::types::Branch;
use clinicos_app::{AppError, Ctx};
use clinicos_domain::kit::page::PageRequest;
use clinicos_domain::BranchId;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/branches", get(list).post(create))
        .route("/admin/branches/{id}", get(edit).post(save))
}

/// A branch form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct BranchForm {
    pub code: String,
    pub name: String,
    pub address_line: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub time_zone: String,
    pub currency: String,
    pub gstin: String,
    pub vat_id: String,
    pub tin: String,
    pub working_hours: String,
    pub phone: String,
    pub email: String,
    pub is_active: Option<String>,
}

impl BranchForm {
    fn of(b: &Branch) -> Self {
        let f = &b.fields;
        BranchForm {
            code: f.code.clone(),
            name: f.name.clone(),
            address_line: f.address_line.clone(),
            city: f.city.clone(),
            state: f.state.clone(),
            postcode: f.postcode.clone(),
            country: f.country.clone(),
            time_zone: f.time_zone.clone(),
            currency: f.currency.clone(),
            gstin: f.gstin.clone().unwrap_or_default(),
            vat_id: f.vat_id.clone().unwrap_or_default(),
            tin: f.tin.clone().unwrap_or_default(),
            working_hours: f.working_hours.clone(),
            phone: f.phone.clone(),
            email: f.email.clone(),
            is_active: b.is_active.then(|| "on".to_owned()),
        }
    }

    fn patch(&self, editing: bool) -> BranchPatch {
        let s = |v: &str| Some(v.trim().to_owned());
        BranchPatch {
            code: s(&self.code),
            name: s(&self.name),
            address_line: s(&self.address_line),
            city: s(&self.city),
            state: s(&self.state),
            postcode: s(&self.postcode),
            country: s(&self.country.to_uppercase()),
            time_zone: s(&self.time_zone),
            currency: s(&self.currency.to_uppercase()),
            gstin: s(&self.gstin.to_uppercase()),
            vat_id: s(&self.vat_id),
            tin: s(&self.tin),
            working_hours: s(&self.working_hours),
            phone: s(&self.phone),
            email: s(&self.email),
            is_active: editing.then_some(self.is_active.is_some()),
        }
    }
}

#[derive(Template)]
#[template(path = "branches.html")]
struct ListPage {
    c: Chrome,
    branches: Vec<Branch>,
    v: BranchForm,
    errs: Errs,
}

#[derive(Template)]
#[template(path = "branch.html")]
struct EditPage {
    c: Chrome,
    id: String,
    v: BranchForm,
    errs: Errs,
}

async fn all_branches(st: &WebState, ctx: &Ctx) -> Result<Vec<Branch>, AppError> {
    let page = PageRequest::new(Some(1), Some(100)).map_err(AppError::BadRequest)?;
    Ok(st
        .app
        .tenancy()
        .list_branches(ctx, &Default::default(), page, Some("name"))
        .await?
        .0)
}

pub async fn list(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let branches = match all_branches(&st, &ctx).await {
        Ok(b) => b,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let fresh = fresh.as_ref().map(|e| &e.0);
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh,
        "branches-title",
        "/admin/branches",
    )
    .await;
    let had = c.flash.is_some();
    let page = ListPage {
        c,
        branches,
        v: BranchForm::default(),
        errs: Errs::default(),
    };
    render(&page, had)
}

pub async fn create(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    Form(f): Form<BranchForm>,
) -> Response {
    let e = match st.app.tenancy().create_branch(&ctx, f.patch(false)).await {
        Ok(b) => {
            let to = format!("/admin/branches/{}", b.id.as_text());
            return redirect_with_flash(&to, "flash-branch-created", false);
        }
        Err(e @ AppError::Validation(_)) => e,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let branches = all_branches(&st, &ctx).await.unwrap_or_default();
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        None,
        "branches-title",
        "/admin/branches",
    )
    .await;
    let page = ListPage {
        c,
        branches,
        v: f,
        errs: Errs::from_app(&e, &ctx.locale),
    };
    render_failed(&page, &e)
}

pub async fn edit(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<BranchId>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let b = match st.app.tenancy().get_branch(&ctx, id).await {
        Ok(b) => b,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let fresh = fresh.as_ref().map(|e| &e.0);
    let mut c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh,
        "branch-title",
        "/admin/branches",
    )
    .await;
    c.title = format!("{} · {}", b.fields.name, c.title);
    let had = c.flash.is_some();
    let page = EditPage {
        c,
        id: b.id.as_text(),
        v: BranchForm::of(&b),
        errs: Errs::default(),
    };
    render(&page, had)
}

pub async fn save(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<BranchId>,
    headers: HeaderMap,
    Form(f): Form<BranchForm>,
) -> Response {
    let e = match st
        .app
        .tenancy()
        .update_branch(&ctx, id, f.patch(true))
        .await
    {
        Ok(_) => {
            let to = format!("/admin/branches/{id}");
            return redirect_with_flash(&to, "flash-branch-saved", false);
        }
        Err(e @ AppError::Validation(_)) => e,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let c = Chrome::signed_in(&st, &ctx, &headers, None, "branch-title", "/admin/branches").await;
    let page = EditPage {
        c,
        id: id.as_text(),
        v: f,
        errs: Errs::from_app(&e, &ctx.locale),
    };
    render_failed(&page, &e)
}
