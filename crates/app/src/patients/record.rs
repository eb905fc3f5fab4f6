//! One patient's record as machine-readable JSON (schema
//! `clinicos-patient-record/1`, documented in docs/EXPORT_SCHEMA.md) for
//! data portability and referrals. Each section is read through its own
//! use case, so the policy point, restricted-record withholding and the
//! per-section read audit are the same as on the chart; the export itself
//! is audited as `export.patient_record` (JSON) or
//! `export.patient_record_pdf` (the printable copy, `record_pdf.rs`),
//! naming the patient and every record exported.

use crate::governance::policy::Action;
use crate::patients::allergies::{Allergies, Allergy};
use crate::patients::care::HistoryEntry;
use crate::patients::conditions::{Condition, Conditions};
use crate::patients::medications::{Medication, Medications};
use crate::patients::patient::Patient;
use crate::patients::records::ClinicalList;
use crate::patients::registry::load;
use crate::patients::service::Patients;
use crate::{AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::PatientId;
use serde::Serialize;

/// The form an export takes; each is audited under its own action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    Json,
    Pdf,
}

impl RecordFormat {
    fn audit_action(self) -> AuditAction {
        match self {
            RecordFormat::Json => AuditAction::ExportPatientRecord,
            RecordFormat::Pdf => AuditAction::ExportPatientRecordPdf,
        }
    }
}

/// The schema name and version written into every export.
pub const RECORD_SCHEMA: &str = "clinicos-patient-record/1";

/// Entries of one section and how many were withheld from this reader.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Section<T> {
    pub entries: Vec<T>,
    /// Restricted entries left out for this reader.
    pub withheld: usize,
}

impl<T> From<ClinicalList<T>> for Section<T> {
    fn from(l: ClinicalList<T>) -> Self {
        Section {
            entries: l.entries,
            withheld: l.withheld,
        }
    }
}

/// A patient's record (`clinicos-patient-record/1`).
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct PatientRecord {
    /// Always `clinicos-patient-record/1`.
    pub schema: String,
    pub exported_at: DateTime<Utc>,
    /// Read under break-the-glass.
    pub emergency_access: bool,
    pub patient: Patient,
    pub history: Section<HistoryEntry>,
    pub allergies: Section<Allergy>,
    pub conditions: Section<Condition>,
    pub medications: Section<Medication>,
}

impl Patients<'_> {
    /// Export one patient's record as far as the reader may see it.
    pub async fn export_patient_record(
        &self,
        ctx: &Ctx,
        id: PatientId,
        format: RecordFormat,
    ) -> AppResult<PatientRecord> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::ReadClinical)
            .await?;
        // The clinical read comes first: a reader without ReadClinical is
        // refused before demographics are read.
        let history = self.history(ctx, id).await?;
        let allergies = self.clinical_list::<Allergies>(ctx, id).await?;
        let conditions = self.clinical_list::<Conditions>(ctx, id).await?;
        let medications = self.clinical_list::<Medications>(ctx, id).await?;
        let patient = self.patient(ctx, id).await?;
        let emergency_access = history.emergency_access;
        let mut ids = vec![patient.id.as_text()];
        ids.extend(history.entries.iter().map(|e| e.id.as_text()));
        ids.extend(allergies.entries.iter().map(|e| e.recorded.id.as_text()));
        ids.extend(conditions.entries.iter().map(|e| e.recorded.id.as_text()));
        ids.extend(medications.entries.iter().map(|e| e.recorded.id.as_text()));
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, id).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::ReadClinical, &p, None)
            .await?;
        access
            .record(
                &mut tx,
                ctx,
                now,
                format.audit_action(),
                ResourceKind::Patient,
                ids,
            )
            .await?;
        tx.commit().await?;
        Ok(PatientRecord {
            schema: RECORD_SCHEMA.into(),
            exported_at: now,
            emergency_access,
            patient,
            history: Section {
                entries: history.entries,
                withheld: history.withheld,
            },
            allergies: allergies.into(),
            conditions: conditions.into(),
            medications: medications.into(),
        })
    }
}

crate::kit::phi::redacted_debug!(PatientRecord);
