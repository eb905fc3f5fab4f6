//! Device approval without a kept device id, and the housekeeping round:
//! expired challenges, reset tokens and counters go, stale approvals
//! expire, audit rows stay, and a second round changes nothing.

use crate::mfa::set_security;
use crate::support::{body, spawn_app, TestApp, PASSWORD};
use clinicos_domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn attempt(t: &TestApp, email: &str, ua: &str, device: Option<&str>) -> (StatusCode, String) {
    let mut r = t
        .http
        .post(t.url("/api/v1/auth/login"))
        .header("user-agent", ua)
        .json(&json!({"tenant": "hari", "email": email, "password": PASSWORD}));
    if let Some(d) = device {
        r = r.header("X-Device-Id", d);
    }
    let r = r.send().await.expect("login");
    let id = r
        .headers()
        .get("x-device-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (r.status(), id)
}

async fn pending(t: &TestApp, owner: &str) -> Vec<Value> {
    let (s, v) = body(t.get("/api/v1/staff/device-approvals", Some(owner)).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_client_without_a_device_id_queues_one_approval_not_one_per_attempt() {
    let t = spawn_app().await;
    let tenant = t.tenant("hari").await;
    let owner = t.owner_token(&tenant).await;
    t.add_user(&tenant, "nurse@hari.example", Role::Nurse).await;
    set_security(&t, &owner, json!([]), true).await;

    let mut ids = Vec::new();
    for _ in 0..3 {
        let (s, id) = attempt(&t, "nurse@hari.example", "clinic-app/1.0", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        ids.push(id);
    }
    assert!(!ids[0].is_empty());
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "same id each time: {ids:?}"
    );
    assert_eq!(
        pending(&t, &owner).await.len(),
        1,
        "one request for the admin"
    );
    // Another program on the same machine is another device.
    let (_, other) = attempt(&t, "nurse@hari.example", "other-tool/2.0", None).await;
    assert_ne!(other, ids[0]);
    let list = pending(&t, &owner).await;
    assert_eq!(list.len(), 2);

    let first = list
        .iter()
        .find(|d| d["user_agent"] == "clinic-app/1.0")
        .expect("first device");
    let approve = format!(
        "/api/v1/staff/device-approvals/{}/approve",
        first["id"].as_str().expect("id")
    );
    let (s, v) = body(t.post(&approve, Some(&owner), json!({})).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Admission needs the id presented back.
    let (s, id) = attempt(&t, "nurse@hari.example", "clinic-app/1.0", None).await;
    assert_eq!((s, id.as_str()), (StatusCode::FORBIDDEN, ids[0].as_str()));
    let (s, _) = attempt(&t, "nurse@hari.example", "clinic-app/1.0", Some(&ids[0])).await;
    assert_eq!(s, StatusCode::OK);
    // The other program's request is still waiting.
    assert_eq!(pending(&t, &owner).await.len(), 1);
}

/// Audit events whose action starts with `prefix` (read through the store:
/// the owner's token has long expired once the clock moved a week).
async fn audit_count(t: &TestApp, tenant: clinicos_domain::TenantId, prefix: &str) -> i64 {
    use clinicos_store::kit::row::RowExt;
    let mut tx = t.app.store.read(tenant).await.expect("tx");
    let q = tx
        .q("SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = $1 AND action LIKE $2")
        .bind(format!("{prefix}%"));
    let n = tx.one(q).await.expect("count").int("n").expect("n");
    tx.commit().await.expect("commit");
    n
}

async fn pending_now(t: &TestApp, tenant: clinicos_domain::TenantId) -> usize {
    let mut tx = t.app.store.read(tenant).await.expect("tx");
    let n = clinicos_store::identity::devices::pending(&mut tx)
        .await
        .expect("pending")
        .len();
    tx.commit().await.expect("commit");
    n
}

#[tokio::test]
async fn housekeeping_clears_what_expired_and_is_idempotent() {
    let t = spawn_app().await;
    let tenant = t.tenant("hari").await;
    let owner = t.owner_token(&tenant).await;
    t.add_user(&tenant, "nurse@hari.example", Role::Nurse).await;
    set_security(&t, &owner, json!([]), true).await;
    let (s, device) = attempt(&t, "nurse@hari.example", "clinic-app/1.0", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = body(
        t.post(
            "/api/v1/auth/forgot-password",
            None,
            json!({"tenant": "hari", "email": "nurse@hari.example"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    {
        let now = t.clock_now();
        let mut tx = t.app.store.write(tenant.id).await.expect("tx");
        let user =
            clinicos_store::identity::users::credentials_by_email(&mut tx, "nurse@hari.example")
                .await
                .expect("user")
                .expect("nurse")
                .id;
        clinicos_store::identity::mfa::insert_challenge(
            &mut tx,
            "challenge-1",
            user,
            "hash-1",
            "api",
            None,
            now + chrono::Duration::minutes(5),
            now,
        )
        .await
        .expect("challenge");
        tx.commit().await.expect("commit");
    }
    let all_events_before = audit_count(&t, tenant.id, "auth").await;

    // Nothing has expired yet (counters of this minute stay too).
    let h = t.app.governance().housekeeping_once().await.expect("round");
    assert_eq!(
        (
            h.mfa_challenges,
            h.password_resets,
            h.devices_expired,
            h.throttle_counters
        ),
        (0, 0, 0, 0)
    );
    t.clock.advance(
        chrono::Duration::days(clinicos_app::governance::housekeeping::DEVICE_PENDING_DAYS)
            + chrono::Duration::hours(1),
    );
    let h = t.app.governance().housekeeping_once().await.expect("round");
    assert_eq!(
        (h.mfa_challenges, h.password_resets, h.devices_expired),
        (1, 1, 1)
    );
    assert!(h.throttle_counters >= 1, "the sign-in counters: {h:?}");
    assert_eq!(pending_now(&t, tenant.id).await, 0);
    assert_eq!(audit_count(&t, tenant.id, "auth.device_expired").await, 1);
    // Audit rows are never removed.
    assert!(audit_count(&t, tenant.id, "auth").await > all_events_before);
    // A second round (or another instance) finds nothing left.
    let again = t.app.governance().housekeeping_once().await.expect("round");
    assert_eq!(
        (
            again.mfa_challenges,
            again.password_resets,
            again.devices_expired
        ),
        (0, 0, 0)
    );
    // The device asks again: the same request comes back, pending.
    let (s, id) = attempt(&t, "nurse@hari.example", "clinic-app/1.0", None).await;
    assert_eq!((s, id), (StatusCode::FORBIDDEN, device));
    assert_eq!(pending_now(&t, tenant.id).await, 1);
}
