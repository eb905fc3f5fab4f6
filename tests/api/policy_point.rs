//! Refusals that depend on what is asked (making an owner, another
//! branch's staff, another branch as one's own) go through the one policy
//! point like every other: each answers 403 and writes `policy.denied`.

use crate::support::{body, code, spawn_app, PASSWORD};
use clinicos_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn attribute_refusals_are_audited_as_policy_denials() {
    let t = spawn_app().await;
    let tenant = t.tenant("onepoint").await;
    let owner = t.owner_token(&tenant).await;
    t.add_user(&tenant, "admin@onepoint.example", Role::BranchAdmin)
        .await;
    let (admin, _) = t
        .login("onepoint", "admin@onepoint.example", PASSWORD)
        .await;
    let (s, v) = body(
        t.post(
            "/api/v1/branches",
            Some(&owner),
            json!({"code": "far", "name": "Far Branch"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let far = v["data"]["id"].as_str().expect("branch id").to_owned();
    let denied = || async {
        let mut tx = t.app.store.read(tenant.id).await.expect("tx");
        clinicos_store::governance::audit::count_action(&mut tx, "policy.denied")
            .await
            .expect("count")
    };
    let before = denied().await;
    // A branch admin cannot make an owner...
    let (s, v) = body(
        t.post(
            "/api/v1/staff",
            Some(&admin),
            json!({"email": "boss@onepoint.example", "name": "Boss", "roles": ["owner"]}),
        )
        .await,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{v}");
    assert_eq!(denied().await, before + 1);
    // ...nor staff a branch that is not theirs...
    let (s, v) = body(
        t.post(
            "/api/v1/staff",
            Some(&admin),
            json!({"email": "far@onepoint.example", "name": "Far", "roles": ["nurse"], "branch_ids": [far]}),
        )
        .await,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{v}");
    assert_eq!(denied().await, before + 2);
    // ...nor work in it.
    let (s, v) = body(
        t.post("/api/v1/me/branch", Some(&admin), json!({"branch_id": far}))
            .await,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{v}");
    assert_eq!(denied().await, before + 3);
    // The owner may do all three.
    let (s, v) = body(
        t.post("/api/v1/me/branch", Some(&owner), json!({"branch_id": far}))
            .await,
    )
    .await;
    assert!(s.is_success(), "{s} {v}");
    assert_eq!(denied().await, before + 3);
}
