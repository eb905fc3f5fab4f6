//! `/outbox`: the development outbox page.

use crate::kit::extract::PageAuth;
use crate::kit::http::FreshCsrf;
use crate::kit::page::{error_response, render, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use clinicos_app::messaging::types::OutboxMessage;

pub fn routes() -> Router<WebState> {
    Router::new().route("/outbox", get(outbox))
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    c: Chrome,
    messages: Vec<(OutboxMessage, String)>,
}

/// The development outbox: what would have been emailed, newest first, so
/// that invitation and reset links can be followed without a mail server.
pub async fn outbox(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let messages = match st.app.messaging().development_outbox(&ctx, 50).await {
        Ok(m) => m,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "outbox-title",
        "/outbox",
    )
    .await;
    let had = c.flash.is_some();
    let messages = messages
        .into_iter()
        .map(|m| {
            let at = crate::kit::page::when(&m.created_at);
            (m, at)
        })
        .collect();
    render(&OutboxPage { c, messages }, had)
}
