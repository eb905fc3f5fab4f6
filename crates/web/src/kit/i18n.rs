//! UI and error text from Fluent message catalogues (`locales/<lang>/`),
//! English and Hindi. Every visible string goes through [`t`]; a test checks
//! that both catalogues have the same keys and that every key used in the
//! templates and code exists.

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{static_loader, LanguageIdentifier, Loader};
use std::borrow::Cow;
use std::collections::HashMap;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

fn lang(locale: &str) -> LanguageIdentifier {
    let l = if clinicos_domain::kit::validate::SUPPORTED_LOCALES.contains(&locale) {
        locale
    } else {
        "en"
    };
    l.parse().unwrap_or_default()
}

/// Translate a key.
pub fn t(locale: &str, key: &str) -> String {
    LOCALES
        .try_lookup(&lang(locale), key)
        .unwrap_or_else(|| key.to_owned())
}

/// Translate a key with `{ $name }` arguments.
pub fn t_args(locale: &str, key: &str, args: &[(&str, String)]) -> String {
    let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(k, v)| (Cow::Owned((*k).to_owned()), FluentValue::from(v.clone())))
        .collect();
    LOCALES
        .try_lookup_with_args(&lang(locale), key, &map)
        .unwrap_or_else(|| key.to_owned())
}

/// Pick the best supported language from an Accept-Language header.
pub fn negotiate(accept_language: Option<&str>) -> &'static str {
    let Some(h) = accept_language else {
        return "en";
    };
    for part in h.split(',') {
        let tag = part.split(';').next().unwrap_or("").trim().to_lowercase();
        let primary = tag.split('-').next().unwrap_or("");
        if let Some(l) = clinicos_domain::kit::validate::SUPPORTED_LOCALES
            .iter()
            .find(|l| **l == primary)
        {
            return l;
        }
    }
    "en"
}

/// A translator bound to one language, handed to templates as `i`.
#[derive(Clone, Debug)]
pub struct I18n {
    pub locale: String,
}

impl I18n {
    pub fn new(locale: &str) -> Self {
        Self {
            locale: if clinicos_domain::kit::validate::SUPPORTED_LOCALES.contains(&locale) {
                locale.to_owned()
            } else {
                "en".to_owned()
            },
        }
    }
    pub fn t(&self, key: &str) -> String {
        t(&self.locale, key)
    }
    pub fn role(&self, role: &clinicos_domain::Role) -> String {
        t(
            &self.locale,
            &format!("role-{}", role.as_str().replace('_', "-")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(lang: &str) -> BTreeSet<String> {
        let dir = format!("{}/locales/{lang}", env!("CARGO_MANIFEST_DIR"));
        let mut out = BTreeSet::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for line in text.lines() {
                if let Some((k, _)) = line.split_once(" =") {
                    if !k.starts_with(' ') && !k.starts_with('#') && !k.is_empty() {
                        out.insert(k.trim().to_owned());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn catalogues_have_the_same_keys() {
        let en = keys("en");
        let hi = keys("hi");
        assert!(en.len() > 50);
        let missing_hi: Vec<_> = en.difference(&hi).collect();
        let missing_en: Vec<_> = hi.difference(&en).collect();
        assert!(missing_hi.is_empty(), "missing in hi: {missing_hi:?}");
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let en = keys("en");
        let root = env!("CARGO_MANIFEST_DIR");
        let mut used = BTreeSet::new();
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    files(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut all = Vec::new();
        for dir in ["templates", "src"] {
            files(&std::path::Path::new(root).join(dir), &mut all);
        }
        {
            // This file's own examples (`t("key")`) are not uses.
            for path in all.into_iter().filter(|p| !p.ends_with("kit/i18n.rs")) {
                let text = std::fs::read_to_string(path).unwrap();
                // `t("key")` as a call of its own: the character before
                // `t` is not part of an identifier (so `get("x")` is not one).
                for (i, _) in text.match_indices("t(\"") {
                    let before = text[..i].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    if let Some(k) = text[i + 3..].split('"').next() {
                        used.insert(k.to_owned());
                    }
                }
            }
        }
        for r in clinicos_domain::Role::ALL {
            used.insert(format!("role-{}", r.as_str().replace('_', "-")));
        }
        for code in [
            "validation-error",
            "invalid-input",
            "invalid-credentials",
            "unauthorized",
            "token-expired",
            "forbidden",
            "tenant-read-only",
            "account-locked",
            "rate-limited",
            "not-found",
            "conflict",
            "service-busy",
            "scanner-unavailable",
            "share-link-gone",
            "internal-error",
        ] {
            used.insert(format!("error-{code}"));
        }
        let missing: Vec<_> = used
            .iter()
            .filter(|k| !en.contains(*k) && !k.contains('{'))
            .collect();
        assert!(
            missing.is_empty(),
            "keys used but not in the catalogue: {missing:?}"
        );
    }

    #[test]
    fn translation_and_negotiation() {
        assert_eq!(negotiate(Some("hi-IN,hi;q=0.9,en;q=0.8")), "hi");
        assert_eq!(negotiate(Some("fr-FR")), "en");
        assert_ne!(t("hi", "nav-home"), t("en", "nav-home"));
    }
}
