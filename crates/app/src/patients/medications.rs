//! Current medications: name, dose, frequency, route and note encrypted;
//! status and start/stop dates plaintext (see [`crate::patients::records`]).

use crate::patients::records::{
    date, finish, given, not_before, one_of, ClinicalKind, Columns, Content, Recorded,
};
use crate::AppResult;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::validate::Validator;
use clinicos_store::patients::records::{RecordTable, MEDICATIONS};
use serde::{Deserialize, Serialize};

pub const STATUSES: [&str; 2] = ["active", "stopped"];

/// A medication to record or change (a change replaces every field).
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicationInput {
    /// The medicine (encrypted at rest).
    pub name: String,
    /// e.g. "500 mg" (encrypted at rest).
    pub dose: Option<String>,
    /// e.g. "twice daily" (encrypted at rest).
    pub frequency: Option<String>,
    /// e.g. "oral" (encrypted at rest).
    pub route: Option<String>,
    /// active (default) or stopped (a stopped medication needs its stop date).
    pub status: Option<String>,
    /// YYYY-MM-DD.
    pub start_date: Option<String>,
    /// YYYY-MM-DD, not before the start.
    pub stop_date: Option<String>,
    /// Encrypted at rest.
    pub note: Option<String>,
    /// normal (default) or a restricted tier, as for history entries.
    pub sensitivity: Option<String>,
}

/// A medication as shown.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Medication {
    #[serde(flatten)]
    pub recorded: Recorded,
    pub name: String,
    pub dose: Option<String>,
    pub frequency: Option<String>,
    pub route: Option<String>,
    pub status: String,
    pub start_date: Option<String>,
    pub stop_date: Option<String>,
    pub note: Option<String>,
}

/// The medication list.
pub struct Medications;

impl ClinicalKind for Medications {
    type Input = MedicationInput;
    type Entry = Medication;
    const TABLE: &'static RecordTable = &MEDICATIONS;
    const NOUN: &'static str = "medication";
    const RESOURCE: ResourceKind = ResourceKind::PatientMedication;
    const READ: AuditAction = AuditAction::PatientMedicationsRead;
    const CREATED: AuditAction = AuditAction::PatientMedicationCreated;
    const UPDATED: AuditAction = AuditAction::PatientMedicationUpdated;

    fn check(i: &MedicationInput) -> AppResult<Content> {
        let mut v = Validator::new();
        v.text("name", &i.name, 300);
        for (field, value) in [
            ("dose", &i.dose),
            ("frequency", &i.frequency),
            ("route", &i.route),
        ] {
            v.opt_text(field, value.as_deref(), 200);
        }
        let status = given(&i.status).unwrap_or_else(|| "active".into());
        one_of(&mut v, "status", &status, &STATUSES);
        let start = date(&mut v, "start_date", &i.start_date);
        let stop = date(&mut v, "stop_date", &i.stop_date);
        not_before(&mut v, "stop_date", start, stop);
        if status == "stopped" && given(&i.stop_date).is_none() {
            v.add("stop_date", "is required when the medication is stopped");
        }
        v.opt_text("note", i.note.as_deref(), 4_000);
        let sensitivity = given(&i.sensitivity).unwrap_or_else(|| "normal".into());
        finish(
            v,
            &sensitivity,
            vec![
                Some(status),
                start.map(|d| d.to_string()),
                stop.map(|d| d.to_string()),
            ],
            vec![
                given(&Some(i.name.clone())),
                given(&i.dose),
                given(&i.frequency),
                given(&i.route),
                given(&i.note),
            ],
        )
    }

    fn entry(recorded: Recorded, mut plain: Columns, mut sealed: Columns) -> Medication {
        Medication {
            recorded,
            status: plain.req(0),
            start_date: plain.opt(1),
            stop_date: plain.opt(2),
            name: sealed.req(0),
            dose: sealed.opt(1),
            frequency: sealed.opt(2),
            route: sealed.opt(3),
            note: sealed.opt(4),
        }
    }
}

crate::kit::phi::redacted_debug!(Medication, MedicationInput);
