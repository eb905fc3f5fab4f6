//! Patient erasure (`/api/v1/patients/{id}/erasure`) and legal holds
//! (`/api/v1/patients/{id}/legal-holds`). Erasure needs `patients:erase`,
//! holds `legal_holds:manage`; the rules, the order of the steps and the
//! audit live in `clinicos_app::patients::erasure`.

use crate::kit::error::{ApiResult, ErrorBody};
use crate::kit::extract::ApiAuth;
use crate::kit::ids::InPath;
use crate::kit::json::{created, ok, ApiJson, Envelope};
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clinicos_app::patients::erasure::{
    EraseInput, Erasure, ErasureCheck, ErasureReceipt, LegalHold, LegalHoldInput,
};
use clinicos_domain::{LegalHoldId, PatientId};

/// Whether the patient can be erased now: legal holds placed, the retention its medical record still needs under the organisation's jurisdiction packs (from the last clinical entry; a patient without clinical entries has nothing to keep), and the records merged into it (erased with it). 410 `PATIENT_ERASED` once erased. Audited (`patient.erasure_checked`).
#[utoipa::path(get, path = "/api/v1/patients/{id}/erasure/check", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<ErasureCheck>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn erasure_check(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().erasure_check(&ctx, id).await?))
}

/// An erased patient's tombstone: when, by whom, the reason code and the request's reference, and whether the data key is destroyed. 404 when the patient was not erased.
#[utoipa::path(get, path = "/api/v1/patients/{id}/erasure", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<Erasure>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_erasure(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().erasure(&ctx, id).await?))
}

/// Erase the patient for good, with the records merged into it: the data key is destroyed in the key store (every ciphertext of the patient, in every backup, becomes unreadable), the name index, identifiers, clinical records, attachments and their files, share links, family links, care relationships, portal codes and sessions, outbox messages and released legal holds are deleted, and a tombstone stays so that the id answers 410 `PATIENT_ERASED`. Refused with 409 `LEGAL_HOLD` while a hold is placed and 409 `RETENTION_APPLIES` while the medical record must be kept. Every running instance forgets the key before the answer. Audited (`patient.erased`).
#[utoipa::path(post, path = "/api/v1/patients/{id}/erasure", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = EraseInput,
    responses((status = 201, body = Envelope<ErasureReceipt>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn erase_patient(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<EraseInput>,
) -> ApiResult<Response> {
    Ok(created(st.app.patients().erase_patient(&ctx, id, b).await?))
}

/// The patient's legal holds, newest first, released ones included (reasons decrypted). Audited.
#[utoipa::path(get, path = "/api/v1/patients/{id}/legal-holds", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses((status = 200, body = Envelope<Vec<LegalHold>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn list_legal_holds(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
) -> ApiResult<Response> {
    Ok(ok(st.app.patients().legal_holds(&ctx, id).await?))
}

/// Place a legal hold (litigation, an investigation, a regulator's request): the record cannot be erased until it is released. The reason is stored encrypted. Audited.
#[utoipa::path(post, path = "/api/v1/patients/{id}/legal-holds", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")), request_body = LegalHoldInput,
    responses((status = 201, body = Envelope<LegalHold>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn place_legal_hold(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath(id): InPath<PatientId>,
    ApiJson(b): ApiJson<LegalHoldInput>,
) -> ApiResult<Response> {
    Ok(created(
        st.app.patients().place_legal_hold(&ctx, id, b).await?,
    ))
}

/// Release a placed legal hold (404 when there is no such placed hold). Audited.
#[utoipa::path(post, path = "/api/v1/patients/{id}/legal-holds/{hold}/release", tag = "patients", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id"), ("hold" = uuid::Uuid, Path, description = "Legal hold id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn release_legal_hold(
    State(st): State<WebState>,
    ApiAuth(ctx): ApiAuth,
    InPath((id, hold)): InPath<(PatientId, LegalHoldId)>,
) -> ApiResult<Response> {
    st.app.patients().release_legal_hold(&ctx, id, hold).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
