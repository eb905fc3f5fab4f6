//! Share links: one row per link to one attachment. The token itself is
//! never stored, only its SHA-256 (hex), which is how a use finds the row.

use crate::kit::row::{ts, RowExt};
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{AttachmentId, PatientId, ShareLinkId, UserId};
use sqlx::any::AnyRow;

/// One share link.
#[derive(Clone, Debug)]
pub struct ShareLinkRow {
    pub id: ShareLinkId,
    pub patient_id: PatientId,
    pub attachment_id: AttachmentId,
    pub token_hash: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub use_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, patient_id, attachment_id, token_hash, created_by, created_at, \
                    expires_at, revoked_at, revoked_by, use_count, last_used_at";

fn row(r: &AnyRow) -> StoreResult<ShareLinkRow> {
    Ok(ShareLinkRow {
        id: r.parse("id")?,
        patient_id: r.parse("patient_id")?,
        attachment_id: r.parse("attachment_id")?,
        token_hash: r.text("token_hash")?,
        created_by: r.parse("created_by")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
        revoked_at: r.opt_time("revoked_at")?,
        revoked_by: r.opt_text("revoked_by")?,
        use_count: r.int("use_count")?,
        last_used_at: r.opt_time("last_used_at")?,
    })
}

pub async fn insert(tx: &mut TenantTx, l: &ShareLinkRow) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO share_links (tenant_id, {COLS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, 0, NULL)"
    );
    let q = tx
        .q(&sql)
        .bind(l.id.as_text())
        .bind(l.patient_id.as_text())
        .bind(l.attachment_id.as_text())
        .bind(l.token_hash.clone())
        .bind(l.created_by.as_text())
        .bind(ts(l.created_at))
        .bind(ts(l.expires_at));
    tx.exec(q).await?;
    Ok(())
}

/// A patient's links, newest first.
pub async fn list(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<ShareLinkRow>> {
    let sql = format!(
        "SELECT {COLS} FROM share_links WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY created_at DESC, id DESC"
    );
    let q = tx.q(&sql).bind(patient.as_text());
    tx.all(q).await?.iter().map(row).collect()
}

/// One link by id.
pub async fn get(tx: &mut TenantTx, id: ShareLinkId) -> StoreResult<ShareLinkRow> {
    let sql = format!("SELECT {COLS} FROM share_links WHERE tenant_id = $1 AND id = $2");
    let q = tx.q(&sql).bind(id.as_text());
    row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

/// The link a token opens (by the token's hash).
pub async fn by_token_hash(tx: &mut TenantTx, hash: &str) -> StoreResult<Option<ShareLinkRow>> {
    let sql = format!("SELECT {COLS} FROM share_links WHERE tenant_id = $1 AND token_hash = $2");
    let q = tx.q(&sql).bind(hash.to_owned());
    tx.opt(q).await?.as_ref().map(row).transpose()
}

/// Revoke a link (no-op when already revoked); true if this call revoked it.
pub async fn revoke(
    tx: &mut TenantTx,
    id: ShareLinkId,
    by: UserId,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q("UPDATE share_links SET revoked_at = $3, revoked_by = $4 \
            WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
        .bind(id.as_text())
        .bind(ts(at))
        .bind(by.as_text());
    Ok(tx.exec(q).await? > 0)
}

/// Count one use.
pub async fn mark_used(tx: &mut TenantTx, id: ShareLinkId, at: DateTime<Utc>) -> StoreResult<()> {
    let q = tx
        .q(
            "UPDATE share_links SET use_count = use_count + 1, last_used_at = $3 \
            WHERE tenant_id = $1 AND id = $2",
        )
        .bind(id.as_text())
        .bind(ts(at));
    tx.exec(q).await?;
    Ok(())
}
