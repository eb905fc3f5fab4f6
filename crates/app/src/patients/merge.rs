//! Merging a duplicate patient record into the surviving one, and undoing
//! it.
//!
//! Invariants:
//! - Both records are of the caller's tenant (a tenant-scoped transaction
//!   cannot see another's), different, and neither already merged away.
//!   Merge and undo need `patients:merge` (`Action::MergePatients`).
//! - Every table with a `patient_id` is named in exactly one of
//!   [`SEALED_TABLES`] (rows move to the survivor, their encrypted columns
//!   re-encrypted under the survivor's data key), [`COPIED`], [`LINKS`],
//!   [`REINDEXED`] or [`STAYING`] (with the reason); a test enumerates the
//!   schema on both databases and fails on a table nobody classified.
//! - `patient_merge_moves` lists exactly what a merge moved, so undo puts
//!   back exactly those rows (re-encrypted under the merged record's key
//!   again) and nothing that was added to the survivor since. An
//!   attachment's file is re-encrypted to a new storage key; the original
//!   file is kept until undo restores it.
//! - The merged record stays, as it was at the merge, with `merged_into` naming the
//!   survivor: its id keeps resolving (`GET /patients/{id}` answers the
//!   record with the marker). Its name tokens are removed so that name
//!   search finds the survivor only; undo writes them back.
//! - Only the newest live merge touching either record can be undone (an
//!   older one would put rows back under a record a later merge moved).
//! - Merge and undo are one transaction each, audited in it.

use crate::governance::policy::Action;
use crate::kit::domain_schema;
use crate::patients::consent::Purpose;
use crate::patients::registry::{event, load, patient_named};
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::AuditAction;
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::patients::links::{parent_link_cycles, LinkKind};
use clinicos_domain::patients::search::NameParts;
use clinicos_domain::{AttachmentId, FamilyLinkId, MergeId, PatientId, TenantId, UserId};
use clinicos_store::governance::audit;
use clinicos_store::patients::links;
use clinicos_store::patients::merge::MergeReason;
use clinicos_store::patients::merge::{self as store, MergeRow, MoveRow, SealedRow};
use clinicos_store::TenantTx;
use serde::{Deserialize, Serialize};

/// Child tables whose rows move to the survivor, with their encrypted
/// columns (table, column and row id are the same as the cipher binds),
/// in this order (a share link moves after its attachment).
pub const SEALED_TABLES: &[(&str, &[&str])] = &[
    ("history_entries", &["body"]),
    ("allergies", &["substance", "reaction", "note"]),
    ("conditions", &["name", "code", "note"]),
    (
        "medications",
        &["name", "dose", "frequency", "route", "note"],
    ),
    ("patient_identifiers", &["value"]),
    ("attachments", &["file_name"]),
    // Share links follow their attachment (nothing sealed: the token is
    // stored as a hash), so a link handed out keeps working after a merge.
    ("share_links", &[]),
];

/// Tables whose rows are copied to the survivor where it lacks them (the
/// merged record keeps its own): care relationships, keyed by user and kind.
pub const COPIED: &[&str] = &["care_relationships"];

/// Family links: the merged record's side moves to the survivor unless
/// that would make a self-link, a duplicate or a cycle.
pub const LINKS: &[&str] = &["patient_links"];

/// The name index: the merged record's tokens and token pairs are removed
/// (and written again by undo).
pub const REINDEXED: &[&str] = &["patient_name_tokens", "patient_name_pairs"];

/// Tables whose rows stay with the merged record, and why.
pub const STAYING: &[(&str, &str)] = &[
    (
        "break_glass_grants",
        "an emergency access happened to that record and is reviewed as such",
    ),
    (
        "portal_otp_codes",
        "short-lived sign-in codes of that record's contact details",
    ),
    (
        "portal_sessions",
        "sign-in history of that record (the patient signs in again)",
    ),
    (
        "patient_legal_holds",
        "a hold stays on the record it was placed on; erasing the survivor checks the holds of every record merged into it",
    ),
    (
        "patient_erasures",
        "an erased record cannot be merged (it answers 410)",
    ),
];

/// Every table the merge knows about (for the schema test).
pub fn classified_tables() -> Vec<&'static str> {
    let mut t: Vec<&'static str> = SEALED_TABLES.iter().map(|(t, _)| *t).collect();
    t.extend_from_slice(COPIED);
    t.extend_from_slice(LINKS);
    t.extend_from_slice(REINDEXED);
    t.extend(STAYING.iter().map(|(t, _)| *t));
    t
}

/// Merge `merged` into `survivor`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    pub survivor_id: String,
    pub merged_id: String,
    /// Why (stored encrypted; at most 500 characters).
    pub reason: String,
}

/// How many rows of one table a merge moved.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MovedRows {
    pub table: String,
    pub rows: usize,
}

/// A merge as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Merge {
    #[schema(value_type = domain_schema::MergeId)]
    pub id: MergeId,
    #[schema(value_type = domain_schema::PatientId)]
    pub survivor_id: PatientId,
    #[schema(value_type = domain_schema::PatientId)]
    pub merged_id: PatientId,
    #[schema(value_type = domain_schema::UserId)]
    pub merged_by: UserId,
    pub merged_at: DateTime<Utc>,
    #[schema(value_type = Option<domain_schema::UserId>)]
    pub undone_by: Option<UserId>,
    pub undone_at: Option<DateTime<Utc>>,
    pub moved: Vec<MovedRows>,
}

fn show(m: MergeRow, moves: &[MoveRow]) -> Merge {
    let mut moved: Vec<MovedRows> = Vec::new();
    for mv in moves {
        match moved.iter_mut().find(|r| r.table == mv.table) {
            Some(r) => r.rows += 1,
            None => moved.push(MovedRows {
                table: mv.table.clone(),
                rows: 1,
            }),
        }
    }
    Merge {
        id: m.id,
        survivor_id: m.survivor_id,
        merged_id: m.merged_id,
        merged_by: m.merged_by,
        merged_at: m.merged_at,
        undone_by: m.undone_by,
        undone_at: m.undone_at,
        moved,
    }
}

/// Files written or replaced by a merge or undo: delete the new ones if
/// the transaction fails, the superseded ones once it committed.
#[derive(Default)]
struct FileChanges {
    written: Vec<String>,
    superseded: Vec<String>,
}

impl Patients<'_> {
    /// Re-encrypt a row's sealed columns from one patient's key to another's.
    async fn reseal(
        &self,
        t: TenantId,
        table: &str,
        cols: &[&str],
        row: SealedRow,
        from: PatientId,
        to: PatientId,
    ) -> AppResult<SealedRow> {
        let (from, to) = (from.as_text(), to.as_text());
        let mut sealed = Vec::with_capacity(cols.len());
        for (col, v) in cols.iter().zip(row.sealed) {
            sealed.push(match v {
                Some(ct) => {
                    let plain = self
                        .app
                        .cipher
                        .decrypt(t, table, col, &row.id, &from, &ct)
                        .await?;
                    Some(
                        self.app
                            .cipher
                            .encrypt(t, table, col, &row.id, &to, &plain)
                            .await?,
                    )
                }
                None => None,
            });
        }
        Ok(SealedRow { id: row.id, sealed })
    }

    /// An attachment's file re-encrypted for `to` (not yet stored).
    async fn reseal_file(
        &self,
        t: TenantId,
        id: AttachmentId,
        from_key: &str,
        from: PatientId,
        to: PatientId,
    ) -> AppResult<Vec<u8>> {
        let id = id.as_text();
        let sealed = self.app.files.get(from_key).await?;
        let plain = self
            .app
            .cipher
            .decrypt(t, "attachments", "content", &id, &from.as_text(), &sealed)
            .await?;
        self.app
            .cipher
            .encrypt(t, "attachments", "content", &id, &to.as_text(), &plain)
            .await
    }

    /// Move the sealed child rows of `from` to `to` (all of them on merge;
    /// on undo only the recorded ones). Returns the moves made.
    #[allow(clippy::too_many_arguments)]
    async fn move_sealed(
        &self,
        tx: &mut TenantTx,
        t: TenantId,
        merge_id: MergeId,
        from: PatientId,
        to: PatientId,
        undo: Option<&[MoveRow]>,
        files: &mut FileChanges,
    ) -> AppResult<Vec<MoveRow>> {
        let mut out = Vec::new();
        for (table, cols) in SEALED_TABLES {
            let recorded: Option<Vec<MoveRow>> =
                undo.map(|m| m.iter().filter(|mv| mv.table == *table).cloned().collect());
            let only: Option<Vec<String>> = recorded
                .as_ref()
                .map(|r| r.iter().map(|mv| mv.row_key.clone()).collect());
            let rows = store::sealed_rows(tx, table, cols, from, only.as_deref()).await?;
            for row in rows {
                let mut detail = String::new();
                if *table == "attachments" {
                    let file: AttachmentId = row.id.parse().map_err(|_| {
                        AppError::Internal("an attachment row's id is not an id".into())
                    })?;
                    let current = store::attachment_storage_key(tx, file).await?;
                    let back = recorded
                        .as_ref()
                        .and_then(|r| r.iter().find(|mv| mv.row_key == row.id))
                        .map(|mv| mv.detail.clone())
                        .filter(|d| !d.is_empty());
                    match back {
                        // Undo: the original file (still under the merged
                        // record's key) comes back; the copy goes.
                        Some(original) => {
                            store::set_attachment_storage_key(tx, file, &original).await?;
                            files.superseded.push(current);
                        }
                        None => {
                            let key = format!("{}/{to}/{}.{merge_id}", t.as_text(), row.id);
                            let again = self.reseal_file(t, file, &current, from, to).await?;
                            self.app.files.put(&key, again).await?;
                            files.written.push(key.clone());
                            store::set_attachment_storage_key(tx, file, &key).await?;
                            detail = current;
                        }
                    }
                }
                let moved = self.reseal(t, table, cols, row, from, to).await?;
                store::rehome(tx, table, cols, &moved, to).await?;
                out.push(MoveRow {
                    table: (*table).to_owned(),
                    row_key: moved.id,
                    detail,
                });
            }
        }
        Ok(out)
    }

    /// Merge one patient record into another.
    pub async fn merge_patients(&self, ctx: &Ctx, input: MergeInput) -> AppResult<Merge> {
        self.app
            .governance()
            .authorize(ctx, Action::MergePatients)
            .await?;
        let mut v = Validator::new();
        v.text("reason", &input.reason, 500);
        let (survivor, merged) = (
            patient_named(&input.survivor_id),
            patient_named(&input.merged_id),
        );
        let same = match (&survivor, &merged) {
            (Ok(s), Ok(m)) => s == m,
            _ => input.survivor_id.trim() == input.merged_id.trim(),
        };
        if same {
            v.add("merged_id", "must be another patient than survivor_id");
        }
        v.finish().map_err(AppError::Validation)?;
        let t = ctx.tenant;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(t).await?;
        let survivor = load(&mut tx, survivor?).await?;
        let merged = load(&mut tx, merged?).await?;
        for p in [survivor.id, merged.id] {
            if store::merged_into(&mut tx, p).await?.is_some() {
                return Err(AppError::Conflict(
                    "a record that was already merged cannot take part in another merge".into(),
                ));
            }
        }
        let id = MergeId::new();
        let reason = self
            .app
            .cipher
            .seal::<MergeReason>(t, id, survivor.id, input.reason.trim().as_bytes())
            .await?;
        let row = MergeRow {
            id,
            survivor_id: survivor.id,
            merged_id: merged.id,
            reason,
            merged_by: ctx.user,
            merged_at: now,
            undone_by: None,
            undone_at: None,
        };
        let mut files = FileChanges::default();
        let done = async {
            store::insert(&mut tx, &row).await?;
            let mut moves = self
                .move_sealed(&mut tx, t, id, merged.id, survivor.id, None, &mut files)
                .await?;
            for (user, kind) in store::care_missing_on(&mut tx, merged.id, survivor.id).await? {
                store::copy_care(&mut tx, merged.id, survivor.id, user, &kind).await?;
                moves.push(MoveRow {
                    table: COPIED[0].to_owned(),
                    row_key: format!("{user}|{kind}"),
                    detail: String::new(),
                });
            }
            moves.extend(move_links(&mut tx, merged.id, survivor.id).await?);
            for m in &moves {
                store::add_move(&mut tx, id, m).await?;
            }
            clinicos_store::patients::name_index::write_tokens(&mut tx, merged.id, &no_names())
                .await?;
            store::set_merged_into(&mut tx, merged.id, Some((survivor.id, now))).await?;
            audit::record_for(
                &mut tx,
                &ctx.actor(),
                event(
                    now,
                    AuditAction::PatientMerged,
                    vec![survivor.id.as_text(), merged.id.as_text()],
                ),
                Purpose::Operations.as_str(),
            )
            .await?;
            tx.commit().await?;
            Ok::<Vec<MoveRow>, AppError>(moves)
        }
        .await;
        match done {
            Ok(moves) => Ok(show(row, &moves)),
            Err(e) => {
                for k in &files.written {
                    let _ = self.app.files.delete(k).await;
                }
                Err(e)
            }
        }
    }

    /// Undo a merge: put back exactly the rows it moved and unmark the
    /// merged record.
    pub async fn undo_merge(&self, ctx: &Ctx, merge_id: MergeId) -> AppResult<Merge> {
        self.app
            .governance()
            .authorize(ctx, Action::MergePatients)
            .await?;
        let t = ctx.tenant;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(t).await?;
        let m = store::get(&mut tx, merge_id)
            .await
            .map_err(|_| AppError::NotFound("merge"))?;
        if m.undone_at.is_some() {
            return Err(AppError::Conflict("this merge was already undone".into()));
        }
        let live = store::live_touching(&mut tx, &[m.survivor_id, m.merged_id]).await?;
        if live.first().is_some_and(|l| l.id != m.id) {
            return Err(AppError::Conflict(
                "a later merge involving these records must be undone first".into(),
            ));
        }
        let merged = load(&mut tx, m.merged_id).await?;
        let recorded = store::moves(&mut tx, m.id).await?;
        let mut files = FileChanges::default();
        let done = async {
            self.move_sealed(
                &mut tx,
                t,
                m.id,
                m.survivor_id,
                m.merged_id,
                Some(&recorded),
                &mut files,
            )
            .await?;
            for mv in &recorded {
                if COPIED.contains(&mv.table.as_str()) {
                    let copied = mv.row_key.split_once('|').and_then(|(user, kind)| {
                        user.parse::<UserId>().ok().map(|user| (user, kind))
                    });
                    if let Some((user, kind)) = copied {
                        store::drop_care(&mut tx, m.survivor_id, user, kind).await?;
                    }
                } else if LINKS.contains(&mv.table.as_str()) {
                    if let Ok(link) = mv.row_key.parse::<FamilyLinkId>() {
                        links::repoint(&mut tx, link, &mv.detail, m.merged_id).await?;
                    }
                }
            }
            clinicos_store::patients::name_index::write_tokens(&mut tx, merged.id, &merged.names())
                .await?;
            store::set_merged_into(&mut tx, merged.id, None).await?;
            if !store::mark_undone(&mut tx, m.id, ctx.user, now).await? {
                return Err(AppError::Conflict("this merge was already undone".into()));
            }
            audit::record_for(
                &mut tx,
                &ctx.actor(),
                event(
                    now,
                    AuditAction::PatientUnmerged,
                    vec![m.survivor_id.as_text(), m.merged_id.as_text()],
                ),
                Purpose::Operations.as_str(),
            )
            .await?;
            tx.commit().await?;
            Ok::<(), AppError>(())
        }
        .await;
        if let Err(e) = done {
            for k in &files.written {
                let _ = self.app.files.delete(k).await;
            }
            return Err(e);
        }
        for k in &files.superseded {
            let _ = self.app.files.delete(k).await;
        }
        let m = MergeRow {
            undone_by: Some(ctx.user),
            undone_at: Some(now),
            ..m
        };
        Ok(show(m, &recorded))
    }
}

fn no_names() -> NameParts<'static> {
    NameParts {
        given: "",
        middle: "",
        family: "",
        local: "",
    }
}

/// Move the merged record's side of its family links to the survivor,
/// except where that would link the survivor to itself, repeat a link or
/// close a cycle of parent links.
async fn move_links(
    tx: &mut TenantTx,
    merged: PatientId,
    survivor: PatientId,
) -> AppResult<Vec<MoveRow>> {
    let mut out = Vec::new();
    for l in links::of_patient(tx, merged).await? {
        let (side, responsible, dependant) = if l.patient_id == merged {
            ("patient_id", survivor, l.dependant_id)
        } else {
            ("dependant_id", l.patient_id, survivor)
        };
        if responsible == dependant || links::exists(tx, responsible, dependant, &l.kind).await? {
            continue;
        }
        if l.kind == LinkKind::Parent.as_str() {
            let edges = links::parent_edges_around(tx, &[responsible, dependant]).await?;
            let others: Vec<(PatientId, PatientId)> = edges
                .into_iter()
                .filter(|(p, c)| !(*p == l.patient_id && *c == l.dependant_id))
                .collect();
            if parent_link_cycles(&others, responsible, dependant) {
                continue;
            }
        }
        links::repoint(tx, l.id, side, survivor).await?;
        out.push(MoveRow {
            table: LINKS[0].to_owned(),
            row_key: l.id.as_text(),
            detail: side.to_owned(),
        });
    }
    Ok(out)
}
