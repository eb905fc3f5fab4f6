//! Turning a validated registry form into stored rows: every encrypted
//! field sealed under the patient's data key (bound to table, column and
//! row), blind indexes for phone, email and identifiers, and the duplicate
//! candidates of a new registration. Registration and update share this.

use crate::patients::fields::{
    self as fields, clean_tags, identifier_column, normalise_identifier, Identifier,
    IdentifierInput,
};
use crate::patients::patient::{normalise_phone, patient_demographics, NewPatient, Patient};
use crate::patients::service::Patients;
use crate::{AppError, AppResult};
use chrono::{DateTime, Utc};
use clinicos_domain::{IdentifierId, PatientId, TenantId};
use clinicos_store::kit::sealed::{Sealed, SealedColumn};
use clinicos_store::patients::identifiers::IdentifierRow;
use clinicos_store::patients::identifiers::IdentifierValue;
use clinicos_store::patients::registry::{self as patients, PatientRow};
use clinicos_store::patients::registry::{
    PatientAddress, PatientEmail, PatientEmergencyContact, PatientNotes, PatientPhone,
};
use clinicos_store::TenantTx;

/// A patient's encrypted columns in plaintext, normalised as they are
/// stored (phone digits, lower-case email, trimmed contact).
#[derive(Default)]
pub(crate) struct PrivateFields {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub emergency_contact: Option<fields::EmergencyContact>,
}

impl PrivateFields {
    /// The values a validated form stores.
    pub fn of(p: &NewPatient) -> PrivateFields {
        PrivateFields {
            phone: stored(p.phone.as_deref().map(normalise_phone)),
            email: stored(p.email.as_deref().map(|e| e.trim().to_lowercase())),
            address: stored(p.address.clone()),
            notes: stored(p.notes.clone()),
            emergency_contact: p
                .emergency_contact
                .as_ref()
                .map(|c| fields::EmergencyContact {
                    name: c.name.trim().to_owned(),
                    phone: normalise_phone(&c.phone),
                    relationship: c.relationship.trim().to_owned(),
                }),
        }
    }
}

/// What an optional text column holds once sealed: trimmed, and nothing
/// for an empty value (as `seal_opt` stores it).
fn stored(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// What a demographic value is stored as, given its column's default
/// (`()` when it has none): text trimmed, and the default for empty text;
/// a date and a flag as given.
trait AsStored<D> {
    fn as_stored(&self, default: D) -> Self;
}

impl AsStored<&str> for String {
    fn as_stored(&self, default: &str) -> String {
        match self.trim() {
            "" => default.to_owned(),
            text => text.to_owned(),
        }
    }
}

impl AsStored<()> for String {
    fn as_stored(&self, (): ()) -> String {
        self.trim().to_owned()
    }
}

impl AsStored<()> for Option<String> {
    fn as_stored(&self, (): ()) -> Option<String> {
        self.clone()
    }
}

impl AsStored<bool> for bool {
    fn as_stored(&self, _: bool) -> bool {
        *self
    }
}

/// A demographic value as stored: `as_stored!(value)` or, for a column
/// with a default, `as_stored!(value, default)`.
macro_rules! as_stored {
    ($value:expr) => {
        AsStored::as_stored($value, ())
    };
    ($value:expr, $default:expr) => {
        AsStored::as_stored($value, $default)
    };
}

/// The row and form copies of the demographics: a blank row, the form a
/// stored patient would be typed as, and a validated form's values as
/// stored.
macro_rules! demographic_copies {
    ($($(#[$meta:meta])* $field:ident : $type:ty $(= $default:literal)?,)*) => {
        /// A registry row with nothing but its id and times (the form fills it).
        pub(crate) fn blank_row(id: PatientId, now: DateTime<Utc>) -> PatientRow {
            PatientRow {
                id,
                $($field: as_stored!(&<$type>::default() $(, $default)?),)*
                phone: None,
                phone_bidx: None,
                email: None,
                email_bidx: None,
                first_branch_id: None,
                care_consent_at: None,
                is_active: true,
                deceased_at: None,
                deceased_on: None,
                erased_at: None,
                address: None,
                emergency_contact: None,
                tags: "[]".into(),
                notes: None,
                created_by: None,
                created_at: now,
                updated_at: now,
            }
        }

        /// The form a stored patient would be typed as (for a partial update).
        pub(crate) fn as_form(p: &Patient) -> NewPatient {
            NewPatient {
                $($field: p.$field.clone(),)*
                phone: p.phone.clone(),
                email: p.email.clone(),
                care_consent: p.care_consent_at.is_some(),
                branch_id: p.first_branch_id,
                address: p.address.clone(),
                identifiers: p
                    .identifiers
                    .iter()
                    .map(|i| IdentifierInput {
                        kind: i.kind.clone(),
                        value: i.value.clone(),
                        issuer: i.issuer.clone(),
                        country: i.country.clone(),
                    })
                    .collect(),
                emergency_contact: p.emergency_contact.clone(),
                tags: p.tags.clone(),
                notes: p.notes.clone(),
                confirm_new: false,
            }
        }

        /// A validated form's demographics, as stored.
        fn store_demographics(row: &mut PatientRow, p: &NewPatient) {
            $(row.$field = as_stored!(&p.$field $(, $default)?);)*
        }
    };
}

patient_demographics!(demographic_copies);

/// Active patients that look like the same person as `row`: same phone
/// and birth date, or one of the same identifiers.
pub(crate) async fn duplicates(
    tx: &mut TenantTx,
    row: &PatientRow,
    idents: &[IdentifierRow],
) -> AppResult<Vec<PatientId>> {
    let phone_birth = row.phone_bidx.as_deref().zip(row.birth_date.as_deref());
    let keys: Vec<(String, String)> = idents
        .iter()
        .map(|i| (i.kind.clone(), i.value_bidx.clone()))
        .collect();
    Ok(patients::duplicates(tx, phone_birth, &keys).await?)
}

fn encoding(_: serde_json::Error) -> AppError {
    AppError::Internal("a patient field could not be encoded".into())
}

impl Patients<'_> {
    /// Encrypt an optional patient field (empty text is no value).
    async fn seal_opt<C: SealedColumn>(
        &self,
        t: TenantId,
        id: PatientId,
        value: Option<&str>,
    ) -> AppResult<Option<Sealed<C>>> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Ok(Some(self.app.cipher.seal(t, id, id, v.as_bytes()).await?)),
            None => Ok(None),
        }
    }

    /// Encrypt and index a value that is looked up exactly.
    async fn seal_indexed<C: SealedColumn>(
        &self,
        t: TenantId,
        id: PatientId,
        normalised: Option<String>,
    ) -> AppResult<(Option<Sealed<C>>, Option<String>)> {
        match normalised {
            Some(n) => Ok((
                self.seal_opt(t, id, Some(&n)).await?,
                Some(self.app.cipher.blind_index(t, C::COLUMN, &n).await?),
            )),
            None => Ok((None, None)),
        }
    }

    /// Fill every changeable column of `row` from a validated form,
    /// encrypting what SECURITY.md lists as encrypted. Returns the
    /// encrypted columns' values as stored, so a caller can answer without
    /// decrypting what it just sealed.
    pub(crate) async fn seal_into(
        &self,
        t: TenantId,
        row: &mut PatientRow,
        p: &NewPatient,
        now: DateTime<Utc>,
    ) -> AppResult<PrivateFields> {
        let id = row.id;
        let private = PrivateFields::of(p);
        (row.phone, row.phone_bidx) = self
            .seal_indexed::<PatientPhone>(t, id, private.phone.clone())
            .await?;
        (row.email, row.email_bidx) = self
            .seal_indexed::<PatientEmail>(t, id, private.email.clone())
            .await?;
        row.address = self
            .seal_opt::<PatientAddress>(t, id, private.address.as_deref())
            .await?;
        row.notes = self
            .seal_opt::<PatientNotes>(t, id, private.notes.as_deref())
            .await?;
        let contact = match &private.emergency_contact {
            Some(c) => Some(serde_json::to_string(c).map_err(encoding)?),
            None => None,
        };
        row.emergency_contact = self
            .seal_opt::<PatientEmergencyContact>(t, id, contact.as_deref())
            .await?;
        store_demographics(row, p);
        row.care_consent_at = if p.care_consent {
            row.care_consent_at.or(Some(now))
        } else {
            None
        };
        row.tags = serde_json::to_string(&clean_tags(&p.tags)).map_err(encoding)?;
        row.updated_at = now;
        Ok(private)
    }

    /// Encrypt and index a patient's identifiers (new rows, new ids).
    pub(crate) async fn seal_identifiers(
        &self,
        t: TenantId,
        patient: PatientId,
        ids: &[IdentifierInput],
        now: DateTime<Utc>,
    ) -> AppResult<Vec<IdentifierRow>> {
        let mut out = Vec::with_capacity(ids.len());
        for i in ids {
            let id = IdentifierId::new();
            let value = i.value.trim();
            out.push(IdentifierRow {
                value: self
                    .app
                    .cipher
                    .seal::<IdentifierValue>(t, id, patient, value.as_bytes())
                    .await?,
                value_bidx: self.identifier_index(t, &i.kind, value).await?,
                id,
                patient_id: patient,
                kind: i.kind.clone(),
                issuer: i.issuer.trim().to_owned(),
                country: i.country.to_ascii_uppercase(),
                created_at: now,
            });
        }
        Ok(out)
    }

    /// The blind index of an identifier value of `kind`.
    pub(crate) async fn identifier_index(
        &self,
        t: TenantId,
        kind: &str,
        value: &str,
    ) -> AppResult<String> {
        self.app
            .cipher
            .blind_index(t, &identifier_column(kind), &normalise_identifier(value))
            .await
    }

    /// Attach decrypted identifiers to a patient (an undecryptable one,
    /// after erasure, is left out).
    pub(crate) async fn with_identifiers(
        &self,
        t: TenantId,
        mut p: Patient,
        rows: Vec<IdentifierRow>,
    ) -> Patient {
        for r in rows {
            let plain = self
                .app
                .cipher
                .open::<IdentifierValue>(t, r.id, r.patient_id, &r.value)
                .await
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if let Some(value) = plain {
                p.identifiers.push(Identifier {
                    id: r.id,
                    kind: r.kind,
                    value,
                    issuer: r.issuer,
                    country: r.country,
                });
            }
        }
        p
    }

    /// Decrypt an optional patient column.
    pub(crate) async fn open_opt<C: SealedColumn>(
        &self,
        t: TenantId,
        id: PatientId,
        sealed: &Option<Sealed<C>>,
    ) -> Option<String> {
        let bytes = self
            .app
            .cipher
            .open(t, id, id, sealed.as_ref()?)
            .await
            .ok()?;
        String::from_utf8(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demographics_are_stored_trimmed_with_their_defaults() {
        let now = chrono::Utc::now();
        let blank = blank_row(PatientId::new(), now);
        assert_eq!(
            (blank.preferred_channel.as_str(), blank.blood_group.as_str()),
            ("none", "unknown")
        );
        let mut row = blank.clone();
        let p = NewPatient {
            given_name: "  Asha ".into(),
            city: " Pune".into(),
            blood_group: " ".into(),
            birth_date: Some("1990-01-02".into()),
            marketing_consent: true,
            ..NewPatient::default()
        };
        store_demographics(&mut row, &p);
        assert_eq!(row.given_name, "Asha");
        assert_eq!(row.city, "Pune");
        assert_eq!(row.blood_group, "unknown");
        assert_eq!(row.birth_date.as_deref(), Some("1990-01-02"));
        assert!(row.marketing_consent);
    }
}
