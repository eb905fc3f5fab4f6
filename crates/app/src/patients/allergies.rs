//! Allergies and intolerances: substance, reaction and note encrypted;
//! category, severity and status plaintext (see [`crate::patients::records`]).

use crate::patients::records::{finish, given, one_of, ClinicalKind, Columns, Content, Recorded};
use crate::AppResult;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::validate::Validator;
use clinicos_store::patients::records::{RecordTable, ALLERGIES};
use serde::{Deserialize, Serialize};

pub const CATEGORIES: [&str; 4] = ["food", "medication", "environment", "other"];
pub const SEVERITIES: [&str; 4] = ["mild", "moderate", "severe", "life-threatening"];
pub const STATUSES: [&str; 4] = ["active", "inactive", "resolved", "entered-in-error"];

/// An allergy to record or change (a change replaces every field).
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllergyInput {
    /// What the patient reacts to (encrypted at rest).
    pub substance: String,
    /// food, medication, environment or other.
    pub category: String,
    /// The reaction, free text (encrypted at rest).
    pub reaction: Option<String>,
    /// mild, moderate, severe or life-threatening.
    pub severity: Option<String>,
    /// active (default), inactive, resolved or entered-in-error.
    pub status: Option<String>,
    /// Encrypted at rest.
    pub note: Option<String>,
    /// normal (default) or a restricted tier, as for history entries.
    pub sensitivity: Option<String>,
}

/// An allergy as shown.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Allergy {
    #[serde(flatten)]
    pub recorded: Recorded,
    pub substance: String,
    pub category: String,
    pub reaction: Option<String>,
    pub severity: Option<String>,
    pub status: String,
    pub note: Option<String>,
}

/// The allergy list.
pub struct Allergies;

impl ClinicalKind for Allergies {
    type Input = AllergyInput;
    type Entry = Allergy;
    const TABLE: &'static RecordTable = &ALLERGIES;
    const NOUN: &'static str = "allergy";
    const RESOURCE: ResourceKind = ResourceKind::PatientAllergy;
    const READ: AuditAction = AuditAction::PatientAllergiesRead;
    const CREATED: AuditAction = AuditAction::PatientAllergyCreated;
    const UPDATED: AuditAction = AuditAction::PatientAllergyUpdated;

    fn check(i: &AllergyInput) -> AppResult<Content> {
        let mut v = Validator::new();
        v.text("substance", &i.substance, 200);
        one_of(&mut v, "category", &i.category, &CATEGORIES);
        v.opt_text("reaction", i.reaction.as_deref(), 1_000);
        let severity = given(&i.severity);
        if let Some(s) = &severity {
            one_of(&mut v, "severity", s, &SEVERITIES);
        }
        let status = given(&i.status).unwrap_or_else(|| "active".into());
        one_of(&mut v, "status", &status, &STATUSES);
        v.opt_text("note", i.note.as_deref(), 4_000);
        let sensitivity = given(&i.sensitivity).unwrap_or_else(|| "normal".into());
        finish(
            v,
            &sensitivity,
            vec![Some(i.category.clone()), severity, Some(status)],
            vec![
                given(&Some(i.substance.clone())),
                given(&i.reaction),
                given(&i.note),
            ],
        )
    }

    fn entry(recorded: Recorded, mut plain: Columns, mut sealed: Columns) -> Allergy {
        Allergy {
            recorded,
            category: plain.req(0),
            severity: plain.opt(1),
            status: plain.req(2),
            substance: sealed.req(0),
            reaction: sealed.opt(1),
            note: sealed.opt(2),
        }
    }
}

crate::kit::phi::redacted_debug!(Allergy, AllergyInput);
