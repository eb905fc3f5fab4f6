//! Field validation shared by services: each check names the field and says
//! what is wrong, never echoing the value (it may be PHI).

use serde::Serialize;

/// One invalid field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Collects field errors; `finish` turns them into a result.
#[derive(Default, Debug)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Required, trimmed, 1..=max characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, "is required");
        } else if v.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
    }

    /// Optional text: only the length is checked.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            if v.chars().count() > max {
                self.add(field, format!("must be at most {max} characters"));
            }
        }
    }

    pub fn email(&mut self, field: &str, value: &str) {
        if !is_email(value) {
            self.add(field, "must be an email address like name@example.com");
        }
    }

    pub fn time_zone(&mut self, field: &str, value: &str) {
        if value.parse::<chrono_tz::Tz>().is_err() {
            self.add(field, "must be an IANA time zone such as Asia/Kolkata");
        }
    }

    pub fn currency(&mut self, field: &str, value: &str) {
        if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            self.add(field, "must be an ISO 4217 code such as INR");
        }
    }

    pub fn country(&mut self, field: &str, value: &str) {
        if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            self.add(field, "must be an ISO 3166-1 alpha-2 code such as IN");
        }
    }

    pub fn locale(&mut self, field: &str, value: &str) {
        if !crate::kit::validate::SUPPORTED_LOCALES.contains(&value) {
            self.add(
                field,
                format!("must be one of {}", SUPPORTED_LOCALES.join(", ")),
            );
        }
    }

    /// Lower-case letters, digits and hyphens, 2..=40: tenant slugs, codes.
    pub fn slug(&mut self, field: &str, value: &str) {
        let ok = (2..=40).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !value.starts_with('-');
        if !ok {
            self.add(field, "must be 2-40 lower-case letters, digits or hyphens");
        }
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// UI languages with complete message catalogues.
pub const SUPPORTED_LOCALES: [&str; 2] = ["en", "hi"];

/// A pragmatic email shape check (one @, a dot in the domain, no spaces).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && value.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_collects_named_errors() {
        let mut v = Validator::new();
        v.text("name", "  ", 10);
        v.email("email", "not-an-email");
        v.time_zone("time_zone", "Mars/Olympus");
        v.currency("currency", "inr");
        v.slug("slug", "Bad Slug");
        let errs = v.finish().unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "time_zone", "currency", "slug"]);
    }

    #[test]
    fn emails() {
        assert!(is_email("a.b@clinic.example"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@c.d"));
        assert!(!is_email("a@b@c.d"));
    }
}
