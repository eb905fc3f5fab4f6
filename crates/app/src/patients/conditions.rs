//! Chronic conditions (problem list): name, ICD-10 code and note
//! encrypted; status and dates plaintext (see [`crate::patients::records`]).

use crate::patients::records::{
    date, finish, given, not_before, one_of, ClinicalKind, Columns, Content, Recorded,
};
use crate::AppResult;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::validate::Validator;
use clinicos_store::patients::records::{RecordTable, CONDITIONS};
use serde::{Deserialize, Serialize};

pub const STATUSES: [&str; 2] = ["active", "resolved"];

/// A condition to record or change (a change replaces every field).
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionInput {
    /// The condition (encrypted at rest).
    pub name: String,
    /// ICD-10 code such as E11.9 (optional; encrypted at rest).
    pub code: Option<String>,
    /// active (default) or resolved.
    pub status: Option<String>,
    /// YYYY-MM-DD.
    pub onset_date: Option<String>,
    /// YYYY-MM-DD, not before the onset.
    pub resolved_date: Option<String>,
    /// Encrypted at rest.
    pub note: Option<String>,
    /// normal (default) or a restricted tier, as for history entries.
    pub sensitivity: Option<String>,
}

/// A condition as shown.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Condition {
    #[serde(flatten)]
    pub recorded: Recorded,
    pub name: String,
    pub code: Option<String>,
    pub status: String,
    pub onset_date: Option<String>,
    pub resolved_date: Option<String>,
    pub note: Option<String>,
}

/// The condition list.
pub struct Conditions;

/// ICD-10 by shape: a letter, two digits (the third may be a letter), then
/// optionally a dot and 1-4 letters or digits (`E11.9`, `S72.001A`).
pub fn is_icd10(code: &str) -> bool {
    let (cat, sub) = match code.split_once('.') {
        Some((c, s)) => (c, Some(s)),
        None => (code, None),
    };
    let c: Vec<char> = cat.chars().collect();
    let cat_ok = c.len() == 3
        && c[0].is_ascii_uppercase()
        && c[1].is_ascii_digit()
        && (c[2].is_ascii_digit() || c[2].is_ascii_uppercase());
    let sub_ok = sub.is_none_or(|s| {
        (1..=4).contains(&s.len())
            && s.chars()
                .all(|ch| ch.is_ascii_digit() || ch.is_ascii_uppercase())
    });
    cat_ok && sub_ok
}

impl ClinicalKind for Conditions {
    type Input = ConditionInput;
    type Entry = Condition;
    const TABLE: &'static RecordTable = &CONDITIONS;
    const NOUN: &'static str = "condition";
    const RESOURCE: ResourceKind = ResourceKind::PatientCondition;
    const READ: AuditAction = AuditAction::PatientConditionsRead;
    const CREATED: AuditAction = AuditAction::PatientConditionCreated;
    const UPDATED: AuditAction = AuditAction::PatientConditionUpdated;

    fn check(i: &ConditionInput) -> AppResult<Content> {
        let mut v = Validator::new();
        v.text("name", &i.name, 300);
        let code = given(&i.code).map(|c| c.to_ascii_uppercase());
        if code.as_deref().is_some_and(|c| !is_icd10(c)) {
            v.add("code", "must be an ICD-10 code like E11.9");
        }
        let status = given(&i.status).unwrap_or_else(|| "active".into());
        one_of(&mut v, "status", &status, &STATUSES);
        let onset = date(&mut v, "onset_date", &i.onset_date);
        let resolved = date(&mut v, "resolved_date", &i.resolved_date);
        not_before(&mut v, "resolved_date", onset, resolved);
        v.opt_text("note", i.note.as_deref(), 4_000);
        let sensitivity = given(&i.sensitivity).unwrap_or_else(|| "normal".into());
        finish(
            v,
            &sensitivity,
            vec![
                Some(status),
                onset.map(|d| d.to_string()),
                resolved.map(|d| d.to_string()),
            ],
            vec![given(&Some(i.name.clone())), code, given(&i.note)],
        )
    }

    fn entry(recorded: Recorded, mut plain: Columns, mut sealed: Columns) -> Condition {
        Condition {
            recorded,
            status: plain.req(0),
            onset_date: plain.opt(1),
            resolved_date: plain.opt(2),
            name: sealed.req(0),
            code: sealed.opt(1),
            note: sealed.opt(2),
        }
    }
}

crate::kit::phi::redacted_debug!(Condition, ConditionInput);
