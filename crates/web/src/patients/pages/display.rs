//! How a patient is named and aged on every patient page.

use crate::patients::pages::form::age_on;
use clinicos_app::patients::patient::Patient;

/// The display name of a patient (given, middle, family).
pub fn full_name(p: &Patient) -> String {
    [&p.given_name, &p.middle_name, &p.family_name]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Age for display ("34", "~34" when the birth date was estimated).
pub fn age_text(p: &Patient, today: chrono::NaiveDate) -> String {
    match p.birth_date.as_deref().and_then(|b| age_on(b, today)) {
        Some(a) if p.birth_date_estimated => format!("~{a}"),
        Some(a) => a.to_string(),
        None => String::new(),
    }
}
