//! Tenant isolation at the application layer and the suspended tenant's
//! read-only mode.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn one_tenant_never_sees_another_tenants_rows() {
    let t = spawn_app().await;
    let a = t.tenant("avani").await;
    let b = t.tenant("bodhi").await;
    let ta = t.owner_token(&a).await;
    let tb = t.owner_token(&b).await;
    let (_, v) = body(t.get("/api/v1/branches", Some(&tb)).await).await;
    let b_branch = v["data"][0]["id"].as_str().expect("id").to_owned();
    let (_, v) = body(t.get("/api/v1/staff", Some(&tb)).await).await;
    let b_user = v["data"][0]["id"].as_str().expect("id").to_owned();
    // A's token cannot read, change or reference B's rows: they do not exist for A.
    assert_eq!(
        t.get(&format!("/api/v1/branches/{b_branch}"), Some(&ta))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!("/api/v1/staff/{b_user}"), Some(&ta))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.patch(
            &format!("/api/v1/branches/{b_branch}"),
            &ta,
            json!({"name": "mine now"})
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.patch(
            &format!("/api/v1/staff/{b_user}"),
            &ta,
            json!({"is_active": false})
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    // A staff member of A cannot be put into B's branch.
    let (s, v) = body(t.post("/api/v1/staff", Some(&ta), json!({"email": "n@avani.example", "name": "N", "roles": ["nurse"], "branch_ids": [b_branch]})).await).await;
    assert_eq!(
        (s, v["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("branch_ids"))
    );
    // Lists only ever hold the caller's rows.
    let (_, v) = body(t.get("/api/v1/branches", Some(&ta)).await).await;
    assert_eq!(v["meta"]["total"], 1);
    assert_ne!(v["data"][0]["id"], b_branch.as_str());
    // The same email may exist in two tenants (uniqueness is per tenant).
    t.add_user(&a, "shared@clinic.example", clinicos_domain::Role::Doctor)
        .await;
    t.add_user(&b, "shared@clinic.example", clinicos_domain::Role::Doctor)
        .await;
    let (access, _) = t.login("bodhi", "shared@clinic.example", PASSWORD).await;
    let (_, v) = body(t.get("/api/v1/tenant", Some(&access)).await).await;
    assert_eq!(v["data"]["slug"], "bodhi");
}

#[tokio::test]
async fn a_suspended_tenant_is_read_only_until_reactivated() {
    let t = spawn_app().await;
    let tenant = t.tenant("chaya").await;
    t.app
        .tenancy()
        .create_operator("ops@platform.example", "Ops", "Silver-Heron-Quarry-8")
        .await
        .expect("operator");
    let (s, v) = body(
        t.post(
            "/api/v1/operator/auth/login",
            None,
            json!({"email": "ops@platform.example", "password": "Silver-Heron-Quarry-8"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let op = v["data"]["token"].as_str().expect("token").to_owned();
    let (s, v) = body(
        t.post(
            &format!("/api/v1/operator/tenants/{}/status", tenant.id),
            Some(&op),
            json!({"action": "suspend"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["data"]["status"].as_str()),
        (StatusCode::OK, Some("suspended"))
    );

    // Staff still sign in and read...
    let (token, refresh) = t.login("chaya", &tenant.owner_email, PASSWORD).await;
    let (s, v) = body(t.get("/api/v1/tenant", Some(&token)).await).await;
    assert_eq!(
        (s, v["data"]["subscription_status"].as_str()),
        (StatusCode::OK, Some("suspended"))
    );
    assert_eq!(
        t.get("/api/v1/branches", Some(&token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        t.get("/api/v1/staff", Some(&token)).await.status(),
        StatusCode::OK
    );
    // ...but cannot create or change records.
    for (s, v) in [
        body(
            t.post(
                "/api/v1/branches",
                Some(&token),
                json!({"code": "x", "name": "X"}),
            )
            .await,
        )
        .await,
        body(
            t.patch("/api/v1/tenant", &token, json!({"display_name": "Y"}))
                .await,
        )
        .await,
        body(
            t.post(
                "/api/v1/staff",
                Some(&token),
                json!({"email": "z@chaya.example", "name": "Z", "roles": ["nurse"]}),
            )
            .await,
        )
        .await,
    ] {
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "TENANT_READ_ONLY"));
    }
    // ...and can export everything they hold.
    let (s, v) = body(t.get("/api/v1/tenant/export", Some(&token)).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["tenant"]["slug"], "chaya");
    assert_eq!(v["data"]["branches"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["data"]["staff"][0]["email"], tenant.owner_email.as_str());
    assert!(
        !v.to_string().contains("argon2"),
        "no credentials in an export"
    );
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    let exports = clinicos_store::governance::audit::count_action(&mut tx, "export.tenant_data")
        .await
        .expect("count");
    assert_eq!(exports, 1, "the export is audited");
    drop(tx);
    // Session housekeeping still works.
    assert_eq!(
        t.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh})
        )
        .await
        .status(),
        StatusCode::OK
    );

    // Illegal transitions are refused; reactivation restores writes.
    let (s, v) = body(
        t.post(
            &format!("/api/v1/operator/tenants/{}/status", tenant.id),
            Some(&op),
            json!({"action": "suspend"}),
        )
        .await,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "CONFLICT"));
    let (s, _) = body(
        t.post(
            &format!("/api/v1/operator/tenants/{}/status", tenant.id),
            Some(&op),
            json!({"action": "reactivate"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = body(
        t.post(
            "/api/v1/branches",
            Some(&token),
            json!({"code": "xy", "name": "X"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // A closed tenant cannot sign in.
    t.post(
        &format!("/api/v1/operator/tenants/{}/status", tenant.id),
        Some(&op),
        json!({"action": "close"}),
    )
    .await;
    let (s, _) = body(
        t.post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "chaya", "email": tenant.owner_email, "password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.get("/api/v1/tenant", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
