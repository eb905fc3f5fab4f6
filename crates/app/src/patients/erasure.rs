//! Erasing a patient for good (the right to erasure: GDPR Art. 17, DPDP
//! s. 12, ...), and the legal holds that prevent it. This is the mechanism;
//! a request workflow with jurisdiction rules will sit on top of it.
//!
//! Invariants:
//! - Erasure needs `patients:erase` (`Action::ErasePatients`), a reason
//!   code and is refused (409) while a legal hold is placed
//!   (`LEGAL_HOLD`) or the tenant's jurisdiction packs still require the
//!   medical record to be kept (`RETENTION_APPLIES`). A patient with no
//!   clinical entry has no medical record to keep.
//! - Records merged into the patient (the same person) are erased with it.
//! - In one main-database transaction: the patient's rows are deleted
//!   (`clinicos_store::patients::erasure::DELETED`), its row becomes a blank
//!   shell with `erased_at`, its outbox messages go, the tombstone is
//!   written and the erasure audited. Then the data key is destroyed in the
//!   key store, which remembers the erasure (so a restored backup is
//!   erased again by [`Patients::replay_erasures`] at start-up), every
//!   other instance is told to forget the key, and the files are deleted.
//!   A key store that cannot be reached leaves the tombstone marked "keys
//!   pending"; the next start-up finishes it. A start-up that erases a
//!   restored backup again deletes its rows but not its files (sealed
//!   under the destroyed key, unreadable).
//! - Every route that names the patient answers 410 `PATIENT_ERASED`
//!   (`registry::load`).

use crate::governance::policy::Action;
use crate::kit::domain_schema;
use crate::patients::consent::Purpose;
use crate::patients::registry::{event, load};
use crate::patients::service::Patients;
use crate::patients::write::blank_row;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, NaiveDate, Utc};
use clinicos_domain::governance::audit_catalogue::AuditAction;
use clinicos_domain::governance::jurisdiction::RecordSpan;
use clinicos_domain::messaging::message::Addressee;
use clinicos_domain::{LegalHoldId, PatientId, TenantId, UserId};
use clinicos_store::governance::audit;
use clinicos_store::kit::keystore::ErasedSubject;
use clinicos_store::patients::erasure::{self as store, HoldRow, LegalHoldReason, Tombstone};
use clinicos_store::patients::registry as patients;
use clinicos_store::TenantTx;
use serde::{Deserialize, Serialize};

/// Why a record is erased (stored on the tombstone and in the key store).
pub const REASONS: &[(&str, &str)] = &[
    ("patient_request", "the patient asked for erasure"),
    ("registered_in_error", "the record was created by mistake"),
    (
        "consent_withdrawn",
        "the patient withdrew consent and nothing requires keeping the record",
    ),
    ("legal_order", "a court or regulator ordered it"),
    ("retention_expired", "the retention period ended"),
];

/// The longest request reference kept on the tombstone.
const MAX_REFERENCE: usize = 100;

/// Erase a patient.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseInput {
    /// `patient_request`, `registered_in_error`, `consent_withdrawn`,
    /// `legal_order` or `retention_expired`.
    pub reason: String,
    /// The request's reference (a ticket or letter number; at most 100
    /// characters; never health data).
    #[serde(default)]
    pub reference: String,
}

/// Rows an erasure deleted from one table.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ErasedRows {
    pub table: String,
    pub rows: u64,
}

/// An erased record's tombstone as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    #[schema(value_type = domain_schema::PatientId)]
    pub patient_id: PatientId,
    pub erased_at: DateTime<Utc>,
    #[schema(value_type = Option<domain_schema::UserId>)]
    pub erased_by: Option<UserId>,
    pub reason: String,
    pub reference: String,
    /// The data key is destroyed (`false`: the key store could not be
    /// reached; the next start-up finishes it).
    pub key_destroyed: bool,
}

/// What an erasure did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ErasureReceipt {
    #[serde(flatten)]
    pub erasure: Erasure,
    /// Records merged into this one, erased with it.
    #[schema(value_type = Vec<domain_schema::PatientId>)]
    pub also_erased: Vec<PatientId>,
    /// Rows deleted, per table (all records together).
    pub deleted: Vec<ErasedRows>,
    /// Stored files (attachments, photo) deleted.
    pub files_deleted: usize,
}

/// Something that stands in the way of an erasure.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ErasureBlocker {
    /// `LEGAL_HOLD` or `RETENTION_APPLIES`.
    pub code: String,
    pub message: String,
}

/// Whether a record can be erased now, and why not.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ErasureCheck {
    #[schema(value_type = domain_schema::PatientId)]
    pub patient_id: PatientId,
    pub erasable: bool,
    pub blockers: Vec<ErasureBlocker>,
    /// The last day the medical record must be kept (`None`: no clinical
    /// entry, nothing to keep).
    pub retention_until: Option<NaiveDate>,
    /// The jurisdiction packs the retention comes from.
    pub packs: Vec<String>,
    /// Records merged into this one (erased with it).
    #[schema(value_type = Vec<domain_schema::PatientId>)]
    pub merged_records: Vec<PatientId>,
}

/// A legal hold as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LegalHold {
    #[schema(value_type = domain_schema::LegalHoldId)]
    pub id: LegalHoldId,
    pub reason: String,
    #[schema(value_type = domain_schema::UserId)]
    pub placed_by: UserId,
    pub placed_at: DateTime<Utc>,
    #[schema(value_type = Option<domain_schema::UserId>)]
    pub released_by: Option<UserId>,
    pub released_at: Option<DateTime<Utc>>,
}

/// Place a legal hold.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldInput {
    /// Why the record must be kept (stored encrypted; 1 to 500 characters).
    pub reason: String,
}

fn check_input(input: &EraseInput) -> AppResult<(&'static str, String)> {
    let reason = REASONS
        .iter()
        .map(|(code, _)| *code)
        .find(|c| *c == input.reason.trim())
        .ok_or_else(|| {
            AppError::field(
                "reason",
                "must be patient_request, registered_in_error, consent_withdrawn, legal_order or retention_expired",
            )
        })?;
    let reference = input.reference.trim().to_owned();
    if reference.chars().count() > MAX_REFERENCE {
        return Err(AppError::field(
            "reference",
            "must be at most 100 characters",
        ));
    }
    Ok((reason, reference))
}

fn show(e: store::ErasureRow) -> Erasure {
    Erasure {
        patient_id: e.patient_id,
        erased_at: e.erased_at,
        erased_by: e.erased_by,
        reason: e.reason,
        reference: e.reference,
        key_destroyed: e.keys_destroyed_at.is_some(),
    }
}

/// What stands in the way of erasing `ids` (the patient and the records
/// merged into it), in the caller's transaction.
async fn blockers(
    tx: &mut TenantTx,
    ids: &[PatientId],
    today: NaiveDate,
) -> AppResult<(Vec<ErasureBlocker>, Option<NaiveDate>, Vec<String>)> {
    let retention = crate::governance::retention::of_tenant(tx).await?;
    let mut out = Vec::new();
    let mut until: Option<NaiveDate> = None;
    for id in ids {
        if store::holds(tx, *id)
            .await?
            .iter()
            .any(|h| h.released_at.is_none())
        {
            out.push(ErasureBlocker {
                code: "LEGAL_HOLD".into(),
                message: "a legal hold is placed on this record; release it first".into(),
            });
        }
        let row = patients::get(tx, *id).await?;
        let (first, last) = store::clinical_span(tx, *id).await?;
        let span = RecordSpan {
            first_entry: first.map(|t| t.date_naive()),
            last_entry: last.map(|t| t.date_naive()),
            birth_date: row.birth_date.as_deref().and_then(|d| d.parse().ok()),
        };
        if let Some(u) = retention.retention.record_kept_until(&span) {
            until = until.max(Some(u));
        }
    }
    if let Some(u) = until.filter(|u| *u >= today) {
        out.push(ErasureBlocker {
            code: "RETENTION_APPLIES".into(),
            message: format!(
                "the medical record must be kept until {u} under the retention rules of {}",
                if retention.retention.packs.is_empty() {
                    "every jurisdiction pack (none matched the organisation)".to_owned()
                } else {
                    retention.retention.packs.join(", ")
                }
            ),
        });
    }
    out.dedup_by(|a, b| a.code == b.code);
    Ok((out, until, retention.retention.packs))
}

impl Patients<'_> {
    /// Whether the patient can be erased now (audited as a read: it tells
    /// whether the record has clinical entries).
    pub async fn erasure_check(&self, ctx: &Ctx, id: PatientId) -> AppResult<ErasureCheck> {
        let gov = self.app.governance();
        gov.authorize_permission(ctx, Action::ErasePatients).await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        load(&mut tx, id).await?;
        let ids = with_merged(&mut tx, id).await?;
        let merged = ids[1..].to_vec();
        let (blockers, until, packs) = blockers(&mut tx, &ids, now.date_naive()).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::PatientErasureChecked,
            vec![id.as_text()],
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(ErasureCheck {
            patient_id: id,
            erasable: blockers.is_empty(),
            blockers,
            retention_until: until,
            packs,
            merged_records: merged,
        })
    }

    /// The tombstone of an erased patient (404 when the patient was not
    /// erased).
    pub async fn erasure(&self, ctx: &Ctx, id: PatientId) -> AppResult<Erasure> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::ErasePatients)
            .await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let e = store::erasure(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("erasure"))?;
        tx.commit().await?;
        Ok(show(e))
    }

    /// Erase the patient (and the records merged into it). See the module
    /// documentation for the order of the steps.
    pub async fn erase_patient(
        &self,
        ctx: &Ctx,
        id: PatientId,
        input: EraseInput,
    ) -> AppResult<ErasureReceipt> {
        self.app
            .governance()
            .authorize(ctx, Action::ErasePatients)
            .await?;
        let (reason, reference) = check_input(&input)?;
        let now = self.app.clock.now();
        let t = ctx.tenant;
        let mut tx = self.app.store.write(t).await?;
        load(&mut tx, id).await?;
        let ids = with_merged(&mut tx, id).await?;
        let (blocked, _, _) = blockers(&mut tx, &ids, now.date_naive()).await?;
        if let Some(b) = blocked.into_iter().next() {
            return Err(AppError::ErasureRefused {
                code: if b.code == "LEGAL_HOLD" {
                    "LEGAL_HOLD"
                } else {
                    "RETENTION_APPLIES"
                },
                message: b.message,
            });
        }
        let stone = Tombstone {
            at: now,
            by: Some(ctx.user),
            reason,
            reference: &reference,
        };
        let mut deleted: Vec<ErasedRows> = Vec::new();
        let mut files = Vec::new();
        for p in &ids {
            let erased = erase_rows(&mut tx, *p, &stone).await?;
            for r in erased.removed {
                match deleted.iter_mut().find(|d| d.table == r.table) {
                    Some(d) => d.rows += r.rows,
                    None => deleted.push(ErasedRows {
                        table: r.table.to_owned(),
                        rows: r.rows,
                    }),
                }
            }
            files.extend(erased.files);
        }
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::PatientErased,
            ids.iter().map(PatientId::as_text).collect(),
            reason,
        )
        .await?;
        tx.commit().await?;
        let mut key_destroyed = true;
        for p in &ids {
            key_destroyed &= self.destroy_key(t, *p, &stone).await;
        }
        let files_deleted = self.delete_files(&files).await;
        Ok(ErasureReceipt {
            erasure: Erasure {
                patient_id: id,
                erased_at: now,
                erased_by: Some(ctx.user),
                reason: reason.to_owned(),
                reference,
                key_destroyed,
            },
            also_erased: ids[1..].to_vec(),
            deleted,
            files_deleted,
        })
    }

    /// Destroy the patient's data key in the key store (remembering the
    /// erasure there), mark the tombstone, and tell the other instances.
    /// `false` when the key store could not be reached (the tombstone
    /// stays "keys pending" for the next start-up).
    async fn destroy_key(&self, t: TenantId, p: PatientId, stone: &Tombstone<'_>) -> bool {
        let erased = ErasedSubject {
            subject_id: p.as_text(),
            erased_at: stone.at,
            erased_by: stone.by.map(|u| u.as_text()),
            reason: stone.reason.to_owned(),
        };
        let done = async {
            self.app.cipher.erase_patient_key(t, &erased).await?;
            crate::kit::invalidation::subject_key_erased(&self.app.store, t, &erased.subject_id)
                .await?;
            let mut tx = self.app.store.write(t).await?;
            store::keys_destroyed(&mut tx, p, self.app.clock.now()).await?;
            tx.commit().await?;
            AppResult::Ok(())
        }
        .await;
        match done {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "an erased patient's data key could not be destroyed yet; the next start-up retries");
                false
            }
        }
    }

    /// Delete stored files (best effort: their contents are sealed under
    /// the destroyed key anyway). Returns how many were deleted.
    async fn delete_files(&self, keys: &[String]) -> usize {
        let mut n = 0;
        for k in keys {
            match self.app.files.delete(k).await {
                Ok(()) => n += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "an erased patient's file could not be deleted")
                }
            }
        }
        n
    }

    /// At start-up: apply again every erasure the key store remembers to
    /// rows this database still holds (a restored backup), and finish key
    /// destructions that could not reach the key store. Returns how many
    /// records were erased again.
    pub async fn replay_erasures(&self) -> AppResult<usize> {
        let Some(keys) = self.app.store.field_keys() else {
            return Ok(0);
        };
        let mut replayed = 0;
        for tenant in keys.key_store.erased_tenants().await? {
            let Ok(t) = tenant.parse::<TenantId>() else {
                continue;
            };
            if clinicos_store::tenancy::platform::directory_get(self.app.store.platform(), t)
                .await
                .is_err()
            {
                continue;
            }
            for e in keys.key_store.erased_subjects(&tenant).await? {
                let Ok(p) = e.subject_id.parse::<PatientId>() else {
                    continue;
                };
                replayed += usize::from(self.replay_one(t, p, &e).await?);
            }
        }
        for entry in
            clinicos_store::tenancy::platform::directory_list(self.app.store.platform()).await?
        {
            let mut tx = self.app.store.read(entry.tenant_id).await?;
            let pending = store::keys_pending(&mut tx).await?;
            tx.commit().await?;
            for e in pending {
                let stone = Tombstone {
                    at: e.erased_at,
                    by: e.erased_by,
                    reason: &e.reason,
                    reference: &e.reference,
                };
                self.destroy_key(entry.tenant_id, e.patient_id, &stone)
                    .await;
            }
        }
        Ok(replayed)
    }

    async fn replay_one(&self, t: TenantId, p: PatientId, e: &ErasedSubject) -> AppResult<bool> {
        let mut tx = self.app.store.write(t).await?;
        let row = match patients::get(&mut tx, p).await {
            Ok(row) => row,
            Err(clinicos_store::StoreError::NotFound) => return Ok(false),
            Err(other) => return Err(other.into()),
        };
        if row.erased_at.is_some() {
            return Ok(false);
        }
        let stone = Tombstone {
            at: e.erased_at,
            by: e.erased_by.as_deref().and_then(|u| u.parse().ok()),
            reason: &e.reason,
            reference: "",
        };
        let erased = erase_rows(&mut tx, p, &stone).await?;
        store::keys_destroyed(&mut tx, p, self.app.clock.now()).await?;
        let actor = crate::kit::context::RequestInfo {
            request_id: "startup".into(),
            ..Default::default()
        }
        .anonymous_actor();
        audit::record(
            &mut tx,
            &actor,
            event(
                self.app.clock.now(),
                AuditAction::PatientErasureReplayed,
                vec![p.as_text()],
            )
            .because(e.reason.clone()),
        )
        .await?;
        tx.commit().await?;
        // The files are not deleted here: at start-up the file store is not
        // configured yet, and a restored file store's copies are sealed
        // under the destroyed key (unreadable) anyway.
        drop(erased);
        Ok(true)
    }

    // ---- legal holds ------------------------------------------------------

    /// The patient's legal holds, newest first (audited).
    pub async fn legal_holds(&self, ctx: &Ctx, id: PatientId) -> AppResult<Vec<LegalHold>> {
        let gov = self.app.governance();
        gov.authorize_permission(ctx, Action::ManageLegalHolds)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        load(&mut tx, id).await?;
        let rows = store::holds(&mut tx, id).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::PatientLegalHoldsRead,
            vec![id.as_text()],
            "",
        )
        .await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for h in rows {
            out.push(self.show_hold(ctx.tenant, h).await?);
        }
        Ok(out)
    }

    async fn show_hold(&self, t: TenantId, h: HoldRow) -> AppResult<LegalHold> {
        let reason = self
            .app
            .cipher
            .open::<LegalHoldReason>(t, &h.id, h.patient_id, &h.reason)
            .await?;
        Ok(LegalHold {
            id: h.id,
            reason: String::from_utf8_lossy(&reason).into_owned(),
            placed_by: h.placed_by,
            placed_at: h.placed_at,
            released_by: h.released_by,
            released_at: h.released_at,
        })
    }

    /// Place a legal hold (the record cannot be erased until released).
    pub async fn place_legal_hold(
        &self,
        ctx: &Ctx,
        id: PatientId,
        input: LegalHoldInput,
    ) -> AppResult<LegalHold> {
        let gov = self.app.governance();
        gov.authorize_permission(ctx, Action::ManageLegalHolds)
            .await?;
        let reason = input.reason.trim();
        let len = reason.chars().count();
        if len == 0 || len > 500 {
            return Err(AppError::field("reason", "must be 1 to 500 characters"));
        }
        let now = self.app.clock.now();
        let hold_id = LegalHoldId::new();
        let sealed = self
            .app
            .cipher
            .seal::<LegalHoldReason>(ctx.tenant, &hold_id, id, reason.as_bytes())
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        load(&mut tx, id).await?;
        let row = HoldRow {
            id: hold_id,
            patient_id: id,
            reason: sealed,
            placed_by: ctx.user,
            placed_at: now,
            released_by: None,
            released_at: None,
        };
        store::place_hold(&mut tx, &row).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::PatientLegalHoldPlaced,
            vec![id.as_text(), row.id.as_text()],
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(LegalHold {
            id: row.id,
            reason: reason.to_owned(),
            placed_by: row.placed_by,
            placed_at: now,
            released_by: None,
            released_at: None,
        })
    }

    /// Release a placed legal hold (404 when there is no such placed hold).
    pub async fn release_legal_hold(
        &self,
        ctx: &Ctx,
        id: PatientId,
        hold: LegalHoldId,
    ) -> AppResult<()> {
        let gov = self.app.governance();
        gov.authorize_permission(ctx, Action::ManageLegalHolds)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        load(&mut tx, id).await?;
        if !store::release_hold(&mut tx, id, hold, ctx.user, now).await? {
            return Err(AppError::NotFound("legal hold"));
        }
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::PatientLegalHoldReleased,
            vec![id.as_text(), hold.as_text()],
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Audit an erasure or legal-hold step (purpose: operations).
async fn record(
    tx: &mut TenantTx,
    ctx: &Ctx,
    now: DateTime<Utc>,
    action: AuditAction,
    ids: Vec<String>,
    reason: &str,
) -> AppResult<()> {
    audit::record_for(
        tx,
        &ctx.actor(),
        event(now, action, ids).because(reason),
        Purpose::Operations.as_str(),
    )
    .await?;
    Ok(())
}

/// The patient and every record merged into it, directly or through
/// another merged record (the same person).
async fn with_merged(tx: &mut TenantTx, id: PatientId) -> AppResult<Vec<PatientId>> {
    let mut ids = vec![id];
    let mut at = 0;
    while at < ids.len() {
        for m in store::merged_into(tx, ids[at]).await? {
            if !ids.contains(&m) {
                ids.push(m);
            }
        }
        at += 1;
    }
    Ok(ids)
}

/// Delete one record's rows and outbox messages, blank its row into the
/// shell and write its tombstone (the caller's transaction).
async fn erase_rows(
    tx: &mut TenantTx,
    p: PatientId,
    stone: &Tombstone<'_>,
) -> AppResult<store::Erased> {
    let mut erased = store::erase(tx, p, stone).await?;
    if let Some(photo) = erased.photo_id.take() {
        erased
            .files
            .push(crate::patients::photo::storage_key(tx.tenant(), p, &photo));
    }
    let outbox = clinicos_store::messaging::outbox::delete_for(tx, &Addressee::Patient(p)).await?;
    erased
        .removed
        .push(clinicos_store::patients::erasure::Removed {
            table: "outbox_messages",
            rows: outbox,
        });
    let mut shell = blank_row(p, stone.at);
    shell.is_active = false;
    shell.erased_at = Some(stone.at);
    patients::update(tx, &shell, true).await?;
    Ok(erased)
}
