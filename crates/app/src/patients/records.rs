//! The one flow behind structured clinical records (allergies, conditions,
//! medications; see [`ClinicalKind`]): load the patient, ask the policy
//! point (`ReadClinical` / `WriteClinical` with the record's sensitivity,
//! author and branch), withhold restricted records the reader may not see,
//! encrypt or decrypt the sealed columns, and write the audit event with
//! its purpose of use in the same transaction. Updates are the author's
//! only and keep the sensitivity tier, as for history entries.

use crate::governance::policy::Action;
use crate::kit::domain_schema;
use crate::patients::consent::Purpose;
use crate::patients::registry::load;
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, NaiveDate, Utc};
use clinicos_domain::governance::access::{Deny, RecordFacts};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::{BranchId, PatientId, RecordId, Sensitivity, UserId};
use clinicos_store::patients::records::{RecordRow, RecordTable};
use serde::Serialize;

/// One kind of structured record: its table, audit names, validation and
/// how its columns map to the entry shown.
pub trait ClinicalKind {
    type Input: Send + Sync;
    type Entry: Send;
    const TABLE: &'static RecordTable;
    /// For "not found" errors: "allergy".
    const NOUN: &'static str;
    /// Audit resource kind (`patient.allergy`).
    const RESOURCE: ResourceKind;
    const READ: AuditAction;
    const CREATED: AuditAction;
    const UPDATED: AuditAction;
    /// Validate (422 on bad input) and split into columns, in table order.
    fn check(input: &Self::Input) -> AppResult<Content>;
    /// Build the entry from plaintext columns, in table order.
    fn entry(meta: Recorded, plain: Columns, sealed: Columns) -> Self::Entry;
}

/// Validated input split into the table's plain and sealed columns.
pub struct Content {
    pub sensitivity: Sensitivity,
    pub plain: Vec<Option<String>>,
    pub sealed: Vec<Option<String>>,
}

/// Column values taken by position (a missing value reads as none).
pub struct Columns(Vec<Option<String>>);

impl Columns {
    pub fn opt(&mut self, i: usize) -> Option<String> {
        self.0.get_mut(i).and_then(Option::take)
    }

    pub fn req(&mut self, i: usize) -> String {
        self.opt(i).unwrap_or_default()
    }
}

/// Who recorded an entry, where and when, and its sensitivity.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Recorded {
    #[schema(value_type = domain_schema::RecordId)]
    pub id: RecordId,
    pub sensitivity: String,
    pub restricted: bool,
    #[schema(value_type = Option<domain_schema::BranchId>)]
    pub branch_id: Option<BranchId>,
    #[schema(value_type = domain_schema::UserId)]
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The records the reader may see, and how many were withheld.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ClinicalList<T> {
    pub entries: Vec<T>,
    /// Restricted records not shown to this reader.
    pub withheld: usize,
    /// Shown under break-the-glass (every read flagged in the audit).
    pub emergency_access: bool,
}

fn facts(r: &RecordRow) -> RecordFacts {
    RecordFacts {
        sensitivity: r.sensitivity.parse().unwrap_or(Sensitivity::Genetics),
        author: Some(r.recorded_by),
        signed: false,
        branch: r.branch_id,
    }
}

/// Trimmed; empty is none.
pub fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The value must be one of `allowed`.
pub fn one_of(v: &mut Validator, field: &str, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        v.add(field, format!("must be one of {}", allowed.join(", ")));
    }
}

/// An optional calendar date (YYYY-MM-DD).
pub fn date(v: &mut Validator, field: &str, value: &Option<String>) -> Option<NaiveDate> {
    let s = given(value)?;
    let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok();
    if d.is_none() {
        v.add(field, "must be a date like 2024-03-31");
    }
    d
}

/// `to` must not be before `from`.
pub fn not_before(v: &mut Validator, field: &str, from: Option<NaiveDate>, to: Option<NaiveDate>) {
    if let (Some(a), Some(b)) = (from, to) {
        if b < a {
            v.add(field, "must not be before the start");
        }
    }
}

/// Parse the sensitivity and finish validation.
pub fn finish(
    mut v: Validator,
    sensitivity: &str,
    plain: Vec<Option<String>>,
    sealed: Vec<Option<String>>,
) -> AppResult<Content> {
    let s = sensitivity.parse::<Sensitivity>().ok();
    if s.is_none() {
        v.add("sensitivity", "is not a known sensitivity");
    }
    v.finish().map_err(AppError::Validation)?;
    let sensitivity = s.ok_or_else(|| AppError::field("sensitivity", "is not known"))?;
    Ok(Content {
        sensitivity,
        plain,
        sealed,
    })
}

impl Patients<'_> {
    async fn seal(
        &self,
        ctx: &Ctx,
        t: &RecordTable,
        id: RecordId,
        patient: PatientId,
        values: &[Option<String>],
    ) -> AppResult<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(values.len());
        for (col, v) in t.sealed.iter().zip(values) {
            out.push(match v {
                Some(text) => Some(
                    self.app
                        .cipher
                        .encrypt(
                            ctx.tenant,
                            t.table,
                            col,
                            &id.as_text(),
                            &patient.as_text(),
                            text.as_bytes(),
                        )
                        .await?,
                ),
                None => None,
            });
        }
        Ok(out)
    }

    async fn open_record<K: ClinicalKind>(&self, ctx: &Ctx, r: RecordRow) -> AppResult<K::Entry> {
        let t = K::TABLE;
        let mut sealed = Vec::with_capacity(r.sealed.len());
        for (col, v) in t.sealed.iter().zip(&r.sealed) {
            sealed.push(match v {
                Some(c) => {
                    let p = self
                        .app
                        .cipher
                        .decrypt(
                            ctx.tenant,
                            t.table,
                            col,
                            &r.id.as_text(),
                            &r.patient_id.as_text(),
                            c,
                        )
                        .await?;
                    Some(String::from_utf8_lossy(&p).into_owned())
                }
                None => None,
            });
        }
        let restricted = facts(&r).sensitivity.is_restricted();
        let meta = Recorded {
            id: r.id,
            sensitivity: r.sensitivity,
            restricted,
            branch_id: r.branch_id,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
            updated_at: r.updated_at,
        };
        Ok(K::entry(meta, Columns(r.plain), Columns(sealed)))
    }

    /// A patient's records of one kind, as far as the reader may see them.
    pub async fn clinical_list<K: ClinicalKind>(
        &self,
        ctx: &Ctx,
        patient: PatientId,
    ) -> AppResult<ClinicalList<K::Entry>> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::ReadClinical)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::ReadClinical, &p, None)
            .await?;
        let rows = K::TABLE.list(&mut tx, p.id).await?;
        let (shown, withheld) = access.visible(ctx, rows, facts);
        let mut ids = vec![p.id.as_text()];
        ids.extend(shown.iter().map(|r| r.id.as_text()));
        let now = self.app.clock.now();
        access
            .record(&mut tx, ctx, now, K::READ, K::RESOURCE, ids)
            .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, std::slice::from_ref(&p.id))
            .await;
        let mut entries = Vec::with_capacity(shown.len());
        for r in shown {
            entries.push(self.open_record::<K>(ctx, r).await?);
        }
        Ok(ClinicalList {
            entries,
            withheld,
            emergency_access: access.purpose() == Purpose::Emergency,
        })
    }

    /// Record an entry (the author is the current user).
    pub async fn clinical_add<K: ClinicalKind>(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        input: &K::Input,
    ) -> AppResult<K::Entry> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::WriteClinical)
            .await?;
        let c = K::check(input)?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let rec = RecordFacts {
            sensitivity: c.sensitivity,
            author: Some(ctx.user),
            signed: false,
            branch: ctx.branch,
        };
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::WriteClinical, &p, Some(&rec))
            .await?;
        let id = RecordId::new();
        let row = RecordRow {
            sealed: self.seal(ctx, K::TABLE, id, p.id, &c.sealed).await?,
            id,
            patient_id: p.id,
            sensitivity: c.sensitivity.as_str().to_owned(),
            plain: c.plain,
            branch_id: ctx.branch,
            recorded_by: ctx.user,
            recorded_at: now,
            updated_at: now,
        };
        K::TABLE.insert(&mut tx, &row).await?;
        access
            .record(
                &mut tx,
                ctx,
                now,
                K::CREATED,
                K::RESOURCE,
                vec![p.id.as_text(), id.as_text()],
            )
            .await?;
        tx.commit().await?;
        self.open_record::<K>(ctx, row).await
    }

    /// Change an entry (status included): only its author, within the
    /// access rules; the sensitivity tier cannot change.
    pub async fn clinical_update<K: ClinicalKind>(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        entry: RecordId,
        input: &K::Input,
    ) -> AppResult<K::Entry> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::WriteClinical)
            .await?;
        let c = K::check(input)?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let mut row = K::TABLE
            .get(&mut tx, p.id, entry)
            .await
            .map_err(|_| AppError::NotFound(K::NOUN))?;
        let old = facts(&row);
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::WriteClinical, &p, Some(&old))
            .await?;
        let new = RecordFacts {
            sensitivity: c.sensitivity,
            ..old
        };
        if !access.allows_record(ctx, Action::WriteClinical, &new) {
            drop(tx);
            return Err(self
                .deny_patient(ctx, Action::WriteClinical, Deny::Restricted, p.id)
                .await);
        }
        if c.sensitivity.as_str() != row.sensitivity {
            return Err(AppError::field(
                "sensitivity",
                "cannot change; record a new entry instead",
            ));
        }
        row.sealed = self.seal(ctx, K::TABLE, row.id, p.id, &c.sealed).await?;
        row.plain = c.plain;
        row.updated_at = now;
        K::TABLE.update(&mut tx, &row).await?;
        access
            .record(
                &mut tx,
                ctx,
                now,
                K::UPDATED,
                K::RESOURCE,
                vec![p.id.as_text(), row.id.as_text()],
            )
            .await?;
        tx.commit().await?;
        self.open_record::<K>(ctx, row).await
    }
}
