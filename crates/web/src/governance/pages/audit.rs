//! The access-report page: the audit trail filtered by staff member, record,
//! action and dates, with a CSV download of the same report.

use crate::governance::api::audit::ReportQuery;
use crate::kit::extract::PageAuth;
use crate::kit::http::FreshCsrf;
use crate::kit::page::{error_response, render, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use clinicos_app::governance::types::AuditRow;
use clinicos_domain::kit::page::PageRequest;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/audit", get(report))
        .route("/admin/audit.csv", get(csv))
}

/// The raw filter values, echoed back into the form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct FilterForm {
    pub user_id: String,
    pub resource_id: String,
    pub action: String,
    pub from: String,
    pub to: String,
    pub page: Option<u32>,
}

impl FilterForm {
    fn to_report_query(&self) -> Result<ReportQuery, clinicos_app::AppError> {
        let bad = |f: &str| clinicos_app::AppError::field(f, "is not a valid id");
        Ok(ReportQuery {
            user_id: Some(self.user_id.trim())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|_| bad("user_id")))
                .transpose()?,
            resource_id: Some(self.resource_id.trim())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|_| bad("resource_id")))
                .transpose()?,
            action: Some(self.action.trim().to_owned()).filter(|s| !s.is_empty()),
            from: Some(self.from.clone()).filter(|s| !s.is_empty()),
            to: Some(self.to.clone()).filter(|s| !s.is_empty()),
            page: self.page,
            limit: Some(50),
        })
    }

    /// The query string of the same report (for the CSV link and paging).
    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("user_id", &self.user_id),
            ("resource_id", &self.resource_id),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ])
        .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    f: FilterForm,
    staff: Vec<(String, String)>,
    rows: Vec<AuditRow>,
    names: std::collections::HashMap<String, String>,
    total: u64,
    page: u32,
    pages: u64,
    query: String,
    error: Option<String>,
}

impl AuditPage {
    fn who(&self, id: &Option<String>) -> String {
        id.as_ref()
            .map(|i| self.names.get(i).cloned().unwrap_or_else(|| i.clone()))
            .unwrap_or_default()
    }
}

pub async fn report(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
    Query(f): Query<FilterForm>,
) -> Response {
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "audit-title",
        "/admin/audit",
    )
    .await;
    let staff_rows = match st
        .app
        .tenancy()
        .list_staff(
            &ctx,
            &Default::default(),
            PageRequest {
                page: 1,
                limit: 100,
            },
            Some("name"),
        )
        .await
    {
        Ok((s, _)) => s,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let names = staff_rows
        .iter()
        .map(|u| (u.id.as_text(), u.profile.name.clone()))
        .collect();
    let staff = staff_rows
        .iter()
        .map(|u| (u.id.as_text(), u.profile.name.clone()))
        .collect();
    let page_no = f.page.unwrap_or(1).max(1);
    let result = match f.to_report_query() {
        Ok(q) => match q.to_query() {
            Ok(aq) => {
                st.app
                    .governance()
                    .access_report(
                        &ctx,
                        &aq,
                        PageRequest {
                            page: page_no,
                            limit: 50,
                        },
                    )
                    .await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let (rows, total, pages, error) = match result {
        Ok((rows, meta)) => (rows, meta.total, meta.total_pages, None),
        Err(clinicos_app::AppError::Validation(v)) => (
            Vec::new(),
            0,
            0,
            Some(crate::kit::page::field_errors_line(&v)),
        ),
        Err(e) => return error_response(&ctx.locale, e),
    };
    let query = f.query_string();
    render(
        &AuditPage {
            c,
            f,
            staff,
            rows,
            names,
            total,
            page: page_no,
            pages,
            query,
            error,
        },
        false,
    )
}

pub async fn csv(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    Query(f): Query<FilterForm>,
) -> Response {
    let q = match f.to_report_query().and_then(|q| q.to_query()) {
        Ok(q) => q,
        Err(e) => return error_response(&ctx.locale, e),
    };
    match st.app.governance().access_report_csv(&ctx, &q).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"access-report.csv\"",
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => error_response(&ctx.locale, e),
    }
}
