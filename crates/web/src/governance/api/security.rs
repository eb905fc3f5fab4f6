//! `/api/v1/security/*`: security events (list, acknowledge) and the
//! organisation's security thresholds and rate limits.

use crate::kit::error::{ApiError, ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{ok, paged, ApiJson, ApiQuery, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::response::Response;
use clinicos_app::governance::access_report::parse_bound;
use clinicos_app::governance::types::{EventQuery, SecurityEvent};
use clinicos_app::kit::domain_schema;
use clinicos_app::AppError;
use clinicos_domain::governance::security::{EventKind, SecuritySettings};
use clinicos_domain::kit::page::PageRequest;
use serde::Deserialize;

/// Filters of the security event list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct EventFilter {
    /// Only this kind, e.g. `failed_sign_ins`.
    pub kind: Option<String>,
    /// From this date (YYYY-MM-DD, UTC) or RFC 3339 time, inclusive.
    pub from: Option<String>,
    /// To this date (inclusive) or RFC 3339 time (exclusive).
    pub to: Option<String>,
    /// Only events not yet acknowledged.
    pub open: Option<bool>,
    pub page: Option<u32>,
    pub limit: Option<u32>,
}

impl EventFilter {
    /// The store query, with kind and dates checked.
    pub fn to_query(&self) -> Result<EventQuery, AppError> {
        let kind = match self.kind.as_deref().filter(|k| !k.is_empty()) {
            Some(k) => Some(
                k.parse::<EventKind>()
                    .map_err(|m| AppError::field("kind", &m))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let bound = |field: &str, v: &Option<String>, end: bool| {
            v.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| parse_bound(field, s, end))
                .transpose()
        };
        Ok(EventQuery {
            kind,
            from: bound("from", &self.from, false)?,
            to: bound("to", &self.to, true)?,
            open_only: self.open.unwrap_or(false),
        })
    }
}

/// Security events, newest first (owner, privacy officer).
#[utoipa::path(get, path = "/api/v1/security/events", tag = "security", security(("bearer" = [])), params(EventFilter),
    responses((status = 200, body = Envelope<Vec<SecurityEvent>>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_events(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiQuery(q): ApiQuery<EventFilter>,
) -> ApiResult<Response> {
    let page =
        PageRequest::new(q.page, q.limit).map_err(|m| ApiError(AppError::field("page", &m)))?;
    let (rows, meta) = st
        .app
        .governance()
        .security_events(&ctx, &q.to_query()?, page)
        .await?;
    Ok(paged(rows, meta))
}

/// Acknowledge a security event (someone has looked at it).
#[utoipa::path(post, path = "/api/v1/security/events/{id}/acknowledge", tag = "security", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Security event id")),
    responses((status = 200, body = Envelope<Object>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn acknowledge_event(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<uuid::Uuid>,
) -> ApiResult<Response> {
    st.app
        .governance()
        .acknowledge_security_event(&ctx, id)
        .await?;
    Ok(ok(serde_json::json!({"acknowledged": true})))
}

/// The organisation's security thresholds and API rate limit.
#[utoipa::path(get, path = "/api/v1/security/settings", tag = "security", security(("bearer" = [])),
    responses((status = 200, body = Envelope<domain_schema::SecuritySettings>), (status = 403, body = ErrorBody)))]
pub async fn get_settings(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
) -> ApiResult<Response> {
    Ok(ok(st.app.governance().security_settings(&ctx).await?))
}

/// Replace the security thresholds and API rate limit (owner).
#[utoipa::path(put, path = "/api/v1/security/settings", tag = "security", security(("bearer" = [])), request_body = domain_schema::SecuritySettings,
    responses((status = 200, body = Envelope<domain_schema::SecuritySettings>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(s): ApiJson<SecuritySettings>,
) -> ApiResult<Response> {
    Ok(ok(st
        .app
        .governance()
        .put_security_settings(&ctx, &s)
        .await?))
}
