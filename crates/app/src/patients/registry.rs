//! The patient registry core: register, read, list and find patients.
//! Demographics (names, birth date, sex, city) stay plaintext for search
//! and scheduling; phone and email are encrypted under the patient's data
//! key with blind indexes for exact lookup. Every read and write is
//! audited in its own transaction, naming the ids it touched.

use crate::governance::policy::Action;
use crate::patients::access::Purpose;
use crate::patients::fields::{self as fields, EmergencyContact, Identifier, IdentifierInput};
use crate::patients::service::Patients;
use crate::patients::write::{blank_row, duplicates};
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, NaiveDate, Utc};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::{BranchId, UserId};
use clinicos_store::governance::audit::{self, AuditEvent, Outcome};
use clinicos_store::patients::identifiers as patient_identifiers;
use clinicos_store::patients::registry::{self as patients, PatientRow};
use clinicos_store::TenantTx;
use serde::{Deserialize, Serialize};

/// What registering a patient takes.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatient {
    pub given_name: String,
    #[serde(default)]
    pub middle_name: String,
    #[serde(default)]
    pub family_name: String,
    /// The name in a local script (Devanagari, Arabic, ...), searchable
    /// like the other names.
    #[serde(default)]
    pub local_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// `female`, `male`, `other` or `unknown`.
    pub sex: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub postcode: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The patient consented to the processing of their data for care.
    #[serde(default)]
    pub care_consent: bool,
    /// First-visit branch (defaults to the user's current branch).
    pub branch_id: Option<BranchId>,
    /// Free text (at most 50 characters), or empty.
    #[serde(default)]
    pub gender_identity: String,
    /// The birth date was estimated from a stated age.
    #[serde(default)]
    pub birth_date_estimated: bool,
    /// Street address (stored encrypted).
    pub address: Option<String>,
    /// National id, ABHA number/address, insurance member ids, passport
    /// (values stored encrypted with a blind index per kind).
    #[serde(default)]
    pub identifiers: Vec<IdentifierInput>,
    /// Stored encrypted.
    pub emergency_contact: Option<EmergencyContact>,
    /// A language tag like `hi` or `en-IN`, or empty.
    #[serde(default)]
    pub preferred_language: String,
    /// `sms`, `whatsapp`, `email`, `phone` or `none` (the default).
    #[serde(default)]
    pub preferred_channel: String,
    /// `A+` ... `O-`, or `unknown` (the default).
    #[serde(default)]
    pub blood_group: String,
    /// Short plaintext labels for the front desk (at most 20).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Operational notes for the front desk (stored encrypted).
    pub notes: Option<String>,
    /// Consent to marketing messages (off unless given).
    #[serde(default)]
    pub marketing_consent: bool,
    /// Register even though a patient with the same phone and birth date
    /// or the same identifier exists (otherwise 409 DUPLICATE_PATIENT).
    #[serde(default)]
    pub confirm_new: bool,
}

/// A patient as the API shows them (decrypted).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Patient {
    pub id: String,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    pub local_name: String,
    pub birth_date: Option<String>,
    pub sex: String,
    pub city: String,
    pub postcode: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub first_branch_id: Option<BranchId>,
    pub care_consent_at: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub deceased_at: Option<DateTime<Utc>>,
    /// The date of death, when recorded.
    pub deceased_on: Option<String>,
    pub gender_identity: String,
    pub birth_date_estimated: bool,
    pub address: Option<String>,
    /// The patient's identifiers (on single-patient answers; empty in lists).
    pub identifiers: Vec<Identifier>,
    pub emergency_contact: Option<EmergencyContact>,
    pub preferred_language: String,
    pub preferred_channel: String,
    pub blood_group: String,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub marketing_consent: bool,
    /// Reminders and messages may go to this patient (`App::may_contact`:
    /// active and not deceased).
    pub may_contact: bool,
    /// Set when this record was merged into another: the surviving
    /// record's id (this one stays readable; see `patient_merge`).
    pub merged_into: Option<String>,
    pub created_at: DateTime<Utc>,
}

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

impl Patients<'_> {
    /// Register a patient: validation, duplicate warning, encryption and
    /// audit in one write.
    pub async fn register_patient(&self, ctx: &Ctx, p: NewPatient) -> AppResult<Patient> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let now = self.app.clock.now();
        validate(&p, now.date_naive())?;
        let id = uuid::Uuid::now_v7().to_string();
        let t = ctx.tenant;
        let mut row = blank_row(id.clone(), now);
        row.first_branch_id = p.branch_id.or(ctx.branch);
        row.created_by = Some(ctx.user);
        // A fresh id has no key yet: one key-store insert, no lookups.
        self.app
            .cipher
            .create_subject_keys(t, std::slice::from_ref(&id))
            .await?;
        self.seal_into(t, &mut row, &p, now).await?;
        let idents = self.seal_identifiers(t, &id, &p.identifiers, now).await?;
        let mut tx = self.app.store.write(t).await?;
        if let Some(b) = row.first_branch_id {
            if let Err(clinicos_store::StoreError::NotFound) =
                clinicos_store::tenancy::branches::get(&mut tx, b).await
            {
                return Err(AppError::field(
                    "branch_id",
                    "is not a branch of this organisation",
                ));
            }
        }
        if !p.confirm_new {
            let same = duplicates(&mut tx, &row, &idents).await?;
            if !same.is_empty() {
                // The warning shows other patients' ids: audit it as a read.
                audit::record_for(
                    &mut tx,
                    &ctx.actor(),
                    event(now, "patient.duplicate_warning", same.clone()),
                    Purpose::Operations.as_str(),
                )
                .await?;
                tx.commit().await?;
                return Err(AppError::DuplicatePatient(same));
            }
        }
        patients::insert(&mut tx, &row).await?;
        patient_identifiers::insert(&mut tx, &id, &idents).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(now, "patient.created", vec![id.clone()]),
            Purpose::Operations.as_str(),
        )
        .await?;
        tx.commit().await?;
        let shown = self.show_patient(t, row).await?;
        Ok(self.with_identifiers(t, shown, idents).await)
    }

    /// Read a patient's demographics, contact details and identifiers
    /// (audited).
    pub async fn patient(&self, ctx: &Ctx, id: &str) -> AppResult<Patient> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewPatients)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let row = load(&mut tx, id).await?;
        let idents = patient_identifiers::list(&mut tx, id).await?;
        let merged_into = clinicos_store::patients::merge::merged_into(&mut tx, &row.id).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(self.app.clock.now(), "patient.read", vec![row.id.clone()]),
            Purpose::Treatment.as_str(),
        )
        .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, std::slice::from_ref(&row.id))
            .await;
        let mut shown = self.show_patient(ctx.tenant, row).await?;
        shown.merged_into = merged_into;
        shown.may_contact = self.may_contact(&shown);
        Ok(self.with_identifiers(ctx.tenant, shown, idents).await)
    }

    /// Decrypt a row for display (without identifiers: see
    /// `with_identifiers`). A patient whose key was erased shows without
    /// contact details rather than failing the whole page.
    pub(crate) async fn show_patient(
        &self,
        t: clinicos_domain::TenantId,
        r: PatientRow,
    ) -> AppResult<Patient> {
        let phone = self.open_opt(t, "phone", &r.id, &r.phone).await;
        let email = self.open_opt(t, "email", &r.id, &r.email).await;
        let address = self.open_opt(t, "address", &r.id, &r.address).await;
        let notes = self.open_opt(t, "notes", &r.id, &r.notes).await;
        let emergency_contact = self
            .open_opt(t, "emergency_contact", &r.id, &r.emergency_contact)
            .await
            .and_then(|j| serde_json::from_str(&j).ok());
        let mut p = Patient {
            id: r.id,
            given_name: r.given_name,
            middle_name: r.middle_name,
            family_name: r.family_name,
            local_name: r.local_name,
            birth_date: r.birth_date,
            sex: r.sex,
            city: r.city,
            postcode: r.postcode,
            phone,
            email,
            first_branch_id: r.first_branch_id,
            care_consent_at: r.care_consent_at,
            is_active: r.is_active,
            deceased_at: r.deceased_at,
            deceased_on: r.deceased_on,
            gender_identity: r.gender_identity,
            birth_date_estimated: r.birth_date_estimated,
            address,
            identifiers: Vec::new(),
            emergency_contact,
            preferred_language: r.preferred_language,
            preferred_channel: r.preferred_channel,
            blood_group: r.blood_group,
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            notes,
            marketing_consent: r.marketing_consent,
            may_contact: false,
            merged_into: None,
            created_at: r.created_at,
        };
        p.may_contact = self.may_contact(&p);
        Ok(p)
    }

    pub(crate) async fn open_text(
        &self,
        t: clinicos_domain::TenantId,
        column: &str,
        id: &str,
        ciphertext: &[u8],
    ) -> Option<String> {
        let bytes = self
            .app
            .cipher
            .decrypt(t, "patients", column, id, id, ciphertext)
            .await
            .ok()?;
        String::from_utf8(bytes).ok()
    }

    /// Internal hook for scheduling and visits: record that `user` saw or
    /// will see the patient (`appointment` or `visit`), which makes the
    /// patient one of theirs for the tenant's window.
    pub async fn record_encounter(
        &self,
        tenant: clinicos_domain::TenantId,
        patient: &str,
        user: UserId,
        kind: &str,
        at: DateTime<Utc>,
    ) -> AppResult<()> {
        if !matches!(kind, "appointment" | "visit") {
            return Err(AppError::field("kind", "must be appointment or visit"));
        }
        let mut tx = self.app.store.write(tenant).await?;
        load(&mut tx, patient).await?;
        patients::upsert_care(&mut tx, patient, user, kind, at, None).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Load a patient to change it: 404 as [`load`], and 409 when the record
/// was merged into another (its data lives on the survivor now; writes to
/// the merged record would be lost from view or undone by an unmerge).
pub async fn load_for_write(tx: &mut TenantTx, id: &str) -> AppResult<PatientRow> {
    let row = load(tx, id).await?;
    refuse_if_merged(tx, &row).await?;
    Ok(row)
}

/// 409 when `row` was merged into another patient.
pub(crate) async fn refuse_if_merged(tx: &mut TenantTx, row: &PatientRow) -> AppResult<()> {
    match clinicos_store::patients::merge::merged_into(tx, &row.id).await? {
        Some(survivor) => Err(AppError::Conflict(format!(
            "this patient record was merged into {survivor}; change the surviving record"
        ))),
        None => Ok(()),
    }
}

/// Load a patient or answer 404 (also for a malformed id).
pub async fn load(tx: &mut TenantTx, id: &str) -> AppResult<PatientRow> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(AppError::NotFound("patient"));
    }
    patients::get(tx, id).await.map_err(|e| match e {
        clinicos_store::StoreError::NotFound => AppError::NotFound("patient"),
        other => other.into(),
    })
}

pub(crate) fn event(
    at: DateTime<Utc>,
    action: &'static str,
    ids: Vec<String>,
) -> AuditEvent<'static> {
    AuditEvent {
        at,
        action,
        resource_type: "patient",
        resource_ids: ids,
        outcome: Outcome::Success,
        reason: "",
    }
}

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
