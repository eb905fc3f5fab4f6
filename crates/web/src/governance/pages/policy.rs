//! Policy pages: roles and permissions (`/admin/permissions`: each role's
//! bundle, single grants, policy settings) and emergency-access review
//! (`/admin/break-glass`).

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::ids::InPath;
use crate::kit::page::{error_response, redirect_with_flash, render, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use clinicos_app::governance::break_glass::{BreakGlassGrant, ReviewInput};
use clinicos_app::governance::policy_admin::{BundleInput, GrantInput, PolicyOverview};
use clinicos_app::governance::types::PolicySettings;
use clinicos_app::AppError;
use clinicos_domain::kit::page::PageRequest;
use clinicos_domain::Role;
use serde::Deserialize;
use std::collections::HashMap;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/permissions", get(permissions))
        .route("/admin/permissions/roles/{role}", post(save_role))
        .route("/admin/permissions/roles/{role}/reset", post(reset_role))
        .route("/admin/permissions/grants", post(add_grant))
        .route("/admin/permissions/grants/{id}/revoke", post(revoke_grant))
        .route("/admin/permissions/settings", post(save_settings))
        .route("/admin/break-glass", get(reviews))
        .route("/admin/break-glass/{id}/review", post(review))
}

/// One role's form: every permission with its checkbox state.
struct RoleForm {
    role: Role,
    edited: bool,
    perms: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "permissions.html")]
struct PermissionsPage {
    c: Chrome,
    roles: Vec<RoleForm>,
    grants: Vec<(String, String, String, String)>,
    staff: Vec<(String, String)>,
    catalogue: Vec<(String, String)>,
    settings: PolicySettings,
}

fn name_of(staff: &[(String, String)], id: &str) -> String {
    staff
        .iter()
        .find(|(i, _)| i == id)
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| id.to_owned())
}

async fn staff_names(st: &WebState, ctx: &clinicos_app::Ctx) -> Vec<(String, String)> {
    st.app
        .tenancy()
        .list_staff(
            ctx,
            &Default::default(),
            PageRequest {
                page: 1,
                limit: 100,
            },
            Some("name"),
        )
        .await
        .map(|(rows, _)| {
            rows.iter()
                .map(|u| (u.id.as_text(), u.profile.name.clone()))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn permissions(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let o: PolicyOverview = match st.app.governance().policy_overview(&ctx).await {
        Ok(o) => o,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let staff = staff_names(&st, &ctx).await;
    let roles = o
        .roles
        .iter()
        .map(|r| RoleForm {
            role: r.role,
            edited: r.edited,
            perms: o
                .catalogue
                .iter()
                .map(|p| {
                    (
                        p.code.clone(),
                        p.description.clone(),
                        r.permissions.contains(&p.code),
                    )
                })
                .collect(),
        })
        .collect();
    let grants = o
        .grants
        .iter()
        .map(|g| {
            (
                g.id.clone(),
                name_of(&staff, &g.user_id.as_text()),
                g.permission.clone(),
                g.reason.clone(),
            )
        })
        .collect();
    let catalogue = o
        .catalogue
        .iter()
        .map(|p| (p.code.clone(), p.description.clone()))
        .collect();
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "permissions-title",
        "/admin/permissions",
    )
    .await;
    let had = c.flash.is_some();
    render(
        &PermissionsPage {
            c,
            roles,
            grants,
            staff,
            catalogue,
            settings: o.settings,
        },
        had,
    )
}

const BACK: &str = "/admin/permissions";

fn done(r: Result<(), AppError>, locale: &str) -> Response {
    match r {
        Ok(()) => redirect_with_flash(BACK, "flash-saved", false),
        Err(AppError::Validation(_) | AppError::Conflict(_) | AppError::BadRequest(_)) => {
            redirect_with_flash(BACK, "flash-policy-invalid", true)
        }
        Err(e) => error_response(locale, e),
    }
}

fn role_of(s: &str) -> Result<Role, AppError> {
    s.parse().map_err(|_| AppError::NotFound("role"))
}

pub async fn save_role(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(role): InPath<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let role = match role_of(&role) {
        Ok(r) => r,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let permissions = f
        .keys()
        .filter_map(|k| k.strip_prefix("perm:"))
        .map(str::to_owned)
        .collect();
    let r = st
        .app
        .governance()
        .set_role_bundle(&ctx, role, BundleInput { permissions })
        .await;
    done(r, &ctx.locale)
}

pub async fn reset_role(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(role): InPath<String>,
) -> Response {
    let r = match role_of(&role) {
        Ok(role) => st.app.governance().reset_role_bundle(&ctx, role).await,
        Err(e) => Err(e),
    };
    match r {
        Err(AppError::NotFound("edited bundle")) => done(Ok(()), &ctx.locale),
        other => done(other, &ctx.locale),
    }
}

#[derive(Deserialize)]
pub struct GrantForm {
    user_id: String,
    permission: String,
    reason: String,
}

pub async fn add_grant(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    Form(f): Form<GrantForm>,
) -> Response {
    let Ok(user_id) = f.user_id.parse() else {
        return redirect_with_flash(BACK, "flash-policy-invalid", true);
    };
    let r = st
        .app
        .governance()
        .grant_permission(
            &ctx,
            GrantInput {
                user_id,
                permission: f.permission,
                reason: f.reason,
            },
        )
        .await
        .map(|_| ());
    done(r, &ctx.locale)
}

pub async fn revoke_grant(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<uuid::Uuid>,
) -> Response {
    let r = st
        .app
        .governance()
        .revoke_grant(&ctx, &id.to_string())
        .await;
    done(r, &ctx.locale)
}

#[derive(Deserialize)]
pub struct SettingsForm {
    own_patient_window_months: String,
    break_glass_minutes: String,
    consent_policy: String,
    clinical_cross_branch: Option<String>,
}

pub async fn save_settings(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    Form(f): Form<SettingsForm>,
) -> Response {
    let (Ok(window), Ok(minutes)) = (
        f.own_patient_window_months.trim().parse(),
        f.break_glass_minutes.trim().parse(),
    ) else {
        return redirect_with_flash(BACK, "flash-policy-invalid", true);
    };
    let s = PolicySettings {
        own_patient_window_months: window,
        break_glass_minutes: minutes,
        consent_policy: f.consent_policy,
        clinical_cross_branch: f.clinical_cross_branch.is_some(),
    };
    let r = st
        .app
        .governance()
        .set_policy_settings(&ctx, s)
        .await
        .map(|_| ());
    done(r, &ctx.locale)
}

#[derive(Template)]
#[template(path = "break_glass.html")]
struct ReviewsPage {
    c: Chrome,
    status: String,
    rows: Vec<(BreakGlassGrant, String, String, String, bool)>,
}

#[derive(Deserialize)]
pub struct ReviewFilter {
    status: Option<String>,
}

pub async fn reviews(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
    Query(q): Query<ReviewFilter>,
) -> Response {
    let status = q.status.unwrap_or_else(|| "pending".into());
    let list = match st
        .app
        .governance()
        .break_glass_reviews(&ctx, Some(&status))
        .await
    {
        Ok(l) => l,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let staff = staff_names(&st, &ctx).await;
    let rows = list
        .into_iter()
        .map(|g| {
            let who = name_of(&staff, &g.user_id.as_text());
            let started = crate::kit::page::when(&g.started_at);
            let expires = crate::kit::page::when(&g.expires_at);
            let own = g.user_id == ctx.user;
            (g, who, started, expires, own)
        })
        .collect();
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "glass-title",
        "/admin/break-glass",
    )
    .await;
    let had = c.flash.is_some();
    render(&ReviewsPage { c, status, rows }, had)
}

#[derive(Deserialize)]
pub struct ReviewForm {
    outcome: String,
    note: String,
}

pub async fn review(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<uuid::Uuid>,
    Form(f): Form<ReviewForm>,
) -> Response {
    let input = ReviewInput {
        outcome: f.outcome,
        note: f.note,
    };
    match st
        .app
        .governance()
        .review_break_glass(&ctx, &id.to_string(), input)
        .await
    {
        Ok(_) => redirect_with_flash("/admin/break-glass", "flash-reviewed", false),
        Err(AppError::Validation(_) | AppError::Conflict(_)) => {
            redirect_with_flash("/admin/break-glass", "flash-policy-invalid", true)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}
