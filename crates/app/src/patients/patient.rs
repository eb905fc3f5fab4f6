//! The patient as the API and pages see it: what registering takes
//! ([`NewPatient`]), what a read returns ([`Patient`]), and the checks a
//! registration or change must pass. No I/O.

use crate::kit::domain_schema;
use crate::patients::fields::{self as fields, EmergencyContact, Identifier, IdentifierInput};
use crate::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::{BranchId, PatientId};
use serde::{Deserialize, Serialize};

/// The patient's plain demographic columns, declared once in the store
/// (`clinicos_store::patients::registry`); the registration, the patient
/// shown, a partial update, the stored row and the demographics form all
/// take their fields from it.
pub use clinicos_store::patient_demographics;

/// [`NewPatient`] and [`Patient`]: the demographics, then the fields with
/// rules of their own (encrypted contact details, identifiers, consent,
/// status).
macro_rules! patient_types {
    ($($(#[$meta:meta])* $field:ident : $type:ty $(= $default:literal)?,)*) => {
        /// What registering a patient takes.
        #[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct NewPatient {
            $(
                $(#[$meta])*
                // A field with a default may be left out.
                $(#[serde(default)] #[cfg_attr(any(), doc = $default)])?
                pub $field: $type,
            )*
            pub phone: Option<String>,
            pub email: Option<String>,
            /// The patient consented to the processing of their data for care.
            #[serde(default)]
            pub care_consent: bool,
            /// First-visit branch (defaults to the user's current branch).
            #[schema(value_type = Option<domain_schema::BranchId>)]
            pub branch_id: Option<BranchId>,
            /// Street address (stored encrypted).
            pub address: Option<String>,
            /// National id, ABHA number/address, insurance member ids, passport
            /// (values stored encrypted with a blind index per kind).
            #[serde(default)]
            pub identifiers: Vec<IdentifierInput>,
            /// Stored encrypted.
            pub emergency_contact: Option<EmergencyContact>,
            /// Short plaintext labels for the front desk (at most 20).
            #[serde(default)]
            pub tags: Vec<String>,
            /// Operational notes for the front desk (stored encrypted).
            pub notes: Option<String>,
            /// Register even though a patient with the same phone and birth date
            /// or the same identifier exists (otherwise 409 DUPLICATE_PATIENT).
            #[serde(default)]
            pub confirm_new: bool,
        }

        /// A patient as the API shows them (decrypted).
        #[derive(Clone, Serialize, utoipa::ToSchema)]
        pub struct Patient {
            #[schema(value_type = domain_schema::PatientId)]
            pub id: PatientId,
            $(
                $(#[$meta])*
                pub $field: $type,
            )*
            pub phone: Option<String>,
            pub email: Option<String>,
            #[schema(value_type = Option<domain_schema::BranchId>)]
            pub first_branch_id: Option<BranchId>,
            pub care_consent_at: Option<DateTime<Utc>>,
            pub is_active: bool,
            pub deceased_at: Option<DateTime<Utc>>,
            /// The date of death, when recorded.
            pub deceased_on: Option<String>,
            pub address: Option<String>,
            /// The patient's identifiers (on single-patient answers; empty in lists).
            pub identifiers: Vec<Identifier>,
            pub emergency_contact: Option<EmergencyContact>,
            pub tags: Vec<String>,
            pub notes: Option<String>,
            /// Reminders and messages may go to this patient (`App::may_contact`:
            /// active and not deceased).
            pub may_contact: bool,
            /// Set when this record was merged into another: the surviving
            /// record's id (this one stays readable; see `patient_merge`).
            #[schema(value_type = Option<domain_schema::PatientId>)]
            pub merged_into: Option<PatientId>,
            pub created_at: DateTime<Utc>,
        }
    };
}

patient_demographics!(patient_types);

pub const SEXES: [&str; 4] = ["female", "male", "other", "unknown"];

/// Longest name in a local script, in characters (the whole name: given,
/// middle and family together, as it is written in that script).
pub const MAX_LOCAL_NAME: usize = 200;

/// The blind-index form of a phone number: `+` and digits only.
pub fn normalise_phone(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// 7 to 15 digits, at most one leading `+`.
fn phone_ok(v: &str) -> bool {
    let n = normalise_phone(v);
    let digits = n.trim_start_matches('+').len();
    (7..=15).contains(&digits) && !n.chars().skip(1).any(|c| c == '+')
}

pub(crate) fn validate(p: &NewPatient, today: NaiveDate) -> AppResult<()> {
    let mut v = Validator::new();
    v.text("given_name", &p.given_name, 100);
    if p.middle_name.chars().count() > 100 {
        v.add("middle_name", "must be at most 100 characters");
    }
    if p.family_name.chars().count() > 100 {
        v.add("family_name", "must be at most 100 characters");
    }
    v.opt_text("local_name", Some(p.local_name.trim()), MAX_LOCAL_NAME);
    if !SEXES.contains(&p.sex.as_str()) {
        v.add("sex", "must be one of female, male, other, unknown");
    }
    if let Some(d) = &p.birth_date {
        match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) if d > today => v.add("birth_date", "is in the future"),
            Ok(d) if today.years_since(d).is_some_and(|y| y > 130) => {
                v.add("birth_date", "is more than 130 years ago")
            }
            Ok(_) => {}
            Err(_) => v.add("birth_date", "must be a date like 1990-04-17"),
        }
    }
    if p.phone.as_deref().is_some_and(|ph| !phone_ok(ph)) {
        v.add("phone", "must be a phone number of 7 to 15 digits");
    }
    if let Some(e) = &p.email {
        v.email("email", e);
    }
    v.opt_text("city", Some(&p.city), 100);
    v.opt_text("postcode", Some(&p.postcode), 20);
    v.opt_text("gender_identity", Some(&p.gender_identity), 50);
    v.opt_text("address", p.address.as_deref(), fields::MAX_ADDRESS);
    v.opt_text("notes", p.notes.as_deref(), fields::MAX_NOTES);
    fields::check_identifiers(&mut v, &p.identifiers);
    if let Some(c) = &p.emergency_contact {
        v.text("emergency_contact.name", &c.name, 100);
        v.opt_text("emergency_contact.relationship", Some(&c.relationship), 50);
        if !phone_ok(&c.phone) {
            v.add(
                "emergency_contact.phone",
                "must be a phone number of 7 to 15 digits",
            );
        }
    }
    fields::check_language(&mut v, &p.preferred_language);
    fields::check_one_of(
        &mut v,
        "preferred_channel",
        &p.preferred_channel,
        &fields::CHANNELS,
    );
    fields::check_one_of(&mut v, "blood_group", &p.blood_group, &fields::BLOOD_GROUPS);
    fields::check_tags(&mut v, &p.tags);
    v.finish().map_err(AppError::Validation)
}

crate::kit::phi::redacted_debug!(NewPatient, Patient);

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> NewPatient {
        NewPatient {
            given_name: "Asha".into(),
            sex: "female".into(),
            ..NewPatient::default()
        }
    }

    #[test]
    fn debug_output_carries_no_phi() {
        let mut new = p();
        new.phone = Some("+91 98450 77123".into());
        new.notes = Some("Prefers mornings".into());
        new.emergency_contact = Some(crate::patients::fields::EmergencyContact {
            name: "Vasanth".into(),
            phone: "+91 90000 55566".into(),
            relationship: "spouse".into(),
        });
        let shown = format!("{new:?} {:?}", new.emergency_contact);
        for secret in ["98450", "mornings", "Vasanth", "Asha"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.starts_with("NewPatient { .. }"));
    }

    #[test]
    fn validation_names_each_bad_field() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
        assert!(validate(&p(), today).is_ok());
        let bad = NewPatient {
            given_name: " ".into(),
            sex: "f".into(),
            birth_date: Some("2027-01-01".into()),
            phone: Some("12".into()),
            email: Some("nope".into()),
            ..NewPatient::default()
        };
        let Err(AppError::Validation(errs)) = validate(&bad, today) else {
            panic!("expected validation errors");
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in ["given_name", "sex", "birth_date", "phone", "email"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn local_names_are_length_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
        let ok = NewPatient {
            local_name: "रमेश शर्मा".into(),
            ..p()
        };
        assert!(validate(&ok, today).is_ok());
        let long = NewPatient {
            local_name: "र".repeat(MAX_LOCAL_NAME + 1),
            ..p()
        };
        let Err(AppError::Validation(errs)) = validate(&long, today) else {
            panic!("expected a validation error");
        };
        assert_eq!(errs[0].field, "local_name");
    }

    #[test]
    fn phones_normalise_to_digits_and_plus() {
        assert_eq!(normalise_phone("+91 98765-43210"), "+919876543210");
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
        let twice = NewPatient {
            phone: Some("+91+98765".into()),
            ..p()
        };
        assert!(validate(&twice, today).is_err());
    }
}
