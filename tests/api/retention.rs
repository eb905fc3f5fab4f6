//! Retention as policy data: `GET /api/v1/tenant/retention` shows the
//! periods of the jurisdiction packs that apply to the organisation (its
//! country, its branches' countries, its home region), longest wins; owner
//! and privacy officer only; the organisation page shows them too.

use crate::support::{body, code, spawn_app, PASSWORD};
use clinicos_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn retention_follows_the_organisation_and_its_branches() {
    let t = spawn_app().await;
    let tenant = t.tenant("eshan").await;
    let token = t.owner_token(&tenant).await;
    let (s, v) = body(t.get("/api/v1/tenant/retention", Some(&token)).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = &v["data"];
    assert_eq!(d["packs"], json!(["IN"]));
    assert_eq!(d["records_adult_years"], 7);
    assert_eq!(d["audit_years"], 7);
    assert_eq!(d["countries"], json!(["IN"]));
    assert_eq!(d["home_region"], "local");

    // A US branch brings HIPAA's periods; the longest of each kind applies.
    let (s, v) = body(t.post("/api/v1/branches", Some(&token), json!({"code": "austin", "name": "Eshan Austin", "country": "US", "time_zone": "America/Chicago", "currency": "USD"})).await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = body(t.get("/api/v1/tenant/retention", Some(&token)).await).await;
    let d = &v["data"];
    assert_eq!(d["packs"], json!(["IN", "US"]));
    assert!(d["audit_years"].as_u64().unwrap() >= 6);
    assert_eq!(d["audit_years"], 7);
    assert_eq!(d["records_adult_years"], 10);
    assert_eq!(d["minors_until_age"], 19);
}

#[tokio::test]
async fn only_the_owner_and_privacy_officer_see_retention() {
    let t = spawn_app().await;
    let tenant = t.tenant("farah").await;
    t.add_user(&tenant, "privacy@farah.example", Role::PrivacyOfficer)
        .await;
    t.add_user(&tenant, "doctor@farah.example", Role::Doctor)
        .await;
    let (po, _) = t.login("farah", "privacy@farah.example", PASSWORD).await;
    let (s, _) = body(t.get("/api/v1/tenant/retention", Some(&po)).await).await;
    assert_eq!(s, StatusCode::OK);
    let (doc, _) = t.login("farah", "doctor@farah.example", PASSWORD).await;
    let (s, v) = body(t.get("/api/v1/tenant/retention", Some(&doc)).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(code(&v), "FORBIDDEN");
    let (s, _) = body(t.get("/api/v1/tenant/retention", None).await).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_organisation_page_shows_retention_to_the_owner_only() {
    use crate::support::{form, page, session_cookie};
    let t = spawn_app().await;
    let tenant = t.tenant("gauri").await;
    t.add_user(&tenant, "nurse@gauri.example", Role::Nurse)
        .await;
    let sign_in = |email: String| {
        let t = &t;
        async move {
            let r = form(
                t,
                "/login",
                "",
                &[
                    ("tenant", "gauri"),
                    ("email", &email),
                    ("password", PASSWORD),
                ],
            )
            .await;
            session_cookie(&r).expect("session cookie")
        }
    };
    let owner = sign_in(tenant.owner_email.clone()).await;
    let html = page(&t, "/admin/organisation", &owner)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Retention"), "{html}");
    assert!(html.contains("Jurisdiction packs applied"));
    let nurse = sign_in("nurse@gauri.example".into()).await;
    let html = page(&t, "/admin/organisation", &nurse)
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Jurisdiction packs applied"));
}
