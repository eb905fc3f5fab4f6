//! The outbox keeps nothing readable: recipients and bodies are sealed
//! under the addressee's key, codes and links never reach another staff
//! member, and the development outbox exists only in development mode,
//! audited on every read.

use crate::portal_otp::{code_in, last_code, messages, register, send, PHONE};
use crate::support::{
    body, code, fresh_db, settings, spawn_app, spawn_on, Tenant, TestApp, PASSWORD,
};
use clinicos_app::tenancy::provisioning::NewUser;
use clinicos_domain::{BranchId, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn forgot(t: &TestApp, slug: &str, email: &str) {
    let (s, v) = body(
        t.post(
            "/api/v1/auth/forgot-password",
            None,
            json!({"tenant": slug, "email": email}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
}

/// A branch admin working in the tenant's first branch.
async fn branch_admin(t: &TestApp, tenant: &Tenant) -> (String, BranchId) {
    let owner = t.owner_token(tenant).await;
    let (_, v) = body(t.get("/api/v1/branches", Some(&owner)).await).await;
    let branch: BranchId = v["data"][0]["id"]
        .as_str()
        .expect("a branch")
        .parse()
        .expect("branch id");
    let u = NewUser {
        email: format!("badmin@{}.example", tenant.slug),
        name: "Branch Admin".into(),
        roles: vec![Role::BranchAdmin],
        branch_ids: vec![branch],
        password: Some(PASSWORD.into()),
        locale: None,
    };
    t.app
        .tenancy()
        .create_user_cli(&tenant.slug, &u)
        .await
        .expect("branch admin");
    let token = t.login(&tenant.slug, &u.email, PASSWORD).await.0;
    (token, branch)
}

fn outbox_text(v: &Value) -> String {
    v["data"].to_string()
}

#[tokio::test]
async fn a_branch_admin_cannot_obtain_the_owners_reset_link_or_a_patients_code() {
    let t = spawn_app().await;
    let tenant = t.tenant("obx").await;
    register(&t, &tenant).await;
    let (admin, _) = branch_admin(&t, &tenant).await;
    forgot(&t, "obx", &tenant.owner_email).await;
    assert_eq!(send(&t, "obx", "sms", PHONE).await.0, StatusCode::ACCEPTED);
    forgot(&t, "obx", "badmin@obx.example").await;

    // The owner (standing in for the mail server in development mode)
    // sees all three; the secrets are in them.
    let all = messages(&t, &tenant).await;
    let kinds: Vec<&str> = all.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "staff.password_reset",
            "portal.code",
            "staff.password_reset"
        ]
    );
    let otp = code_in(&all[1].body);
    let owner_link = all[2].body.split("token=").nth(1).expect("link").to_owned();
    let owner_token = owner_link.split_whitespace().next().expect("token");

    // The branch admin sees only their own reset message, by the API and
    // by the page.
    let (s, v) = body(t.get("/api/v1/outbox", Some(&admin)).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let shown = v["data"].as_array().expect("messages");
    assert_eq!(shown.len(), 1, "{v}");
    assert_eq!(shown[0]["recipient"], "badmin@obx.example");
    let text = outbox_text(&v);
    assert!(
        !text.contains(&otp) && !text.contains(owner_token),
        "{text}"
    );
    let cookie = t.page_sign_in("obx", "badmin@obx.example").await;
    let page = crate::support::page(&t, "/outbox", &cookie).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("badmin@obx.example"));
    assert!(!html.contains(&otp) && !html.contains(owner_token));
    assert!(!html.contains(&tenant.owner_email) && !html.contains("98450"));
}

#[tokio::test]
async fn every_outbox_read_is_audited_with_the_messages_shown() {
    let t = spawn_app().await;
    let tenant = t.tenant("obxa").await;
    register(&t, &tenant).await;
    send(&t, "obxa", "sms", PHONE).await;
    let code = last_code(&t, &tenant).await;
    assert_eq!(code.len(), 6);
    let owner = t.owner_token(&tenant).await;
    let (_, v) = body(t.get("/api/v1/outbox", Some(&owner)).await).await;
    let id = v["data"][0]["id"].as_str().expect("id").to_owned();
    let (s, r) = body(
        t.get(
            "/api/v1/audit/events?action=message.outbox_read",
            Some(&owner),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let events = r["data"].as_array().expect("events");
    assert!(!events.is_empty(), "{r}");
    assert!(
        events
            .iter()
            .all(|e| e["resource_type"] == "message" && e["action"] == "message.outbox_read"),
        "{r}"
    );
    assert!(r.to_string().contains(&id), "the shown ids are named: {r}");
}

#[tokio::test]
async fn outside_development_mode_no_one_reads_the_outbox() {
    let (url, dir) = fresh_db().await;
    let t = spawn_on(
        url,
        dir,
        clinicos_app::AuthSettings {
            development_outbox: false,
            ..settings()
        },
    )
    .await;
    let tenant = t.tenant("obxp").await;
    register(&t, &tenant).await;
    assert_eq!(send(&t, "obxp", "sms", PHONE).await.0, StatusCode::ACCEPTED);
    let owner = t.owner_token(&tenant).await;
    let (s, v) = body(t.get("/api/v1/outbox", Some(&owner)).await).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{v}");
    let cookie = t.page_sign_in("obxp", &tenant.owner_email).await;
    let page = crate::support::page(&t, "/outbox", &cookie).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    // The message is queued all the same (sealed, for the provider).
    let db = clinicos_store::Db::connect(&t.db_url, 2, false)
        .await
        .expect("owner connection");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_messages")
        .fetch_one(db.pool())
        .await
        .expect("count");
    assert_eq!(n, 1);
}
