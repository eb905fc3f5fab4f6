//! The signed-in user's own account: profile, avatar and signature images,
//! password change, and live sessions (end any other one).

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::ids::InPath;
use crate::kit::page::{
    error_response, image_response, read_upload, redirect_with_flash, render, render_failed,
    Chrome, Errs,
};
use crate::WebState;
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use clinicos_app::identity::types::{Image, User, UserProfile};
use clinicos_app::{AppError, Ctx};
use clinicos_domain::SessionId;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/me", get(profile).post(save_profile))
        .route("/me/avatar", get(avatar).post(upload_avatar))
        .route("/me/signature", get(signature).post(upload_signature))
        .route("/me/password", post(change_password))
        .route("/me/sessions", get(sessions))
        .route("/me/sessions/{id}/end", post(end_session))
}

/// The profile form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub name: String,
    pub phone: String,
    pub languages: String,
    pub registration_number: String,
    pub registration_council: String,
    pub qualifications: String,
    pub specialisation: String,
    pub health_professional_id: String,
    pub locale: String,
}

impl ProfileForm {
    fn of(u: &User) -> Self {
        let p = &u.profile;
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        ProfileForm {
            name: p.name.clone(),
            phone: p.phone.clone(),
            languages: p.languages.join(", "),
            registration_number: o(&p.registration_number),
            registration_council: o(&p.registration_council),
            qualifications: o(&p.qualifications),
            specialisation: o(&p.specialisation),
            health_professional_id: o(&p.health_professional_id),
            locale: u.locale.clone(),
        }
    }

    fn profile(&self) -> UserProfile {
        let o = |v: &str| Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        UserProfile {
            name: self.name.trim().to_owned(),
            phone: self.phone.trim().to_owned(),
            languages: self
                .languages
                .split(',')
                .map(|l| l.trim().to_lowercase())
                .filter(|l| !l.is_empty())
                .collect(),
            registration_number: o(&self.registration_number),
            registration_council: o(&self.registration_council),
            qualifications: o(&self.qualifications),
            specialisation: o(&self.specialisation),
            health_professional_id: o(&self.health_professional_id),
        }
    }
}

#[derive(Template)]
#[template(path = "me.html")]
struct ProfilePage {
    c: Chrome,
    v: ProfileForm,
    email: String,
    has_avatar: bool,
    has_signature: bool,
    /// Two-step sign-in is on (the section links to `/me/security`).
    mfa_active: bool,
    errs: Errs,
    pw_errs: Errs,
}

async fn profile_page(
    st: &WebState,
    ctx: &Ctx,
    c: Chrome,
    form: Option<ProfileForm>,
    errs: Errs,
    pw_errs: Errs,
) -> Result<ProfilePage, AppError> {
    let u = st.app.tenancy().me(ctx).await?;
    let mfa_active = st.app.identity().mfa_status(ctx).await?.totp_active;
    Ok(ProfilePage {
        mfa_active,
        v: form.unwrap_or_else(|| ProfileForm::of(&u)),
        email: u.email,
        has_avatar: u.has_avatar,
        has_signature: u.has_signature,
        errs,
        pw_errs,
        c,
    })
}

pub async fn profile(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let fresh = fresh.as_ref().map(|e| &e.0);
    let c = Chrome::signed_in(&st, &ctx, &headers, fresh, "me-title", "/me").await;
    let had = c.flash.is_some();
    match profile_page(&st, &ctx, c, None, Errs::default(), Errs::default()).await {
        Ok(p) => render(&p, had),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn save_profile(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    Form(f): Form<ProfileForm>,
) -> Response {
    let locale = Some(f.locale.trim().to_owned()).filter(|l| !l.is_empty());
    let e = match st
        .app
        .tenancy()
        .update_me(&ctx, f.profile(), locale.clone())
        .await
    {
        Ok(_) => {
            let mut r = redirect_with_flash("/me", "flash-profile-saved", false);
            // The new language applies from the next page on.
            if let Some(l) = locale {
                crate::kit::http::append_cookie(
                    &mut r,
                    &crate::kit::http::set_cookie(
                        "clinicos_lang",
                        &l,
                        "Lax",
                        st.app.settings.secure_cookies,
                        Some(31_536_000),
                    ),
                );
            }
            return r;
        }
        Err(e @ AppError::Validation(_)) => e,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let c = Chrome::signed_in(&st, &ctx, &headers, None, "me-title", "/me").await;
    let errs = Errs::from_app(&e, &ctx.locale);
    match profile_page(&st, &ctx, c, Some(f), errs, Errs::default()).await {
        Ok(p) => render_failed(&p, &e),
        Err(e) => error_response(&ctx.locale, e),
    }
}

async fn upload(
    st: &WebState,
    ctx: &Ctx,
    which: Image,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let field = match which {
        Image::Avatar => "avatar",
        Image::Signature => "signature",
    };
    let Ok(form) = form else {
        return redirect_with_flash("/me", "flash-upload-failed", true);
    };
    let bytes = match read_upload(form, field).await {
        Ok(Some(b)) => b,
        Ok(None) => return redirect_with_flash("/me", "flash-upload-empty", true),
        Err(()) => return redirect_with_flash("/me", "flash-upload-failed", true),
    };
    match st.app.tenancy().set_my_image(ctx, which, bytes).await {
        Ok(()) => redirect_with_flash("/me", "flash-image-saved", false),
        Err(AppError::Validation(_)) => redirect_with_flash("/me", "flash-image-invalid", true),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn upload_avatar(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    upload(&st, &ctx, Image::Avatar, form).await
}

pub async fn upload_signature(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    upload(&st, &ctx, Image::Signature, form).await
}

async fn my_image(st: &WebState, ctx: &Ctx, which: Image) -> Response {
    match st.app.tenancy().staff_image(ctx, ctx.user, which).await {
        Ok((bytes, mime)) => image_response(bytes, mime),
        Err(e) => error_response(&ctx.locale, e),
    }
}

pub async fn avatar(State(st): State<WebState>, PageAuth(ctx): PageAuth) -> Response {
    my_image(&st, &ctx, Image::Avatar).await
}

pub async fn signature(State(st): State<WebState>, PageAuth(ctx): PageAuth) -> Response {
    my_image(&st, &ctx, Image::Signature).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub confirm_password: String,
}

pub async fn change_password(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    let mut pw_errs = Errs::default();
    let e = if f.new_password != f.confirm_password {
        pw_errs.add_translated(
            "confirm_password",
            crate::kit::i18n::t(&ctx.locale, "reset-mismatch"),
        );
        AppError::Validation(Vec::new())
    } else {
        match st
            .app
            .identity()
            .change_password(&ctx, &f.current_password, &f.new_password)
            .await
        {
            Ok(()) => return redirect_with_flash("/me", "flash-password-changed", false),
            Err(e @ AppError::Validation(_)) => {
                pw_errs = Errs::from_app(&e, &ctx.locale);
                e
            }
            Err(e) => return error_response(&ctx.locale, e),
        }
    };
    let c = Chrome::signed_in(&st, &ctx, &headers, None, "me-title", "/me").await;
    match profile_page(&st, &ctx, c, None, Errs::default(), pw_errs).await {
        Ok(p) => render_failed(&p, &e),
        Err(e) => error_response(&ctx.locale, e),
    }
}

/// One live session, formatted for the table.
pub struct SessionRow {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub started: String,
    pub last_seen: String,
    pub current: bool,
    /// Where the "End" button posts.
    pub end_url: String,
}

impl SessionRow {
    /// A table row from a session summary; `end_base` is the URL prefix
    /// the session id and `/end` are appended to.
    pub fn new(s: clinicos_app::identity::types::SessionSummary, end_base: &str) -> Self {
        let id = s.id.as_text();
        SessionRow {
            end_url: format!("{end_base}{id}/end"),
            id,
            device: if s.user_agent.is_empty() {
                s.kind
            } else {
                s.user_agent
            },
            ip: s.ip,
            started: crate::kit::page::when(&s.created_at),
            last_seen: crate::kit::page::when(&s.last_seen_at),
            current: s.current,
        }
    }
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    c: Chrome,
    rows: Vec<SessionRow>,
}

pub async fn sessions(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let list = match st.app.identity().my_sessions(&ctx).await {
        Ok(l) => l,
        Err(e) => return error_response(&ctx.locale, e),
    };
    let fresh = fresh.as_ref().map(|e| &e.0);
    let c = Chrome::signed_in(&st, &ctx, &headers, fresh, "sessions-title", "/me/sessions").await;
    let had = c.flash.is_some();
    let rows = list
        .into_iter()
        .map(|s| SessionRow::new(s, "/me/sessions/"))
        .collect();
    render(&SessionsPage { c, rows }, had)
}

pub async fn end_session(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    InPath(sid): InPath<SessionId>,
) -> Response {
    match st.app.identity().end_my_session(&ctx, sid).await {
        Ok(()) => redirect_with_flash("/me/sessions", "flash-session-ended", false),
        Err(AppError::NotFound(_)) => {
            redirect_with_flash("/me/sessions", "flash-session-unknown", true)
        }
        Err(e) => error_response(&ctx.locale, e),
    }
}
