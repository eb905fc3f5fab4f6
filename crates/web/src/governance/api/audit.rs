//! `/api/v1/audit/*`: access reports over the audit trail (privacy officer
//! and owner), as JSON pages or CSV.

use crate::kit::error::{ApiError, ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::json::{paged, ApiQuery, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use clinicos_app::governance::access_report::parse_bound;
use clinicos_app::governance::types::{AuditQuery, AuditRow};
use clinicos_app::kit::domain_schema;
use clinicos_app::AppError;
use clinicos_domain::kit::page::PageRequest;
use serde::Deserialize;

/// Filters of an access report.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// Only events of this staff member.
    #[param(value_type = Option<domain_schema::UserId>)]
    pub user_id: Option<clinicos_domain::UserId>,
    /// Only events that touched or returned this record id.
    pub resource_id: Option<uuid::Uuid>,
    /// Only actions starting with this code, e.g. `auth.` or `export.`.
    pub action: Option<String>,
    /// From this date (YYYY-MM-DD, UTC) or RFC 3339 time, inclusive.
    pub from: Option<String>,
    /// To this date (inclusive) or RFC 3339 time (exclusive).
    pub to: Option<String>,
    pub page: Option<u32>,
    pub limit: Option<u32>,
}

impl ReportQuery {
    /// The store query, with dates parsed and checked.
    pub fn to_query(&self) -> Result<AuditQuery, AppError> {
        Ok(AuditQuery {
            actor_id: self.user_id.map(|u| u.as_text()),
            resource_id: self.resource_id.map(|r| r.hyphenated().to_string()),
            action_prefix: self.action.clone().filter(|a| !a.trim().is_empty()),
            from: self
                .from
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|v| parse_bound("from", v, false))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|v| parse_bound("to", v, true))
                .transpose()?,
        })
    }
}

/// Access report: audit events matching the filters, newest first.
#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, body = Envelope<Vec<AuditRow>>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn events(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let page =
        PageRequest::new(q.page, q.limit).map_err(|m| ApiError(AppError::field("page", &m)))?;
    let (rows, meta) = st
        .app
        .governance()
        .access_report(&ctx, &q.to_query()?, page)
        .await?;
    Ok(paged(rows, meta))
}

/// The same access report as CSV (up to 10,000 rows).
#[utoipa::path(get, path = "/api/v1/audit/events.csv", tag = "audit", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, content_type = "text/csv", description = "RFC 4180 CSV"), (status = 403, body = ErrorBody)))]
pub async fn events_csv(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let csv = st
        .app
        .governance()
        .access_report_csv(&ctx, &q.to_query()?)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"access-report.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}
