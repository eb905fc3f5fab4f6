//! Merging duplicate patient records (`/api/v1/patients/merge`) and
//! undoing a merge. Needs `patients:merge`; what moves, the checks and the
//! audit live in `clinicos_app::patients::merge`.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::response::Response;
use clinicos_app::patients::merge::{Merge, MergeInput};
use clinicos_domain::MergeId;

/// Merge `merged_id` into `survivor_id`: the merged record's history, allergies, conditions, medications, attachments, identifiers and family links move to the survivor (re-encrypted under its key), care relationships are copied; the merged record stays with `merged_into` set, so its id keeps resolving. Refuses the same patient twice (422), unknown or other organisations' patients (404) and records already merged (409). Audited.
#[utoipa::path(post, path = "/api/v1/patients/merge", tag = "patients", security(("bearer" = [])), request_body = MergeInput,
    responses((status = 201, body = Envelope<Merge>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn merge_patients(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    ApiJson(b): ApiJson<MergeInput>,
) -> ApiResult<Response> {
    Ok(created(st.app.patients().merge_patients(&ctx, b).await?))
}

/// Undo a merge: exactly the rows it moved go back (re-encrypted under the merged record's key), copied care relationships are removed and the merged record is unmarked. Only the newest live merge touching either record can be undone (409 otherwise). Audited.
#[utoipa::path(post, path = "/api/v1/patients/merge/{merge_id}/undo", tag = "patients", security(("bearer" = [])),
    params(("merge_id" = uuid::Uuid, Path, description = "Merge id")),
    responses((status = 200, body = Envelope<Merge>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn undo_merge(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(merge_id): InPath<MergeId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().undo_merge(&ctx, merge_id).await?))
}
