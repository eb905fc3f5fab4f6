//! The admin security page (`/admin/security`): security events filtered
//! by kind and dates, acknowledge, and the organisation's thresholds and
//! rate limit (changed with `PUT /api/v1/security/settings`).

use crate::governance::api::security::EventFilter;
use crate::kit::extract::PageAuth;
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
use clinicos_app::governance::types::SecurityEvent;
use clinicos_app::AppError;
use clinicos_domain::governance::security::{EventKind, SecuritySettings};
use clinicos_domain::kit::page::PageRequest;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/security", get(page))
        .route("/admin/security/events/{id}/acknowledge", post(acknowledge))
}

/// The raw filter values, echoed back into the form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct FilterForm {
    pub kind: String,
    pub from: String,
    pub to: String,
    pub page: Option<u32>,
}

#[derive(Template)]
#[template(path = "admin_security.html")]
struct SecurityPage {
    c: Chrome,
    f: FilterForm,
    kinds: Vec<&'static str>,
    rows: Vec<SecurityEvent>,
    settings: SecuritySettings,
    api_limit: String,
    total: u64,
    error: Option<String>,
}

pub async fn page(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
    Query(f): Query<FilterForm>,
) -> Response {
    let settings = match st.app.governance().security_settings(&ctx).await {
        Ok(s) => s,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let filter = EventFilter {
        kind: Some(f.kind.clone()),
        from: Some(f.from.clone()),
        to: Some(f.to.clone()),
        ..Default::default()
    };
    let page = PageRequest {
        page: f.page.unwrap_or(1).max(1),
        limit: 50,
    };
    let result = match filter.to_query() {
        Ok(q) => st.app.governance().security_events(&ctx, &q, page).await,
        Err(e) => Err(e),
    };
    let (rows, total, error) = match result {
        Ok((rows, meta)) => (rows, meta.total, None),
        Err(AppError::Validation(v)) => {
            (Vec::new(), 0, Some(crate::kit::page::field_errors_line(&v)))
        }
        Err(e) => return error_response(&ctx.locale, e),
    };
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "secev-title",
        "/admin/security",
    )
    .await;
    let api_limit = settings
        .api_requests_per_minute
        .unwrap_or(st.config.rate_limits.api)
        .to_string();
    let had = c.flash.is_some();
    render(
        &SecurityPage {
            c,
            f,
            kinds: EventKind::ALL.iter().map(|k| k.as_str()).collect(),
            rows,
            settings,
            api_limit,
            total,
            error,
        },
        had,
    )
}

pub async fn acknowledge(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<uuid::Uuid>,
) -> Response {
    match st
        .app
        .governance()
        .acknowledge_security_event(&ctx, id)
        .await
    {
        Ok(()) => redirect_with_flash("/admin/security", "flash-security-acknowledged", false),
        Err(e) => error_response(&ctx.locale, e),
    }
}
