//! Bulk export of patient records (demographics, contact details and
//! medical history) for an organisation taking its data elsewhere. Its own
//! permission (`export:patients`); restricted-tier entries are included
//! only with `export:restricted`, otherwise counted as withheld. One audit
//! event names every exported patient and entry; an export outside working
//! hours raises a security event. Erased patients are left out and
//! counted: their tombstones, and (in a restored backup not yet erased
//! again) every patient the key store remembers as erased.

use crate::governance::policy::Action;
use crate::patients::care::HistoryEntry;
use crate::patients::patient::Patient;
use crate::patients::service::Patients;
use crate::{AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::{Permission, Sensitivity};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::patients::registry as patients;
use serde::Serialize;

/// Patients exported per request at most (paged exports come with the
/// export issue).
pub const MAX_EXPORT: i64 = 10_000;

#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct ExportedPatient {
    pub patient: Patient,
    pub history: Vec<HistoryEntry>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PatientExport {
    /// `clinicos-patient-export/1`.
    pub format: String,
    pub exported_at: DateTime<Utc>,
    pub patients: Vec<ExportedPatient>,
    /// Restricted-tier entries left out (no `export:restricted`).
    pub withheld_restricted: usize,
    /// Erased patients of the organisation, left out.
    pub erased: usize,
}

impl Patients<'_> {
    pub async fn export_patients(&self, ctx: &Ctx) -> AppResult<PatientExport> {
        self.app
            .governance()
            .authorize(ctx, Action::ExportPatients)
            .await?;
        let with_restricted = ctx.permissions.has(Permission::ExportRestricted);
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let all = clinicos_store::patients::search::PatientSearch::default();
        let (mut rows, _) =
            clinicos_store::patients::search::search(&mut tx, &all, MAX_EXPORT, 0).await?;
        // The key store remembers every erasure, also of rows a restored
        // backup brought back (they cannot be decrypted any more).
        let erased: std::collections::HashSet<String> = self
            .app
            .cipher
            .erased_subjects(ctx.tenant)
            .await?
            .into_iter()
            .map(|e| e.subject_id)
            .collect();
        rows.retain(|r| !erased.contains(&r.id.as_text()));
        let patient_ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        let mut by_patient = patients::history_of_many(&mut tx, &patient_ids).await?;
        let mut history = Vec::with_capacity(rows.len());
        let mut withheld = 0;
        for p in &rows {
            let (keep, drop): (Vec<_>, Vec<_>) = by_patient
                .remove(&p.id)
                .unwrap_or_default()
                .into_iter()
                .partition(|h| {
                    with_restricted
                        || !h
                            .sensitivity
                            .parse::<Sensitivity>()
                            .map_or(true, Sensitivity::is_restricted)
                });
            withheld += drop.len();
            history.push(keep);
        }
        let mut ids: Vec<String> = patient_ids.iter().map(|p| p.as_text()).collect();
        ids.extend(history.iter().flatten().map(|h| h.id.as_text()));
        let reason = if with_restricted {
            "with_restricted"
        } else {
            ""
        };
        audit::record(
            &mut tx,
            &ctx.actor(),
            AuditEvent::new(now, AuditAction::ExportPatients, ResourceKind::Patient, ids)
                .because(reason),
        )
        .await?;
        tx.commit().await?;
        self.app.governance().note_export(ctx, "patients").await;
        let mut out = Vec::with_capacity(rows.len());
        for (row, entries) in rows.into_iter().zip(history) {
            let patient = self.show_patient(ctx.tenant, row).await?;
            let mut shown = Vec::with_capacity(entries.len());
            for h in entries {
                shown.push(self.open_history(ctx, h).await?);
            }
            out.push(ExportedPatient {
                patient,
                history: shown,
            });
        }
        Ok(PatientExport {
            format: "clinicos-patient-export/1".into(),
            exported_at: now,
            patients: out,
            withheld_restricted: withheld,
            erased: erased.len(),
        })
    }
}

crate::kit::phi::redacted_debug!(ExportedPatient);
