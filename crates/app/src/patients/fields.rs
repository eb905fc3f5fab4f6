//! The registry fields beyond names and contact details: identifiers (which
//! kinds each country offers), emergency contact, preferences, blood group,
//! tags, front-desk notes. Their value lists, validation and normalisation
//! live here; encryption and storage in `patients` / `patient_update`.

use clinicos_domain::kit::validate::Validator;
use serde::{Deserialize, Serialize};

/// Identifier kinds the registry stores.
pub const IDENTIFIER_KINDS: [&str; 6] = [
    "national_id",
    "abha_number",
    "abha_address",
    "insurance_member_id",
    "passport",
    "other",
];

/// Preferred contact channels (`none`: do not contact).
pub const CHANNELS: [&str; 5] = ["sms", "whatsapp", "email", "phone", "none"];

/// Blood groups (`unknown` when not typed).
pub const BLOOD_GROUPS: [&str; 9] = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", "unknown"];

/// At most this many identifiers per patient.
pub const MAX_IDENTIFIERS: usize = 10;
/// At most this many tags, each at most `MAX_TAG` characters.
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 40;
/// Longest front-desk note and street address, in characters.
pub const MAX_NOTES: usize = 2000;
pub const MAX_ADDRESS: usize = 300;

/// An identifier as typed at registration or update.
#[derive(Clone, Default, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierInput {
    /// One of `national_id`, `abha_number`, `abha_address`,
    /// `insurance_member_id`, `passport`, `other`.
    pub kind: String,
    /// The value (stored encrypted; matched exactly, ignoring case, spaces
    /// and hyphens).
    pub value: String,
    /// Who issued it (an insurer, "PhilHealth", ...).
    #[serde(default)]
    pub issuer: String,
    /// ISO 3166 alpha-2 country of issue, or empty.
    #[serde(default)]
    pub country: String,
}

/// A stored identifier (decrypted).
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Identifier {
    #[schema(value_type = crate::kit::domain_schema::IdentifierId)]
    pub id: clinicos_domain::IdentifierId,
    pub kind: String,
    pub value: String,
    pub issuer: String,
    pub country: String,
}

/// Whom to call in an emergency (stored encrypted as one value).
#[derive(Clone, Default, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub relationship: String,
}

/// An identifier kind a country offers at registration.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct IdentifierKind {
    pub kind: &'static str,
    /// Translation key of the label ("Aadhaar", "ABHA number", ...).
    pub label: &'static str,
    /// The issuer to pre-fill, or empty.
    pub issuer: &'static str,
}

const fn kind(kind: &'static str, label: &'static str, issuer: &'static str) -> IdentifierKind {
    IdentifierKind {
        kind,
        label,
        issuer,
    }
}

/// The identifier kinds offered for patients of `country` (ISO alpha-2,
/// any case), in the order a form shows them.
pub fn kinds_for(country: &str) -> Vec<IdentifierKind> {
    match country.to_ascii_uppercase().as_str() {
        "IN" => vec![
            kind("abha_number", "identifier-abha-number", "ABDM"),
            kind("abha_address", "identifier-abha-address", "ABDM"),
            kind("national_id", "identifier-aadhaar", "UIDAI"),
            kind("passport", "identifier-passport", ""),
        ],
        "US" => vec![
            kind("insurance_member_id", "identifier-insurance-member-id", ""),
            kind("passport", "identifier-passport", ""),
        ],
        "PH" => vec![
            kind("insurance_member_id", "identifier-philhealth", "PhilHealth"),
            kind("national_id", "identifier-philsys", "PhilSys"),
            kind("passport", "identifier-passport", ""),
        ],
        _ => vec![
            kind("national_id", "identifier-national-id", ""),
            kind("passport", "identifier-passport", ""),
        ],
    }
}

/// The blind-index form of an identifier: upper case, without spaces,
/// hyphens and dots.
pub fn normalise_identifier(v: &str) -> String {
    v.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// The blind-index column of an identifier kind (one index per kind).
pub fn identifier_column(kind: &str) -> String {
    format!("identifier:{kind}")
}

/// Check identifiers (`identifiers[i].field` names the bad one).
pub fn check_identifiers(v: &mut Validator, ids: &[IdentifierInput]) {
    if ids.len() > MAX_IDENTIFIERS {
        v.add(
            "identifiers",
            format!("must be at most {MAX_IDENTIFIERS} identifiers"),
        );
    }
    for (i, id) in ids.iter().enumerate() {
        let at = |f: &str| format!("identifiers[{i}].{f}");
        if !IDENTIFIER_KINDS.contains(&id.kind.as_str()) {
            v.add(
                &at("kind"),
                format!("must be one of {}", IDENTIFIER_KINDS.join(", ")),
            );
        }
        let n = normalise_identifier(&id.value);
        if n.is_empty() || n.chars().count() > 64 {
            v.add(&at("value"), "must be 1 to 64 characters");
        } else if id.kind == "abha_number"
            && (n.len() != 14 || !n.chars().all(|c| c.is_ascii_digit()))
        {
            v.add(&at("value"), "must be a 14-digit ABHA number");
        } else if id.kind == "abha_address" && !n.contains('@') {
            v.add(&at("value"), "must be an ABHA address like name@abdm");
        }
        v.opt_text(&at("issuer"), Some(&id.issuer), 100);
        if !id.country.is_empty() {
            v.country(&at("country"), &id.country.to_ascii_uppercase());
        }
    }
    for (i, a) in ids.iter().enumerate() {
        let dup = ids[..i].iter().any(|b| {
            a.kind == b.kind && normalise_identifier(&a.value) == normalise_identifier(&b.value)
        });
        if dup {
            v.add(&format!("identifiers[{i}].value"), "is listed twice");
        }
    }
}

/// Check tags: short, at most `MAX_TAGS`, no control characters.
pub fn check_tags(v: &mut Validator, tags: &[String]) {
    if tags.len() > MAX_TAGS {
        v.add("tags", format!("must be at most {MAX_TAGS} tags"));
    }
    let bad = tags.iter().any(|t| {
        let t = t.trim();
        t.is_empty() || t.chars().count() > MAX_TAG || t.chars().any(char::is_control)
    });
    if bad {
        v.add(
            "tags",
            format!("each tag must be 1 to {MAX_TAG} characters"),
        );
    }
}

/// Check a value against a closed list (empty means the default).
pub fn check_one_of(v: &mut Validator, field: &str, value: &str, allowed: &[&str]) {
    if !value.is_empty() && !allowed.contains(&value) {
        v.add(field, format!("must be one of {}", allowed.join(", ")));
    }
}

/// A preferred language: a BCP 47-like tag (`hi`, `en-IN`), or empty.
pub fn check_language(v: &mut Validator, value: &str) {
    let ok = value.len() <= 20
        && value
            .split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !value.is_empty() && !ok {
        v.add(
            "preferred_language",
            "must be a language tag like hi or en-IN",
        );
    }
}

/// Tags trimmed, deduplicated, in the order given.
pub fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags.iter().map(|t| t.trim().to_owned()) {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

crate::kit::phi::redacted_debug!(EmergencyContact, Identifier, IdentifierInput);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_normalise_and_validate() {
        assert_eq!(normalise_identifier(" ab-12 34.x "), "AB1234X");
        let mut v = Validator::new();
        check_identifiers(
            &mut v,
            &[
                IdentifierInput {
                    kind: "abha_number".into(),
                    value: "12-3456-7890-1234".into(),
                    ..IdentifierInput::default()
                },
                IdentifierInput {
                    kind: "ssn".into(),
                    value: "1".into(),
                    ..IdentifierInput::default()
                },
                IdentifierInput {
                    kind: "abha_number".into(),
                    value: "12345678901234".into(),
                    ..IdentifierInput::default()
                },
            ],
        );
        let errs = v.finish().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["identifiers[1].kind", "identifiers[2].value"]);
    }

    #[test]
    fn countries_offer_their_identifiers() {
        let india: Vec<&str> = kinds_for("in").iter().map(|k| k.kind).collect();
        assert_eq!(
            india,
            ["abha_number", "abha_address", "national_id", "passport"]
        );
        assert_eq!(kinds_for("PH")[0].issuer, "PhilHealth");
        assert_eq!(kinds_for("FR")[0].kind, "national_id");
    }

    #[test]
    fn lists_and_languages() {
        let mut v = Validator::new();
        check_one_of(&mut v, "blood_group", "", &BLOOD_GROUPS);
        check_one_of(&mut v, "preferred_channel", "sms", &CHANNELS);
        check_language(&mut v, "en-IN");
        check_tags(&mut v, &["vip".into()]);
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        check_one_of(&mut v, "blood_group", "C+", &BLOOD_GROUPS);
        check_language(&mut v, "en_IN!");
        check_tags(&mut v, &[" ".into()]);
        assert_eq!(v.finish().unwrap_err().len(), 3);
        assert_eq!(
            clean_tags(&[" a".into(), "a".into(), "b".into()]),
            ["a", "b"]
        );
    }
}
