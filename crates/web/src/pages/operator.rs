//! Pages: operator (filled in by the pages work).

use crate::WebState;
use axum::Router;

pub fn routes() -> Router<WebState> {
    Router::new()
}
