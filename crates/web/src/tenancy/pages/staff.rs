//! Staff pages: the directory with an invite form, and one member's access
//! (roles, branches, active). Checkbox groups arrive as repeated form keys,
//! so these forms are read as key/value pairs.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::ids::InPath;
use crate::kit::page::{
    allowed, error_response, redirect_with_flash, render, render_failed, Chrome, Errs,
};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use clinicos_app::governance::policy::Action;
use clinicos_app::identity::types::User;
use clinicos_app::tenancy::admin::StaffAccess;
use clinicos_app::tenancy::provisioning::NewUser;
use clinicos_app::tenancy::types::Branch;
use clinicos_app::{AppError, Ctx};
use clinicos_domain::kit::page::PageRequest;
use clinicos_domain::{BranchId, Role, UserId};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/staff", get(list).post(invite))
        .route("/admin/staff/{id}", get(member).post(save_member))
}

/// A checkbox in a group.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One row of the staff table.
pub struct Row {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: String,
    pub branches: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    can_manage: bool,
    email: String,
    name: String,
    roles: Vec<Choice>,
    branches: Vec<Choice>,
    errs: Errs,
}

#[derive(Template)]
#[template(path = "staff_member.html")]
struct MemberPage {
    c: Chrome,
    id: String,
    user: User,
    can_manage: bool,
    /// Live sessions (when the viewer may manage them).
    sessions: Option<Vec<crate::identity::pages::account::SessionRow>>,
    roles: Vec<Choice>,
    branches: Vec<Choice>,
    errs: Errs,
}

/// The submitted pairs: all values of `key`.
fn values<'a>(form: &'a [(String, String)], key: &'a str) -> impl Iterator<Item = &'a str> {
    form.iter()
        .filter(move |(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn first(form: &[(String, String)], key: &str) -> String {
    values(form, key).next().unwrap_or("").trim().to_owned()
}

fn role_choices(c: &Chrome, checked: &[Role]) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: c.i.role(r),
            checked: checked.contains(r),
        })
        .collect()
}

fn branch_choices(all: &[Branch], checked: &[BranchId]) -> Vec<Choice> {
    all.iter()
        .map(|b| Choice {
            value: b.id.as_text(),
            label: b.fields.name.clone(),
            checked: checked.contains(&b.id),
        })
        .collect()
}

/// Roles and branches picked in a form; unknown values are errors.
fn picked(form: &[(String, String)], errs: &mut Errs, locale: &str) -> (Vec<Role>, Vec<BranchId>) {
    let mut roles = Vec::new();
    for v in values(form, "roles") {
        match v.parse::<Role>() {
            Ok(r) => roles.push(r),
            Err(_) => errs.add("roles", "contains an unknown role", locale),
        }
    }
    let mut branches = Vec::new();
    for v in values(form, "branch_ids") {
        match v.parse::<BranchId>() {
            Ok(b) => branches.push(b),
            Err(_) => errs.add("branch_ids", "contains an unknown branch", locale),
        }
    }
    (roles, branches)
}

async fn all_branches(st: &WebState, ctx: &Ctx) -> Vec<Branch> {
    st.app.tenancy().my_branches(ctx).await.unwrap_or_default()
}

async fn list_page(
    st: &WebState,
    ctx: &Ctx,
    c: Chrome,
    form: &[(String, String)],
    errs: Errs,
) -> Result<ListPage, AppError> {
    let page = PageRequest::new(Some(1), Some(100)).map_err(AppError::BadRequest)?;
    let (users, _) = st
        .app
        .tenancy()
        .list_staff(ctx, &Default::default(), page, Some("name"))
        .await?;
    let branches = all_branches(st, ctx).await;
    let name_of = |id: &BranchId| {
        branches
            .iter()
            .find(|b| &b.id == id)
            .map(|b| b.fields.name.clone())
            .unwrap_or_default()
    };
    let rows = users
        .iter()
        .map(|u| Row {
            id: u.id.as_text(),
            name: u.profile.name.clone(),
            email: u.email.clone(),
            roles: u
                .roles
                .iter()
                .map(|r| c.i.role(r))
                .collect::<Vec<_>>()
                .join(", "),
            branches: u
                .branch_ids
                .iter()
                .map(name_of)
                .collect::<Vec<_>>()
                .join(", "),
            active: u.is_active,
        })
        .collect();
    let mut ignore = Errs::default();
    let (r, b) = picked(form, &mut ignore, "en");
    Ok(ListPage {
        roles: role_choices(&c, &r),
        branches: branch_choices(&branches, &b),
        rows,
        can_manage: allowed(ctx, Action::ManageStaff),
        email: first(form, "email"),
        name: first(form, "name"),
        errs,
        c,
    })
}

pub async fn list(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let fresh = fresh.as_ref().map(|e| &e.0);
    let c = Chrome::signed_in(&st, &ctx, &headers, fresh, "staff-title", "/admin/staff").await;
    let had = c.flash.is_some();
    match list_page(&st, &ctx, c, &[], Errs::default()).await {
        Ok(p) => render(&p, had),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn invite(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut errs = Errs::default();
    let (roles, branch_ids) = picked(&form, &mut errs, &ctx.locale);
    let e = if errs.is_empty() {
        let n = NewUser {
            email: first(&form, "email"),
            name: first(&form, "name"),
            roles,
            branch_ids,
            password: None,
            locale: None,
        };
        match st.app.tenancy().invite_staff(&ctx, n).await {
            Ok(u) => {
                let to = format!("/admin/staff/{}", u.id.as_text());
                return redirect_with_flash(&to, "flash-staff-invited", false);
            }
            Err(e @ AppError::Validation(_)) => {
                errs = Errs::from_app(&e, &ctx.locale);
                e
            }
            Err(e) => return error_response(&ctx.locale, e),
        }
    } else {
        AppError::Validation(Vec::new())
    };
    let c = Chrome::signed_in(&st, &ctx, &headers, None, "staff-title", "/admin/staff").await;
    match list_page(&st, &ctx, c, &form, errs).await {
        Ok(p) => render_failed(&p, &e),
        Err(e) => error_response(&ctx.locale, e),
    }
}

async fn member_page(
    st: &WebState,
    ctx: &Ctx,
    c: Chrome,
    id: UserId,
    errs: Errs,
) -> Result<MemberPage, AppError> {
    let user = st.app.tenancy().get_staff(ctx, id).await?;
    let branches = all_branches(st, ctx).await;
    let end_base = format!("/admin/staff/{id}/sessions/");
    let sessions = st
        .app
        .identity()
        .staff_sessions(ctx, id)
        .await
        .ok()
        .map(|l| {
            l.into_iter()
                .map(|s| crate::identity::pages::account::SessionRow::new(s, &end_base))
                .collect()
        });
    Ok(MemberPage {
        sessions,
        id: user.id.as_text(),
        roles: role_choices(&c, &user.roles),
        branches: branch_choices(&branches, &user.branch_ids),
        can_manage: allowed(ctx, Action::ManageStaff),
        user,
        errs,
        c,
    })
}

pub async fn member(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<UserId>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let fresh = fresh.as_ref().map(|e| &e.0);
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh,
        "staff-member-title",
        "/admin/staff",
    )
    .await;
    let had = c.flash.is_some();
    match member_page(&st, &ctx, c, id, Errs::default()).await {
        Ok(p) => render(&p, had),
        Err(e) => error_response(&ctx.locale, e),
    }
}

/// Save roles and branches (`op=save`), or deactivate / reactivate.
pub async fn save_member(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(uid): InPath<UserId>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut errs = Errs::default();
    let (access, flash) = match first(&form, "op").as_str() {
        "deactivate" | "reactivate" => {
            let active = first(&form, "op") == "reactivate";
            let a = StaffAccess {
                roles: None,
                branch_ids: None,
                is_active: Some(active),
            };
            (
                a,
                if active {
                    "flash-staff-reactivated"
                } else {
                    "flash-staff-deactivated"
                },
            )
        }
        _ => {
            let (roles, branch_ids) = picked(&form, &mut errs, &ctx.locale);
            let a = StaffAccess {
                roles: Some(roles),
                branch_ids: Some(branch_ids),
                is_active: None,
            };
            (a, "flash-staff-saved")
        }
    };
    let e = if errs.is_empty() {
        match st
            .app
            .tenancy()
            .update_staff_access(&ctx, uid, access)
            .await
        {
            Ok(_) => return redirect_with_flash(&format!("/admin/staff/{uid}"), flash, false),
            Err(e @ AppError::Validation(_)) => {
                errs = Errs::from_app(&e, &ctx.locale);
                e
            }
            Err(e) => return error_response(&ctx.locale, e),
        }
    } else {
        AppError::Validation(Vec::new())
    };
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        None,
        "staff-member-title",
        "/admin/staff",
    )
    .await;
    match member_page(&st, &ctx, c, uid, errs).await {
        Ok(p) => render_failed(&p, &e),
        Err(e) => error_response(&ctx.locale, e),
    }
}
