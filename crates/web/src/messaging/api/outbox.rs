//! `/api/v1/outbox`: the development outbox.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::json::{ok, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::response::Response;
use clinicos_app::messaging::types::OutboxMessage;

/// The development outbox: the queued emails and texts, opened (404 unless
/// the server runs in development mode). The owner sees every message;
/// others see the messages addressed to them and, in their branches, those
/// without a one-time code or link. Audited.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, body = Envelope<Vec<OutboxMessage>>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn outbox(State(st): State<WebState>, ApiAuth(ctx): ApiAuth) -> ApiResult<Response> {
    Ok(ok(st.app.messaging().development_outbox(&ctx, 50).await?))
}
