//! Jurisdiction packs: per-country policy as data (`jurisdictions.toml`,
//! compiled into the binary), and the retention a tenant must keep.
//!
//! Invariants:
//! - The data file is the only place periods are written; code never
//!   branches on a country.
//! - A tenant under several packs keeps each kind of data for the LONGEST
//!   period any of them sets; a tenant under none keeps it for the longest
//!   period of every pack (nothing is deleted early for want of a rule).
//! - Every pack sets a positive audit and adult-record period (checked by
//!   [`Catalogue::parse`] and the tests).
//! - Every pack sets the age from which a parent's or guardian's portal
//!   access to a minor's record stops unless the adolescent consents
//!   (`adolescent_confidentiality_age`) and the age of majority; under
//!   several packs (or none) the LOWEST of each applies, so an adolescent's
//!   confidentiality is never weaker than any applicable law asks.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The packs as written in `jurisdictions.toml`.
const DATA: &str = include_str!("../../jurisdictions.toml");

/// One jurisdiction's policy.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// Pack code, e.g. `IN`, `US`, `GULF`.
    pub code: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 countries the pack covers.
    pub countries: Vec<String>,
    /// Home-region codes (data-residency regions) the pack covers.
    pub regions: Vec<String>,
    /// Keep audit events at least this many years.
    pub audit_years: u32,
    /// Keep an adult's medical record this many years after the last entry.
    pub records_adult_years: u32,
    /// Keep records of a patient first seen as a minor until this age too.
    #[serde(default)]
    pub minors_until_age: Option<u32>,
    /// From this age a parent's or guardian's portal access to a minor's
    /// record stops unless the adolescent consents.
    pub adolescent_confidentiality_age: u32,
    /// The age of majority: a parent's access ends here, consent or not.
    pub age_of_majority: u32,
}

/// Every pack.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    #[serde(rename = "pack")]
    pub packs: Vec<Pack>,
}

/// The ages that govern a guardian's portal access for one tenant.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct GuardianAges {
    /// From this age the adolescent's consent is needed.
    pub confidentiality_age: u32,
    /// From this age a parent's or minor-guardian's access ends.
    pub majority_age: u32,
}

/// The retention that applies to one tenant.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Retention {
    /// Keep audit events at least this many years.
    pub audit_years: u32,
    /// Keep an adult's medical record this many years after the last entry.
    pub records_adult_years: u32,
    /// Records of a patient first seen as a minor: also until this age.
    pub minors_until_age: Option<u32>,
    /// The packs that apply (codes); empty when none matched and the
    /// longest period of every pack is used.
    pub packs: Vec<String>,
}

impl Catalogue {
    /// Parse and validate pack data.
    pub fn parse(text: &str) -> Result<Catalogue, String> {
        let c: Catalogue = toml::from_str(text).map_err(|e| format!("jurisdiction data: {e}"))?;
        let mut codes = std::collections::HashSet::new();
        for p in &c.packs {
            if !codes.insert(p.code.as_str()) {
                return Err(format!("jurisdiction pack {} appears twice", p.code));
            }
            if p.audit_years == 0 || p.records_adult_years == 0 {
                return Err(format!(
                    "jurisdiction pack {} needs positive periods",
                    p.code
                ));
            }
            if p.countries
                .iter()
                .any(|c| c.len() != 2 || c.to_uppercase() != *c)
            {
                return Err(format!(
                    "jurisdiction pack {}: countries are upper-case ISO 3166 alpha-2 codes",
                    p.code
                ));
            }
            if !(10..=21).contains(&p.adolescent_confidentiality_age)
                || !(16..=21).contains(&p.age_of_majority)
                || p.adolescent_confidentiality_age > p.age_of_majority
            {
                return Err(format!(
                    "jurisdiction pack {}: adolescent_confidentiality_age (10-21) must not exceed age_of_majority (16-21)",
                    p.code
                ));
            }
            if p.minors_until_age.is_some_and(|a| !(18..=40).contains(&a)) {
                return Err(format!(
                    "jurisdiction pack {}: minors_until_age out of range",
                    p.code
                ));
            }
        }
        if c.packs.is_empty() {
            return Err("jurisdiction data has no packs".into());
        }
        Ok(c)
    }

    /// The packs compiled into this binary.
    pub fn builtin() -> Result<&'static Catalogue, String> {
        static PACKS: OnceLock<Result<Catalogue, String>> = OnceLock::new();
        PACKS
            .get_or_init(|| Catalogue::parse(DATA))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A pack by code.
    pub fn pack(&self, code: &str) -> Option<&Pack> {
        self.packs.iter().find(|p| p.code == code)
    }

    /// The packs that apply to a tenant in `countries` (its own and its
    /// branches') whose data lives in `home_region`, and the packs whose
    /// periods are used (every pack when none applies).
    fn applicable<'a>(
        &self,
        countries: impl IntoIterator<Item = &'a str>,
        home_region: &str,
    ) -> (Vec<&Pack>, Vec<&Pack>) {
        let countries: Vec<String> = countries
            .into_iter()
            .map(|c| c.trim().to_uppercase())
            .collect();
        let region = home_region.trim().to_lowercase();
        let applies = |p: &&Pack| {
            p.countries.iter().any(|c| countries.contains(c)) || p.regions.contains(&region)
        };
        let matched: Vec<&Pack> = self.packs.iter().filter(applies).collect();
        let used: Vec<&Pack> = if matched.is_empty() {
            self.packs.iter().collect()
        } else {
            matched.clone()
        };
        (matched, used)
    }

    /// The guardian-access ages for a tenant: the lowest of the applicable
    /// packs (of every pack when none applies).
    pub fn guardian_ages<'a>(
        &self,
        countries: impl IntoIterator<Item = &'a str>,
        home_region: &str,
    ) -> GuardianAges {
        let (_, used) = self.applicable(countries, home_region);
        GuardianAges {
            confidentiality_age: used
                .iter()
                .map(|p| p.adolescent_confidentiality_age)
                .min()
                .unwrap_or(0),
            majority_age: used.iter().map(|p| p.age_of_majority).min().unwrap_or(0),
        }
    }

    /// The retention for a tenant in `countries` (its own and its
    /// branches') whose data lives in `home_region`.
    pub fn retention<'a>(
        &self,
        countries: impl IntoIterator<Item = &'a str>,
        home_region: &str,
    ) -> Retention {
        let (matched, used) = self.applicable(countries, home_region);
        Retention {
            audit_years: used.iter().map(|p| p.audit_years).max().unwrap_or(0),
            records_adult_years: used
                .iter()
                .map(|p| p.records_adult_years)
                .max()
                .unwrap_or(0),
            minors_until_age: used.iter().filter_map(|p| p.minors_until_age).max(),
            packs: matched.iter().map(|p| p.code.clone()).collect(),
        }
    }
}

/// What a patient's medical record holds, for its retention: the first
/// and last clinical entries (`None`: demographics only, no medical record)
/// and the birth date when known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSpan {
    pub first_entry: Option<chrono::NaiveDate>,
    pub last_entry: Option<chrono::NaiveDate>,
    pub birth_date: Option<chrono::NaiveDate>,
}

/// Adulthood for "first seen as a minor" (every pack's age of majority is
/// 16-21; 18 is the common one and the one the record rules cite).
const MINOR_UNTIL: u32 = 18;

impl Retention {
    /// The last day the record must still be kept, or `None` when no
    /// retention applies (no clinical entry at all: the registration alone
    /// is not a medical record). Adults: `records_adult_years` after the
    /// last entry; a patient first seen as a minor: also until
    /// `minors_until_age` (when the packs set one and the birth date is
    /// known).
    pub fn record_kept_until(&self, span: &RecordSpan) -> Option<chrono::NaiveDate> {
        let last = span.last_entry?;
        let years = |d: chrono::NaiveDate, y: u32| {
            d.checked_add_months(chrono::Months::new(y.saturating_mul(12)))
                .unwrap_or(chrono::NaiveDate::MAX)
        };
        let mut until = years(last, self.records_adult_years);
        if let (Some(age), Some(born), Some(first)) =
            (self.minors_until_age, span.birth_date, span.first_entry)
        {
            if first < years(born, MINOR_UNTIL) {
                until = until.max(years(born, age));
            }
        }
        Some(until)
    }

    /// The oldest moment whose audit events may be removed at `now`
    /// (events at or after it must be kept).
    pub fn audit_keep_since(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        let months = chrono::Months::new(self.audit_years.saturating_mul(12));
        now.checked_sub_months(months)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packs() -> &'static Catalogue {
        Catalogue::builtin().unwrap()
    }

    fn day(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_record_is_kept_from_its_last_entry_and_minors_until_their_age() {
        let us = packs().retention(["US"], "local");
        let span = |first: Option<&str>, last: Option<&str>, born: Option<&str>| RecordSpan {
            first_entry: first.map(day),
            last_entry: last.map(day),
            birth_date: born.map(day),
        };
        assert_eq!(
            us.record_kept_until(&span(None, None, Some("1990-01-01"))),
            None
        );
        // Adult: 10 years after the last entry.
        assert_eq!(
            us.record_kept_until(&span(
                Some("2020-03-01"),
                Some("2021-05-31"),
                Some("1980-01-01")
            )),
            Some(day("2031-05-31"))
        );
        // First seen at 5, last at 6: until 19 (2034), later than 2022 + 10.
        assert_eq!(
            us.record_kept_until(&span(
                Some("2020-01-01"),
                Some("2021-01-01"),
                Some("2015-06-15")
            )),
            Some(day("2034-06-15"))
        );
        // Birth date unknown: the adult rule.
        assert_eq!(
            us.record_kept_until(&span(Some("2020-01-01"), Some("2021-01-01"), None)),
            Some(day("2031-01-01"))
        );
    }

    proptest::proptest! {
        /// Retention never ends before the adult period after the last
        /// entry, and a later last entry never shortens it.
        #[test]
        fn retention_is_monotone(last in 0i64..20_000, more in 0i64..5_000, born in 0i64..30_000) {
            let base = day("1970-01-01");
            let d = |n: i64| base + chrono::Duration::days(n);
            for r in [packs().retention(["US"], "local"), packs().retention(["IN"], "local"), packs().retention(["ZZ"], "local")] {
                let a = RecordSpan { first_entry: Some(d(last)), last_entry: Some(d(last)), birth_date: Some(d(born)) };
                let b = RecordSpan { last_entry: Some(d(last + more)), ..a };
                let ua = r.record_kept_until(&a).unwrap();
                proptest::prop_assert!(ua >= d(last) + chrono::Duration::days(365 * i64::from(r.records_adult_years)));
                proptest::prop_assert!(r.record_kept_until(&b).unwrap() >= ua);
            }
        }
    }

    #[test]
    fn the_data_file_parses_and_covers_the_required_jurisdictions() {
        for code in ["IN", "US", "EU", "GB", "CA", "AU", "GULF", "PH"] {
            assert!(packs().pack(code).is_some(), "{code} missing");
        }
        for country in ["AE", "SA", "QA"] {
            assert_eq!(packs().retention([country], "local").packs, vec!["GULF"]);
        }
    }

    #[test]
    fn us_keeps_audit_at_least_six_years_and_india_records_seven() {
        let us = packs().retention(["US"], "local");
        assert!(us.audit_years >= 6, "HIPAA: {us:?}");
        let india = packs().retention(["IN"], "local");
        assert_eq!(india.records_adult_years, 7);
        assert_eq!(india.packs, vec!["IN"]);
    }

    #[test]
    fn the_longest_applicable_period_wins() {
        // An Indian organisation with a US branch, data hosted in the EU.
        let r = packs().retention(["IN", "US"], "eu");
        assert_eq!(r.packs, vec!["IN", "US", "EU"]);
        assert_eq!(r.audit_years, 10);
        assert_eq!(r.records_adult_years, 10);
        assert_eq!(r.minors_until_age, Some(19));
        // Case and spacing do not matter.
        assert_eq!(packs().retention([" gb "], "LOCAL").packs, vec!["GB"]);
    }

    #[test]
    fn no_matching_pack_means_the_longest_of_all() {
        let r = packs().retention(["ZZ"], "local");
        assert!(r.packs.is_empty());
        let max = packs().packs.iter().map(|p| p.audit_years).max().unwrap();
        assert_eq!(r.audit_years, max);
        assert_eq!(r.records_adult_years, 25);
    }

    #[test]
    fn bad_data_is_refused() {
        let ok = "[[pack]]\ncode='X'\nname='X'\ncountries=['XX']\nregions=[]\naudit_years=1\nrecords_adult_years=1\nadolescent_confidentiality_age=14\nage_of_majority=18\n";
        assert!(Catalogue::parse(ok).is_ok());
        assert!(Catalogue::parse(&ok.replace("audit_years=1", "audit_years=0")).is_err());
        assert!(Catalogue::parse(&ok.replace("'XX'", "'xx'")).is_err());
        assert!(
            Catalogue::parse(&format!("{ok}{ok}")).is_err(),
            "duplicate code"
        );
        assert!(Catalogue::parse(&ok.replace("name", "nom")).is_err());
        assert!(
            Catalogue::parse(&ok.replace("=14", "=19")).is_err(),
            "above majority"
        );
        assert!(Catalogue::parse(&ok.replace("=14", "=9")).is_err());
        assert!(Catalogue::parse(&ok.replace("adolescent_confidentiality_age=14\n", "")).is_err());
        assert!(Catalogue::parse("").is_err());
    }

    #[test]
    fn audit_keep_since_counts_calendar_years() {
        let r = packs().retention(["US"], "local");
        let now = chrono::DateTime::parse_from_rfc3339("2030-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            r.audit_keep_since(now).to_rfc3339(),
            "2024-03-01T00:00:00+00:00"
        );
    }

    #[test]
    fn guardian_ages_come_from_the_packs_and_the_lowest_wins() {
        let india = packs().guardian_ages(["IN"], "local");
        assert_eq!(india.confidentiality_age, 18);
        assert_eq!(india.majority_age, 18);
        // An Indian organisation with an Australian branch: the lower age.
        let both = packs().guardian_ages(["IN", "AU"], "local");
        assert_eq!(both.confidentiality_age, 14);
        // No pack: the lowest of all (the adolescent's privacy first).
        let none = packs().guardian_ages(["ZZ"], "local");
        let min = packs()
            .packs
            .iter()
            .map(|p| p.adolescent_confidentiality_age)
            .min()
            .unwrap();
        assert_eq!(none.confidentiality_age, min);
        for p in &packs().packs {
            assert!(
                p.adolescent_confidentiality_age <= p.age_of_majority,
                "{}",
                p.code
            );
        }
    }
}
