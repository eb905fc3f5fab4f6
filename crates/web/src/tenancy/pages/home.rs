//! The role-aware home page and the branch switcher.

use crate::kit::extract::PageAuth;
use crate::kit::form::Form;
use crate::kit::http::FreshCsrf;
use crate::kit::page::{render, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use clinicos_domain::{BranchId, Role};
use serde::Deserialize;

/// A card on the home page: what this role does here.
pub struct Card {
    pub title: String,
    pub body: String,
    pub href: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    greeting: String,
    branch_name: String,
    cards: Vec<Card>,
}

fn cards_for(c: &Chrome, roles: &[Role]) -> Vec<Card> {
    let i = &c.i;
    let mut out = Vec::new();
    for r in roles {
        let (key, href) = match r {
            Role::Owner => ("home-card-owner", Some("/admin/organisation")),
            Role::BranchAdmin => ("home-card-branch-admin", Some("/admin/staff")),
            Role::Doctor => ("home-card-doctor", None),
            Role::Nurse => ("home-card-nurse", None),
            Role::FrontDesk => ("home-card-front-desk", None),
            Role::Pharmacist => ("home-card-pharmacist", None),
            Role::LabTechnician => ("home-card-lab-technician", None),
            Role::Accountant => ("home-card-accountant", None),
            Role::PrivacyOfficer => ("home-card-privacy-officer", Some("/admin/staff")),
        };
        out.push(Card {
            title: i.role(r),
            body: i.t(key),
            href,
        });
    }
    out
}

pub async fn home(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    headers: HeaderMap,
    fresh: Option<Extension<FreshCsrf>>,
) -> Response {
    let c = Chrome::signed_in(
        &st,
        &ctx,
        &headers,
        fresh.as_ref().map(|e| &e.0),
        "home-title",
        "/",
    )
    .await;
    let had = c.flash.is_some();
    let branch_name = c
        .user
        .as_ref()
        .and_then(|u| {
            u.branches
                .iter()
                .find(|b| b.selected)
                .map(|b| b.name.clone())
        })
        .unwrap_or_default();
    let greeting = crate::kit::i18n::t_args(
        &c.i.locale,
        "home-greeting",
        &[("name", ctx.user_name.clone())],
    );
    let cards = cards_for(&c, &ctx.roles);
    render(
        &HomePage {
            c,
            greeting,
            branch_name,
            cards,
        },
        had,
    )
}

#[derive(Deserialize)]
pub struct SwitchForm {
    pub branch_id: String,
}

pub async fn switch_branch(
    State(st): State<WebState>,
    PageAuth(ctx): PageAuth,
    Form(f): Form<SwitchForm>,
) -> Response {
    let Ok(id) = f.branch_id.parse::<BranchId>() else {
        return crate::kit::page::redirect_with_flash("/", "flash-branch-unknown", true);
    };
    match st.app.identity().switch_branch(&ctx, id).await {
        Ok(()) => crate::kit::page::redirect_with_flash("/", "flash-branch-switched", false),
        Err(e) => crate::kit::page::error_response(&ctx.locale, e),
    }
}
