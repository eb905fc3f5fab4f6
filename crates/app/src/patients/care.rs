//! Clinical content behind the policy point's attributes: a patient's
//! care team ("own patients") and medical-history entries, each with a
//! sensitivity tier and an author. Reads and writes go through
//! [`Patients::authorize_clinical`]; restricted entries the reader may not see
//! are withheld (and counted), and break-the-glass reads are flagged.

use crate::governance::policy::Action;
use crate::kit::domain_schema;
use crate::patients::consent::Purpose;
use crate::patients::registry::{load, load_for_write};
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::access::{Deny, RecordFacts};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::{BranchId, PatientId, RecordId, Sensitivity, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::patients::registry::HistoryBody;
use clinicos_store::patients::registry::{self as patients, HistoryRow};
use serde::{Deserialize, Serialize};

pub const HISTORY_CATEGORIES: [&str; 6] = [
    "medical",
    "surgical",
    "family",
    "social",
    "obstetric",
    "other",
];

/// A history entry to record or change.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryInput {
    /// medical, surgical, family, social, obstetric or other.
    pub category: String,
    /// The entry's text (encrypted at rest).
    pub text: String,
    /// normal, hiv_sti, mental_health, substance_use, genetics or
    /// reproductive_sexual (anything but normal is restricted).
    #[serde(default = "normal")]
    pub sensitivity: String,
}

fn normal() -> String {
    "normal".into()
}

/// A history entry as shown.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    #[schema(value_type = domain_schema::RecordId)]
    pub id: RecordId,
    pub category: String,
    pub text: String,
    pub sensitivity: String,
    pub restricted: bool,
    #[schema(value_type = Option<domain_schema::BranchId>)]
    pub branch_id: Option<BranchId>,
    #[schema(value_type = domain_schema::UserId)]
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The entries the reader may see, and how many were withheld.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryList {
    pub entries: Vec<HistoryEntry>,
    /// Restricted entries not shown to this reader.
    pub withheld: usize,
    /// Shown under break-the-glass (every read flagged in the audit).
    pub emergency_access: bool,
}

/// A care-team member.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CareMember {
    #[schema(value_type = domain_schema::UserId)]
    pub user_id: UserId,
    /// care_team, appointment or visit.
    pub kind: String,
    pub last_at: DateTime<Utc>,
}

fn check(input: &HistoryInput) -> AppResult<Sensitivity> {
    let mut v = Validator::new();
    if !HISTORY_CATEGORIES.contains(&input.category.as_str()) {
        v.add(
            "category",
            format!("must be one of {}", HISTORY_CATEGORIES.join(", ")),
        );
    }
    v.text("text", &input.text, 10_000);
    let s = input.sensitivity.parse::<Sensitivity>();
    if s.is_err() {
        v.add("sensitivity", "is not a known sensitivity");
    }
    v.finish().map_err(AppError::Validation)?;
    s.map_err(AppError::BadRequest)
}

fn facts(h: &HistoryRow) -> RecordFacts {
    RecordFacts {
        sensitivity: h.sensitivity.parse().unwrap_or(Sensitivity::Genetics),
        author: Some(h.recorded_by),
        signed: false,
        branch: h.branch_id,
    }
}

impl Patients<'_> {
    pub(crate) async fn open_history(&self, ctx: &Ctx, h: HistoryRow) -> AppResult<HistoryEntry> {
        let text = self
            .app
            .cipher
            .open::<HistoryBody>(ctx.tenant, h.id, h.patient_id, &h.body)
            .await?;
        let restricted = facts(&h).sensitivity.is_restricted();
        Ok(HistoryEntry {
            id: h.id,
            category: h.category,
            text: String::from_utf8_lossy(&text).into_owned(),
            sensitivity: h.sensitivity,
            restricted,
            branch_id: h.branch_id,
            recorded_by: h.recorded_by,
            recorded_at: h.recorded_at,
            updated_at: h.updated_at,
        })
    }

    /// A patient's medical history, as far as the reader may see it.
    pub async fn history(&self, ctx: &Ctx, patient: PatientId) -> AppResult<HistoryList> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::ReadClinical)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::ReadClinical, &p, None)
            .await?;
        let rows = patients::history(&mut tx, p.id).await?;
        let (shown, withheld) = access.visible(ctx, rows, facts);
        let mut ids = vec![p.id.as_text()];
        ids.extend(shown.iter().map(|h| h.id.as_text()));
        access
            .record(
                &mut tx,
                ctx,
                self.app.clock.now(),
                AuditAction::PatientHistoryRead,
                ResourceKind::PatientHistory,
                ids,
            )
            .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, std::slice::from_ref(&p.id))
            .await;
        let mut entries = Vec::with_capacity(shown.len());
        for h in shown {
            entries.push(self.open_history(ctx, h).await?);
        }
        Ok(HistoryList {
            entries,
            withheld,
            emergency_access: access.purpose() == Purpose::Emergency,
        })
    }

    /// Record a history entry (the author is the current user).
    pub async fn add_history(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        input: HistoryInput,
    ) -> AppResult<HistoryEntry> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::WriteClinical)
            .await?;
        let sensitivity = check(&input)?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let rec = RecordFacts {
            sensitivity,
            author: Some(ctx.user),
            signed: false,
            branch: ctx.branch,
        };
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::WriteClinical, &p, Some(&rec))
            .await?;
        let id = RecordId::new();
        let body = self
            .app
            .cipher
            .seal::<HistoryBody>(ctx.tenant, id, p.id, input.text.as_bytes())
            .await?;
        let row = HistoryRow {
            id,
            patient_id: p.id,
            category: input.category,
            sensitivity: sensitivity.as_str().to_owned(),
            body,
            branch_id: ctx.branch,
            recorded_by: ctx.user,
            recorded_at: now,
            updated_at: now,
        };
        patients::insert_history(&mut tx, &row).await?;
        access
            .record(
                &mut tx,
                ctx,
                now,
                AuditAction::PatientHistoryCreated,
                ResourceKind::PatientHistory,
                vec![p.id.as_text(), id.as_text()],
            )
            .await?;
        tx.commit().await?;
        self.open_history(ctx, row).await
    }

    /// Change a history entry: only its author, within the access rules.
    pub async fn update_history(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        entry: RecordId,
        input: HistoryInput,
    ) -> AppResult<HistoryEntry> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::WriteClinical)
            .await?;
        let sensitivity = check(&input)?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let mut row = patients::history_entry(&mut tx, p.id, entry)
            .await
            .map_err(|_| AppError::NotFound("history entry"))?;
        // Both the stored record and the changed one must be writable.
        let old = facts(&row);
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::WriteClinical, &p, Some(&old))
            .await?;
        let new = RecordFacts { sensitivity, ..old };
        if !access.allows_record(ctx, Action::WriteClinical, &new) {
            drop(tx);
            return Err(self
                .deny_patient(ctx, Action::WriteClinical, Deny::Restricted, p.id)
                .await);
        }
        if sensitivity.as_str() != row.sensitivity {
            return Err(AppError::field(
                "sensitivity",
                "cannot change; record a new entry instead",
            ));
        }
        row.body = self
            .app
            .cipher
            .seal::<HistoryBody>(ctx.tenant, row.id, p.id, input.text.as_bytes())
            .await?;
        row.category = input.category;
        row.updated_at = now;
        patients::update_history(&mut tx, row.id, &row.category, &row.body, now).await?;
        access
            .record(
                &mut tx,
                ctx,
                now,
                AuditAction::PatientHistoryUpdated,
                ResourceKind::PatientHistory,
                vec![p.id.as_text(), row.id.as_text()],
            )
            .await?;
        tx.commit().await?;
        self.open_history(ctx, row).await
    }

    /// The patient's care team and recent encounters.
    pub async fn care_team(&self, ctx: &Ctx, patient: PatientId) -> AppResult<Vec<CareMember>> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewPatients)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let rows = patients::care_team(&mut tx, p.id).await?;
        let mut ids = vec![p.id.as_text()];
        ids.extend(rows.iter().map(|r| r.user_id.as_text()));
        audit::record(
            &mut tx,
            &ctx.actor(),
            AuditEvent::new(
                self.app.clock.now(),
                AuditAction::PatientCareTeamRead,
                ResourceKind::PatientCareTeam,
                ids,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| CareMember {
                user_id: r.user_id,
                kind: r.kind,
                last_at: r.last_at,
            })
            .collect())
    }

    /// Put a staff member on the patient's care team.
    pub async fn add_to_care_team(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        user: UserId,
    ) -> AppResult<()> {
        self.change_care_team(ctx, patient, user, true).await
    }

    /// Take a staff member off the patient's care team.
    pub async fn remove_from_care_team(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        user: UserId,
    ) -> AppResult<()> {
        self.change_care_team(ctx, patient, user, false).await
    }

    async fn change_care_team(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        user: UserId,
        add: bool,
    ) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageCareTeam)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load_for_write(&mut tx, patient).await?;
        let member = clinicos_store::identity::users::get(&mut tx, user)
            .await
            .map_err(|_| {
                AppError::field("user_id", "is not a staff member of this organisation")
            })?;
        if add && !member.is_active {
            return Err(AppError::field("user_id", "is not an active staff member"));
        }
        let action = if add {
            patients::upsert_care(&mut tx, p.id, user, "care_team", now, Some(ctx.user)).await?;
            AuditAction::PatientCareTeamAdded
        } else {
            if !patients::remove_care(&mut tx, p.id, user, "care_team").await? {
                return Err(AppError::NotFound("care-team member"));
            }
            AuditAction::PatientCareTeamRemoved
        };
        audit::record(
            &mut tx,
            &ctx.actor(),
            AuditEvent::new(
                now,
                action,
                ResourceKind::PatientCareTeam,
                vec![p.id.as_text(), user.as_text()],
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

crate::kit::phi::redacted_debug!(HistoryEntry, HistoryInput);
