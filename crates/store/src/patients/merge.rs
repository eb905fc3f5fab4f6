//! Patient merges: the merge record, the exact list of rows each merge
//! moved, and the row moves themselves. Table and column names passed to
//! the generic moves come from constants in the merge service, never from
//! input.

use crate::kit::row::{ts, RowExt};
use crate::kit::sealed::Sealed;
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{AttachmentId, MergeId, PatientId, UserId};
use sqlx::any::AnyRow;

crate::sealed_columns! {
    /// `patient_merges.reason`: why two records were merged.
    MergeReason = "patient_merges"."reason";
}

/// One merge of `merged_id` into `survivor_id`.
#[derive(Clone, Debug)]
pub struct MergeRow {
    pub id: MergeId,
    pub survivor_id: PatientId,
    pub merged_id: PatientId,
    /// Encrypted under the survivor's data key.
    pub reason: Sealed<MergeReason>,
    pub merged_by: UserId,
    pub merged_at: DateTime<Utc>,
    pub undone_by: Option<UserId>,
    pub undone_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, survivor_id, merged_id, reason, merged_by, merged_at, undone_by, undone_at";

fn from_row(r: &AnyRow) -> StoreResult<MergeRow> {
    Ok(MergeRow {
        id: r.parse("id")?,
        survivor_id: r.parse("survivor_id")?,
        merged_id: r.parse("merged_id")?,
        reason: Sealed::from_bytes(r.bytes("reason")?.unwrap_or_default()),
        merged_by: r.parse("merged_by")?,
        merged_at: r.time("merged_at")?,
        undone_by: r.opt_text("undone_by")?.and_then(|u| u.parse().ok()),
        undone_at: r.opt_time("undone_at")?,
    })
}

pub async fn insert(tx: &mut TenantTx, m: &MergeRow) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO patient_merges (tenant_id, id, survivor_id, merged_id, reason, merged_by, merged_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(m.id.as_text())
        .bind(m.survivor_id.as_text())
        .bind(m.merged_id.as_text())
        .bind(m.reason.to_vec())
        .bind(m.merged_by.as_text())
        .bind(ts(m.merged_at));
    tx.exec(q).await?;
    Ok(())
}

pub async fn get(tx: &mut TenantTx, id: MergeId) -> StoreResult<MergeRow> {
    let sql = format!("SELECT {COLS} FROM patient_merges WHERE tenant_id = $1 AND id = $2");
    let q = tx.q(&sql).bind(id.as_text());
    from_row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

/// Merges not undone that touch any of `patients` (either side), newest
/// first.
pub async fn live_touching(
    tx: &mut TenantTx,
    patients: &[PatientId],
) -> StoreResult<Vec<MergeRow>> {
    let mut out: Vec<MergeRow> = Vec::new();
    for p in patients {
        let sql = format!(
            "SELECT {COLS} FROM patient_merges WHERE tenant_id = $1 AND undone_at IS NULL \
             AND (survivor_id = $2 OR merged_id = $2)"
        );
        let q = tx.q(&sql).bind(p.as_text());
        for r in tx.all(q).await? {
            let m = from_row(&r)?;
            if !out.iter().any(|o| o.id == m.id) {
                out.push(m);
            }
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse((m.merged_at, m.id)));
    Ok(out)
}

/// Mark a merge undone; false when it already was.
pub async fn mark_undone(
    tx: &mut TenantTx,
    id: MergeId,
    by: UserId,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q("UPDATE patient_merges SET undone_by = $3, undone_at = $4 \
            WHERE tenant_id = $1 AND id = $2 AND undone_at IS NULL")
        .bind(id.as_text())
        .bind(by.as_text())
        .bind(ts(at));
    Ok(tx.exec(q).await? == 1)
}

/// One row a merge moved or copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveRow {
    pub table: String,
    pub row_key: String,
    pub detail: String,
}

pub async fn add_move(tx: &mut TenantTx, merge: MergeId, m: &MoveRow) -> StoreResult<()> {
    let q = tx
        .q(
            "INSERT INTO patient_merge_moves (tenant_id, merge_id, table_name, row_key, detail) \
            VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(merge.as_text())
        .bind(m.table.clone())
        .bind(m.row_key.clone())
        .bind(m.detail.clone());
    tx.exec(q).await?;
    Ok(())
}

pub async fn moves(tx: &mut TenantTx, merge: MergeId) -> StoreResult<Vec<MoveRow>> {
    let q = tx
        .q(
            "SELECT table_name, row_key, detail FROM patient_merge_moves \
            WHERE tenant_id = $1 AND merge_id = $2 ORDER BY table_name, row_key",
        )
        .bind(merge.as_text());
    tx.all(q)
        .await?
        .iter()
        .map(|r| {
            Ok(MoveRow {
                table: r.text("table_name")?,
                row_key: r.text("row_key")?,
                detail: r.text("detail")?,
            })
        })
        .collect()
}

/// The survivor a patient was merged into, if any (NotFound when no such
/// patient).
pub async fn merged_into(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Option<PatientId>> {
    let q = tx
        .q("SELECT merged_into FROM patients WHERE tenant_id = $1 AND id = $2")
        .bind(patient.as_text());
    tx.opt(q)
        .await?
        .ok_or(StoreError::NotFound)?
        .opt_text("merged_into")?
        .map(|s| {
            s.parse()
                .map_err(|_| StoreError::Corrupt("column merged_into: not an id".into()))
        })
        .transpose()
}

/// Mark (or, with `None`, unmark) a patient as merged into another.
pub async fn set_merged_into(
    tx: &mut TenantTx,
    patient: PatientId,
    into: Option<(PatientId, DateTime<Utc>)>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE patients SET merged_into = $3, merged_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(patient.as_text())
        .bind(into.map(|(s, _)| s.as_text()))
        .bind(into.map(|(_, at)| ts(at)));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A row of a child table with its sealed columns (ciphertext), in the
/// order asked for.
#[derive(Clone, Debug)]
pub struct SealedRow {
    pub id: String,
    pub sealed: Vec<Option<Vec<u8>>>,
}

/// The rows of `table` that belong to `patient` (all of them, or only
/// those in `only`), with the `sealed` columns.
pub async fn sealed_rows(
    tx: &mut TenantTx,
    table: &str,
    sealed: &[&str],
    patient: PatientId,
    only: Option<&[String]>,
) -> StoreResult<Vec<SealedRow>> {
    let mut cols = vec!["id"];
    cols.extend_from_slice(sealed);
    let sql = format!(
        "SELECT {} FROM {table} WHERE tenant_id = $1 AND patient_id = $2 ORDER BY id",
        cols.join(", ")
    );
    let q = tx.q(&sql).bind(patient.as_text());
    let mut out = Vec::new();
    for r in tx.all(q).await? {
        let id = r.text("id")?;
        if only.is_some_and(|o| !o.contains(&id)) {
            continue;
        }
        let mut values = Vec::with_capacity(sealed.len());
        for c in sealed {
            values.push(r.bytes(c)?);
        }
        out.push(SealedRow { id, sealed: values });
    }
    Ok(out)
}

/// Give a row of `table` to another patient with its re-sealed columns.
pub async fn rehome(
    tx: &mut TenantTx,
    table: &str,
    sealed: &[&str],
    row: &SealedRow,
    to: PatientId,
) -> StoreResult<()> {
    let sets: Vec<String> = sealed
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 4))
        .collect();
    let mut assignments = vec!["patient_id = $3".to_owned()];
    assignments.extend(sets);
    let sql = format!(
        "UPDATE {table} SET {} WHERE tenant_id = $1 AND id = $2",
        assignments.join(", ")
    );
    let mut q = tx.q(&sql).bind(row.id.clone()).bind(to.as_text());
    for v in &row.sealed {
        q = q.bind(v.clone());
    }
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// An attachment's storage key (the merge re-encrypts the file under a new
/// key and keeps the old one for undo).
pub async fn attachment_storage_key(tx: &mut TenantTx, id: AttachmentId) -> StoreResult<String> {
    let q = tx
        .q("SELECT storage_key FROM attachments WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text());
    tx.opt(q)
        .await?
        .ok_or(StoreError::NotFound)?
        .text("storage_key")
}

pub async fn set_attachment_storage_key(
    tx: &mut TenantTx,
    id: AttachmentId,
    key: &str,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE attachments SET storage_key = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(key.to_owned());
    tx.exec(q).await?;
    Ok(())
}

/// The (user, kind) care relationships `from` has and `to` lacks.
pub async fn care_missing_on(
    tx: &mut TenantTx,
    from: PatientId,
    to: PatientId,
) -> StoreResult<Vec<(UserId, String)>> {
    let q = tx
        .q("SELECT a.user_id, a.kind FROM care_relationships a WHERE a.tenant_id = $1 AND a.patient_id = $2 \
            AND NOT EXISTS (SELECT 1 FROM care_relationships b WHERE b.tenant_id = $1 \
            AND b.patient_id = $3 AND b.user_id = a.user_id AND b.kind = a.kind) \
            ORDER BY a.user_id, a.kind")
        .bind(from.as_text())
        .bind(to.as_text());
    tx.all(q)
        .await?
        .iter()
        .map(|r| Ok((r.parse("user_id")?, r.text("kind")?)))
        .collect()
}

/// Copy one care relationship of `from` to `to`.
pub async fn copy_care(
    tx: &mut TenantTx,
    from: PatientId,
    to: PatientId,
    user: UserId,
    kind: &str,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO care_relationships (tenant_id, patient_id, user_id, kind, last_at, added_by) \
            SELECT tenant_id, $3, user_id, kind, last_at, added_by FROM care_relationships \
            WHERE tenant_id = $1 AND patient_id = $2 AND user_id = $4 AND kind = $5")
        .bind(from.as_text())
        .bind(to.as_text())
        .bind(user.as_text())
        .bind(kind.to_owned());
    tx.exec(q).await?;
    Ok(())
}

/// Remove one care relationship (undo of a copy).
pub async fn drop_care(
    tx: &mut TenantTx,
    patient: PatientId,
    user: UserId,
    kind: &str,
) -> StoreResult<()> {
    let q = tx
        .q(
            "DELETE FROM care_relationships WHERE tenant_id = $1 AND patient_id = $2 \
            AND user_id = $3 AND kind = $4",
        )
        .bind(patient.as_text())
        .bind(user.as_text())
        .bind(kind.to_owned());
    tx.exec(q).await?;
    Ok(())
}
