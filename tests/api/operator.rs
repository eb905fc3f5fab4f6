//! The platform operator: its own accounts, creates tenants, regions and
//! plans, and never receives tenant data beyond the directory.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

async fn operator_token(t: &TestApp) -> String {
    t.app
        .tenancy()
        .create_operator(
            "root@platform.example",
            "Root Operator",
            "Violet-Marble-Canyon-3",
        )
        .await
        .expect("operator");
    let (_, v) = body(
        t.post(
            "/api/v1/operator/auth/login",
            None,
            json!({"email": "root@platform.example", "password": "Violet-Marble-Canyon-3"}),
        )
        .await,
    )
    .await;
    v["data"]["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn operator_creates_a_tenant_whose_owner_is_invited() {
    let t = spawn_app().await;
    let op = operator_token(&t).await;
    let new = json!({"slug": "dhruv", "legal_name": "Dhruv Clinics LLP", "display_name": "Dhruv Clinics", "country": "IN", "locale": "hi", "currency": "INR", "time_zone": "Asia/Kolkata", "owner_email": "owner@dhruv.example", "owner_name": "Dhruv Owner", "plan": "clinic"});
    let (s, v) = body(
        t.post("/api/v1/operator/tenants", Some(&op), new.clone())
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["status"], "trial");
    let (s, v) = body(t.post("/api/v1/operator/tenants", Some(&op), new).await).await;
    assert_eq!(
        (s, v["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("slug"))
    );
    let (s, v) = body(
        t.post(
            "/api/v1/operator/tenants",
            Some(&op),
            json!({"slug": "Bad Slug"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    // Operator tokens are not tenant tokens, and tenant tokens are not operator tokens.
    assert_eq!(
        t.get("/api/v1/me", Some(&op)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let tenant = t.tenant("esha").await;
    let staff = t.owner_token(&tenant).await;
    assert_eq!(
        t.get("/api/v1/operator/tenants", Some(&staff))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Plans and regions.
    let (s, v) = body(t.post("/api/v1/operator/plans", Some(&op), json!({"code": "gold", "name": "Gold", "max_branches": 10, "max_staff": 100, "price_minor": 999900, "currency": "INR"})).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["data"]
        .as_array()
        .expect("plans")
        .iter()
        .any(|p| p["code"] == "gold"));
    let (s, v) = body(t.get("/api/v1/operator/regions", Some(&op)).await).await;
    assert_eq!(
        (s, v["data"][0]["code"].as_str()),
        (StatusCode::OK, Some("local"))
    );
    assert!(
        !v.to_string().contains("sqlite://") && !v.to_string().contains("postgres://"),
        "database URLs are never shown"
    );
}

#[tokio::test]
async fn no_operator_endpoint_returns_tenant_data() {
    let t = spawn_app().await;
    let op = operator_token(&t).await;
    let tenant = t.tenant("fiza").await;
    let owner = t.owner_token(&tenant).await;
    // Plant recognisable personal data in the tenant.
    let planted = [
        "Zorawar Quixotic",
        "+91 98765 43210",
        "zorawar.quixotic@mail.example",
        "REG-PLANTED-7781",
    ];
    t.add_user(&tenant, planted[2], clinicos_domain::Role::Doctor)
        .await;
    let (_, v) = body(
        t.post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "fiza", "email": planted[2], "password": PASSWORD}),
        )
        .await,
    )
    .await;
    let doc = v["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (s, _) = body(
        t.patch(
            "/api/v1/me",
            &doc,
            json!({"name": planted[0], "phone": planted[1], "registration_number": planted[3]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    t.patch(
        "/api/v1/tenant",
        &owner,
        json!({"address_line": "Flat 9, Planted Lane"}),
    )
    .await;
    // Every operator GET endpoint in the OpenAPI document.
    let doc_json: serde_json::Value = t
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .expect("spec");
    let mut checked = 0;
    for (path, item) in doc_json["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/operator/") || item.get("get").is_none() {
            continue;
        }
        let (s, v) = body(t.get(path, Some(&op)).await).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        let text = v.to_string();
        for p in planted
            .iter()
            .chain(["Planted Lane", "owner@fiza.example"].iter())
        {
            assert!(!text.contains(p), "{path} leaked tenant data");
        }
        checked += 1;
    }
    assert!(checked >= 3, "operator GET endpoints checked: {checked}");
}
