//! The patient demographics form shared by registration (`/patients/new`)
//! and the chart's edit section: what the inputs show, and how submitted
//! pairs become a [`NewPatient`]. Defaults come from the working branch's
//! country (phone country code, the identifier kinds offered), so the
//! front desk types as little as possible.

use crate::kit::i18n::I18n;
use crate::kit::page::Errs;
use crate::WebState;
use chrono::{Months, NaiveDate};
use clinicos_app::patients::fields::{EmergencyContact, IdentifierInput, IdentifierKind};
use clinicos_app::patients::patient::{patient_demographics, NewPatient, Patient, SEXES};
use clinicos_app::Ctx;

/// The international dialling prefix of a country (ISO alpha-2), for the
/// phone field's default; empty when we do not know it.
pub fn dial_code(country: &str) -> &'static str {
    match country.to_ascii_uppercase().as_str() {
        "IN" => "+91",
        "US" | "CA" => "+1",
        "PH" => "+63",
        "GB" => "+44",
        "AU" => "+61",
        "AE" => "+971",
        "SA" => "+966",
        "QA" => "+974",
        "OM" => "+968",
        "KW" => "+965",
        "BH" => "+973",
        "DE" => "+49",
        "FR" => "+33",
        _ => "",
    }
}

/// A stated age that is not a whole number of years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadAge;

/// A `<select>` option.
#[derive(Clone, Debug)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Options for a select, the current value selected.
pub fn options(i: &I18n, prefix: &str, values: &[&str], current: &str) -> Vec<Opt> {
    values
        .iter()
        .map(|v| Opt {
            value: (*v).to_owned(),
            label: i.t(&format!("{prefix}{v}")),
            selected: *v == current,
        })
        .collect()
}

/// One identifier input offered for the country.
#[derive(Clone, Debug)]
pub struct IdentField {
    pub kind: String,
    pub label: String,
    pub issuer: String,
    pub value: String,
}

/// How a demographic field is typed in the form: text as typed, an
/// optional text empty for none, a flag as a checkbox.
pub trait FormValue {
    type Input: Clone + std::fmt::Debug + Default;
    /// What the input shows for a stored value.
    fn shown(&self) -> Self::Input;
    /// The input as submitted (`key` in the urlencoded pairs).
    fn submitted(pairs: &[(String, String)], key: &str) -> Self::Input;
    /// The value an input stands for.
    fn typed(input: &Self::Input) -> Self;
}

impl FormValue for String {
    type Input = String;
    fn shown(&self) -> String {
        self.clone()
    }
    fn submitted(pairs: &[(String, String)], key: &str) -> String {
        first(pairs, key)
    }
    fn typed(input: &String) -> String {
        input.clone()
    }
}

impl FormValue for Option<String> {
    type Input = String;
    fn shown(&self) -> String {
        self.clone().unwrap_or_default()
    }
    fn submitted(pairs: &[(String, String)], key: &str) -> String {
        first(pairs, key)
    }
    fn typed(input: &String) -> Option<String> {
        Some(input.trim().to_owned()).filter(|v| !v.is_empty())
    }
}

/// A checkbox: checked when sent with any value.
impl FormValue for bool {
    type Input = bool;
    fn shown(&self) -> bool {
        *self
    }
    fn submitted(pairs: &[(String, String)], key: &str) -> bool {
        !first(pairs, key).is_empty()
    }
    fn typed(input: &bool) -> bool {
        *input
    }
}

/// The form's inputs: the demographics, then the ones with rules of their
/// own (a stated age, the phone's country code, the emergency contact's
/// parts, identifiers).
macro_rules! patient_form {
    ($($(#[$meta:meta])* $field:ident : $type:ty $(= $default:literal)?,)*) => {
        /// What the demographics inputs show.
        #[derive(Clone, Debug, Default)]
        pub struct PatientForm {
            $(
                $(#[$meta])*
                pub $field: <$type as FormValue>::Input,
            )*
            pub age_years: String,
            pub phone_code: String,
            pub phone: String,
            pub email: String,
            pub address: String,
            pub ec_name: String,
            pub ec_phone: String,
            pub ec_relationship: String,
            pub tags: String,
            pub notes: String,
            pub care_consent: bool,
            pub country: String,
            pub identifiers: Vec<IdentField>,
        }

        impl PatientForm {
            /// The form showing a registered patient (the chart's edit section).
            pub fn of(i: &I18n, p: &Patient, country: &str, kinds: &[IdentifierKind]) -> Self {
                let ec = p.emergency_contact.clone().unwrap_or_default();
                let values: Vec<(String, String)> = p
                    .identifiers
                    .iter()
                    .map(|x| (x.kind.clone(), x.value.clone()))
                    .collect();
                PatientForm {
                    $($field: FormValue::shown(&p.$field),)*
                    age_years: String::new(),
                    phone_code: String::new(),
                    phone: p.phone.clone().unwrap_or_default(),
                    email: p.email.clone().unwrap_or_default(),
                    address: p.address.clone().unwrap_or_default(),
                    ec_name: ec.name,
                    ec_phone: ec.phone,
                    ec_relationship: ec.relationship,
                    tags: p.tags.join(", "),
                    notes: p.notes.clone().unwrap_or_default(),
                    care_consent: p.care_consent_at.is_some(),
                    country: country.to_ascii_uppercase(),
                    identifiers: ident_fields(i, kinds, &values),
                }
            }

            /// The form as submitted (`pairs` are the urlencoded fields).
            pub fn submitted(
                i: &I18n,
                pairs: &[(String, String)],
                kinds: &[IdentifierKind],
            ) -> Self {
                let f = |k: &str| first(pairs, k);
                let values: Vec<(String, String)> = kinds
                    .iter()
                    .map(|k| (k.kind.to_owned(), f(&format!("ident_{}", k.kind))))
                    .collect();
                PatientForm {
                    $($field: <$type as FormValue>::submitted(pairs, stringify!($field)),)*
                    age_years: f("age_years"),
                    phone_code: f("phone_code"),
                    phone: f("phone"),
                    email: f("email"),
                    address: f("address"),
                    ec_name: f("ec_name"),
                    ec_phone: f("ec_phone"),
                    ec_relationship: f("ec_relationship"),
                    tags: f("tags"),
                    notes: f("notes"),
                    care_consent: !f("care_consent").is_empty(),
                    country: f("country").to_ascii_uppercase(),
                    identifiers: ident_fields(i, kinds, &values),
                }
            }

            /// What the registry service takes. `Err` when the stated age
            /// is not a whole number of years (the page shows it next to
            /// the field).
            pub fn to_new(&self, today: NaiveDate) -> Result<NewPatient, BadAge> {
                let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
                let ec = (!self.ec_name.trim().is_empty() || !self.ec_phone.trim().is_empty())
                    .then(|| EmergencyContact {
                        name: self.ec_name.trim().to_owned(),
                        phone: self.ec_phone.trim().to_owned(),
                        relationship: self.ec_relationship.trim().to_owned(),
                    });
                let mut p = NewPatient {
                    $($field: FormValue::typed(&self.$field),)*
                    phone: self.full_phone(),
                    email: opt(&self.email),
                    care_consent: self.care_consent,
                    branch_id: None,
                    address: opt(&self.address),
                    identifiers: self
                        .identifiers
                        .iter()
                        .filter(|x| !x.value.trim().is_empty())
                        .map(|x| IdentifierInput {
                            kind: x.kind.clone(),
                            value: x.value.trim().to_owned(),
                            issuer: x.issuer.clone(),
                            country: self.country.clone(),
                        })
                        .collect(),
                    emergency_contact: ec,
                    tags: self
                        .tags
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    notes: opt(&self.notes),
                    confirm_new: false,
                };
                (p.birth_date, p.birth_date_estimated) = self.birth(today)?;
                Ok(p)
            }
        }
    };
}

patient_demographics!(patient_form);

/// Selects of the form, built in the reader's language.
#[derive(Clone, Debug)]
pub struct FormChoices {
    pub sexes: Vec<Opt>,
    pub channels: Vec<Opt>,
    pub blood_groups: Vec<Opt>,
}

impl PatientForm {
    /// A blank registration form for a branch in `country`.
    pub fn blank(i: &I18n, country: &str, kinds: &[IdentifierKind]) -> Self {
        PatientForm {
            phone_code: dial_code(country).to_owned(),
            country: country.to_ascii_uppercase(),
            preferred_language: i.locale.clone(),
            preferred_channel: "sms".into(),
            blood_group: "unknown".into(),
            care_consent: true,
            identifiers: ident_fields(i, kinds, &[]),
            ..Default::default()
        }
    }

    /// The selects, with this form's values selected.
    pub fn choices(&self, i: &I18n) -> FormChoices {
        FormChoices {
            sexes: options(i, "sex-", &SEXES, &self.sex),
            channels: options(
                i,
                "channel-",
                &clinicos_app::patients::fields::CHANNELS,
                &self.preferred_channel,
            ),
            blood_groups: clinicos_app::patients::fields::BLOOD_GROUPS
                .iter()
                .map(|b| Opt {
                    value: (*b).to_owned(),
                    label: if *b == "unknown" {
                        i.t("blood-unknown")
                    } else {
                        (*b).to_owned()
                    },
                    selected: *b == self.blood_group,
                })
                .collect(),
        }
    }

    /// The full phone number: typed with `+` as is, otherwise after the
    /// country code; empty when only the code is there.
    fn full_phone(&self) -> Option<String> {
        let n = self.phone.trim();
        if n.is_empty() {
            None
        } else if n.starts_with('+') || self.phone_code.trim().is_empty() {
            Some(n.to_owned())
        } else {
            Some(format!("{} {n}", self.phone_code.trim()))
        }
    }

    /// The birth date to record: the one typed, or one estimated from a
    /// stated age (`today` minus the years; marked as estimated). `Err`
    /// names an age that is not a number.
    fn birth(&self, today: NaiveDate) -> Result<(Option<String>, bool), BadAge> {
        if !self.birth_date.trim().is_empty() {
            return Ok((
                Some(self.birth_date.trim().to_owned()),
                self.birth_date_estimated,
            ));
        }
        let age = self.age_years.trim();
        if age.is_empty() {
            return Ok((None, false));
        }
        let years: u32 = age.parse().map_err(|_| BadAge)?;
        let born = years
            .checked_mul(12)
            .and_then(|m| today.checked_sub_months(Months::new(m)))
            .ok_or(BadAge)?;
        Ok((Some(born.format("%Y-%m-%d").to_string()), true))
    }
}

/// A submitted demographics form read for the services: the form to show
/// again, and the patient it describes or the errors found on the page.
pub struct Submitted {
    pub i: I18n,
    pub form: PatientForm,
    pub patient: Result<NewPatient, Errs>,
}

/// Read a submitted demographics form (identifier kinds of the working
/// branch's country; a stated age counted back from the clock's today).
pub async fn read_submitted(st: &WebState, ctx: &Ctx, pairs: &[(String, String)]) -> Submitted {
    let (_, kinds) = branch_country(st, ctx).await;
    let i = I18n::new(&ctx.locale);
    let form = PatientForm::submitted(&i, pairs, &kinds);
    let patient = form.to_new(st.app.clock.now().date_naive()).map_err(|_| {
        let mut errs = Errs::default();
        errs.add_translated("age_years", i.t("patient-age-invalid"));
        errs
    });
    Submitted { i, form, patient }
}

/// The first value of `key` in submitted pairs (trimmed; empty if absent).
pub fn first(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

fn ident_fields(
    i: &I18n,
    kinds: &[IdentifierKind],
    values: &[(String, String)],
) -> Vec<IdentField> {
    kinds
        .iter()
        .map(|k| IdentField {
            kind: k.kind.to_owned(),
            label: i.t(k.label),
            issuer: k.issuer.to_owned(),
            value: values
                .iter()
                .find(|(kind, _)| kind == k.kind)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// A person's age in whole years on `today`, from a `YYYY-MM-DD` birth date.
pub fn age_on(birth: &str, today: NaiveDate) -> Option<u32> {
    let b = NaiveDate::parse_from_str(birth, "%Y-%m-%d").ok()?;
    today.years_since(b)
}

/// The working branch's country and the identifier kinds it offers.
pub async fn branch_country(st: &WebState, ctx: &Ctx) -> (String, Vec<IdentifierKind>) {
    let branches = st.app.tenancy().my_branches(ctx).await.unwrap_or_default();
    let country = branches
        .iter()
        .find(|b| Some(b.id) == ctx.branch)
        .or(branches.first())
        .map(|b| b.fields.country.clone())
        .unwrap_or_default();
    let kinds = st
        .app
        .patients()
        .identifier_kinds(ctx, Some(&country))
        .await
        .unwrap_or_default();
    (country, kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_stated_age_becomes_an_estimated_birth_date() {
        let f = PatientForm {
            given_name: "Asha".into(),
            sex: "female".into(),
            age_years: "34".into(),
            ..Default::default()
        };
        let p = f.to_new(day("2026-11-26")).expect("valid");
        assert_eq!(p.birth_date.as_deref(), Some("1992-11-26"));
        assert!(p.birth_date_estimated);
        let typed = PatientForm {
            birth_date: "1990-01-02".into(),
            age_years: "5".into(),
            ..f.clone()
        };
        let p = typed.to_new(day("2026-11-26")).expect("valid");
        assert_eq!(p.birth_date.as_deref(), Some("1990-01-02"));
        assert!(!p.birth_date_estimated);
        let bad = PatientForm {
            age_years: "thirty".into(),
            ..f
        };
        assert!(bad.to_new(day("2026-11-26")).is_err());
    }

    #[test]
    fn the_phone_takes_the_country_code_unless_typed_in_full() {
        let mut f = PatientForm {
            phone_code: "+91".into(),
            phone: "98765 43210".into(),
            ..Default::default()
        };
        assert_eq!(f.full_phone().as_deref(), Some("+91 98765 43210"));
        f.phone = "+1 555 0100".into();
        assert_eq!(f.full_phone().as_deref(), Some("+1 555 0100"));
        f.phone = "  ".into();
        assert_eq!(f.full_phone(), None);
        assert_eq!(dial_code("in"), "+91");
        assert_eq!(dial_code("ZZ"), "");
    }

    #[test]
    fn ages_count_whole_years() {
        assert_eq!(age_on("2000-11-27", day("2026-11-26")), Some(25));
        assert_eq!(age_on("2000-11-26", day("2026-11-26")), Some(26));
        assert_eq!(age_on("not a date", day("2026-11-26")), None);
    }
}
