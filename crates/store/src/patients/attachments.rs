//! Patient attachments: one row of metadata per file. The file's bytes
//! live in the blob store under `storage_key`; the file name is ciphertext
//! (encrypted and decrypted by the app layer).

use crate::kit::row::{ts, RowExt};
use crate::kit::sealed::Sealed;
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{AttachmentId, PatientId, UserId, VisitId};
use sqlx::any::AnyRow;

crate::sealed_columns! {
    /// `attachments.file_name`: the uploaded file's name.
    AttachmentFileName = "attachments"."file_name";
}

/// One attachment's metadata.
#[derive(Clone, Debug)]
pub struct AttachmentRow {
    pub id: AttachmentId,
    pub patient_id: PatientId,
    pub visit_id: Option<VisitId>,
    /// Ciphertext of the file name.
    pub file_name: Sealed<AttachmentFileName>,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the plaintext content.
    pub sha256: String,
    pub storage_key: String,
    pub sensitivity: String,
    pub uploaded_by: UserId,
    pub uploaded_at: DateTime<Utc>,
    pub scan_status: String,
}

const COLS: &str = "id, patient_id, visit_id, file_name, content_type, size_bytes, sha256, \
                    storage_key, tier, uploaded_by, uploaded_at, scan_status";

fn row(r: &AnyRow) -> StoreResult<AttachmentRow> {
    Ok(AttachmentRow {
        id: r.parse("id")?,
        patient_id: r.parse("patient_id")?,
        visit_id: r.opt_text("visit_id")?.and_then(|v| v.parse().ok()),
        file_name: Sealed::from_bytes(r.bytes("file_name")?.unwrap_or_default()),
        content_type: r.text("content_type")?,
        size_bytes: r.int("size_bytes")?,
        sha256: r.text("sha256")?,
        storage_key: r.text("storage_key")?,
        sensitivity: r.text("tier")?,
        uploaded_by: r.parse("uploaded_by")?,
        uploaded_at: r.time("uploaded_at")?,
        scan_status: r.text("scan_status")?,
    })
}

pub async fn insert(tx: &mut TenantTx, a: &AttachmentRow) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO attachments (tenant_id, {COLS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    let q = tx
        .q(&sql)
        .bind(a.id.as_text())
        .bind(a.patient_id.as_text())
        .bind(a.visit_id.map(|v| v.as_text()))
        .bind(a.file_name.to_vec())
        .bind(a.content_type.clone())
        .bind(a.size_bytes)
        .bind(a.sha256.clone())
        .bind(a.storage_key.clone())
        .bind(a.sensitivity.clone())
        .bind(a.uploaded_by.as_text())
        .bind(ts(a.uploaded_at))
        .bind(a.scan_status.clone());
    tx.exec(q).await?;
    Ok(())
}

/// A patient's attachments, newest first.
pub async fn list(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<AttachmentRow>> {
    let sql = format!(
        "SELECT {COLS} FROM attachments WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY uploaded_at DESC, id DESC"
    );
    let q = tx.q(&sql).bind(patient.as_text());
    tx.all(q).await?.iter().map(row).collect()
}

/// One attachment of a patient.
pub async fn get(
    tx: &mut TenantTx,
    patient: PatientId,
    id: AttachmentId,
) -> StoreResult<AttachmentRow> {
    let sql = format!(
        "SELECT {COLS} FROM attachments WHERE tenant_id = $1 AND patient_id = $2 AND id = $3"
    );
    let q = tx.q(&sql).bind(patient.as_text()).bind(id.as_text());
    row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

/// The storage keys of a patient's attachments (for the orphan-file sweep).
pub async fn storage_keys(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<String>> {
    let q = tx
        .q("SELECT storage_key FROM attachments WHERE tenant_id = $1 AND patient_id = $2")
        .bind(patient.as_text());
    tx.all(q)
        .await?
        .iter()
        .map(|r| r.text("storage_key"))
        .collect()
}
