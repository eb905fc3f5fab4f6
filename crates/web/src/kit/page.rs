//! Server-rendered pages (askama templates in `templates/`, text from the
//! Fluent catalogues). No inline script or style, so the strict CSP holds.
//! Every form carries the CSRF token ([`Chrome::csrf`]) that the CSRF
//! middleware checks. Navigation shows only what the user's roles allow
//! (asked of the policy point).

use crate::kit::http::{cookie, FreshCsrf};
use crate::kit::i18n::I18n;
use crate::WebState;
use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use clinicos_app::governance::policy::{allows, Action};
use clinicos_app::{AppError, Ctx};

const CSS: &str = include_str!("../../static/app.css");
const PATIENTS_JS: &str = include_str!("../../static/patients.js");

/// A static asset compiled into the binary (no inline script or style, so
/// the strict CSP holds).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

pub async fn patients_script() -> Response {
    asset("text/javascript; charset=utf-8", PATIENTS_JS)
}

/// Field problems as one line for a page ("field: message; ...").
pub fn field_errors_line(v: &[clinicos_domain::kit::validate::FieldError]) -> String {
    v.iter()
        .map(|x| format!("{}: {}", x.field, x.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A one-line notice shown after a redirect (a catalogue key, never data).
#[derive(Clone, Debug)]
pub struct Flash {
    pub key: String,
    pub error: bool,
}

/// One navigation entry.
#[derive(Clone, Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// A branch in the switcher.
#[derive(Clone, Debug)]
pub struct BranchChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

/// The signed-in part of the layout.
#[derive(Clone, Debug)]
pub struct NavUser {
    pub name: String,
    pub tenant_name: String,
    pub roles: String,
    pub read_only: bool,
    pub items: Vec<NavItem>,
    pub branches: Vec<BranchChoice>,
}

/// What every page's layout needs.
#[derive(Clone, Debug)]
pub struct Chrome {
    pub i: I18n,
    pub csrf: String,
    pub title: String,
    pub user: Option<NavUser>,
    pub flash: Option<Flash>,
    pub demo: bool,
}

impl Chrome {
    /// Layout for visitors who are not signed in.
    pub fn anonymous(
        headers: &HeaderMap,
        fresh: Option<&FreshCsrf>,
        title_key: &str,
        demo: bool,
    ) -> Self {
        let i = I18n::new(&crate::kit::scope::locale());
        Chrome {
            title: i.t(title_key),
            i,
            csrf: crate::kit::http::csrf_token(headers, fresh),
            user: None,
            flash: read_flash(headers),
            demo,
        }
    }

    /// Layout for a signed-in user, with navigation filtered by policy.
    pub async fn signed_in(
        st: &WebState,
        ctx: &Ctx,
        headers: &HeaderMap,
        fresh: Option<&FreshCsrf>,
        title_key: &str,
        current: &str,
    ) -> Self {
        let i = I18n::new(&ctx.locale);
        let mut items = vec![NavItem {
            href: "/",
            label: i.t("nav-home"),
            current: current == "/",
        }];
        let entries: [(&'static str, &str, Action); 10] = [
            ("/patients", "nav-patients", Action::ViewPatients),
            (
                "/admin/organisation",
                "nav-organisation",
                Action::ViewTenant,
            ),
            ("/admin/branches", "nav-branches", Action::ManageBranches),
            ("/admin/staff", "nav-staff", Action::ViewStaff),
            ("/admin/audit", "nav-audit", Action::ViewAudit),
            (
                "/admin/security",
                "nav-security-events",
                Action::ViewSecurityEvents,
            ),
            ("/admin/devices", "nav-devices", Action::ApproveDevices),
            (
                "/admin/permissions",
                "nav-permissions",
                Action::ManagePolicy,
            ),
            (
                "/admin/break-glass",
                "nav-break-glass",
                Action::ReviewBreakGlass,
            ),
            ("/outbox", "nav-outbox", Action::ViewOutbox),
        ];
        for (href, key, action) in entries {
            if allows(ctx, action) {
                items.push(NavItem {
                    href,
                    label: i.t(key),
                    current: current == href,
                });
            }
        }
        items.push(NavItem {
            href: "/me",
            label: i.t("nav-profile"),
            current: current == "/me",
        });
        items.push(NavItem {
            href: "/me/sessions",
            label: i.t("nav-sessions"),
            current: current == "/me/sessions",
        });
        items.push(NavItem {
            href: "/me/security",
            label: i.t("nav-security"),
            current: current == "/me/security",
        });
        let branches = st
            .app
            .tenancy()
            .my_branches(ctx)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|b| BranchChoice {
                selected: Some(b.id) == ctx.branch,
                id: b.id.as_text(),
                name: b.fields.name,
            })
            .collect();
        let roles = ctx
            .roles
            .iter()
            .map(|r| i.role(r))
            .collect::<Vec<_>>()
            .join(", ");
        let user = NavUser {
            name: ctx.user_name.clone(),
            tenant_name: ctx.tenant_name.clone(),
            roles,
            read_only: !ctx.tenant_status.allows_writes(),
            items,
            branches,
        };
        Chrome {
            title: i.t(title_key),
            i,
            csrf: crate::kit::http::csrf_token(headers, fresh),
            user: Some(user),
            flash: read_flash(headers),
            demo: st.config.demo_mode,
        }
    }
}

fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let v = cookie(headers, "clinicos_flash")?;
    let (kind, key) = v.split_once(':')?;
    // Only catalogue keys: letters, digits and hyphens.
    key.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        .then(|| Flash {
            key: key.to_owned(),
            error: kind == "e",
        })
}

/// Redirect with a flash message; the flash cookie is cleared when shown.
pub fn redirect_with_flash(to: &str, key: &str, error: bool) -> Response {
    let mut r = Redirect::to(to).into_response();
    let v = format!(
        "clinicos_flash={}:{key}; Path=/; HttpOnly; SameSite=Lax; Max-Age=30",
        if error { "e" } else { "i" }
    );
    if let Ok(h) = HeaderValue::from_str(&v) {
        r.headers_mut().append(header::SET_COOKIE, h);
    }
    r
}

/// Render a template into a response; a flash that was shown is cleared.
pub fn render<T: Template>(t: &T, had_flash: bool) -> Response {
    match t.render() {
        Ok(html) => {
            let mut r = Html(html).into_response();
            if had_flash {
                r.headers_mut().append(
                    header::SET_COOKIE,
                    HeaderValue::from_static("clinicos_flash=; Path=/; Max-Age=0"),
                );
            }
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(render_error_page("en", 500, "internal error")),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    status: u16,
    message: String,
}

/// A standalone error page (used by middleware too).
pub fn render_error_page(locale: &str, status: u16, message: &str) -> String {
    let i = I18n::new(locale);
    let c = Chrome {
        title: i.t("error-title"),
        i,
        csrf: String::new(),
        user: None,
        flash: None,
        demo: false,
    };
    ErrorPage {
        c,
        status,
        message: message.to_owned(),
    }
    .render()
    .unwrap_or_else(|_| message.to_owned())
}

/// An application error as an HTML page with the right status.
pub fn error_response(locale: &str, e: AppError) -> Response {
    if let AppError::Internal(d) = &e {
        tracing::error!(detail = %d, "internal error on a page");
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let msg = crate::kit::error::message_for(&e, locale);
    (
        status,
        Html(render_error_page(locale, status.as_u16(), &msg)),
    )
        .into_response()
}

/// 404 for anything unrouted outside the API.
pub async fn not_found() -> Response {
    let l = crate::kit::scope::locale();
    (
        StatusCode::NOT_FOUND,
        Html(render_error_page(
            &l,
            404,
            &crate::kit::i18n::t(&l, "error-page-not-found"),
        )),
    )
        .into_response()
}

/// Field errors of a failed form, for re-display next to the inputs.
pub fn field_errors(e: &AppError) -> Vec<(String, String)> {
    match e {
        AppError::Validation(v) => v
            .iter()
            .map(|f| (f.field.clone(), f.message.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Field errors of a failed form, ready to show next to the inputs in the
/// user's language. The service's messages are English; other languages get
/// a translated lead-in followed by the detail.
#[derive(Clone, Debug, Default)]
pub struct Errs(Vec<(String, String)>);

impl Errs {
    /// Collect the field errors of an application error.
    pub fn from_app(e: &AppError, locale: &str) -> Self {
        let mut out = Errs::default();
        for (f, m) in field_errors(e) {
            out.add(&f, &m, locale);
        }
        out
    }

    /// Add one error found by the page itself (e.g. a number that does not parse).
    pub fn add(&mut self, field: &str, message: &str, locale: &str) {
        let text = if locale == "en" {
            message.to_owned()
        } else {
            format!(
                "{} ({message})",
                crate::kit::i18n::t(locale, "field-invalid")
            )
        };
        self.0.push((field.to_owned(), text));
    }

    /// Add an error already in the user's language.
    pub fn add_translated(&mut self, field: &str, text: String) {
        self.0.push((field.to_owned(), text));
    }

    /// The message for one field, if it failed.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A validation failure re-rendered: the page with status 422 (or the
/// error's own status for non-validation errors).
pub fn render_failed<T: Template>(t: &T, e: &AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    (status, render(t, false)).into_response()
}

/// Serve a stored image (already content-sniffed on upload) privately.
pub fn image_response(bytes: Vec<u8>, mime: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// Read one file field of a multipart form (other fields are skipped).
/// `Ok(None)` when the field is missing or empty.
pub async fn read_upload(
    mut form: axum::extract::Multipart,
    name: &str,
) -> Result<Option<Vec<u8>>, ()> {
    while let Some(field) = form.next_field().await.map_err(|_| ())? {
        if field.name() == Some(name) {
            let bytes = field.bytes().await.map_err(|_| ())?;
            return Ok((!bytes.is_empty()).then(|| bytes.to_vec()));
        }
    }
    Ok(None)
}

/// Does the policy allow this action for these roles? (For showing forms;
/// the services decide again.)
pub fn allowed(ctx: &Ctx, action: Action) -> bool {
    allows(ctx, action)
}

/// How tables show a moment (a constant, so the catalogue test that scans
/// for translation calls does not take the pattern for a message key).
const WHEN_FORMAT: &str = "%Y-%m-%d %H:%M UTC";

/// Date and time for tables (UTC; branch-local time arrives with scheduling).
pub fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format(WHEN_FORMAT).to_string()
}

/// Room for a multipart form's other fields and boundaries.
pub const FORM_OVERHEAD: usize = 64 * 1024;
