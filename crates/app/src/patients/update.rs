//! Changing a registered patient: a partial update (only the fields sent
//! change; the audit event names the changed fields, never their values),
//! deactivation and reactivation, recording a death, and the one rule
//! every reminder and campaign asks: may this patient be contacted?

use crate::governance::policy::Action;
use crate::patients::consent::Purpose;
use crate::patients::fields::{EmergencyContact, IdentifierInput, IdentifierKind};
use crate::patients::patient::{patient_demographics, validate, NewPatient, Patient};
use crate::patients::registry::{event, load, load_for_write};
use crate::patients::service::Patients;
use crate::patients::write::as_form;
use crate::{AppError, AppResult, Ctx};
use chrono::NaiveDate;
use clinicos_domain::governance::audit_catalogue::AuditAction;
use clinicos_domain::PatientId;
use clinicos_store::governance::audit::{self};
use clinicos_store::{
    patients::identifiers as patient_identifiers, patients::registry as patients,
};
use serde::{Deserialize, Deserializer};

/// Present-but-null (`Some(None)`: clear) apart from absent (`None`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// How a sent demographic field becomes a change: absent is no change;
/// `null` is no change for a plain value and clears an optional one.
trait Sent<'de>: Sized {
    fn sent<D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error>;
}

macro_rules! sent_plain {
    ($($t:ty),*) => {
        $(
            impl<'de> Sent<'de> for $t {
                fn sent<D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                    Option::<$t>::deserialize(d)
                }
            }
        )*
    };
}

sent_plain!(String, bool);

impl<'de, T: Deserialize<'de>> Sent<'de> for Option<T> {
    fn sent<D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        nullable(d)
    }
}

fn sent<'de, D: Deserializer<'de>, T: Sent<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::sent(d)
}

/// [`PatientUpdate`], the full update a whole form makes, and how an
/// update applies to the form: the demographics, then the fields with
/// rules of their own.
macro_rules! update_type {
    ($($(#[$meta:meta])* $field:ident : $type:ty $(= $default:literal)?,)*) => {
        /// A partial update: absent fields stay; `null` clears a nullable field.
        /// `identifiers` replaces the whole list when sent.
        #[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct PatientUpdate {
            $(
                $(#[$meta])*
                #[serde(default, deserialize_with = "sent")]
                pub $field: Option<$type>,
            )*
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            pub phone: Option<Option<String>>,
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            pub email: Option<Option<String>>,
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            pub address: Option<Option<String>>,
            pub identifiers: Option<Vec<IdentifierInput>>,
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<EmergencyContact>)]
            pub emergency_contact: Option<Option<EmergencyContact>>,
            pub tags: Option<Vec<String>>,
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            pub notes: Option<Option<String>>,
            pub care_consent: Option<bool>,
        }

        /// Every field of a whole form (the chart's demographics form
        /// shows them all).
        impl From<NewPatient> for PatientUpdate {
            fn from(p: NewPatient) -> Self {
                PatientUpdate {
                    $($field: Some(p.$field),)*
                    phone: Some(p.phone),
                    email: Some(p.email),
                    address: Some(p.address),
                    identifiers: Some(p.identifiers),
                    emergency_contact: Some(p.emergency_contact),
                    tags: Some(p.tags),
                    notes: Some(p.notes),
                    care_consent: Some(p.care_consent),
                }
            }
        }

        /// Apply the sent fields (but care consent, which the caller
        /// takes first) to `form`; the names of those that changed, in
        /// declaration order.
        fn merge_update(form: &mut NewPatient, u: PatientUpdate) -> Vec<&'static str> {
            merge!(form, u; $($field,)* phone, email, address, identifiers, emergency_contact,
                tags, notes)
        }
    };
}

/// A date of death.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeceasedInput {
    /// `YYYY-MM-DD`, not in the future nor before the birth date.
    pub date: String,
}

/// Apply the sent fields to `form`; returns the names of those that
/// changed, in declaration order.
macro_rules! merge {
    ($form:ident, $u:ident; $($f:ident),* $(,)?) => {{
        let mut changed: Vec<&'static str> = Vec::new();
        $(
            if let Some(v) = $u.$f {
                if $form.$f != v {
                    $form.$f = v;
                    changed.push(stringify!($f));
                }
            }
        )*
        changed
    }};
}

patient_demographics!(update_type);

impl Patients<'_> {
    /// Change the fields sent (validated like a registration, encrypted,
    /// names re-indexed when they change). Audited as `patient.updated`
    /// with the changed field names as the reason.
    pub async fn update_patient(
        &self,
        ctx: &Ctx,
        id: PatientId,
        u: PatientUpdate,
    ) -> AppResult<Patient> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let now = self.app.clock.now();
        let t = ctx.tenant;
        let mut tx = self.app.store.write(t).await?;
        let mut row = load_for_write(&mut tx, id).await?;
        let mut idents = patient_identifiers::list(&mut tx, id).await?;
        let current = self.show_patient(t, row.clone()).await?;
        let current = self.with_identifiers(t, current, idents.clone()).await;
        let mut form = as_form(&current);
        let care_consent = u.care_consent;
        let mut changed = merge_update(&mut form, u);
        if let Some(c) = care_consent.filter(|c| *c != form.care_consent) {
            form.care_consent = c;
            changed.push("care_consent");
        }
        validate(&form, now.date_naive())?;
        let names_changed = changed.iter().any(|f| {
            matches!(
                *f,
                "given_name" | "middle_name" | "family_name" | "local_name"
            )
        });
        self.seal_into(t, &mut row, &form, now).await?;
        patients::update(&mut tx, &row, names_changed).await?;
        if changed.contains(&"identifiers") {
            idents = self.seal_identifiers(t, id, &form.identifiers, now).await?;
            patient_identifiers::replace(&mut tx, id, &idents).await?;
        }
        let reason = changed.join(",");
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(now, AuditAction::PatientUpdated, vec![id.as_text()]).because(reason),
            Purpose::Operations.as_str(),
        )
        .await?;
        tx.commit().await?;
        let shown = self.show_patient(t, row).await?;
        Ok(self.with_identifiers(t, shown, idents).await)
    }

    /// Deactivate (`false`) or reactivate (`true`) a patient: an inactive
    /// patient is kept but gets no reminders and no duplicate warnings.
    pub async fn set_patient_active(
        &self,
        ctx: &Ctx,
        id: PatientId,
        active: bool,
    ) -> AppResult<Patient> {
        let action = if active {
            AuditAction::PatientReactivated
        } else {
            AuditAction::PatientDeactivated
        };
        self.change_status(ctx, id, action, |row| row.is_active = active)
            .await
    }

    /// Record a patient's death (stops every reminder and campaign).
    pub async fn mark_deceased(
        &self,
        ctx: &Ctx,
        id: PatientId,
        d: DeceasedInput,
    ) -> AppResult<Patient> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let now = self.app.clock.now();
        let date = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d")
            .map_err(|_| AppError::field("date", "must be a date like 2026-04-17"))?;
        if date > now.date_naive() {
            return Err(AppError::field("date", "is in the future"));
        }
        let date = date.format("%Y-%m-%d").to_string();
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let born = load(&mut tx, id).await?.birth_date;
        drop(tx);
        if born.is_some_and(|b| b > date) {
            return Err(AppError::field("date", "is before the birth date"));
        }
        self.change_status(ctx, id, AuditAction::PatientDeceased, |row| {
            row.deceased_on = Some(date.clone());
            row.deceased_at = Some(now);
        })
        .await
    }

    async fn change_status(
        &self,
        ctx: &Ctx,
        id: PatientId,
        action: AuditAction,
        change: impl FnOnce(&mut patients::PatientRow),
    ) -> AppResult<Patient> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let mut row = load_for_write(&mut tx, id).await?;
        change(&mut row);
        row.updated_at = now;
        patients::update(&mut tx, &row, false).await?;
        let idents = patient_identifiers::list(&mut tx, id).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(now, action, vec![id.as_text()]),
            Purpose::Operations.as_str(),
        )
        .await?;
        tx.commit().await?;
        let shown = self.show_patient(ctx.tenant, row).await?;
        Ok(self.with_identifiers(ctx.tenant, shown, idents).await)
    }

    /// May reminders and messages go to this patient? Not when deceased or
    /// inactive, nor a record merged into another (the survivor is
    /// contacted). Every reminder, campaign and notification sender asks.
    pub fn may_contact(&self, patient: &Patient) -> bool {
        patient.is_active
            && patient.deceased_at.is_none()
            && patient.deceased_on.is_none()
            && patient.merged_into.is_none()
    }

    /// May marketing go to this patient? Only with their consent, and only
    /// when they may be contacted at all.
    pub fn may_market(&self, patient: &Patient) -> bool {
        patient.marketing_consent && self.may_contact(patient)
    }

    /// The identifier kinds a country offers at registration.
    pub async fn identifier_kinds(
        &self,
        ctx: &Ctx,
        country: Option<&str>,
    ) -> AppResult<Vec<IdentifierKind>> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewPatients)
            .await?;
        let country = country.unwrap_or_default().to_ascii_uppercase();
        let mut v = clinicos_domain::kit::validate::Validator::new();
        v.country("country", &country);
        v.finish()?;
        Ok(crate::patients::fields::kinds_for(&country))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_clears_an_optional_field_and_changes_no_plain_one() {
        let u: PatientUpdate =
            serde_json::from_str(r#"{"birth_date": null, "city": null, "sex": "male"}"#).unwrap();
        assert_eq!(u.birth_date, Some(None));
        assert_eq!(u.city, None);
        assert_eq!(u.sex.as_deref(), Some("male"));
        assert_eq!(u.given_name, None);
        let u: PatientUpdate = serde_json::from_str(r#"{"birth_date": "1990-01-02"}"#).unwrap();
        assert_eq!(u.birth_date, Some(Some("1990-01-02".into())));
    }

    #[test]
    fn a_whole_form_changes_what_differs_in_declaration_order() {
        let mut form = NewPatient {
            given_name: "Asha".into(),
            sex: "female".into(),
            ..NewPatient::default()
        };
        let mut sent = form.clone();
        sent.blood_group = "B+".into();
        sent.family_name = "Rao".into();
        sent.notes = Some("Prefers mornings".into());
        let changed = merge_update(&mut form, PatientUpdate::from(sent));
        assert_eq!(changed, ["family_name", "blood_group", "notes"]);
        assert_eq!(form.blood_group, "B+");
    }
}
