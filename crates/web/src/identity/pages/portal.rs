//! The patient portal's pages: sign-in with a one-time code (clinic code,
//! channel and phone / email, then the code) and the patient's own record.
//! The portal credential is its own HttpOnly cookie, never the staff one.

use crate::kit::extract::Client;
use crate::kit::form::Form;
use crate::kit::http::{append_cookie, cookie, set_cookie, FreshCsrf};
use crate::kit::page::{redirect_with_flash, render, render_failed, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use clinicos_app::identity::portal::OtpRequest;
use clinicos_app::identity::portal_session::PortalCtx;
use clinicos_app::kit::context::RequestInfo;
use clinicos_app::AppError;
use serde::Deserialize;

/// The portal session cookie.
pub const PORTAL_COOKIE: &str = "clinicos_portal";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/portal", get(me))
        .route("/portal/login", get(login_form).post(send))
        .route("/portal/verify", post(verify))
        .route("/portal/logout", post(logout))
}

#[derive(Template)]
#[template(path = "portal_login.html")]
struct LoginPage {
    c: Chrome,
    tenant: String,
    channel: String,
    destination: String,
    code_step: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal_me.html")]
struct MePage {
    c: Chrome,
    clinic: String,
    name: String,
    birth_date: String,
    phone: String,
    email: String,
    city: String,
}

/// Both steps post the destination; the code only on the second.
#[derive(Deserialize)]
pub struct OtpForm {
    pub tenant: String,
    pub channel: String,
    pub destination: String,
    #[serde(default)]
    pub code: String,
}

impl OtpForm {
    fn request(&self) -> OtpRequest {
        OtpRequest {
            tenant_slug: self.tenant.clone(),
            channel: self.channel.clone(),
            destination: self.destination.clone(),
            code: self.code.clone(),
        }
    }

    fn page(self, c: Chrome, code_step: bool, error: Option<String>) -> LoginPage {
        LoginPage {
            c,
            tenant: self.tenant,
            channel: self.channel,
            destination: self.destination,
            code_step,
            error,
        }
    }
}

fn chrome(st: &WebState, headers: &HeaderMap, fresh: Option<&FreshCsrf>, title: &str) -> Chrome {
    Chrome::anonymous(headers, fresh, title, st.config.demo_mode)
}

async fn login_form(
    State(st): State<WebState>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let c = chrome(
        &st,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "portal-login-title",
    );
    let had = c.flash.is_some();
    let f = OtpForm {
        tenant: String::new(),
        channel: "sms".into(),
        destination: String::new(),
        code: String::new(),
    };
    render(&f.page(c, false, None), had)
}

async fn send(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
    Form(f): Form<OtpForm>,
) -> Response {
    let c = chrome(&st, &headers, None, "portal-login-title");
    match st
        .app
        .identity()
        .send_portal_code(&f.request(), &client)
        .await
    {
        Ok(()) => render(&f.page(c, true, None), false),
        Err(e) => {
            let msg = crate::kit::error::message_for(&e, &c.i.locale);
            render_failed(&f.page(c, false, Some(msg)), &e)
        }
    }
}

async fn verify(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
    Form(f): Form<OtpForm>,
) -> Response {
    match st
        .app
        .identity()
        .verify_portal_code(&f.request(), &client)
        .await
    {
        Ok(issued) => {
            let mut r = Redirect::to("/portal").into_response();
            let secure = st.app.settings.secure_cookies;
            let v = set_cookie(PORTAL_COOKIE, &issued.access_token, "Lax", secure, None);
            append_cookie(&mut r, &v);
            r
        }
        Err(e) => {
            let c = chrome(&st, &headers, None, "portal-login-title");
            let msg = crate::kit::error::message_for(&e, &c.i.locale);
            render_failed(&f.page(c, true, Some(msg)), &e)
        }
    }
}

/// The signed-in patient, or the sign-in page.
async fn portal_ctx(
    st: &WebState,
    headers: &HeaderMap,
    req: RequestInfo,
) -> Result<PortalCtx, Response> {
    let Some(token) = cookie(headers, PORTAL_COOKIE) else {
        return Err(Redirect::to("/portal/login").into_response());
    };
    match st.app.identity().authenticate_portal(&token, req).await {
        Ok(ctx) => Ok(ctx),
        Err(AppError::Unauthenticated | AppError::SessionExpired) => {
            Err(Redirect::to("/portal/login").into_response())
        }
        Err(e) => Err(crate::kit::page::error_response(
            &crate::kit::scope::locale(),
            e,
        )),
    }
}

async fn me(
    State(st): State<WebState>,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
    Client(client): Client,
) -> Response {
    let ctx = match portal_ctx(&st, &headers, client).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = chrome(
        &st,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "portal-me-title",
    );
    match st.app.identity().portal_me(&ctx).await {
        Ok(p) => {
            let name = [p.given_name, p.middle_name, p.family_name]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let page = MePage {
                c,
                clinic: ctx.tenant_name,
                name,
                birth_date: p.birth_date.unwrap_or_default(),
                phone: p.phone.unwrap_or_default(),
                email: p.email.unwrap_or_default(),
                city: p.city,
            };
            render(&page, false)
        }
        Err(e) => crate::kit::page::error_response(&c.i.locale, e),
    }
}

async fn logout(
    State(st): State<WebState>,
    headers: HeaderMap,
    Client(client): Client,
) -> Response {
    let ctx = match portal_ctx(&st, &headers, client).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(e) = st.app.identity().portal_logout(&ctx).await {
        return crate::kit::page::error_response(&crate::kit::scope::locale(), e);
    }
    let mut r = redirect_with_flash("/portal/login", "flash-signed-out", false);
    let v = set_cookie(
        PORTAL_COOKIE,
        "",
        "Lax",
        st.app.settings.secure_cookies,
        Some(0),
    );
    append_cookie(&mut r, &v);
    r
}
