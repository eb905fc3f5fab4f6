//! Organisation administration pages: the tenant profile and logo. Branch and staff pages live in `branches` and
//! `staff`; this module's [`routes`] lists all of them. The forms are
//! shown only when the policy allows; the services decide again.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::page::{
    allowed, error_response, image_response, read_upload, redirect_with_flash, render,
    render_failed, Chrome, Errs,
};
use crate::WebState;
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use clinicos_app::governance::policy::Action;
use clinicos_app::tenancy::admin::TenantPatch;
use clinicos_app::{AppError, Ctx};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/admin/organisation",
            get(organisation).post(save_organisation),
        )
        .route("/admin/organisation/logo", post(upload_logo))
        .route("/organisation/logo", get(logo))
        .route("/admin/organisation/export", get(export))
        .merge(crate::tenancy::pages::branches::routes())
        .merge(crate::tenancy::pages::staff::routes())
}

/// The organisation form's values (as typed, so a failed form comes back
/// exactly as the user left it).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrgForm {
    pub legal_name: String,
    pub display_name: String,
    pub address_line: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub default_locale: String,
    pub default_currency: String,
    pub default_time_zone: String,
    pub idle_timeout_minutes: String,
    pub absolute_timeout_minutes: String,
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct OrganisationPage {
    c: Chrome,
    v: OrgForm,
    has_logo: bool,
    can_edit: bool,
    can_export: bool,
    retention: Option<clinicos_app::governance::retention::TenantRetention>,
    errs: Errs,
}

/// The retention card, for those allowed to see it.
async fn retention(
    st: &WebState,
    ctx: &Ctx,
) -> Option<clinicos_app::governance::retention::TenantRetention> {
    if !allowed(ctx, Action::ViewRetention) {
        return None;
    }
    st.app.governance().tenant_retention(ctx).await.ok()
}

async fn chrome(
    st: &WebState,
    ctx: &Ctx,
    headers: &HeaderMap,
    fresh: Option<&FreshCsrf>,
) -> Chrome {
    Chrome::signed_in(st, ctx, headers, fresh, "org-title", "/admin/organisation").await
}

pub async fn organisation(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let t = match st.app.tenancy().tenant_profile(&ctx).await {
        Ok(t) => t,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let c = chrome(&st, &ctx, &headers, fresh.as_ref().map(|e| &e.0)).await;
    let had = c.flash.is_some();
    let v = OrgForm {
        legal_name: t.legal_name,
        display_name: t.display_name,
        address_line: t.address_line,
        city: t.city,
        state: t.state,
        postcode: t.postcode,
        country: t.country,
        default_locale: t.default_locale,
        default_currency: t.default_currency,
        default_time_zone: t.default_time_zone,
        idle_timeout_minutes: t.idle_timeout_minutes.to_string(),
        absolute_timeout_minutes: t.absolute_timeout_minutes.to_string(),
    };
    let page = OrganisationPage {
        c,
        v,
        has_logo: t.has_logo,
        can_edit: allowed(&ctx, Action::EditTenant),
        can_export: allowed(&ctx, Action::ExportData),
        retention: retention(&st, &ctx).await,
        errs: Errs::default(),
    };
    render(&page, had)
}

fn minutes(v: &str, field: &str, errs: &mut Errs, locale: &str) -> Option<i64> {
    match v.trim().parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errs.add(field, "must be a whole number of minutes", locale);
            None
        }
    }
}

pub async fn save_organisation(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    Form(f): Form<OrgForm>,
) -> Response {
    let mut errs = Errs::default();
    let idle = minutes(
        &f.idle_timeout_minutes,
        "idle_timeout_minutes",
        &mut errs,
        &ctx.locale,
    );
    let absolute = minutes(
        &f.absolute_timeout_minutes,
        "absolute_timeout_minutes",
        &mut errs,
        &ctx.locale,
    );
    let result = if errs.is_empty() {
        let p = TenantPatch {
            legal_name: Some(f.legal_name.trim().to_owned()),
            display_name: Some(f.display_name.trim().to_owned()),
            address_line: Some(f.address_line.trim().to_owned()),
            city: Some(f.city.trim().to_owned()),
            state: Some(f.state.trim().to_owned()),
            postcode: Some(f.postcode.trim().to_owned()),
            country: Some(f.country.trim().to_uppercase()),
            default_locale: Some(f.default_locale.trim().to_owned()),
            default_currency: Some(f.default_currency.trim().to_uppercase()),
            default_time_zone: Some(f.default_time_zone.trim().to_owned()),
            idle_timeout_minutes: idle,
            absolute_timeout_minutes: absolute,
        };
        st.app.tenancy().update_tenant(&ctx, p).await.map(|_| ())
    } else {
        Err(AppError::Validation(Vec::new()))
    };
    let e = match result {
        Ok(()) => return redirect_with_flash("/admin/organisation", "flash-org-saved", false),
        Err(e @ AppError::Validation(_)) => e,
        Err(e) => return error_response(&ctx.locale, e),
    };
    if !matches!(&e, AppError::Validation(v) if v.is_empty()) {
        errs = Errs::from_app(&e, &ctx.locale);
    }
    let has_logo = st
        .app
        .tenancy()
        .tenant_profile(&ctx)
        .await
        .map(|t| t.has_logo)
        .unwrap_or(false);
    let page = OrganisationPage {
        c: chrome(&st, &ctx, &headers, None).await,
        v: f,
        has_logo,
        can_edit: true,
        can_export: allowed(&ctx, Action::ExportData),
        retention: retention(&st, &ctx).await,
        errs,
    };
    render_failed(&page, &e)
}

pub async fn upload_logo(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    const BACK: &str = "/admin/organisation";
    let Ok(form) = form else {
        return redirect_with_flash(BACK, "flash-upload-failed", true);
    };
    let bytes = match read_upload(form, "logo").await {
        Ok(Some(b)) => b,
        Ok(None) => return redirect_with_flash(BACK, "flash-upload-empty", true),
        Err(()) => return redirect_with_flash(BACK, "flash-upload-failed", true),
    };
    match st.app.tenancy().set_tenant_logo(&ctx, bytes).await {
        Ok(()) => redirect_with_flash(BACK, "flash-logo-saved", false),
        Err(AppError::Validation(_)) => redirect_with_flash(BACK, "flash-image-invalid", true),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn logo(State(st): State<WebState>, PageAuth(ctx): PageAuth) -> Response {
    match st.app.tenancy().tenant_logo(&ctx).await {
        Ok((bytes, mime)) => image_response(bytes, mime),
        Err(e) => error_response(&ctx.locale, e),
    }
}

/// Download the organisation's records as JSON (allowed while suspended).
pub async fn export(State(st): State<WebState>, PageAuth(ctx): PageAuth) -> Response {
    match st.app.tenancy().export_tenant(&ctx).await {
        Ok(e) => {
            use axum::response::IntoResponse;
            let body = serde_json::to_vec_pretty(&e).unwrap_or_default();
            (
                [
                    (axum::http::header::CONTENT_TYPE, "application/json"),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        "attachment; filename=\"clinicos-export.json\"",
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}
