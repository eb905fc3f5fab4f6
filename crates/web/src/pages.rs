//! The page routes: one list of every server-rendered page, each feature's
//! pages merged in. The page kit (chrome, flash, error pages) is in
//! [`crate::kit::page`].

use crate::governance::pages::audit;
use crate::governance::pages::policy as governance;
use crate::governance::pages::security as admin_security;
use crate::identity::pages::account;
use crate::identity::pages::auth;
use crate::identity::pages::portal;
use crate::identity::pages::security;
use crate::kit::page::{patients_script, stylesheet};
use crate::kit::state::WebState;
use crate::messaging::pages::outbox;
use crate::patients::pages::chart as patient_chart;
use crate::patients::pages::erasure as patient_erasure;
use crate::patients::pages::links as patient_family;
use crate::patients::pages::merge as patient_merge;
use crate::patients::pages::registry as patients;
use crate::patients::pages::share_links as patient_share;
use crate::tenancy::pages::admin;
use crate::tenancy::pages::home;
use crate::tenancy::pages::operator;
use axum::routing::{get, post};
use axum::Router;

/// All page routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/static/app.css", get(stylesheet))
        .route("/static/patients.js", get(patients_script))
        .route("/", get(home::home))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/login/mfa", post(auth::login_mfa))
        .route("/logout", post(auth::logout))
        .route(
            "/forgot-password",
            get(auth::forgot_form).post(auth::forgot),
        )
        .route("/reset-password", get(auth::reset_form).post(auth::reset))
        .route("/locale", post(auth::set_locale))
        .route("/branch", post(home::switch_branch))
        .merge(account::routes())
        .merge(audit::routes())
        .merge(admin_security::routes())
        .merge(security::routes())
        .merge(governance::routes())
        .merge(outbox::routes())
        .merge(admin::routes())
        .merge(operator::routes())
        .merge(portal::routes())
        .merge(patients::routes())
        .merge(patient_chart::routes())
        .merge(patient_family::routes())
        .merge(patient_merge::routes())
        .merge(patient_erasure::routes())
        .merge(patient_share::routes())
        .merge(crate::patients::pages::record_forms::routes())
}
