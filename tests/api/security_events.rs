//! Security events: each kind raised at its threshold and not below,
//! listed and acknowledged through the API, the admin security page, and
//! the settings API.

use crate::support::*;
use chrono::TimeZone;
use clinicos_app::governance::security::Raise;
use clinicos_app::kit::context::RequestInfo;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::governance::security::EventKind;
use clinicos_domain::{PatientId, Role};
use clinicos_store::governance::audit::{self, Actor, AuditEvent};
use clinicos_web::WebConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn events(t: &TestApp, owner: &str, kind: &str) -> Vec<Value> {
    let (s, v) = body(
        t.get(&format!("/api/v1/security/events?kind={kind}"), Some(owner))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["data"].as_array().cloned().unwrap_or_default()
}

async fn login_from(t: &TestApp, slug: &str, email: &str, headers: &[(&str, &str)]) {
    let mut r = t
        .http
        .post(t.url("/api/v1/auth/login"))
        .json(&json!({"tenant": slug, "email": email, "password": PASSWORD}));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().await.expect("login");
    assert_eq!(r.status(), StatusCode::OK);
}

/// Move the test clock to an absolute time.
fn set_clock(t: &TestApp, to: chrono::DateTime<chrono::Utc>) {
    let now = t.clock_now();
    t.clock.advance(to - now);
}

#[tokio::test]
async fn five_failed_sign_ins_for_one_account_raise_one_event() {
    let t = spawn_app().await;
    let tenant = t.tenant("sefail").await;
    t.add_user(&tenant, "doc@sefail.example", Role::Doctor)
        .await;
    let owner = t.owner_token(&tenant).await;
    let wrong =
        json!({"tenant": "sefail", "email": "doc@sefail.example", "password": "wrong-wrong-wrong"});
    for _ in 0..4 {
        let r = t.post("/api/v1/auth/login", None, wrong.clone()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        events(&t, &owner, "failed_sign_ins").await.is_empty(),
        "4 is below the threshold"
    );
    t.post("/api/v1/auth/login", None, wrong.clone()).await;
    let list = events(&t, &owner, "failed_sign_ins").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["severity"], "medium");
    assert_eq!(list[0]["details"]["failures"], 5);
    assert!(list[0]["user_id"].as_str().is_some());
    // The account is now locked; further tries raise nothing new.
    t.post("/api/v1/auth/login", None, wrong).await;
    assert_eq!(events(&t, &owner, "failed_sign_ins").await.len(), 1);
}

#[tokio::test]
async fn a_sign_in_from_a_new_network_or_country_raises_an_event() {
    let (url, dir) = fresh_db().await;
    let config = WebConfig {
        trust_proxy: true,
        country_header: Some("x-client-country".into()),
        ..web_config()
    };
    let t = spawn_with(url, dir, settings(), config).await;
    let tenant = t.tenant("senet").await;
    let email = tenant.owner_email.clone();
    let home = [
        ("x-forwarded-for", "198.51.100.7"),
        ("x-client-country", "IN"),
    ];
    // The first sign-in ever has nothing to compare with.
    login_from(&t, "senet", &email, &home).await;
    login_from(
        &t,
        "senet",
        &email,
        &[
            ("x-forwarded-for", "198.51.100.200"),
            ("x-client-country", "in"),
        ],
    )
    .await;
    let owner = t.owner_token(&tenant).await; // from 127.0.0.1: a new network
    let nets = events(&t, &owner, "new_network").await;
    assert_eq!(nets.len(), 1, "{nets:?}");
    assert_eq!(nets[0]["details"]["network"], "127.0.0.0/24");
    assert!(events(&t, &owner, "new_country").await.is_empty());
    login_from(
        &t,
        "senet",
        &email,
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-client-country", "US"),
        ],
    )
    .await;
    let nets = events(&t, &owner, "new_network").await;
    assert_eq!(nets.len(), 2);
    assert_eq!(nets[0]["details"]["network"], "203.0.113.0/24");
    assert_eq!(nets[0]["ip"], "203.0.113.9");
    let countries = events(&t, &owner, "new_country").await;
    assert_eq!(countries.len(), 1, "{countries:?}");
    assert_eq!(countries[0]["details"]["country"], "US");
}

#[tokio::test]
async fn reading_more_than_fifty_distinct_patients_in_ten_minutes_raises_once() {
    let t = spawn_app().await;
    let tenant = t.tenant("sereads").await;
    t.add_user(&tenant, "doc@sereads.example", Role::Doctor)
        .await;
    let owner = t.owner_token(&tenant).await;
    let (doc_token, _) = t.login("sereads", "doc@sereads.example", PASSWORD).await;
    let ctx = t
        .app
        .identity()
        .authenticate_bearer(&doc_token, RequestInfo::default())
        .await
        .expect("ctx");
    let patients: Vec<PatientId> = (0..52).map(|_| PatientId::new()).collect();
    let write = |ids: Vec<PatientId>| {
        let (app, actor) = (
            t.app.clone(),
            Actor {
                user_id: Some(ctx.user),
                ..Default::default()
            },
        );
        let at = t.clock_now();
        async move {
            let mut tx = app.store.write(tenant.id).await.expect("tx");
            let ids = ids.iter().map(PatientId::as_text).collect();
            let ev = AuditEvent::new(at, AuditAction::PatientRead, ResourceKind::Patient, ids);
            audit::record(&mut tx, &actor, ev).await.expect("audit");
            tx.commit().await.expect("commit");
        }
    };
    // 50 distinct patients (one read twice): at the threshold, not above.
    write(patients[..30].to_vec()).await;
    write(patients[20..50].to_vec()).await;
    t.app
        .governance()
        .note_patient_reads(&ctx, &patients[20..50])
        .await;
    assert!(events(&t, &owner, "mass_patient_reads").await.is_empty());
    write(vec![patients[50]]).await;
    // These reads went around this instance (written straight to the
    // trail, as another instance would): the trail is consulted at most
    // once a minute per user.
    t.app
        .governance()
        .note_patient_reads(&ctx, &patients[50..51])
        .await;
    assert!(events(&t, &owner, "mass_patient_reads").await.is_empty());
    t.clock.advance(chrono::Duration::seconds(61));
    t.app
        .governance()
        .note_patient_reads(&ctx, &patients[50..51])
        .await;
    let list = events(&t, &owner, "mass_patient_reads").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["details"]["distinct_patients"], 51);
    assert_eq!(list[0]["severity"], "high");
    // Once per window.
    write(vec![patients[51]]).await;
    t.app
        .governance()
        .note_patient_reads(&ctx, &patients[51..52])
        .await;
    assert_eq!(events(&t, &owner, "mass_patient_reads").await.len(), 1);
    // Reads older than the window no longer count.
    t.clock.advance(chrono::Duration::minutes(11));
    write(vec![patients[0]]).await;
    t.app
        .governance()
        .note_patient_reads(&ctx, &patients[..1])
        .await;
    let owner = t.owner_token(&tenant).await;
    assert_eq!(events(&t, &owner, "mass_patient_reads").await.len(), 1);
}

#[tokio::test]
async fn an_export_outside_the_branch_working_hours_raises_an_event() {
    let t = spawn_app().await;
    let tenant = t.tenant("seexp").await;
    // Monday 2026-03-02 10:30 in Asia/Kolkata: inside Mon-Sat 08:00-20:00.
    set_clock(
        &t,
        chrono::Utc.with_ymd_and_hms(2026, 3, 2, 5, 0, 0).unwrap(),
    );
    let owner = t.owner_token(&tenant).await;
    assert_eq!(
        t.get("/api/v1/tenant/export", Some(&owner)).await.status(),
        StatusCode::OK
    );
    assert!(events(&t, &owner, "export_off_hours").await.is_empty());
    // 23:30 the same day: closed.
    set_clock(
        &t,
        chrono::Utc.with_ymd_and_hms(2026, 3, 2, 18, 0, 0).unwrap(),
    );
    let owner = t.owner_token(&tenant).await;
    assert_eq!(
        t.get("/api/v1/tenant/export", Some(&owner)).await.status(),
        StatusCode::OK
    );
    let list = events(&t, &owner, "export_off_hours").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["details"]["time_zone"], "Asia/Kolkata");
    assert_eq!(list[0]["details"]["export"], "tenant_data");
}

#[tokio::test]
async fn break_glass_events_are_listed_and_acknowledged() {
    let t = spawn_app().await;
    let tenant = t.tenant("sebg").await;
    t.add_user(&tenant, "po@sebg.example", Role::PrivacyOfficer)
        .await;
    t.add_user(&tenant, "doc@sebg.example", Role::Doctor).await;
    let id = t
        .app
        .governance()
        .raise_security_event(
            tenant.id,
            Raise {
                kind: EventKind::BreakGlass,
                user: None,
                ip: "10.0.0.1".into(),
                details: json!({"reason_code": "emergency"}),
                once_per: None,
            },
        )
        .await
        .expect("raised");
    let (po, _) = t.login("sebg", "po@sebg.example", PASSWORD).await;
    let list = events(&t, &po, "break_glass").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert!(list[0]["acknowledged_at"].is_null());
    let ack = format!("/api/v1/security/events/{id}/acknowledge");
    assert_eq!(
        t.post(&ack, Some(&po), json!({})).await.status(),
        StatusCode::OK
    );
    let list = events(&t, &po, "break_glass").await;
    assert!(list[0]["acknowledged_at"].is_string());
    let (s, v) = body(t.get("/api/v1/security/events?open=true", Some(&po)).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0));
    let missing = format!(
        "/api/v1/security/events/{}/acknowledge",
        uuid::Uuid::now_v7()
    );
    assert_eq!(
        t.post(&missing, Some(&po), json!({})).await.status(),
        StatusCode::NOT_FOUND
    );
    let (s, v) = body(
        t.get("/api/v1/security/events?kind=nonsense", Some(&po))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&v), "VALIDATION_ERROR");
    // A doctor may not see them; the privacy officer may not change settings.
    let (doc, _) = t.login("sebg", "doc@sebg.example", PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/security/events", Some(&doc)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.post(&ack, Some(&doc), json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    let put = |tok: String, b: Value| {
        let r = t
            .http
            .put(t.url("/api/v1/security/settings"))
            .bearer_auth(tok)
            .json(&b);
        async move { body(r.send().await.expect("put")).await }
    };
    assert_eq!(put(po.clone(), json!({})).await.0, StatusCode::FORBIDDEN);
    let owner = t.owner_token(&tenant).await;
    let (s, v) = put(
        owner.clone(),
        json!({"failed_sign_in_threshold": 0, "default_working_hours": "sometimes"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["failed_sign_in_threshold", "default_working_hours"]
    );
    let (s, v) = body(t.get("/api/v1/security/settings", Some(&po)).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["patient_read_threshold"], 50);
}

#[tokio::test]
async fn the_security_page_renders_for_the_owner_and_is_refused_to_a_doctor() {
    let t = spawn_app().await;
    let tenant = t.tenant("sepage").await;
    t.add_user(&tenant, "doc@sepage.example", Role::Doctor)
        .await;
    t.app
        .governance()
        .raise_security_event(
            tenant.id,
            Raise {
                kind: EventKind::BreakGlass,
                user: None,
                ip: "10.0.0.2".into(),
                details: json!({}),
                once_per: None,
            },
        )
        .await
        .expect("raised");
    let owner = t.page_sign_in("sepage", &tenant.owner_email).await;
    let page = |c: String, path: &'static str| {
        let r = t.http.get(t.url(path)).header("cookie", c);
        async move { r.send().await.expect("page") }
    };
    let r = page(owner.clone(), "/admin/security").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("Security events"));
    assert!(html.contains("break_glass"));
    assert!(html.contains("/admin/security/events/"), "acknowledge form");
    assert!(
        html.contains("href=\"/admin/security\""),
        "linked from the admin navigation"
    );
    let r = page(owner.clone(), "/admin/security?kind=nonsense").await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc = t.page_sign_in("sepage", "doc@sepage.example").await;
    let r = page(doc.clone(), "/admin/security").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let home = page(doc, "/").await.text().await.expect("html");
    assert!(
        !home.contains("href=\"/admin/security\""),
        "not in a doctor's navigation"
    );
}

#[tokio::test]
async fn reads_through_one_instance_raise_at_once() {
    let t = spawn_app().await;
    let tenant = t.tenant("sefast").await;
    let owner = t.owner_token(&tenant).await;
    let ctx = t
        .app
        .identity()
        .authenticate_bearer(&owner, RequestInfo::default())
        .await
        .expect("ctx");
    let patients: Vec<PatientId> = (0..51).map(|_| PatientId::new()).collect();
    t.app
        .governance()
        .note_patient_reads(&ctx, &patients[..50])
        .await;
    assert!(events(&t, &owner, "mass_patient_reads").await.is_empty());
    t.app
        .governance()
        .note_patient_reads(&ctx, &patients[50..])
        .await;
    assert_eq!(events(&t, &owner, "mass_patient_reads").await.len(), 1);
}
