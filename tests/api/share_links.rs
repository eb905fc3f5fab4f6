//! Expiring share links for a report: the link downloads the file without
//! signing in; it stops at expiry (test clock) and after revocation; every
//! use (and refused use) is audited without the token; a token cannot be
//! turned into another tenant's; creation is bounded and needs a care
//! relationship; the public endpoint is rate-limited like any anonymous one.

use crate::attachments::{setup, upload, PDF};
use crate::support::{
    code, fresh_db, settings, spawn_app, spawn_configured, web_config, TestApp, PASSWORD,
};
use crate::trust_policy::send;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn attach(t: &TestApp, token: &str, p: &str) -> String {
    let (st, v) = upload(
        t,
        token,
        p,
        "CBC%20report.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

async fn share(t: &TestApp, token: &str, p: &str, b: Value) -> (StatusCode, Value) {
    send(
        t,
        "POST",
        &format!("/api/v1/patients/{p}/share-links"),
        token,
        Some(b),
    )
    .await
}

/// Use a link anonymously: status, error code (if any), body bytes.
async fn open(t: &TestApp, token: &str) -> (StatusCode, String, Vec<u8>) {
    let r = t
        .http
        .get(t.url(&format!("/api/v1/shared/{token}")))
        .send()
        .await
        .expect("use link");
    let st = r.status();
    let bytes = r.bytes().await.expect("bytes").to_vec();
    let code = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (st, code, bytes)
}

async fn tenant_id(t: &TestApp, slug: &str) -> clinicos_domain::TenantId {
    clinicos_store::tenancy::platform::directory_by_slug(t.app.store.platform(), slug)
        .await
        .expect("directory")
        .expect("tenant")
        .tenant_id
}

/// Audit rows of `action` naming `id` (read in the store: sign-in tokens
/// expire when the test clock moves on).
async fn audited(t: &TestApp, slug: &str, action: &str, id: &str) -> Vec<String> {
    use clinicos_store::kit::row::RowExt;
    let tenant = tenant_id(t, slug).await;
    let mut tx = t.app.store.read(tenant).await.expect("tx");
    let q = tx
        .q("SELECT resource_ids FROM audit_events WHERE tenant_id = $1 AND action = $2")
        .bind(action.to_owned());
    let rows = tx.all(q).await.expect("rows");
    tx.commit().await.expect("commit");
    rows.iter()
        .map(|r| r.text("resource_ids").expect("ids"))
        .filter(|ids| ids.contains(id))
        .collect()
}

#[tokio::test]
async fn a_link_downloads_until_it_expires_and_every_use_is_audited() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "share").await;
    let aid = attach(&t, &s.doc1, &p).await;

    let (st, v) = share(
        &t,
        &s.doc1,
        &p,
        json!({"attachment_id": aid, "expires_in_hours": 2}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let link = v["data"]["link"].clone();
    let token = v["data"]["token"].as_str().expect("token").to_owned();
    let lid = link["id"].as_str().expect("id").to_owned();
    assert_eq!(link["status"], "active");
    assert!(v["data"]["url"]
        .as_str()
        .expect("url")
        .ends_with(&format!("/api/v1/shared/{token}")));

    for _ in 0..2 {
        let (st, _, bytes) = open(&t, &token).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(bytes, PDF);
    }
    let r = t
        .http
        .get(t.url(&format!("/api/v1/shared/{token}")))
        .send()
        .await
        .expect("use");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disp = r.headers()["content-disposition"].to_str().expect("ascii");
    assert!(disp.contains("CBC%20report.pdf"), "{disp}");
    assert_eq!(r.headers()["cache-control"], "no-store");

    // Listed with its uses, never with the token.
    let (st, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/share-links"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"][0]["id"], json!(lid));
    assert_eq!(v["data"][0]["use_count"], 3);
    assert!(!v.to_string().contains(&token));

    // Each use is one audit event naming the link, patient and file.
    let used = audited(&t, "share", "share_link.used", &lid).await;
    assert_eq!(used.len(), 3, "{used:?}");
    assert!(used
        .iter()
        .all(|ids| ids.contains(&p) && ids.contains(&aid)));
    assert_eq!(
        audited(&t, "share", "share_link.created", &lid).await.len(),
        1
    );
    assert_eq!(
        audited(&t, "share", "share_links.read", &lid).await.len(),
        1
    );
    // The token is nowhere in the audit trail or the database.
    crate::encryption::assert_not_stored(
        &t.db_url,
        b"share_links",
        &["share_links", "audit_events"],
        &[token.as_bytes()],
    )
    .await;

    // At expiry it stops: 410, and the refused use is audited too.
    t.clock.advance(chrono::Duration::hours(2));
    let (st, code, _) = open(&t, &token).await;
    assert_eq!((st, code.as_str()), (StatusCode::GONE, "SHARE_LINK_GONE"));
    assert_eq!(
        audited(&t, "share", "share_link.refused", &lid).await.len(),
        1
    );
    assert_eq!(audited(&t, "share", "share_link.used", &lid).await.len(), 3);
    let (doc, _) = t.login("share", "doc1@share.example", PASSWORD).await;
    let (_, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/share-links"),
        &doc,
        None,
    )
    .await;
    assert_eq!(v["data"][0]["status"], "expired");
}

#[tokio::test]
async fn a_revoked_link_stops_and_tokens_do_not_cross_tenants() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "revoke").await;
    let aid = attach(&t, &s.doc1, &p).await;
    let (st, v) = share(&t, &s.doc1, &p, json!({"attachment_id": aid})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let token = v["data"]["token"].as_str().expect("token").to_owned();
    let lid = v["data"]["link"]["id"].as_str().expect("id").to_owned();
    // Default life: 7 days.
    let created: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(v["data"]["link"]["created_at"].clone()).expect("created");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(v["data"]["link"]["expires_at"].clone()).expect("expires");
    assert_eq!(expires - created, chrono::Duration::days(7));
    assert_eq!(open(&t, &token).await.0, StatusCode::OK);

    // Another tenant: cannot revoke it, and the token with that tenant's
    // id in place of ours opens nothing there.
    let (other, _) = setup(&t, "elsewhere").await;
    let (st, _) = send(
        &t,
        "DELETE",
        &format!("/api/v1/share-links/{lid}"),
        &other.doc1,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let mut raw = URL_SAFE_NO_PAD.decode(&token).expect("token bytes");
    raw[..16].copy_from_slice(tenant_id(&t, "elsewhere").await.0.as_bytes());
    let forged = URL_SAFE_NO_PAD.encode(raw);
    assert_eq!(open(&t, &forged).await.0, StatusCode::NOT_FOUND);
    assert_eq!(open(&t, "not-a-token").await.0, StatusCode::NOT_FOUND);
    let unknown = URL_SAFE_NO_PAD.encode([7u8; 48]);
    assert_eq!(open(&t, &unknown).await.0, StatusCode::NOT_FOUND);

    // Front desk may neither share nor revoke.
    let (st, v) = share(&t, &s.desk, &p, json!({"attachment_id": aid})).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let (st, _) = send(
        &t,
        "DELETE",
        &format!("/api/v1/share-links/{lid}"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Revoked: 410 at once; revoking again changes nothing.
    let (st, v) = send(
        &t,
        "DELETE",
        &format!("/api/v1/share-links/{lid}"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["status"], "revoked");
    let (st, code_, _) = open(&t, &token).await;
    assert_eq!((st, code_.as_str()), (StatusCode::GONE, "SHARE_LINK_GONE"));
    let (st, v) = send(
        &t,
        "DELETE",
        &format!("/api/v1/share-links/{lid}"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(
        (st, v["data"]["status"].as_str()),
        (StatusCode::OK, Some("revoked"))
    );
    assert_eq!(
        audited(&t, "revoke", "share_link.revoked", &lid)
            .await
            .len(),
        1
    );
    assert_eq!(
        audited(&t, "revoke", "share_link.used", &lid).await.len(),
        1
    );
    assert_eq!(
        audited(&t, "revoke", "share_link.refused", &lid)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn links_are_bounded_and_name_a_file_of_the_patient() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "bounds").await;
    let aid = attach(&t, &s.doc1, &p).await;
    for hours in [0, -1, 30 * 24 + 1] {
        let (st, v) = share(
            &t,
            &s.doc1,
            &p,
            json!({"attachment_id": aid, "expires_in_hours": hours}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{hours}: {v}");
    }
    let (st, _) = share(
        &t,
        &s.doc1,
        &p,
        json!({"attachment_id": aid, "expires_in_hours": 720}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let missing = uuid::Uuid::now_v7().to_string();
    let (st, v) = share(&t, &s.doc1, &p, json!({"attachment_id": missing})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Another patient's file through this patient: refused.
    let q = crate::trust_policy::register(&t, &s.desk).await;
    let (st, v) = share(&t, &s.doc1, &q, json!({"attachment_id": aid})).await;
    assert!(
        st == StatusCode::FORBIDDEN || st == StatusCode::UNPROCESSABLE_ENTITY,
        "{st} {v}"
    );
}

#[tokio::test]
async fn the_public_endpoint_is_rate_limited_per_ip() {
    let (url, dir) = fresh_db().await;
    let config = clinicos_web::WebConfig {
        rate_limits: clinicos_web::kit::limits::RateLimits {
            global: 3,
            ..clinicos_web::kit::limits::RateLimits::unlimited()
        },
        ..web_config()
    };
    let t = spawn_configured(url, dir, settings(), config, |_| {}).await;
    let (s, p) = setup(&t, "ratelimit").await;
    let aid = attach(&t, &s.doc1, &p).await;
    let (_, v) = share(&t, &s.doc1, &p, json!({"attachment_id": aid})).await;
    let token = v["data"]["token"].as_str().expect("token").to_owned();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(open(&t, &token).await.0);
    }
    assert_eq!(seen[..3], [StatusCode::OK; 3]);
    assert_eq!(seen[3], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_link_keeps_working_across_a_merge_and_its_undo() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "sharemerge").await;
    let aid = attach(&t, &s.doc1, &p).await;
    let (st, v) = share(&t, &s.doc1, &p, json!({"attachment_id": aid})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let token = v["data"]["token"].as_str().expect("token").to_owned();
    let survivor = crate::trust_policy::register(&t, &s.desk).await;

    let (st, v) = send(
        &t,
        "POST",
        "/api/v1/patients/merge",
        &s.owner,
        Some(json!({"survivor_id": survivor, "merged_id": p, "reason": "registered twice"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let merge = v["data"]["id"].as_str().expect("merge id").to_owned();
    let (st, _, bytes) = open(&t, &token).await;
    assert_eq!((st, bytes.as_slice()), (StatusCode::OK, PDF), "after merge");

    let (st, v) = send(
        &t,
        "POST",
        &format!("/api/v1/patients/merge/{merge}/undo"),
        &s.owner,
        None,
    )
    .await;
    assert!(st.is_success(), "{v}");
    let (st, _, bytes) = open(&t, &token).await;
    assert_eq!((st, bytes.as_slice()), (StatusCode::OK, PDF), "after undo");
}
