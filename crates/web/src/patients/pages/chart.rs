//! The patient chart (`/patients/{id}`): a header (photo or initials,
//! name, age, sex, allergy banner, flags, restricted marker), the
//! demographics edit form, and, for readers the policy point lets in, the
//! clinical sections (history, allergies, conditions, medications),
//! attachments with previews, the timeline and the JSON export. A reader
//! whose role has no clinical read sees a note instead of those sections;
//! one without a care relationship is offered to join the care team when
//! their role may. Every part is read through the same services as the
//! API, so the policy and the audit trail are the same.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::i18n::I18n;
use crate::kit::ids::InPath;
use crate::kit::page::{error_response, redirect_with_flash, render, render_failed, Chrome, Errs};
use crate::patients::pages::display::{age_text, full_name};
use crate::patients::pages::form::branch_country;
use crate::patients::pages::form::{read_submitted, FormChoices, Opt, PatientForm, Submitted};
use crate::patients::pages::links::{family_row, FamilyRow};
use crate::patients::pages::records::{self, value_key, RecordFailure, SectionView};
use crate::patients::pages::share_links::{active_rows, LinkRow, EXPIRIES};
use crate::WebState;
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use clinicos_app::governance::policy::may_attempt;
use clinicos_app::governance::policy::Action;
use clinicos_app::patients::allergies::Allergy;
use clinicos_app::patients::attachments::NewAttachment;
use clinicos_app::patients::chart::LiveMerge;
use clinicos_app::patients::patient::Patient;
use clinicos_app::patients::record::RecordFormat;
use clinicos_app::patients::timeline::TimelineQuery;
use clinicos_app::patients::update::PatientUpdate;
use clinicos_app::{AppError, Ctx};
use clinicos_domain::{AttachmentId, MergeId, PatientId};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/patients/{id}", get(chart).post(save_demographics))
        .route("/patients/{id}/care-team", post(join_care_team))
        .route("/patients/{id}/status", post(change_status))
        .route(
            "/patients/{id}/attachments",
            // The file's own limit (checked again by the service) plus the
            // form's other fields, above the server's default upload size.
            post(upload).layer(DefaultBodyLimit::max(
                clinicos_app::patients::attachments::MAX_ATTACHMENT_BYTES
                    + crate::kit::page::FORM_OVERHEAD,
            )),
        )
        .route("/patients/{id}/attachments/{attachment}", get(download))
        .route("/patients/{id}/export", get(export))
        .route("/patients/{id}/export.pdf", get(export_pdf))
}

/// The chart header.
pub struct Header {
    pub id: PatientId,
    pub name: String,
    pub local_name: String,
    pub initials: String,
    /// Where the photo is served from, when the patient has one.
    pub photo: Option<String>,
    pub age: String,
    pub sex: String,
    pub birth_date: String,
    pub blood_group: String,
    pub deceased: Option<String>,
    pub inactive: bool,
    pub tags: Vec<String>,
}

/// A live merge the record takes part in.
pub struct MergeView {
    pub id: MergeId,
    pub survivor_id: PatientId,
    pub merged_id: PatientId,
    pub other_name: String,
    pub at: String,
    pub undoable: bool,
}

fn merge_view(m: &LiveMerge) -> MergeView {
    MergeView {
        id: m.id,
        survivor_id: m.survivor_id,
        merged_id: m.merged_id,
        other_name: m.other_name.clone(),
        at: crate::kit::page::when(&m.merged_at),
        undoable: m.undoable,
    }
}

/// The allergy banner.
pub enum Banner {
    /// The reader may not see clinical records.
    Hidden,
    /// Nothing recorded yet.
    NotRecorded,
    /// Allergies were recorded, none is active.
    NoneActive,
    /// Active allergies: substance, severity (translated), severe or worse.
    Active(Vec<(String, String, bool)>),
}

/// An attachment row.
pub struct FileRow {
    pub id: AttachmentId,
    pub href: String,
    pub name: String,
    pub kind: String,
    pub size: String,
    pub at: String,
    pub image: bool,
    pub restricted: bool,
}

/// A timeline row.
pub struct EventRow {
    pub at: String,
    pub kind: String,
    pub title: String,
    pub restricted: bool,
}

/// The clinical part of the chart, as far as the reader may see it.
pub struct Clinical {
    pub sections: Vec<SectionView>,
    pub files: Vec<FileRow>,
    /// Active share links of the files.
    pub shares: Vec<LinkRow>,
    pub events: Vec<EventRow>,
    pub timeline_error: Option<String>,
    pub withheld: usize,
    pub emergency: bool,
}

/// What the reader gets of the clinical record.
pub enum ClinicalState {
    /// The role has no clinical read at all (front desk).
    NotForRole,
    /// The policy point refused (no care relationship); joining the care
    /// team is offered when the role may.
    Refused {
        can_join: bool,
    },
    Shown(Box<Clinical>),
}

/// The timeline filter (query string of the chart).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ChartQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

#[derive(Template)]
#[template(path = "patient_chart.html")]
struct ChartPage {
    c: Chrome,
    h: Header,
    banner: Banner,
    clinical: ClinicalState,
    can_edit: bool,
    can_write: bool,
    form: PatientForm,
    choices: FormChoices,
    errs: Errs,
    autofocus: bool,
    q: ChartQuery,
    kinds: Vec<Opt>,
    sensitivities: Vec<Opt>,
    family: Vec<FamilyRow>,
    merges: Vec<MergeView>,
    can_merge: bool,
    /// Erasure or legal holds (the privacy officer's page).
    can_erase: bool,
}

impl ChartPage {
    fn shows_clinical(&self) -> bool {
        matches!(self.clinical, ClinicalState::Shown(_))
    }

    /// The expiries a share link form offers: hours and label.
    fn expiries(&self) -> Vec<(i64, String)> {
        EXPIRIES
            .iter()
            .map(|h| (*h, self.c.i.t(&format!("share-hours-{h}"))))
            .collect()
    }

    /// This record was merged into another one (not undone).
    fn is_merged(&self) -> bool {
        self.merges.iter().any(|m| m.merged_id == self.h.id)
    }

    /// Other records were merged into this one.
    fn has_merged_in(&self) -> bool {
        self.merges.iter().any(|m| m.survivor_id == self.h.id)
    }
}

/// The timeline kinds a filter offers.
const TIMELINE_KINDS: [&str; 5] = [
    "registration",
    "history",
    "allergy",
    "condition",
    "medication",
];

fn initials(p: &Patient) -> String {
    [&p.given_name, &p.family_name]
        .iter()
        .filter_map(|s| s.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Where a patient's photo is served from: the page route that reads it
/// with the cookie session through the audited service (an `<img>` cannot
/// send a bearer token); initials when there is none.
fn photo_url(p: &Patient, has_photo: bool) -> Option<String> {
    has_photo.then(|| format!("/patients/{}/photo", p.id))
}

fn header(i: &I18n, p: &Patient, today: chrono::NaiveDate, has_photo: bool) -> Header {
    Header {
        id: p.id,
        name: full_name(p),
        local_name: p.local_name.clone(),
        initials: initials(p),
        photo: photo_url(p, has_photo),
        age: age_text(p, today),
        sex: i.t(&format!("sex-{}", p.sex)),
        birth_date: p.birth_date.clone().unwrap_or_default(),
        blood_group: if p.blood_group == "unknown" {
            String::new()
        } else {
            p.blood_group.clone()
        },
        deceased: (p.deceased_at.is_some() || p.deceased_on.is_some())
            .then(|| p.deceased_on.clone().unwrap_or_default()),
        inactive: !p.is_active,
        tags: p.tags.clone(),
    }
}

fn banner(i: &I18n, allergies: &[Allergy]) -> Banner {
    if allergies.is_empty() {
        return Banner::NotRecorded;
    }
    let active: Vec<_> = allergies
        .iter()
        .filter(|a| a.status == "active")
        .map(|a| {
            let sev = a.severity.clone().unwrap_or_default();
            let severe = matches!(sev.as_str(), "severe" | "life-threatening");
            let label = if sev.is_empty() {
                String::new()
            } else {
                i.t(&value_key(&sev))
            };
            (a.substance.clone(), label, severe)
        })
        .collect();
    if active.is_empty() {
        Banner::NoneActive
    } else {
        Banner::Active(active)
    }
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// The clinical sections, or why they are not shown. Allergies are read
/// first: a refusal there (audited once by the policy point) stops the
/// other reads.
async fn clinical(
    st: &WebState,
    ctx: &Ctx,
    id: PatientId,
    q: &ChartQuery,
) -> Result<(ClinicalState, Banner), AppError> {
    let i = I18n::new(&ctx.locale);
    // What the chart shows for this role: asked of the policy point
    // without recording (the clinical reads below are the decisions).
    if !may_attempt(ctx, Action::ReadClinical) {
        return Ok((ClinicalState::NotForRole, Banner::Hidden));
    }
    let (sections, allergies, emergency) = match records::load(st, ctx, id, &i).await {
        Ok(x) => x,
        Err(AppError::Forbidden(_)) => {
            let can_join = crate::kit::page::allowed(ctx, Action::ManageCareTeam);
            return Ok((ClinicalState::Refused { can_join }, Banner::Hidden));
        }
        Err(e) => return Err(e),
    };
    let files = st.app.patients().attachments(ctx, id).await?;
    let shares = active_rows(&st.app.patients().share_links(ctx, id).await?);
    let tq = TimelineQuery {
        kind: Some(q.kind.clone()).filter(|k| !k.is_empty()),
        from: Some(q.from.clone()).filter(|k| !k.is_empty()),
        to: Some(q.to.clone()).filter(|k| !k.is_empty()),
    };
    let (events, timeline_error) = match st.app.patients().timeline(ctx, id, &tq).await {
        Ok(t) => (
            t.items
                .iter()
                .map(|e| EventRow {
                    at: crate::kit::page::when(&e.at),
                    kind: i.t(&format!("timeline-{}", e.kind)),
                    title: e.title.clone(),
                    restricted: e.restricted,
                })
                .collect(),
            None,
        ),
        Err(AppError::Validation(_) | AppError::BadRequest(_)) => {
            (Vec::new(), Some(i.t("timeline-filter-invalid")))
        }
        Err(e) => return Err(e),
    };
    let withheld = sections.iter().map(|s| s.withheld).sum::<usize>() + files.withheld;
    let rows = files
        .attachments
        .iter()
        .map(|a| FileRow {
            id: a.id,
            href: format!("/patients/{id}/attachments/{}", a.id),
            name: a.file_name.clone(),
            kind: a.content_type.clone(),
            size: size_text(a.size_bytes),
            at: crate::kit::page::when(&a.uploaded_at),
            image: a.content_type.starts_with("image/"),
            restricted: a.restricted,
        })
        .collect();
    let b = banner(&i, &allergies);
    Ok((
        ClinicalState::Shown(Box::new(Clinical {
            sections,
            files: rows,
            shares,
            events,
            timeline_error,
            withheld,
            emergency: emergency || files.emergency_access,
        })),
        b,
    ))
}

/// A refused form shown again in the chart.
pub enum Failure {
    None,
    Demographics(Box<PatientForm>, Errs),
    Record(RecordFailure),
}

/// Build the chart; a refused form is shown again with its errors.
async fn chart_page(
    st: &WebState,
    ctx: &Ctx,
    c: Chrome,
    id: PatientId,
    q: ChartQuery,
    failed: Failure,
) -> Result<ChartPage, AppError> {
    let p = st.app.patients().patient(ctx, id).await?;
    let facts = st.app.patients().patient_chart_facts(ctx, id).await?;
    let family = st
        .app
        .patients()
        .patient_links(ctx, id)
        .await?
        .iter()
        .map(|l| family_row(p.id, l))
        .collect();
    let today = st.app.clock.now().date_naive();
    let (mut clinical, banner) = clinical(st, ctx, id, &q).await?;
    let (country, kinds) = branch_country(st, ctx).await;
    let (form, errs) = match failed {
        Failure::Demographics(form, errs) => (*form, errs),
        Failure::Record(r) => {
            if let ClinicalState::Shown(cl) = &mut clinical {
                records::show_failure(&mut cl.sections, &r);
            }
            (PatientForm::of(&c.i, &p, &country, &kinds), Errs::default())
        }
        Failure::None => (PatientForm::of(&c.i, &p, &country, &kinds), Errs::default()),
    };
    let kinds_opts = TIMELINE_KINDS
        .iter()
        .map(|k| Opt {
            value: (*k).to_owned(),
            label: c.i.t(&format!("timeline-{k}")),
            selected: *k == q.kind,
        })
        .collect();
    let sensitivities = clinicos_domain::Sensitivity::ALL
        .iter()
        .map(|s| Opt {
            value: s.as_str().to_owned(),
            label: c.i.t(&value_key(s.as_str())),
            selected: false,
        })
        .collect();
    Ok(ChartPage {
        h: header(&c.i, &p, today, facts.has_photo),
        merges: facts.merges.iter().map(merge_view).collect(),
        family,
        can_merge: crate::kit::page::allowed(ctx, Action::MergePatients),
        can_erase: crate::kit::page::allowed(ctx, Action::ErasePatients)
            || crate::kit::page::allowed(ctx, Action::ManageLegalHolds),
        banner,
        clinical,
        // A merged record refuses writes until the merge is undone.
        can_edit: crate::kit::page::allowed(ctx, Action::EditPatients)
            && !facts.merges.iter().any(|m| m.merged_id == p.id),
        can_write: may_attempt(ctx, Action::WriteClinical),
        choices: form.choices(&c.i),
        form,
        errs,
        autofocus: false,
        q,
        kinds: kinds_opts,
        sensitivities,
        c,
    })
}

pub async fn chart(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
    Query(q): Query<ChartQuery>,
) -> Response {
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "patient-chart-title",
        "/patients",
    )
    .await;
    let had = c.flash.is_some();
    match chart_page(&st, &ctx, c, id, q, Failure::None).await {
        Ok(p) => render(&p, had),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn save_demographics(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Submitted { form, patient, .. } = read_submitted(&st, &ctx, &pairs).await;
    let mut errs = Errs::default();
    let r = match patient {
        Ok(p) => st
            .app
            .patients()
            .update_patient(&ctx, id, PatientUpdate::from(p))
            .await
            .map(|_| ()),
        Err(e) => {
            errs = e;
            Err(AppError::field("age_years", "must be a whole number"))
        }
    };
    let e = match r {
        Ok(()) => {
            return redirect_with_flash(&format!("/patients/{id}"), "flash-saved", false);
        }
        Err(e @ AppError::Validation(_)) => e,
        Err(e) => return error_response(&ctx.locale, e),
    };
    if errs.is_empty() {
        errs = Errs::from_app(&e, &ctx.locale);
    }
    show_again(
        &st,
        &ctx,
        &headers,
        id,
        &e,
        Failure::Demographics(Box::new(form), errs),
    )
    .await
}

/// The chart again after a refused form (status of the refusal, 422).
pub async fn show_again(
    st: &WebState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: PatientId,
    e: &AppError,
    failed: Failure,
) -> Response {
    let c = Chrome::signed_in(st, ctx, headers, None, "patient-chart-title", "/patients").await;
    match chart_page(st, ctx, c, id, ChartQuery::default(), failed).await {
        Ok(p) => render_failed(&p, e),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn join_care_team(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
) -> Response {
    match st.app.patients().add_to_care_team(&ctx, id, ctx.user).await {
        Ok(()) => redirect_with_flash(&format!("/patients/{id}"), "flash-care-team-joined", false),
        Err(e) => error_response(&ctx.locale, e),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    action: String,
    #[serde(default)]
    date: String,
}

/// Deactivate, reactivate, or record a death (which stops every reminder
/// and campaign), through the registry service.
pub async fn change_status(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    Form(f): Form<StatusForm>,
) -> Response {
    let r = match f.action.as_str() {
        "deactivate" => st.app.patients().set_patient_active(&ctx, id, false).await,
        "reactivate" => st.app.patients().set_patient_active(&ctx, id, true).await,
        "deceased" => {
            let d = clinicos_app::patients::update::DeceasedInput {
                date: f.date.trim().to_owned(),
            };
            st.app.patients().mark_deceased(&ctx, id, d).await
        }
        _ => Err(AppError::field("action", "is not a status change")),
    };
    let back = format!("/patients/{id}#status");
    match r {
        Ok(_) => redirect_with_flash(&back, "flash-saved", false),
        Err(AppError::Validation(_)) => {
            redirect_with_flash(&back, "flash-patient-status-invalid", true)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

/// The file field of the upload form: name, declared type and bytes; and
/// the chosen sensitivity.
async fn read_file(mut form: Multipart) -> Result<(Option<NewAttachment>, Option<String>), ()> {
    let mut file = None;
    let mut sensitivity = None;
    while let Some(field) = form.next_field().await.map_err(|_| ())? {
        match field.name() {
            Some("file") => {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let content_type = field.content_type().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(|_| ())?;
                if !bytes.is_empty() {
                    file = Some(NewAttachment {
                        file_name,
                        content_type,
                        visit_id: None,
                        sensitivity: None,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            Some("sensitivity") => {
                sensitivity = Some(field.text().await.map_err(|_| ())?);
            }
            _ => {}
        }
    }
    Ok((file, sensitivity.filter(|s| !s.trim().is_empty())))
}

pub async fn upload(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let back = format!("/patients/{id}#attachments");
    let Ok(form) = form else {
        return redirect_with_flash(&back, "flash-upload-invalid", true);
    };
    let (file, sensitivity) = match read_file(form).await {
        Ok((Some(f), s)) => (f, s),
        _ => return redirect_with_flash(&back, "flash-upload-missing", true),
    };
    let input = NewAttachment {
        sensitivity,
        ..file
    };
    match st.app.patients().add_attachment(&ctx, id, input).await {
        Ok(_) => redirect_with_flash(&back, "flash-upload-saved", false),
        Err(AppError::Validation(_) | AppError::BadRequest(_)) => {
            redirect_with_flash(&back, "flash-upload-invalid", true)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

/// `inline` for what the browser shows itself (images, PDF), with a
/// name made of safe ASCII characters.
fn disposition(name: &str, inline: bool) -> HeaderValue {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    HeaderValue::from_str(&format!("{kind}; filename=\"{safe}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

/// One attachment through the authorized, audited download (the image
/// previews of the chart load from here too).
pub async fn download(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath((id, attachment)): InPath<(PatientId, AttachmentId)>,
) -> Response {
    match st
        .app
        .patients()
        .download_attachment(&ctx, id, attachment)
        .await
    {
        Ok(f) => {
            let inline =
                f.content_type.starts_with("image/") || f.content_type == "application/pdf";
            let ct = HeaderValue::from_str(&f.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            (
                [
                    (header::CONTENT_TYPE, ct),
                    (
                        header::CONTENT_DISPOSITION,
                        disposition(&f.file_name, inline),
                    ),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("private, no-store"),
                    ),
                    (
                        header::X_CONTENT_TYPE_OPTIONS,
                        HeaderValue::from_static("nosniff"),
                    ),
                ],
                f.bytes,
            )
                .into_response()
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}

/// The record as JSON (`clinicos-patient-record/1`), downloaded; the
/// service audits the export.
pub async fn export(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
) -> Response {
    match st
        .app
        .patients()
        .export_patient_record(&ctx, id, RecordFormat::Json)
        .await
    {
        Ok(r) => match serde_json::to_vec_pretty(&r) {
            Ok(body) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        disposition(&format!("patient-{id}.json"), false),
                    ),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("private, no-store"),
                    ),
                ],
                body,
            )
                .into_response(),
            Err(_) => error_response(
                &ctx.locale,
                AppError::Internal("the export could not be encoded".into()),
            ),
        },
        Err(e) => error_response(&ctx.locale, e),
    }
}

/// The record as a printable PDF for referrals, downloaded; the service
/// audits the export.
pub async fn export_pdf(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(id): InPath<PatientId>,
) -> Response {
    match st.app.patients().export_patient_record_pdf(&ctx, id).await {
        Ok(body) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/pdf"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    disposition(&format!("patient-{id}.pdf"), false),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => error_response(&ctx.locale, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(2048), "2 KB");
        assert_eq!(size_text(3 * 1024 * 1024), "3.0 MB");
    }

    #[test]
    fn downloads_name_files_safely() {
        let d = disposition("scan \"x\".png", true);
        assert_eq!(d.to_str().ok(), Some("inline; filename=\"scan__x_.png\""));
    }
}
