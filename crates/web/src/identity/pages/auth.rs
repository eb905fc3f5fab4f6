//! Sign-in, sign-out, forgot / reset password, language choice.

use crate::kit::extract::{Client, PageAuth};
use crate::kit::form::Form;
use crate::kit::http::{set_cookie, FreshCsrf, SESSION_COOKIE};
use crate::kit::page::{render, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use clinicos_app::identity::auth::{Issued, LoginInput, LoginOutcome, SessionKind};
use clinicos_app::identity::mfa::SecondFactor;
use clinicos_app::AppError;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    tenant: String,
    email: String,
    error: Option<String>,
    demo_logins: Vec<(String, String)>,
    demo_password: String,
    /// The demo's authenticator secret (shown with the demo sign-ins only).
    demo_totp: &'static str,
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub tenant: String,
    pub email: String,
    pub password: String,
}

/// The code step after a correct password (two-step sign-in).
#[derive(Template)]
#[template(path = "login_mfa.html")]
struct MfaPage {
    c: Chrome,
    mfa_token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct MfaForm {
    pub mfa_token: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub recovery_code: String,
}

/// The long-lived cookie carrying the server-issued device id.
pub const DEVICE_COOKIE: &str = "clinicos_device";

fn signed_in(st: &WebState, issued: &Issued, locale: &str) -> Response {
    let mut r = Redirect::to("/").into_response();
    crate::kit::http::append_cookie(
        &mut r,
        &set_cookie(
            SESSION_COOKIE,
            issued.cookie_value.as_deref().unwrap_or(""),
            "Lax",
            st.app.settings.secure_cookies,
            None,
        ),
    );
    crate::kit::http::append_cookie(
        &mut r,
        &set_cookie(
            "clinicos_lang",
            locale,
            "Lax",
            st.app.settings.secure_cookies,
            Some(31_536_000),
        ),
    );
    r
}

/// Remember a newly issued device id (pending approval) in the browser.
fn remember_device(st: &WebState, r: &mut Response, e: &AppError) {
    if let AppError::DeviceApprovalPending { device_id } = e {
        crate::kit::http::append_cookie(
            r,
            &set_cookie(
                DEVICE_COOKIE,
                device_id,
                "Lax",
                st.app.settings.secure_cookies,
                Some(31_536_000 * 5),
            ),
        );
    }
}

/// Second step of a browser sign-in: the authenticator or recovery code.
pub async fn login_mfa(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
    Form(f): Form<MfaForm>,
) -> Response {
    let factor = SecondFactor {
        code: Some(f.code).filter(|c| !c.trim().is_empty()),
        recovery_code: Some(f.recovery_code).filter(|c| !c.trim().is_empty()),
    };
    match st
        .app
        .identity()
        .complete_mfa(&f.mfa_token, factor, &client)
        .await
    {
        Ok((issued, user)) => signed_in(&st, &issued, &user.locale),
        Err(e) => {
            let c = Chrome::anonymous(&headers, None, "mfa-title", st.config.demo_mode);
            let msg = crate::kit::error::message_for(&e, &c.i.locale);
            let status = axum::http::StatusCode::from_u16(e.status())
                .unwrap_or(axum::http::StatusCode::UNAUTHORIZED);
            let page = MfaPage {
                c,
                mfa_token: f.mfa_token,
                error: Some(msg),
            };
            let mut r = (status, render(&page, false)).into_response();
            remember_device(&st, &mut r, &e);
            r
        }
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    pub expired: Option<String>,
}

fn demo_logins(st: &WebState, c: &Chrome) -> Vec<(String, String)> {
    if !st.config.demo_mode {
        return Vec::new();
    }
    clinicos_domain::Role::ALL
        .iter()
        .map(|r| {
            (
                c.i.role(r),
                format!("{}@demo.clinicos.example", r.as_str().replace('_', ".")),
            )
        })
        .collect()
}

pub async fn login_form(
    State(st): State<WebState>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let c = Chrome::anonymous(
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "login-title",
        st.config.demo_mode,
    );
    let had = c.flash.is_some();
    let error = q.expired.map(|_| c.i.t("login-expired"));
    let page = LoginPage {
        demo_logins: demo_logins(&st, &c),
        demo_totp: clinicos_app::demo::organisation::DEMO_TOTP_SECRET,
        demo_password: if st.config.demo_mode {
            clinicos_app::demo::organisation::DEMO_PASSWORD.into()
        } else {
            String::new()
        },
        tenant: String::new(),
        email: String::new(),
        error,
        c,
    };
    render(&page, had)
}

pub async fn login(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
    Form(f): Form<LoginForm>,
) -> Response {
    let input = LoginInput {
        tenant_slug: f.tenant.clone(),
        email: f.email.clone(),
        password: f.password,
        kind: SessionKind::Browser,
        device_id: crate::kit::http::cookie(&headers, DEVICE_COOKIE),
    };
    match st.app.identity().login(input, &client).await {
        Ok(LoginOutcome::SignedIn(issued, user)) => signed_in(&st, &issued, &user.locale),
        Ok(LoginOutcome::MfaRequired { mfa_token }) => {
            let c = Chrome::anonymous(&headers, None, "mfa-title", st.config.demo_mode);
            let page = MfaPage {
                c,
                mfa_token,
                error: None,
            };
            render(&page, false)
        }
        Err(e) => {
            let c = Chrome::anonymous(&headers, None, "login-title", st.config.demo_mode);
            let msg = crate::kit::error::message_for(&e, &c.i.locale);
            let status = axum::http::StatusCode::from_u16(e.status())
                .unwrap_or(axum::http::StatusCode::UNAUTHORIZED);
            let page = LoginPage {
                demo_logins: demo_logins(&st, &c),
                demo_totp: clinicos_app::demo::organisation::DEMO_TOTP_SECRET,
                demo_password: if st.config.demo_mode {
                    clinicos_app::demo::organisation::DEMO_PASSWORD.into()
                } else {
                    String::new()
                },
                tenant: f.tenant,
                email: f.email,
                error: Some(msg),
                c,
            };
            let mut r = (status, render(&page, false)).into_response();
            remember_device(&st, &mut r, &e);
            r
        }
    }
}

pub async fn logout(State(st): State<WebState>, PageAuth(ctx): PageAuth) -> Response {
    if let Err(e) = st.app.identity().logout(&ctx).await {
        return crate::kit::page::error_response(&ctx.locale, e);
    }
    let mut r = crate::kit::page::redirect_with_flash("/login", "flash-signed-out", false);
    crate::kit::http::append_cookie(
        &mut r,
        &set_cookie(
            SESSION_COOKIE,
            "",
            "Lax",
            st.app.settings.secure_cookies,
            Some(0),
        ),
    );
    r
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    c: Chrome,
    sent: bool,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    pub tenant: String,
    pub email: String,
}

pub async fn forgot_form(
    State(st): State<WebState>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let c = Chrome::anonymous(
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "forgot-title",
        st.config.demo_mode,
    );
    render(&ForgotPage { c, sent: false }, false)
}

pub async fn forgot(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
    Form(f): Form<ForgotForm>,
) -> Response {
    let c = Chrome::anonymous(&headers, None, "forgot-title", st.config.demo_mode);
    match st
        .app
        .identity()
        .forgot_password(&f.tenant, &f.email, &client)
        .await
    {
        Ok(()) => render(&ForgotPage { c, sent: true }, false),
        Err(e) => crate::kit::page::error_response(&c.i.locale, e),
    }
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    c: Chrome,
    token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ResetQuery {
    pub token: Option<String>,
}

#[derive(Deserialize)]
pub struct ResetForm {
    pub token: String,
    pub new_password: String,
    pub confirm_password: String,
}

pub async fn reset_form(
    State(st): State<WebState>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
    Query(q): Query<ResetQuery>,
) -> Response {
    let c = Chrome::anonymous(
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "reset-title",
        st.config.demo_mode,
    );
    render(
        &ResetPage {
            c,
            token: q.token.unwrap_or_default(),
            error: None,
        },
        false,
    )
}

pub async fn reset(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
    Form(f): Form<ResetForm>,
) -> Response {
    let c = Chrome::anonymous(&headers, None, "reset-title", st.config.demo_mode);
    if f.new_password != f.confirm_password {
        let error = Some(c.i.t("reset-mismatch"));
        return (
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            render(
                &ResetPage {
                    c,
                    token: f.token,
                    error,
                },
                false,
            ),
        )
            .into_response();
    }
    match st
        .app
        .identity()
        .reset_password(&f.token, &f.new_password, &client)
        .await
    {
        Ok(()) => crate::kit::page::redirect_with_flash("/login", "flash-password-reset", false),
        Err(e) => {
            let error = Some(match &e {
                AppError::Validation(v) => v
                    .iter()
                    .map(|x| x.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                other => crate::kit::error::message_for(other, &c.i.locale),
            });
            let status = axum::http::StatusCode::from_u16(e.status())
                .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
            (
                status,
                render(
                    &ResetPage {
                        c,
                        token: f.token,
                        error,
                    },
                    false,
                ),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct LocaleForm {
    pub locale: String,
    pub back: Option<String>,
}

/// Switch the UI language: saved on the user when signed in, and in a
/// cookie for the sign-in pages.
pub async fn set_locale(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
    Form(f): Form<LocaleForm>,
) -> Response {
    if !clinicos_domain::kit::validate::SUPPORTED_LOCALES.contains(&f.locale.as_str()) {
        return crate::kit::page::error_response(
            &crate::kit::scope::locale(),
            AppError::field("locale", "is not a supported language"),
        );
    }
    if let Some(v) = crate::kit::http::cookie(&headers, SESSION_COOKIE) {
        if let Ok(ctx) = st.app.identity().authenticate_cookie(&v, client).await {
            if let Err(e) = st.app.tenancy().set_my_locale(&ctx, &f.locale).await {
                return crate::kit::page::error_response(&ctx.locale, e);
            }
        }
    }
    // Only local paths: never an open redirect.
    let back = f
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let mut r = Redirect::to(&back).into_response();
    crate::kit::http::append_cookie(
        &mut r,
        &set_cookie(
            "clinicos_lang",
            &f.locale,
            "Lax",
            st.app.settings.secure_cookies,
            Some(31_536_000),
        ),
    );
    r
}
