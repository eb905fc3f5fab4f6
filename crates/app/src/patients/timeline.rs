//! A patient's timeline: dated items from every module that records
//! something about the patient, newest first. Each module contributes a
//! [`TimelineSource`] to [`SOURCES`]; a source only reads its rows in the
//! caller's transaction. The timeline asks the policy point once
//! (`ReadClinical`), withholds (and counts) restricted items the reader may
//! not see, writes one audit event naming the patient and every item
//! shown, and decrypts titles after the commit. Break-the-glass accesses
//! are audit facts, not timeline items.

use crate::governance::policy::Action;
use crate::patients::registry::load;
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, NaiveDate, Utc};
use clinicos_domain::governance::access::RecordFacts;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::{PatientId, Sensitivity};
use clinicos_store::patients::records::{
    RecordRow, RecordTable, ALLERGIES, CONDITIONS, MEDICATIONS,
};
use clinicos_store::patients::registry::{self as patients, PatientRow};
use clinicos_store::TenantTx;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// A boxed future borrowed for `'a` (sources are trait objects).
pub type SourceFuture<'a> = Pin<Box<dyn Future<Output = AppResult<Vec<RawItem>>> + Send + 'a>>;

/// One module's contribution to the timeline.
pub trait TimelineSource: Sync {
    /// The item kind this source yields (`kind` filter value).
    fn kind(&self) -> &'static str;
    /// The patient's items, read in the caller's transaction.
    fn fetch<'a>(&'a self, tx: &'a mut TenantTx, patient: &'a PatientRow) -> SourceFuture<'a>;
}

/// A ciphertext whose plaintext completes an item's title.
#[derive(Clone, Debug)]
pub struct SealedTitle {
    pub table: &'static str,
    pub column: &'static str,
    pub bytes: Vec<u8>,
}

/// An item as a source reads it, before access filtering and decryption.
#[derive(Clone, Debug)]
pub struct RawItem {
    pub kind: &'static str,
    pub id: String,
    pub at: DateTime<Utc>,
    pub facts: RecordFacts,
    /// Plaintext label ("Allergy (food)").
    pub label: String,
    /// Appended to the label as "label: text" once decrypted.
    pub sealed: Option<SealedTitle>,
}

/// A timeline item as shown.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    /// registration, history, attachment, allergy, condition or medication.
    pub kind: String,
    /// The record's id (the patient's id for registration).
    pub id: String,
    pub at: DateTime<Utc>,
    /// A short label; never more clinical text than the record itself shows this reader.
    pub title: String,
    pub sensitivity: String,
    pub restricted: bool,
}

/// The items the reader may see, newest first, and how many were withheld.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub items: Vec<TimelineItem>,
    /// Restricted items not shown to this reader.
    pub withheld: usize,
    /// Shown under break-the-glass (the read is flagged in the audit).
    pub emergency_access: bool,
}

/// Filters: kinds (comma-separated), and an inclusive date range (UTC days).
#[derive(Clone, Debug, Default)]
pub struct TimelineQuery {
    pub kind: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

fn facts(
    sensitivity: &str,
    row_author: clinicos_domain::UserId,
    branch: Option<clinicos_domain::BranchId>,
) -> RecordFacts {
    RecordFacts {
        sensitivity: sensitivity.parse().unwrap_or(Sensitivity::Genetics),
        author: Some(row_author),
        signed: false,
        branch,
    }
}

/// The patient's registration.
pub struct Registration;

impl TimelineSource for Registration {
    fn kind(&self) -> &'static str {
        "registration"
    }
    fn fetch<'a>(&'a self, _: &'a mut TenantTx, p: &'a PatientRow) -> SourceFuture<'a> {
        Box::pin(async move {
            Ok(vec![RawItem {
                kind: "registration",
                id: p.id.as_text(),
                at: p.created_at,
                facts: RecordFacts {
                    sensitivity: Sensitivity::Normal,
                    author: None,
                    signed: false,
                    branch: p.first_branch_id,
                },
                label: "Registered".into(),
                sealed: None,
            }])
        })
    }
}

/// Medical-history entries (the title names the category, not the text).
pub struct History;

impl TimelineSource for History {
    fn kind(&self) -> &'static str {
        "history"
    }
    fn fetch<'a>(&'a self, tx: &'a mut TenantTx, p: &'a PatientRow) -> SourceFuture<'a> {
        Box::pin(async move {
            let rows = patients::history(tx, p.id).await?;
            Ok(rows
                .into_iter()
                .map(|h| RawItem {
                    kind: "history",
                    facts: facts(&h.sensitivity, h.recorded_by, h.branch_id),
                    label: format!("History ({})", h.category),
                    id: h.id.as_text(),
                    at: h.recorded_at,
                    sealed: None,
                })
                .collect())
        })
    }
}

/// Attachments (the title names the content type and the file name).
pub struct Attachments;

impl TimelineSource for Attachments {
    fn kind(&self) -> &'static str {
        "attachment"
    }
    fn fetch<'a>(&'a self, tx: &'a mut TenantTx, p: &'a PatientRow) -> SourceFuture<'a> {
        Box::pin(async move {
            let rows = clinicos_store::patients::attachments::list(tx, p.id).await?;
            Ok(rows
                .into_iter()
                .map(|a| RawItem {
                    kind: "attachment",
                    facts: facts(&a.sensitivity, a.uploaded_by, None),
                    label: format!("Attachment ({})", a.content_type),
                    id: a.id.as_text(),
                    at: a.uploaded_at,
                    sealed: Some(SealedTitle {
                        table: crate::patients::attachments::TABLE,
                        column: "file_name",
                        bytes: a.file_name.to_vec(),
                    }),
                })
                .collect())
        })
    }
}

/// A structured-record table; the title is the label, the first plain
/// column and the first sealed column (substance or name).
pub struct Records {
    pub kind: &'static str,
    pub label: &'static str,
    pub table: &'static RecordTable,
}

impl Records {
    fn item(&self, r: RecordRow) -> RawItem {
        let first = r.plain.first().cloned().flatten().unwrap_or_default();
        let sealed = r
            .sealed
            .into_iter()
            .next()
            .flatten()
            .map(|bytes| SealedTitle {
                table: self.table.table,
                column: self.table.sealed.first().copied().unwrap_or_default(),
                bytes,
            });
        RawItem {
            kind: self.kind,
            facts: facts(&r.sensitivity, r.recorded_by, r.branch_id),
            label: format!("{} ({first})", self.label),
            id: r.id.as_text(),
            at: r.recorded_at,
            sealed,
        }
    }
}

impl TimelineSource for Records {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn fetch<'a>(&'a self, tx: &'a mut TenantTx, p: &'a PatientRow) -> SourceFuture<'a> {
        Box::pin(async move {
            let rows = self.table.list(tx, p.id).await?;
            Ok(rows.into_iter().map(|r| self.item(r)).collect())
        })
    }
}

/// Every source, in no particular order (items are sorted by date).
/// Visits, prescriptions, labs, payments and attachments add theirs here.
pub static SOURCES: [&dyn TimelineSource; 6] = [
    &Registration,
    &History,
    &Attachments,
    &Records {
        kind: "allergy",
        label: "Allergy",
        table: &ALLERGIES,
    },
    &Records {
        kind: "condition",
        label: "Condition",
        table: &CONDITIONS,
    },
    &Records {
        kind: "medication",
        label: "Medication",
        table: &MEDICATIONS,
    },
];

/// Parsed filters.
struct Filter {
    kinds: Vec<&'static str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

fn day(v: &mut Validator, field: &str, value: &Option<String>) -> Option<NaiveDate> {
    let s = value.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    if d.is_none() {
        v.add(field, "must be a date like 2024-03-31");
    }
    d
}

fn filter(q: &TimelineQuery) -> AppResult<Filter> {
    let mut v = Validator::new();
    let known: Vec<&'static str> = SOURCES.iter().map(|s| s.kind()).collect();
    let mut kinds = Vec::new();
    for k in q.kind.iter().flat_map(|k| k.split(',')).map(str::trim) {
        match known.iter().find(|n| **n == k) {
            Some(n) => kinds.push(*n),
            None if k.is_empty() => {}
            None => v.add("kind", format!("must be one of {}", known.join(", "))),
        }
    }
    let from = day(&mut v, "from", &q.from);
    let to = day(&mut v, "to", &q.to);
    if let (Some(a), Some(b)) = (from, to) {
        if b < a {
            v.add("to", "must not be before from");
        }
    }
    v.finish().map_err(AppError::Validation)?;
    Ok(Filter {
        kinds,
        from: from
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
        to: to
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
    })
}

impl Filter {
    fn keeps(&self, i: &RawItem) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&i.kind))
            && self.from.is_none_or(|f| i.at >= f)
            && self.to.is_none_or(|t| i.at < t)
    }
}

impl Patients<'_> {
    /// The patient's timeline as far as the reader may see it (audited as
    /// `patient.timeline.read`, naming the patient and every item shown).
    pub async fn timeline(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        q: &TimelineQuery,
    ) -> AppResult<Timeline> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::ReadClinical)
            .await?;
        let f = filter(q)?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::ReadClinical, &p, None)
            .await?;
        let mut raw = Vec::new();
        for s in SOURCES.iter() {
            if f.kinds.is_empty() || f.kinds.contains(&s.kind()) {
                raw.extend(
                    s.fetch(&mut tx, &p)
                        .await?
                        .into_iter()
                        .filter(|i| f.keeps(i)),
                );
            }
        }
        let total = raw.len();
        raw.retain(|i| access.allows_record(ctx, Action::ReadClinical, &i.facts));
        raw.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        let mut ids = vec![p.id.as_text()];
        ids.extend(
            raw.iter()
                .filter(|i| i.kind != "registration")
                .map(|i| i.id.clone()),
        );
        access
            .record(
                &mut tx,
                ctx,
                self.app.clock.now(),
                AuditAction::PatientTimelineRead,
                ResourceKind::PatientTimeline,
                ids,
            )
            .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, std::slice::from_ref(&p.id))
            .await;
        let withheld = total - raw.len();
        let mut items = Vec::with_capacity(raw.len());
        for i in raw {
            items.push(self.show_item(ctx, p.id, i).await?);
        }
        Ok(Timeline {
            items,
            withheld,
            emergency_access: access.purpose() == crate::patients::consent::Purpose::Emergency,
        })
    }

    async fn show_item(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        i: RawItem,
    ) -> AppResult<TimelineItem> {
        let title = match &i.sealed {
            Some(s) => {
                let plain = self
                    .app
                    .cipher
                    .decrypt(
                        ctx.tenant,
                        s.table,
                        s.column,
                        &i.id,
                        &patient.as_text(),
                        &s.bytes,
                    )
                    .await?;
                format!("{}: {}", i.label, String::from_utf8_lossy(&plain))
            }
            None => i.label,
        };
        Ok(TimelineItem {
            kind: i.kind.to_owned(),
            id: i.id,
            at: i.at,
            title,
            sensitivity: i.facts.sensitivity.as_str().to_owned(),
            restricted: i.facts.sensitivity.is_restricted(),
        })
    }
}

crate::kit::phi::redacted_debug!(TimelineItem);
