//! Erasing a patient in the main database: the rows that go, the shell
//! that stays, the tombstone, and the legal holds that prevent it. The key
//! destruction is the key store's (`kit/keystore.rs`); the order and the
//! rules are the app's (`app/patients/erasure.rs`).
//!
//! Invariants:
//! - Every table with a `patient_id` column is named in exactly one of
//!   [`DELETED`] or [`KEPT`] (with the reason); a test enumerates the
//!   schema on both databases and fails on a table nobody classified.
//! - [`erase`] runs in the caller's transaction: the deletions, the blank
//!   shell and the tombstone commit together or not at all.

use crate::kit::row::{ts, RowExt};
use crate::kit::sealed::Sealed;
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{LegalHoldId, PatientId, UserId};

crate::sealed_columns! {
    /// `patient_legal_holds.reason`: why the record must be kept.
    LegalHoldReason = "patient_legal_holds"."reason";
}

/// Tables whose rows of the erased patient are deleted, in this order
/// (children before the rows they reference), with the column naming the
/// patient. Family links name the patient on either side.
pub const DELETED: &[(&str, &str)] = &[
    ("patient_name_pairs", "patient_id"),
    ("patient_name_tokens", "patient_id"),
    ("patient_identifiers", "patient_id"),
    ("history_entries", "patient_id"),
    ("allergies", "patient_id"),
    ("conditions", "patient_id"),
    ("medications", "patient_id"),
    ("share_links", "patient_id"),
    ("attachments", "patient_id"),
    ("patient_links", "patient_id"),
    ("patient_links", "dependant_id"),
    ("care_relationships", "patient_id"),
    ("portal_otp_codes", "patient_id"),
    ("portal_sessions", "patient_id"),
    ("patient_legal_holds", "patient_id"),
];

/// Tables whose rows naming the patient stay, and why (none holds PHI in
/// the clear; what they seal was sealed under the destroyed key).
pub const KEPT: &[(&str, &str)] = &[
    (
        "patients",
        "the blank shell: the id stays so that links answer 410 Gone",
    ),
    (
        "patient_erasures",
        "the tombstone: who erased the record, when and why",
    ),
    (
        "break_glass_grants",
        "an emergency access happened and is accountable; its reason was sealed under the destroyed key",
    ),
    (
        "patient_merges",
        "the merge history of the id; its reason was sealed under a destroyed key",
    ),
];

/// Every table the erasure knows about (for the schema test).
pub fn classified_tables() -> Vec<&'static str> {
    let mut t: Vec<&'static str> = DELETED.iter().map(|(t, _)| *t).collect();
    t.extend(KEPT.iter().map(|(t, _)| *t));
    t.sort_unstable();
    t.dedup();
    t
}

/// The erasure's record (no PHI: ids, times, a reason code and the
/// request's reference).
#[derive(Clone, Debug)]
pub struct ErasureRow {
    pub patient_id: PatientId,
    pub erased_at: DateTime<Utc>,
    /// `None` when a restored backup was erased again at start-up by the
    /// key store's record and the eraser was not recorded there.
    pub erased_by: Option<UserId>,
    pub reason: String,
    pub reference: String,
    /// When the data key was destroyed in the key store (`None`: not yet;
    /// the start-up sweep finishes it).
    pub keys_destroyed_at: Option<DateTime<Utc>>,
}

const ERASURE_COLS: &str = "patient_id, erased_at, erased_by, reason, reference, keys_destroyed_at";

fn erasure_row(r: &sqlx::any::AnyRow) -> StoreResult<ErasureRow> {
    Ok(ErasureRow {
        patient_id: r.parse("patient_id")?,
        erased_at: r.time("erased_at")?,
        erased_by: r.opt_text("erased_by")?.and_then(|u| u.parse().ok()),
        reason: r.text("reason")?,
        reference: r.text("reference")?,
        keys_destroyed_at: r.opt_time("keys_destroyed_at")?,
    })
}

/// The tombstone of an erased patient, if erased.
pub async fn erasure(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Option<ErasureRow>> {
    let sql = format!(
        "SELECT {ERASURE_COLS} FROM patient_erasures WHERE tenant_id = $1 AND patient_id = $2"
    );
    let q = tx.q(&sql).bind(patient.as_text());
    tx.opt(q).await?.as_ref().map(erasure_row).transpose()
}

/// Erasures whose data key is not yet destroyed (a key store that could
/// not be reached at the time).
pub async fn keys_pending(tx: &mut TenantTx) -> StoreResult<Vec<ErasureRow>> {
    let sql = format!(
        "SELECT {ERASURE_COLS} FROM patient_erasures WHERE tenant_id = $1 \
         AND keys_destroyed_at IS NULL ORDER BY erased_at, patient_id"
    );
    let q = tx.q(&sql);
    tx.all(q).await?.iter().map(erasure_row).collect()
}

/// How many patients of the tenant were erased.
pub async fn count(tx: &mut TenantTx) -> StoreResult<i64> {
    let q = tx.q("SELECT COUNT(*) AS n FROM patient_erasures WHERE tenant_id = $1");
    tx.one(q).await?.int("n")
}

/// Record that the patient's data key is gone from the key store.
pub async fn keys_destroyed(
    tx: &mut TenantTx,
    patient: PatientId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE patient_erasures SET keys_destroyed_at = $3 WHERE tenant_id = $1 AND patient_id = $2")
        .bind(patient.as_text())
        .bind(ts(at));
    tx.exec(q).await?;
    Ok(())
}

/// The first and the newest moment anything was written to the
/// patient's medical record (history, allergies, conditions, medications,
/// attachments); both `None` when the patient has no medical record at all
/// (demographics only). Retention runs from these.
pub async fn clinical_span(
    tx: &mut TenantTx,
    patient: PatientId,
) -> StoreResult<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
    let q = tx
        .q(
            "SELECT MIN(first_at) AS first_at, MAX(last_at) AS last_at FROM (\
            SELECT MIN(recorded_at) AS first_at, MAX(updated_at) AS last_at FROM history_entries \
            WHERE tenant_id = $1 AND patient_id = $2 \
            UNION ALL SELECT MIN(recorded_at), MAX(updated_at) FROM allergies \
            WHERE tenant_id = $1 AND patient_id = $2 \
            UNION ALL SELECT MIN(recorded_at), MAX(updated_at) FROM conditions \
            WHERE tenant_id = $1 AND patient_id = $2 \
            UNION ALL SELECT MIN(recorded_at), MAX(updated_at) FROM medications \
            WHERE tenant_id = $1 AND patient_id = $2 \
            UNION ALL SELECT MIN(uploaded_at), MAX(uploaded_at) FROM attachments \
            WHERE tenant_id = $1 AND patient_id = $2\
            ) e",
        )
        .bind(patient.as_text());
    let r = tx.one(q).await?;
    Ok((r.opt_time("first_at")?, r.opt_time("last_at")?))
}

/// The patients merged into `survivor` by merges that were not undone
/// (the same person: erased with it).
pub async fn merged_into(tx: &mut TenantTx, survivor: PatientId) -> StoreResult<Vec<PatientId>> {
    let q = tx
        .q("SELECT id FROM patients WHERE tenant_id = $1 AND merged_into = $2 ORDER BY id")
        .bind(survivor.as_text());
    tx.all(q).await?.iter().map(|r| r.parse("id")).collect()
}

/// Who erased the record and why (the tombstone's input).
#[derive(Clone, Debug)]
pub struct Tombstone<'a> {
    pub at: DateTime<Utc>,
    pub by: Option<UserId>,
    pub reason: &'a str,
    pub reference: &'a str,
}

/// Rows an erasure removed from one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    pub table: &'static str,
    pub rows: u64,
}

/// What the erasure left for after the commit: the files to delete from
/// the file store (attachments' storage keys, the photo's id), whose
/// contents are sealed under the destroyed key anyway.
#[derive(Clone, Debug, Default)]
pub struct Erased {
    pub removed: Vec<Removed>,
    pub files: Vec<String>,
    pub photo_id: Option<String>,
}

/// Delete the patient's rows ([`DELETED`]) and its photo, and write the
/// tombstone; the caller blanks the `patients` row into its shell with the
/// registry's own update (`registry::update` of the blank row with
/// `erased_at` set). A second erasure of the same patient fails on the
/// tombstone's primary key (`Duplicate`).
pub async fn erase(
    tx: &mut TenantTx,
    patient: PatientId,
    stone: &Tombstone<'_>,
) -> StoreResult<Erased> {
    let mut out = Erased::default();
    let q = tx
        .q("SELECT storage_key FROM attachments WHERE tenant_id = $1 AND patient_id = $2")
        .bind(patient.as_text());
    for r in tx.all(q).await? {
        out.files.push(r.text("storage_key")?);
    }
    out.photo_id = crate::patients::links::photo(tx, patient)
        .await?
        .map(|p| p.photo_id);
    for (table, column) in DELETED {
        let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND {column} = $2");
        let q = tx.q(&sql).bind(patient.as_text());
        let rows = tx.exec(q).await?;
        match out.removed.iter_mut().find(|r| r.table == *table) {
            Some(r) => r.rows += rows,
            None => out.removed.push(Removed { table, rows }),
        }
    }
    crate::patients::links::set_photo(tx, patient, None, stone.at).await?;
    let q = tx
        .q("INSERT INTO patient_erasures (tenant_id, patient_id, erased_at, erased_by, reason, reference) \
            VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(patient.as_text())
        .bind(ts(stone.at))
        .bind(stone.by.map(|u| u.as_text()))
        .bind(stone.reason.to_owned())
        .bind(stone.reference.to_owned());
    tx.exec(q).await?;
    Ok(out)
}

/// A legal hold on a patient's record (its reason sealed).
#[derive(Clone, Debug)]
pub struct HoldRow {
    pub id: LegalHoldId,
    pub patient_id: PatientId,
    pub reason: Sealed<LegalHoldReason>,
    pub placed_by: UserId,
    pub placed_at: DateTime<Utc>,
    pub released_by: Option<UserId>,
    pub released_at: Option<DateTime<Utc>>,
}

fn hold_row(r: &sqlx::any::AnyRow) -> StoreResult<HoldRow> {
    Ok(HoldRow {
        id: r.parse("id")?,
        patient_id: r.parse("patient_id")?,
        reason: Sealed::from_bytes(r.bytes("reason")?.unwrap_or_default()),
        placed_by: r.parse("placed_by")?,
        placed_at: r.time("placed_at")?,
        released_by: r.opt_text("released_by")?.and_then(|u| u.parse().ok()),
        released_at: r.opt_time("released_at")?,
    })
}

const HOLD_COLS: &str = "id, patient_id, reason, placed_by, placed_at, released_by, released_at";

/// The patient's legal holds, newest first (released ones too).
pub async fn holds(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<HoldRow>> {
    let sql = format!(
        "SELECT {HOLD_COLS} FROM patient_legal_holds WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY placed_at DESC, id DESC"
    );
    let q = tx.q(&sql).bind(patient.as_text());
    tx.all(q).await?.iter().map(hold_row).collect()
}

pub async fn place_hold(tx: &mut TenantTx, h: &HoldRow) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO patient_legal_holds (tenant_id, id, patient_id, reason, placed_by, placed_at) \
            VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(h.id.as_text())
        .bind(h.patient_id.as_text())
        .bind(h.reason.to_vec())
        .bind(h.placed_by.as_text())
        .bind(ts(h.placed_at));
    tx.exec(q).await?;
    Ok(())
}

/// Release a placed hold; `false` when there is no such placed hold.
pub async fn release_hold(
    tx: &mut TenantTx,
    patient: PatientId,
    id: LegalHoldId,
    by: UserId,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q(
            "UPDATE patient_legal_holds SET released_by = $4, released_at = $5 \
            WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND released_at IS NULL",
        )
        .bind(patient.as_text())
        .bind(id.as_text())
        .bind(by.as_text())
        .bind(ts(at));
    Ok(tx.exec(q).await? == 1)
}
