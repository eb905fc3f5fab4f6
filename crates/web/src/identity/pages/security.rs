//! Sign-in security pages: one's own two-step sign-in (`/me/security`:
//! enrol with the secret as text and the otpauth URI, confirm, see the
//! recovery codes once, turn off), pending device approvals
//! (`/admin/devices`) and ending a staff member's session from their page.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::ids::InPath;
use crate::kit::page::{error_response, redirect_with_flash, render, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use clinicos_app::identity::mfa::{MfaStatus, SecondFactor, TotpEnrolment};
use clinicos_app::{AppError, Ctx};
use clinicos_domain::{SessionId, UserId};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/me/security", get(page))
        .route("/me/security/totp", post(begin))
        .route("/me/security/totp/confirm", post(confirm))
        .route("/me/security/totp/disable", post(disable))
        .route("/admin/devices", get(devices))
        .route("/admin/devices/{id}/{decision}", post(decide_device))
        .route(
            "/admin/staff/{id}/sessions/{sid}/end",
            post(end_staff_session),
        )
}

#[derive(Template)]
#[template(path = "me_security.html")]
struct SecurityPage {
    c: Chrome,
    status: MfaStatus,
    enrolment: Option<TotpEnrolment>,
    recovery_codes: Vec<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    pub code: String,
    pub recovery_code: String,
}

async fn show(
    st: &WebState,
    ctx: &Ctx,
    headers: &HeaderMap,
    fresh: Option<&FreshCsrf>,
    enrolment: Option<TotpEnrolment>,
    recovery_codes: Vec<String>,
    error: Option<AppError>,
) -> Response {
    let status = match st.app.identity().mfa_status(ctx).await {
        Ok(s) => s,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let c = Chrome::signed_in(st, ctx, headers, fresh, "security-title", "/me/security").await;
    let had = c.flash.is_some();
    let error = error.map(|e| crate::kit::error::message_for(&e, &c.i.locale));
    render(
        &SecurityPage {
            c,
            status,
            enrolment,
            recovery_codes,
            error,
        },
        had,
    )
}

pub async fn page(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    show(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        None,
        Vec::new(),
        None,
    )
    .await
}

pub async fn begin(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
) -> Response {
    match st.app.identity().begin_totp(&ctx).await {
        Ok(en) => show(&st, &ctx, &headers, None, Some(en), Vec::new(), None).await,
        Err(e) => show(&st, &ctx, &headers, None, None, Vec::new(), Some(e)).await,
    }
}

pub async fn confirm(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    match st.app.identity().confirm_totp(&ctx, &f.code).await {
        Ok(rc) => show(&st, &ctx, &headers, None, None, rc.recovery_codes, None).await,
        Err(e) => show(&st, &ctx, &headers, None, None, Vec::new(), Some(e)).await,
    }
}

pub async fn disable(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    let factor = SecondFactor {
        code: Some(f.code).filter(|c| !c.trim().is_empty()),
        recovery_code: Some(f.recovery_code).filter(|c| !c.trim().is_empty()),
    };
    match st.app.identity().disable_totp(&ctx, factor).await {
        Ok(()) => redirect_with_flash("/me/security", "flash-mfa-disabled", false),
        Err(e) => show(&st, &ctx, &headers, None, None, Vec::new(), Some(e)).await,
    }
}

pub struct DeviceRow {
    pub id: String,
    pub staff: String,
    pub ip: String,
    pub device: String,
    pub requested: String,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    c: Chrome,
    rows: Vec<DeviceRow>,
}

pub async fn devices(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let list = match st.app.identity().pending_devices(&ctx).await {
        Ok(l) => l,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let mut rows = Vec::new();
    for d in list {
        let staff = match st.app.tenancy().get_staff(&ctx, d.user_id).await {
            Ok(u) => format!("{} <{}>", u.profile.name, u.email),
            Err(_) => d.user_id.as_text(),
        };
        rows.push(DeviceRow {
            id: d.id,
            staff,
            ip: d.ip,
            device: d.user_agent,
            requested: crate::kit::page::when(&d.created_at),
        });
    }
    let fresh = fresh.as_ref().map(|e| &e.0);
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh,
        "devices-title",
        "/admin/devices",
    )
    .await;
    let had = c.flash.is_some();
    render(&DevicesPage { c, rows }, had)
}

pub async fn decide_device(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, decision)): InPath<(uuid::Uuid, String)>,
) -> Response {
    let approve = match decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return error_response(&ctx.locale, AppError::NotFound("page")),
    };
    match st
        .app
        .identity()
        .decide_device(&ctx, &id.to_string(), approve)
        .await
    {
        Ok(_) if approve => redirect_with_flash("/admin/devices", "flash-device-approved", false),
        Ok(_) => redirect_with_flash("/admin/devices", "flash-device-denied", false),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn end_staff_session(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((user, sid)): InPath<(UserId, SessionId)>,
) -> Response {
    match st
        .app
        .identity()
        .revoke_staff_session(&ctx, user, sid)
        .await
    {
        Ok(()) => redirect_with_flash(
            &format!("/admin/staff/{user}"),
            "flash-staff-session-ended",
            false,
        ),
        Err(e) => error_response(&ctx.locale, e),
    }
}
