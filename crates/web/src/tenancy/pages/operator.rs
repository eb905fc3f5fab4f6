//! The platform operator console: sign-in, the tenant directory with status
//! changes, opening a tenant, regions and plans. It shows directory and
//! platform data only, never a tenant's records.

use crate::kit::extract::{Client, OperatorAuth};
use crate::kit::form::Form;
use crate::kit::http::{set_cookie, FreshCsrf, OPERATOR_COOKIE};
use crate::kit::ids::InPath;
use crate::kit::page::{error_response, redirect_with_flash, render, render_failed, Chrome, Errs};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use clinicos_app::tenancy::operator::OperatorCtx;
use clinicos_app::tenancy::provisioning::NewTenant;
use clinicos_app::tenancy::types::{DirectoryEntry, Plan, Region};
use clinicos_app::AppError;
use clinicos_domain::tenancy::tenant::SubscriptionEvent;
use clinicos_domain::TenantId;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/operator/login", get(login_form).post(login))
        .route("/operator/logout", post(logout))
        .route("/operator", get(console))
        .route("/operator/tenants", post(create_tenant))
        .route("/operator/tenants/{id}/status", post(change_status))
        .route("/operator/regions", post(add_region))
        .route("/operator/plans", post(upsert_plan))
}

const EVENTS: [(SubscriptionEvent, &str); 4] = [
    (SubscriptionEvent::Activate, "activate"),
    (SubscriptionEvent::Suspend, "suspend"),
    (SubscriptionEvent::Reactivate, "reactivate"),
    (SubscriptionEvent::Close, "close"),
];

#[derive(Template)]
#[template(path = "operator_login.html")]
struct LoginPage {
    c: Chrome,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

pub async fn login_form(
    State(st): State<WebState>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let fresh = fresh.as_ref().map(|e| &e.0);
    let c = Chrome::anonymous(&headers, fresh, "operator-login-title", st.config.demo_mode);
    let had = c.flash.is_some();
    render(
        &LoginPage {
            c,
            email: String::new(),
            error: None,
        },
        had,
    )
}

pub async fn login(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
    Form(f): Form<LoginForm>,
) -> Response {
    match st
        .app
        .tenancy()
        .operator_login(&f.email, &f.password, &client)
        .await
    {
        Ok((credential, _)) => {
            let mut r = Redirect::to("/operator").into_response();
            crate::kit::http::append_cookie(
                &mut r,
                &set_cookie(
                    OPERATOR_COOKIE,
                    &credential,
                    "Strict",
                    st.app.settings.secure_cookies,
                    None,
                ),
            );
            r
        }
        Err(e) => {
            let c = Chrome::anonymous(&headers, None, "operator-login-title", st.config.demo_mode);
            let error = Some(crate::kit::error::message_for(&e, &c.i.locale));
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            (
                status,
                render(
                    &LoginPage {
                        c,
                        email: f.email,
                        error,
                    },
                    false,
                ),
            )
                .into_response()
        }
    }
}

pub async fn logout(State(st): State<WebState>, OperatorAuth(op): OperatorAuth) -> Response {
    if let Err(e) = st.app.tenancy().operator_logout(&op).await {
        return error_response(&crate::kit::scope::locale(), e);
    }
    let mut r = redirect_with_flash("/operator/login", "flash-signed-out", false);
    crate::kit::http::append_cookie(
        &mut r,
        &set_cookie(
            OPERATOR_COOKIE,
            "",
            "Strict",
            st.app.settings.secure_cookies,
            Some(0),
        ),
    );
    r
}

/// A status move offered as a button.
pub struct StatusAction {
    pub name: &'static str,
    pub label: String,
    pub danger: bool,
}

/// A directory row with the status moves that are legal from its status.
pub struct TenantRow {
    pub entry: DirectoryEntry,
    pub status: String,
    pub created: String,
    pub actions: Vec<StatusAction>,
}

/// The create-tenant form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TenantForm {
    pub slug: String,
    pub legal_name: String,
    pub display_name: String,
    pub country: String,
    pub city: String,
    pub state: String,
    pub region: String,
    pub plan: String,
    pub locale: String,
    pub currency: String,
    pub time_zone: String,
    pub owner_email: String,
    pub owner_name: String,
    pub owner_password: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegionForm {
    pub code: String,
    pub name: String,
    pub database_url: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlanForm {
    pub code: String,
    pub name: String,
    pub max_branches: String,
    pub max_staff: String,
    pub price_minor: String,
    pub currency: String,
}

#[derive(Template)]
#[template(path = "operator.html")]
struct ConsolePage {
    c: Chrome,
    tenants: Vec<TenantRow>,
    regions: Vec<Region>,
    plans: Vec<Plan>,
    t: TenantForm,
    t_errs: Errs,
    r: RegionForm,
    r_errs: Errs,
    p: PlanForm,
    p_errs: Errs,
}

async fn console_page(
    st: &WebState,
    op: &OperatorCtx,
    headers: &HeaderMap,
    fresh: Option<&FreshCsrf>,
) -> Result<ConsolePage, AppError> {
    let c = Chrome::anonymous(headers, fresh, "operator-title", st.config.demo_mode);
    let tenants = st
        .app
        .tenancy()
        .op_list_tenants(op)
        .await?
        .into_iter()
        .map(|entry| TenantRow {
            status: c.i.t(&format!("tenant-status-{}", entry.status.as_str())),
            created: crate::kit::page::when(&entry.created_at),
            actions: EVENTS
                .iter()
                .filter(|(ev, _)| entry.status.apply(*ev).is_ok())
                .map(|(ev, name)| StatusAction {
                    name,
                    label: c.i.t(&format!("tenant-action-{name}")),
                    danger: *ev == SubscriptionEvent::Close,
                })
                .collect(),
            entry,
        })
        .collect();
    Ok(ConsolePage {
        tenants,
        regions: st.app.tenancy().op_regions(op).await?,
        plans: st.app.tenancy().op_plans(op).await?,
        t: TenantForm {
            locale: "en".into(),
            ..TenantForm::default()
        },
        t_errs: Errs::default(),
        r: RegionForm::default(),
        r_errs: Errs::default(),
        p: PlanForm::default(),
        p_errs: Errs::default(),
        c,
    })
}

pub async fn console(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    match console_page(&st, &op, &headers, fresh.as_ref().map(|e| &e.0)).await {
        Ok(p) => {
            let had = p.c.flash.is_some();
            render(&p, had)
        }
        Err(e) => error_response(&crate::kit::scope::locale(), e),
    }
}

/// Re-render the console after a failed form, with that form's errors.
async fn failed(
    st: &WebState,
    op: &OperatorCtx,
    headers: &HeaderMap,
    e: AppError,
    fill: impl FnOnce(&mut ConsolePage, Errs),
) -> Response {
    let locale = crate::kit::scope::locale();
    if !matches!(e, AppError::Validation(_)) {
        return error_response(&locale, e);
    }
    match console_page(st, op, headers, None).await {
        Ok(mut p) => {
            fill(&mut p, Errs::from_app(&e, &locale));
            render_failed(&p, &e)
        }
        Err(e) => error_response(&locale, e),
    }
}

pub async fn create_tenant(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    headers: HeaderMap,
    Form(f): Form<TenantForm>,
) -> Response {
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|s| !s.is_empty());
    let n = NewTenant {
        slug: f.slug.trim().to_lowercase(),
        legal_name: f.legal_name.trim().to_owned(),
        display_name: f.display_name.trim().to_owned(),
        country: f.country.trim().to_uppercase(),
        city: f.city.trim().to_owned(),
        state: f.state.trim().to_owned(),
        region: opt(&f.region),
        plan: opt(&f.plan),
        locale: f.locale.trim().to_owned(),
        currency: f.currency.trim().to_uppercase(),
        time_zone: f.time_zone.trim().to_owned(),
        owner_email: f.owner_email.trim().to_owned(),
        owner_name: f.owner_name.trim().to_owned(),
        owner_password: opt(&f.owner_password),
    };
    match st.app.tenancy().op_create_tenant(&op, &n).await {
        Ok(_) => redirect_with_flash("/operator", "flash-tenant-created", false),
        Err(e) => {
            let mut f = f;
            f.owner_password.clear();
            failed(&st, &op, &headers, e, |p, errs| {
                p.t = f;
                p.t_errs = errs;
            })
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    pub action: String,
}

pub async fn change_status(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    InPath(tid): InPath<TenantId>,
    Form(f): Form<StatusForm>,
) -> Response {
    let Some((event, _)) = EVENTS.iter().find(|(_, n)| *n == f.action) else {
        return redirect_with_flash("/operator", "flash-status-invalid", true);
    };
    match st.app.tenancy().op_change_status(&op, tid, *event).await {
        Ok(_) => redirect_with_flash("/operator", "flash-status-changed", false),
        Err(AppError::NotFound(_)) => {
            redirect_with_flash("/operator", "flash-tenant-unknown", true)
        }
        Err(AppError::Conflict(_)) => {
            redirect_with_flash("/operator", "flash-status-invalid", true)
        }
        Err(e) => error_response(&crate::kit::scope::locale(), e),
    }
}

pub async fn add_region(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    headers: HeaderMap,
    Form(f): Form<RegionForm>,
) -> Response {
    let r = st
        .app
        .tenancy()
        .op_add_region(&op, f.code.trim(), f.name.trim(), f.database_url.trim())
        .await;
    match r {
        Ok(_) => redirect_with_flash("/operator", "flash-region-added", false),
        Err(AppError::BadRequest(m)) => {
            let e = AppError::field("database_url", &m);
            failed(&st, &op, &headers, e, |p, errs| {
                p.r = f;
                p.r_errs = errs;
            })
            .await
        }
        Err(e) => {
            failed(&st, &op, &headers, e, |p, errs| {
                p.r = f;
                p.r_errs = errs;
            })
            .await
        }
    }
}

pub async fn upsert_plan(
    State(st): State<WebState>,
    OperatorAuth(op): OperatorAuth,
    headers: HeaderMap,
    Form(f): Form<PlanForm>,
) -> Response {
    let locale = crate::kit::scope::locale();
    let mut errs = Errs::default();
    let mut num = |v: &str, field: &str| match v.trim().parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            errs.add(field, "must be a whole number", &locale);
            0
        }
    };
    let plan = Plan {
        code: f.code.trim().to_lowercase(),
        name: f.name.trim().to_owned(),
        max_branches: num(&f.max_branches, "max_branches"),
        max_staff: num(&f.max_staff, "max_staff"),
        price_minor: num(&f.price_minor, "price_minor"),
        currency: f.currency.trim().to_uppercase(),
    };
    if !errs.is_empty() {
        return match console_page(&st, &op, &headers, None).await {
            Ok(mut p) => {
                p.p = f;
                p.p_errs = errs;
                (StatusCode::UNPROCESSABLE_ENTITY, render(&p, false)).into_response()
            }
            Err(e) => error_response(&locale, e),
        };
    }
    match st.app.tenancy().op_upsert_plan(&op, plan).await {
        Ok(_) => redirect_with_flash("/operator", "flash-plan-saved", false),
        Err(e) => {
            failed(&st, &op, &headers, e, |p, errs| {
                p.p = f;
                p.p_errs = errs;
            })
            .await
        }
    }
}
