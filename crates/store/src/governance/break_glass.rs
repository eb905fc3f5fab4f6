//! Break-the-glass grants: who opened which patient's record in an
//! emergency, why (ciphertext: a reason may describe the patient), until
//! when, and the privacy officer's review.

use crate::kit::row::{ts, RowExt};
use crate::kit::sealed::Sealed;
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{PatientId, UserId};
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct GrantRow {
    pub id: String,
    pub patient_id: PatientId,
    pub user_id: UserId,
    pub reason: Sealed<BreakGlassReason>,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub review_status: String,
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<Sealed<BreakGlassReviewNote>>,
}

const COLS: &str =
    "id, patient_id, user_id, reason, started_at, expires_at, ended_at, review_status, \
    reviewed_by, reviewed_at, review_note";

fn from_row(r: &AnyRow) -> StoreResult<GrantRow> {
    Ok(GrantRow {
        id: r.text("id")?,
        patient_id: r.parse("patient_id")?,
        user_id: r.parse("user_id")?,
        reason: Sealed::from_bytes(r.bytes("reason")?.unwrap_or_default()),
        started_at: r.time("started_at")?,
        expires_at: r.time("expires_at")?,
        ended_at: r.opt_time("ended_at")?,
        review_status: r.text("review_status")?,
        reviewed_by: r.opt_text("reviewed_by")?.and_then(|u| u.parse().ok()),
        reviewed_at: r.opt_time("reviewed_at")?,
        review_note: r.bytes("review_note")?.map(Sealed::from_bytes),
    })
}

pub async fn insert(tx: &mut TenantTx, g: &GrantRow) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO break_glass_grants (tenant_id, id, patient_id, user_id, reason, started_at, expires_at, \
            review_status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')")
        .bind(g.id.clone())
        .bind(g.patient_id.as_text())
        .bind(g.user_id.as_text())
        .bind(g.reason.to_vec())
        .bind(ts(g.started_at))
        .bind(ts(g.expires_at));
    tx.exec(q).await?;
    Ok(())
}

crate::sealed_columns! {
    /// `break_glass_grants.reason`: why the record was opened.
    BreakGlassReason = "break_glass_grants"."reason";
    /// `break_glass_grants.review_note`: the reviewer's note.
    BreakGlassReviewNote = "break_glass_grants"."review_note";
}

/// The user's grant for the patient that is in force at `now`.
pub async fn active(
    tx: &mut TenantTx,
    patient: PatientId,
    user: UserId,
    now: DateTime<Utc>,
) -> StoreResult<Option<GrantRow>> {
    let sql = format!(
        "SELECT {COLS} FROM break_glass_grants WHERE tenant_id = $1 AND patient_id = $2 AND user_id = $3 \
         AND ended_at IS NULL AND expires_at > $4 ORDER BY started_at DESC LIMIT 1"
    );
    let q = tx
        .q(&sql)
        .bind(patient.as_text())
        .bind(user.as_text())
        .bind(ts(now));
    tx.opt(q).await?.as_ref().map(from_row).transpose()
}

pub async fn get(tx: &mut TenantTx, id: &str) -> StoreResult<GrantRow> {
    let sql = format!("SELECT {COLS} FROM break_glass_grants WHERE tenant_id = $1 AND id = $2");
    let q = tx.q(&sql).bind(id.to_owned());
    from_row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

/// Grants by review status (`pending`, `justified`, `unjustified`, or ''
/// for all), newest first.
pub async fn list(tx: &mut TenantTx, status: &str, limit: i64) -> StoreResult<Vec<GrantRow>> {
    let sql = format!(
        "SELECT {COLS} FROM break_glass_grants WHERE tenant_id = $1 AND ($2 = '' OR review_status = $2) \
         ORDER BY started_at DESC LIMIT $3"
    );
    let q = tx.q(&sql).bind(status.to_owned()).bind(limit);
    tx.all(q).await?.iter().map(from_row).collect()
}

/// End a grant early; true when it was still open.
pub async fn end(
    tx: &mut TenantTx,
    id: &str,
    user: UserId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q("UPDATE break_glass_grants SET ended_at = $4 WHERE tenant_id = $1 AND id = $2 AND user_id = $3 \
            AND ended_at IS NULL AND expires_at > $4")
        .bind(id.to_owned())
        .bind(user.as_text())
        .bind(ts(now));
    Ok(tx.exec(q).await? > 0)
}

/// Record the review outcome once; true when the grant was pending.
pub async fn review(
    tx: &mut TenantTx,
    id: &str,
    outcome: &str,
    note: Option<Sealed<BreakGlassReviewNote>>,
    by: UserId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q("UPDATE break_glass_grants SET review_status = $3, review_note = $4, reviewed_by = $5, reviewed_at = $6 \
            WHERE tenant_id = $1 AND id = $2 AND review_status = 'pending'")
        .bind(id.to_owned())
        .bind(outcome.to_owned())
        .bind(note.as_ref().map(Sealed::to_vec))
        .bind(by.as_text())
        .bind(ts(now));
    Ok(tx.exec(q).await? > 0)
}
