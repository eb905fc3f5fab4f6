//! The registry pages: `/patients` (one search box with results as you
//! type, filters, pages) and `/patients/new` (registration with the
//! duplicate warning). The search form is a plain GET form; the static
//! `patients.js` only re-fetches the results part (`?fragment=results`)
//! while typing, so everything works without script. Every read and write
//! goes through the same services as the API (policy point and audit
//! included).

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::i18n::I18n;
use crate::kit::page::{error_response, render, render_failed, Chrome, Errs};
use crate::patients::pages::display::{age_text, full_name};
use crate::patients::pages::form::branch_country;
use crate::patients::pages::form::{
    first, read_submitted, FormChoices, Opt, PatientForm, Submitted,
};
use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use clinicos_app::governance::policy::Action;
use clinicos_app::patients::patient::{Patient, SEXES};
use clinicos_app::patients::search::PatientFilter;
use clinicos_app::{AppError, Ctx};
use clinicos_domain::kit::page::{PageMeta, PageRequest};
use clinicos_domain::PatientId;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/patients", get(list))
        .route("/patients/new", get(new_form).post(register))
}

/// Results per page.
const PER_PAGE: u32 = 20;

/// One row of the results.
pub struct ResultRow {
    pub id: PatientId,
    pub name: String,
    pub local_name: String,
    pub age: String,
    pub sex: String,
    pub birth_date: String,
    pub city: String,
    pub inactive: bool,
    pub deceased: bool,
}

fn row(i: &I18n, p: &Patient, today: chrono::NaiveDate) -> ResultRow {
    ResultRow {
        id: p.id,
        name: full_name(p),
        local_name: p.local_name.clone(),
        age: age_text(p, today),
        sex: i.t(&format!("sex-{}", p.sex)),
        birth_date: p.birth_date.clone().unwrap_or_default(),
        city: p.city.clone(),
        inactive: !p.is_active,
        deceased: p.deceased_at.is_some() || p.deceased_on.is_some(),
    }
}

/// The search form as submitted (empty fields are "not set").
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    age_min: String,
    #[serde(default)]
    age_max: String,
    #[serde(default)]
    branch_id: String,
    #[serde(default)]
    identifier_kind: String,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    last_visit_from: String,
    #[serde(default)]
    last_visit_before: String,
    page: Option<u32>,
    fragment: Option<String>,
}

/// Phone-like text (a `+` or at least six digits and nothing but digits,
/// spaces and hyphens) is looked up as an exact phone number.
fn looks_like_phone(q: &str) -> bool {
    let digits = q.chars().filter(char::is_ascii_digit).count();
    digits >= 6
        && q.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
}

impl SearchForm {
    fn filter(&self, errs: &mut Errs, locale: &str) -> PatientFilter {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let mut age = |field: &str, v: &str| match v.trim() {
            "" => None,
            t => t.parse::<u32>().ok().or_else(|| {
                errs.add(field, "must be a whole number of years", locale);
                None
            }),
        };
        let (age_min, age_max) = (age("age_min", &self.age_min), age("age_max", &self.age_max));
        let q = self.q.trim();
        let (name, phone) = if looks_like_phone(q) {
            (None, Some(q.to_owned()))
        } else {
            (some(q), None)
        };
        PatientFilter {
            q: name,
            phone,
            sex: some(&self.sex),
            age_min,
            age_max,
            branch_id: self.branch_id.trim().parse().ok(),
            // An exact identifier (through its blind index) when both are set.
            identifier_kind: some(&self.identifier).and_then(|_| some(&self.identifier_kind)),
            identifier: some(&self.identifier_kind).and_then(|_| some(&self.identifier)),
            tag: some(&self.tag),
            last_visit_from: some(&self.last_visit_from),
            last_visit_before: some(&self.last_visit_before),
        }
    }

    /// The query string of another page of the same search.
    fn page_link(&self, page: u64) -> String {
        let pairs = [
            ("q", self.q.as_str()),
            ("sex", self.sex.as_str()),
            ("age_min", self.age_min.as_str()),
            ("age_max", self.age_max.as_str()),
            ("branch_id", self.branch_id.as_str()),
            ("identifier_kind", self.identifier_kind.as_str()),
            ("identifier", self.identifier.as_str()),
            ("tag", self.tag.as_str()),
            ("last_visit_from", self.last_visit_from.as_str()),
            ("last_visit_before", self.last_visit_before.as_str()),
        ];
        let mut s = serde_urlencoded::to_string(
            pairs
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        if !s.is_empty() {
            s.push('&');
        }
        format!("/patients?{s}page={page}")
    }
}

/// The results part (also sent alone to the search-as-you-type script).
#[derive(Template)]
#[template(path = "patient_results.html")]
pub struct Results {
    i: I18n,
    searched: bool,
    rows: Vec<ResultRow>,
    meta: PageMeta,
    prev: Option<String>,
    next: Option<String>,
    error: Option<String>,
    /// A name search reached the candidate limit: there may be more.
    refine: bool,
}

#[derive(Template)]
#[template(path = "patients.html")]
struct ListPage {
    c: Chrome,
    f: SearchForm,
    sexes: Vec<Opt>,
    branches: Vec<Opt>,
    /// The identifier kinds of the working branch's country.
    identifier_kinds: Vec<Opt>,
    can_register: bool,
    errs: Errs,
    /// The rendered results part.
    results: String,
}

/// Run the search (the service asks the policy point, once); a refusal
/// is the caller's error page.
async fn search(
    st: &WebState,
    ctx: &Ctx,
    f: &SearchForm,
    errs: &mut Errs,
) -> Result<Results, AppError> {
    let i = I18n::new(&ctx.locale);
    let filter = f.filter(errs, &ctx.locale);
    let page = PageRequest {
        page: f.page.unwrap_or(1).max(1),
        limit: PER_PAGE,
    };
    let empty = PageMeta::new(page, 0);
    let mut results = Results {
        i,
        searched: false,
        rows: Vec::new(),
        meta: empty,
        prev: None,
        next: None,
        error: None,
        refine: false,
    };
    if !errs.is_empty() {
        results.error = Some(results.i.t("form-has-errors"));
        return Ok(results);
    }
    match st.app.patients().list_patients(ctx, &filter, page).await {
        Ok((list, meta)) => {
            let today = st.app.clock.now().date_naive();
            results.searched = true;
            results.rows = list.iter().map(|p| row(&results.i, p, today)).collect();
            let cur = u64::from(meta.page);
            results.prev = (cur > 1).then(|| f.page_link(cur - 1));
            results.next = (cur < meta.total_pages).then(|| f.page_link(cur + 1));
            results.refine = filter.q.is_some()
                && i64::try_from(meta.total)
                    .is_ok_and(|t| t >= clinicos_app::patients::search::NAME_CANDIDATES);
            results.meta = meta;
        }
        Err(AppError::Validation(v)) => {
            for x in &v {
                errs.add(&x.field, &x.message, &ctx.locale);
            }
            results.error = Some(results.i.t("patients-search-invalid"));
        }
        Err(e @ AppError::Forbidden(_)) => return Err(e),
        Err(e) => results.error = Some(crate::kit::error::message_for(&e, &ctx.locale)),
    }
    Ok(results)
}

pub async fn list(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
    Query(f): Query<SearchForm>,
) -> Response {
    let mut errs = Errs::default();
    let results = match search(&st, &ctx, &f, &mut errs).await {
        Ok(r) => r,
        Err(e) => return error_response(&ctx.locale, e),
    };
    if f.fragment.as_deref() == Some("results") {
        return render(&results, false);
    }
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "patients-title",
        "/patients",
    )
    .await;
    let had = c.flash.is_some();
    let branches = st
        .app
        .tenancy()
        .my_branches(&ctx)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|b| Opt {
            selected: b.id.as_text() == f.branch_id,
            value: b.id.as_text(),
            label: b.fields.name,
        })
        .collect();
    let (_, kinds) = branch_country(&st, &ctx).await;
    let identifier_kinds = kinds
        .iter()
        .map(|k| Opt {
            value: k.kind.to_owned(),
            label: c.i.t(k.label),
            selected: k.kind == f.identifier_kind,
        })
        .collect();
    let page = ListPage {
        identifier_kinds,
        sexes: crate::patients::pages::form::options(&c.i, "sex-", &SEXES, &f.sex),
        branches,
        can_register: crate::kit::page::allowed(&ctx, Action::EditPatients),
        errs,
        results: results.render().unwrap_or_default(),
        f,
        c,
    };
    render(&page, had)
}

/// An existing patient the duplicate warning offers.
pub struct Existing {
    pub id: PatientId,
    pub name: String,
    pub birth_date: String,
}

#[derive(Template)]
#[template(path = "patient_new.html")]
struct NewPage {
    c: Chrome,
    form: PatientForm,
    choices: FormChoices,
    errs: Errs,
    duplicates: Vec<Existing>,
    autofocus: bool,
}

pub async fn new_form(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    if let Err(e) = st
        .app
        .governance()
        .authorize(&ctx, Action::EditPatients)
        .await
    {
        return error_response(&ctx.locale, e);
    }
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "patient-new-title",
        "/patients",
    )
    .await;
    let (country, kinds) = branch_country(&st, &ctx).await;
    let form = PatientForm::blank(&c.i, &country, &kinds);
    let had = c.flash.is_some();
    render(
        &NewPage {
            choices: form.choices(&c.i),
            form,
            errs: Errs::default(),
            duplicates: Vec::new(),
            autofocus: true,
            c,
        },
        had,
    )
}

pub async fn register(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Submitted { form, patient, .. } = read_submitted(&st, &ctx, &pairs).await;
    let mut errs = Errs::default();
    let result = match patient {
        Ok(mut p) => {
            p.confirm_new = first(&pairs, "confirm_new") == "yes";
            st.app.patients().register_patient(&ctx, p).await
        }
        Err(e) => {
            errs = e;
            Err(AppError::field("age_years", "must be a whole number"))
        }
    };
    let e = match result {
        Ok(p) => {
            return crate::kit::page::redirect_with_flash(
                &format!("/patients/{}", p.id),
                "flash-patient-registered",
                false,
            )
        }
        Err(e) => e,
    };
    let mut duplicates = Vec::new();
    match &e {
        AppError::Validation(_) if errs.is_empty() => errs = Errs::from_app(&e, &ctx.locale),
        AppError::Validation(_) => {}
        AppError::DuplicatePatient(ids) => {
            for id in ids.iter().filter_map(|id| id.parse().ok()) {
                if let Ok(p) = st.app.patients().patient(&ctx, id).await {
                    duplicates.push(Existing {
                        id: p.id,
                        name: full_name(&p),
                        birth_date: p.birth_date.clone().unwrap_or_default(),
                    });
                }
            }
        }
        _ => return error_response(&ctx.locale, e),
    }
    let c = Chrome::signed_in(&st, &ctx, &headers, None, "patient-new-title", "/patients").await;
    let page = NewPage {
        choices: form.choices(&c.i),
        form,
        errs,
        duplicates,
        autofocus: true,
        c,
    };
    render_failed(&page, &e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_like_queries_are_phone_lookups() {
        assert!(looks_like_phone("+91 98765 43210"));
        assert!(looks_like_phone("9876543210"));
        assert!(!looks_like_phone("asha"));
        assert!(!looks_like_phone("12"));
        assert!(!looks_like_phone("asha 98765"));
    }

    #[test]
    fn page_links_keep_the_filters() {
        let f = SearchForm {
            q: "asha k".into(),
            sex: "female".into(),
            ..Default::default()
        };
        assert_eq!(f.page_link(2), "/patients?q=asha+k&sex=female&page=2");
        assert_eq!(SearchForm::default().page_link(3), "/patients?page=3");
    }
}
