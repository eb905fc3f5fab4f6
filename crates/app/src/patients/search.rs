//! Finding patients: by name (the front desk's one box; rule in
//! `clinicos_domain::patients::search`), exact phone or identifier (blind
//! indexes), sex, age range, first-visit branch, tag and last visit,
//! paginated and ranked. One audit event
//! names every id returned, in the same transaction as the read.

use crate::governance::policy::Action;
use crate::kit::domain_schema;
use crate::patients::consent::Purpose;
use crate::patients::fields::{normalise_identifier, IDENTIFIER_KINDS};
use crate::patients::patient::{normalise_phone, Patient, SEXES};
use crate::patients::registry::event;
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use chrono::{Months, NaiveDate};
use clinicos_domain::governance::audit_catalogue::AuditAction;
use clinicos_domain::kit::page::{PageMeta, PageRequest};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::patients::search as name_search;
use clinicos_domain::{BranchId, PatientId};
use clinicos_store::patients::search::{self as patient_search, PatientSearch};
use clinicos_store::{governance::audit, tenancy::platform};
use serde::Deserialize;

/// Oldest age a filter may name (years).
pub const MAX_AGE: u32 = 150;

/// Most matches a name search ranks and counts (the store's bound): a
/// `total` this large means "refine the query", not "page through them".
pub const NAME_CANDIDATES: i64 = patient_search::NAME_CANDIDATES;

/// What the front desk filters by (the query string of
/// `GET /api/v1/patients`); every part that is set must hold.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientFilter {
    /// Name words, each a prefix of one of the patient's given, middle,
    /// family or local-script names, in any order; case- and
    /// accent-insensitive (at most 8 words, 200 characters).
    pub q: Option<String>,
    /// An exact phone number (matched through its blind index).
    pub phone: Option<String>,
    /// `female`, `male`, `other` or `unknown`.
    pub sex: Option<String>,
    /// Youngest age in whole years today (inclusive).
    pub age_min: Option<u32>,
    /// Oldest age in whole years today (inclusive).
    pub age_max: Option<u32>,
    /// First-visit branch.
    #[param(value_type = Option<domain_schema::BranchId>)]
    pub branch_id: Option<BranchId>,
    /// With `identifier`: the identifier kind (`national_id`,
    /// `abha_number`, `abha_address`, `insurance_member_id`, `passport`,
    /// `other`).
    pub identifier_kind: Option<String>,
    /// An exact identifier value (matched through its blind index, ignoring
    /// case, spaces and hyphens); needs `identifier_kind`.
    pub identifier: Option<String>,
    /// A tag the patient carries (exact; ASCII letters ignore case).
    pub tag: Option<String>,
    /// Seen at a visit on or after this day (`YYYY-MM-DD`, UTC).
    pub last_visit_from: Option<String>,
    /// Last seen at a visit before this day (`YYYY-MM-DD`, UTC): patients
    /// due a recall (never-seen patients are not included).
    pub last_visit_before: Option<String>,
}

/// The instant a filter day starts (UTC), or a message.
fn day_start(
    v: &mut Validator,
    field: &str,
    value: &Option<String>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let s = value.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        Err(_) => {
            v.add(field, "must be a date like 2024-03-31");
            None
        }
    }
}

/// The date `years` whole years before `today` (29 February falls back to
/// the 28th).
fn years_before(today: NaiveDate, years: u32) -> Option<NaiveDate> {
    today.checked_sub_months(Months::new(years.checked_mul(12)?))
}

/// Translate the filter into the store's terms, or name each bad field.
fn to_search(f: &PatientFilter, today: NaiveDate) -> AppResult<PatientSearch> {
    let mut v = Validator::new();
    let name_tokens = match f.q.as_deref().map(name_search::query_tokens) {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            v.add("q", e.to_string());
            Vec::new()
        }
        None => Vec::new(),
    };
    if let Some(s) = &f.sex {
        if !SEXES.contains(&s.as_str()) {
            v.add("sex", "must be one of female, male, other, unknown");
        }
    }
    for (field, age) in [("age_min", f.age_min), ("age_max", f.age_max)] {
        if age.is_some_and(|a| a > MAX_AGE) {
            v.add(field, format!("must be at most {MAX_AGE}"));
        }
    }
    match (&f.identifier_kind, &f.identifier) {
        (Some(k), Some(_)) if !IDENTIFIER_KINDS.contains(&k.as_str()) => v.add(
            "identifier_kind",
            format!("must be one of {}", IDENTIFIER_KINDS.join(", ")),
        ),
        (Some(_), Some(i)) if normalise_identifier(i).is_empty() => {
            v.add("identifier", "must not be empty")
        }
        (None, Some(_)) => v.add("identifier_kind", "is required with identifier"),
        (Some(_), None) => v.add("identifier", "is required with identifier_kind"),
        _ => {}
    }
    if let (Some(lo), Some(hi)) = (f.age_min, f.age_max) {
        if lo > hi {
            v.add("age_max", "must not be below age_min");
        }
    }
    let tag = f.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if let Some(t) = tag {
        crate::patients::fields::check_tags(&mut v, &[t.to_owned()]);
    }
    let visited_since = day_start(&mut v, "last_visit_from", &f.last_visit_from);
    let last_visit_before = day_start(&mut v, "last_visit_before", &f.last_visit_before);
    v.finish().map_err(AppError::Validation)?;
    let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    Ok(PatientSearch {
        name_tokens,
        phone_bidx: None,
        identifier: None,
        sex: f.sex.clone(),
        branch: f.branch_id,
        born_on_or_before: date(f.age_min.and_then(|a| years_before(today, a))),
        // Age <= max means born after the day one turns max + 1.
        born_after: date(f.age_max.and_then(|a| years_before(today, a + 1))),
        tag: tag.map(str::to_owned),
        visited_since,
        last_visit_before,
    })
}

impl Patients<'_> {
    /// A page of patients matching the filter, ranked for a name search
    /// (exact and family-name matches first, then name order), newest first
    /// otherwise. One audit event names every id returned.
    pub async fn list_patients(
        &self,
        ctx: &Ctx,
        filter: &PatientFilter,
        page: PageRequest,
    ) -> AppResult<(Vec<Patient>, PageMeta)> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewPatients)
            .await?;
        let mut search = to_search(filter, self.app.clock.now().date_naive())?;
        let phone = filter.phone.as_deref().map(normalise_phone);
        if let Some(p) = phone.filter(|p| !p.is_empty()) {
            search.phone_bidx = Some(self.app.cipher.blind_index(ctx.tenant, "phone", &p).await?);
        }
        if let (Some(kind), Some(value)) = (&filter.identifier_kind, &filter.identifier) {
            let bidx = self.identifier_index(ctx.tenant, kind, value).await?;
            search.identifier = Some((kind.clone(), bidx));
        }
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let (rows, total) =
            patient_search::search(&mut tx, &search, i64::from(page.limit), page.offset()).await?;
        let ids: Vec<PatientId> = rows.iter().map(|r| r.id).collect();
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(
                self.app.clock.now(),
                AuditAction::PatientList,
                ids.iter().map(PatientId::as_text).collect(),
            ),
            Purpose::Treatment.as_str(),
        )
        .await?;
        tx.commit().await?;
        self.app.governance().note_patient_reads(ctx, &ids).await;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.show_patient(ctx.tenant, r).await?);
        }
        Ok((out, PageMeta::new(page, u64::try_from(total).unwrap_or(0))))
    }

    /// Put patients registered before the name index existed into it
    /// (every tenant, in batches); returns how many. Cheap when there are
    /// none, so `serve` and `migrate` run it at every start.
    pub async fn index_patient_names(&self) -> AppResult<usize> {
        let mut done = 0;
        for entry in platform::directory_list(self.app.store.platform()).await? {
            loop {
                let mut tx = self.app.store.write(entry.tenant_id).await?;
                let rows = patient_search::unindexed(&mut tx, 500).await?;
                for r in &rows {
                    patient_search::reindex(&mut tx, r).await?;
                }
                tx.commit().await?;
                done += rows.len();
                if rows.len() < 500 {
                    break;
                }
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ages_become_birth_date_bounds() {
        let f = PatientFilter {
            age_min: Some(18),
            age_max: Some(30),
            ..PatientFilter::default()
        };
        let s = to_search(&f, day(2026, 11, 25)).unwrap();
        // 18 today: born on or before 2008-11-25; at most 30: born after 1995-11-25.
        assert_eq!(s.born_on_or_before.as_deref(), Some("2008-11-25"));
        assert_eq!(s.born_after.as_deref(), Some("1995-11-25"));
        let leap = to_search(&f, day(2024, 2, 29)).unwrap();
        assert_eq!(leap.born_on_or_before.as_deref(), Some("2006-02-28"));
    }

    #[test]
    fn bad_filters_name_their_fields() {
        let f = PatientFilter {
            q: Some("a b c d e f g h i j".into()),
            sex: Some("f".into()),
            age_min: Some(40),
            age_max: Some(20),
            ..PatientFilter::default()
        };
        let Err(AppError::Validation(errs)) = to_search(&f, day(2026, 1, 1)) else {
            panic!("expected validation errors");
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["q", "sex", "age_max"]);
        let old = PatientFilter {
            age_max: Some(MAX_AGE + 1),
            ..PatientFilter::default()
        };
        assert!(to_search(&old, day(2026, 1, 1)).is_err());
    }

    #[test]
    fn a_query_of_separators_is_no_name_filter() {
        let f = PatientFilter {
            q: Some(" - ' ".into()),
            ..PatientFilter::default()
        };
        assert!(to_search(&f, day(2026, 1, 1))
            .unwrap()
            .name_tokens
            .is_empty());
    }
}
