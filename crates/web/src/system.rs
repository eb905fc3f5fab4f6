//! Health, readiness, metrics and the OpenAPI document.

use crate::WebState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub timestamp: String,
    pub version: String,
    pub checks: HealthChecks,
}

#[derive(Serialize, ToSchema)]
pub struct HealthChecks {
    pub database: String,
}

async fn health_body(st: &WebState) -> (StatusCode, Health) {
    let db_ok = st.app.database_ready().await;
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let h = Health {
        status: if db_ok { "healthy" } else { "unhealthy" }.into(),
        timestamp: st
            .app
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        version: env!("CARGO_PKG_VERSION").into(),
        checks: HealthChecks {
            database: if db_ok { "healthy" } else { "unhealthy" }.into(),
        },
    };
    (status, h)
}

/// Overall health with component checks.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(st): State<WebState>) -> Response {
    let (s, h) = health_body(&st).await;
    (s, Json(h)).into_response()
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "system", responses((status = 200, description = "alive")))]
pub async fn live() -> Response {
    (StatusCode::OK, Json(serde_json::json!({"status": "alive"}))).into_response()
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/health/ready", tag = "system", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn ready(State(st): State<WebState>) -> Response {
    let (s, h) = health_body(&st).await;
    (s, Json(h)).into_response()
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "text/plain", description = "Prometheus text format")))]
pub async fn metrics(State(st): State<WebState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::kit::metrics::render(&st),
    )
        .into_response()
}

/// The public key that verifies the audit trail's signed checkpoints.
#[utoipa::path(get, path = "/api/v1/audit/public-key", tag = "system", responses((status = 200, body = crate::kit::json::Envelope<clinicos_app::governance::audit_trail::AuditKey>)))]
pub async fn audit_public_key(
    State(st): State<WebState>,
) -> Result<Response, crate::kit::error::ApiError> {
    Ok(crate::kit::json::ok(
        st.app.governance().audit_public_key().await?,
    ))
}
