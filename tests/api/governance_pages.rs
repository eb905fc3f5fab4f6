//! The policy pages: roles and permissions (bundle edit, single grant,
//! settings) and emergency-access review, in the browser's terms (cookies,
//! CSRF-protected forms).

use crate::support::{body, form, page, spawn_app, PASSWORD};
use clinicos_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn owners_edit_bundles_grants_and_settings_on_the_permissions_page() {
    let t = spawn_app().await;
    let tenant = t.tenant("govp").await;
    t.add_user(&tenant, "doc@govp.example", Role::Doctor).await;
    t.add_user(&tenant, "nurse@govp.example", Role::Nurse).await;
    let owner = t.page_sign_in("govp", &tenant.owner_email).await;
    let doc = t.page_sign_in("govp", "doc@govp.example").await;

    let r = page(&t, "/admin/permissions", &owner).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap_or_default();
    assert!(
        html.contains("name=\"perm:patients:read\""),
        "checkboxes per permission"
    );
    assert_eq!(
        page(&t, "/admin/permissions", &doc).await.status(),
        StatusCode::FORBIDDEN
    );

    // Edit the nurse bundle to two permissions, then grant the nurse one more.
    let r = form(
        &t,
        "/admin/permissions/roles/nurse",
        &owner,
        &[("perm:tenant:read", "on"), ("perm:patients:read", "on")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token = t.owner_token(&tenant).await;
    let (_, v) = body(t.get("/api/v1/policy", Some(&token)).await).await;
    let nurse = v["data"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["role"] == "nurse")
        .cloned()
        .expect("nurse");
    assert_eq!(
        nurse["permissions"],
        json!(["tenant:read", "patients:read"])
    );
    let (_, staff) = body(t.get("/api/v1/staff?role=nurse", Some(&token)).await).await;
    let nurse_id = staff["data"][0]["id"]
        .as_str()
        .expect("nurse id")
        .to_owned();
    let r = form(
        &t,
        "/admin/permissions/grants",
        &owner,
        &[
            ("user_id", &nurse_id),
            ("permission", "vitals:write"),
            ("reason", "triage nurse"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, v) = body(t.get("/api/v1/policy", Some(&token)).await).await;
    assert_eq!(v["data"]["grants"][0]["permission"], "vitals:write");
    // A bad setting is refused with a message and nothing changes.
    let r = form(
        &t,
        "/admin/permissions/settings",
        &owner,
        &[
            ("own_patient_window_months", "0"),
            ("break_glass_minutes", "60"),
            ("consent_policy", "implied"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, v) = body(t.get("/api/v1/policy", Some(&token)).await).await;
    assert_eq!(v["data"]["settings"]["own_patient_window_months"], 24);
    assert_eq!(v["data"]["settings"]["clinical_cross_branch"], true);
    // Forms without the CSRF pair are refused.
    let r = t
        .http
        .post(t.url("/admin/permissions/roles/nurse"))
        .header("cookie", &owner)
        .form(&[("perm:tenant:read", "on")])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn privacy_officers_review_emergency_access_on_a_page() {
    let t = spawn_app().await;
    let tenant = t.tenant("govg").await;
    t.add_user(&tenant, "doc@govg.example", Role::Doctor).await;
    t.add_user(&tenant, "po@govg.example", Role::PrivacyOfficer)
        .await;
    let owner = t.owner_token(&tenant).await;
    let (_, p) = body(
        t.post(
            "/api/v1/patients",
            Some(&owner),
            json!({"given_name": "Ravi", "sex": "male"}),
        )
        .await,
    )
    .await;
    let pid = p["data"]["id"].as_str().expect("patient").to_owned();
    let (doc, _) = t.login("govg", "doc@govg.example", PASSWORD).await;
    let (s, g) = body(
        t.post(
            &format!("/api/v1/patients/{pid}/break-glass"),
            Some(&doc),
            json!({"reason": "Seizure in the waiting area, history needed"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let gid = g["data"]["id"].as_str().expect("grant").to_owned();
    let po = t.page_sign_in("govg", "po@govg.example").await;
    let html = page(&t, "/admin/break-glass", &po)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        html.contains("Seizure in the waiting area"),
        "the reason is shown"
    );
    let r = form(
        &t,
        &format!("/admin/break-glass/{gid}/review"),
        &po,
        &[
            ("outcome", "unjustified"),
            ("note", "No seizure recorded in the log"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = page(&t, "/admin/break-glass?status=unjustified", &po)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("No seizure recorded in the log"));
    let doc_page = t.page_sign_in("govg", "doc@govg.example").await;
    assert_eq!(
        page(&t, "/admin/break-glass", &doc_page).await.status(),
        StatusCode::FORBIDDEN
    );
}
