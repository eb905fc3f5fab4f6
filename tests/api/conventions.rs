//! The error envelope and status codes for bad input, never a 500.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_in_the_envelope() {
    let t = spawn_app().await;
    let tenant = t.tenant("mala").await;
    let token = t.owner_token(&tenant).await;
    let send = |body: String, ct: &'static str| {
        t.http
            .post(t.url("/api/v1/branches"))
            .bearer_auth(&token)
            .header("content-type", ct)
            .header("x-request-id", "test-req-42")
            .body(body)
            .send()
    };

    // Malformed JSON.
    let r = send("{\"name\": ".into(), "application/json")
        .await
        .expect("send");
    assert_eq!(
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("test-req-42")
    );
    let (s, v) = body(r).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "INVALID_INPUT"));
    assert_eq!(v["error"]["request_id"], "test-req-42");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));

    // Wrong type: names the field, never echoes the value.
    let (s, v) = body(
        send(
            json!({"name": 12345, "code": "x"}).to_string(),
            "application/json",
        )
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    assert_eq!(v["error"]["details"][0]["field"], "name");
    assert!(!v.to_string().contains("12345"));

    // Missing required fields.
    let (s, v) = body(
        send(json!({}).to_string(), "application/json")
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    let fields: Vec<&str> = v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"code") && fields.contains(&"name"),
        "{fields:?}"
    );

    // Not JSON at all.
    let (s, _) = body(
        send("name=x".into(), "application/x-www-form-urlencoded")
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Oversize body.
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(4 * 1024 * 1024));
    let (s, v) = body(send(big, "application/json").await.expect("send")).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");

    // Unknown and malformed ids.
    let (s, v) = body(
        t.get(
            &format!("/api/v1/branches/{}", uuid::Uuid::now_v7()),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (s, v) = body(t.get("/api/v1/branches/not-a-uuid", Some(&token)).await).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "INVALID_ID"));
    let (s, v) = body(
        t.get(
            &format!("/api/v1/staff/{}", uuid::Uuid::now_v7()),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"));

    // Unknown route and wrong method.
    let (s, v) = body(t.get("/api/v1/no-such-thing", Some(&token)).await).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let r = t
        .http
        .delete(t.url("/api/v1/tenant"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Bad paging and sorting.
    let (s, _) = body(t.get("/api/v1/branches?limit=1000", Some(&token)).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = body(t.get("/api/v1/branches?page=abc", Some(&token)).await).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = body(
        t.get("/api/v1/branches?sort=-password_hash", Some(&token))
            .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );

    // No token, bad token.
    let (s, v) = body(t.get("/api/v1/branches", None).await).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    let (s, _) = body(
        t.get("/api/v1/branches", Some("eyJhbGciOiJub25lIn0.e30."))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Nothing was written by the failed requests.
    let (_, v) = body(t.get("/api/v1/branches", Some(&token)).await).await;
    assert_eq!(v["meta"]["total"], 1);
}

#[tokio::test]
async fn branches_create_page_sort_and_duplicate_codes() {
    let t = spawn_app().await;
    let tenant = t.tenant("neha").await;
    let token = t.owner_token(&tenant).await;
    for (code_, name, city) in [
        ("south", "Neha South", "Madurai"),
        ("north", "Neha North", "Delhi"),
        ("west", "Neha West", "Mumbai"),
    ] {
        let (s, v) = body(
            t.post(
                "/api/v1/branches",
                Some(&token),
                json!({"code": code_, "name": name, "city": city, "gstin": "33ABCDE1234F1Z5"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        // Defaults come from the organisation.
        assert_eq!(v["data"]["time_zone"], "Asia/Kolkata");
        assert_eq!(v["data"]["currency"], "INR");
    }
    let (s, v) = body(
        t.post(
            "/api/v1/branches",
            Some(&token),
            json!({"code": "south", "name": "Again"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    assert_eq!(v["error"]["details"][0]["field"], "code");
    // A branch in another country with its own zone and currency.
    let (s, v) = body(t.post("/api/v1/branches", Some(&token), json!({"code": "dubai", "name": "Neha Dubai", "country": "AE", "time_zone": "Asia/Dubai", "currency": "AED", "vat_id": "100123456700003"})).await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = body(
        t.get("/api/v1/branches?limit=2&page=2&sort=-city", Some(&token))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["meta"],
        json!({"page": 2, "limit": 2, "total": 5, "total_pages": 3})
    );
    let cities: Vec<&str> = v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|b| b["city"].as_str())
        .collect();
    assert_eq!(cities, ["Delhi", "Chennai"]);
    let id = v["data"][0]["id"].as_str().expect("id").to_owned();
    let (s, v) = body(
        t.patch(
            &format!("/api/v1/branches/{id}"),
            &token,
            json!({"working_hours": "Mon-Fri 09:00-17:00", "gstin": "bad"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("gstin"))
    );
    let (s, v) = body(
        t.patch(
            &format!("/api/v1/branches/{id}"),
            &token,
            json!({"working_hours": "Mon-Fri 09:00-17:00"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["data"]["working_hours"].as_str()),
        (StatusCode::OK, Some("Mon-Fri 09:00-17:00"))
    );
}

#[tokio::test]
async fn security_headers_on_api_and_pages() {
    let t = spawn_app().await;
    for path in ["/api/v1/openapi.json", "/login", "/health"] {
        let r = t.get(path, None).await;
        let h = r.headers();
        assert_eq!(
            h.get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            h.get("x-frame-options").and_then(|v| v.to_str().ok()),
            Some("DENY")
        );
        assert_eq!(
            h.get("x-xss-protection").and_then(|v| v.to_str().ok()),
            Some("0")
        );
        assert!(h.get("strict-transport-security").is_some());
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            csp.contains("default-src 'self'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
        );
        assert!(h.get("x-request-id").is_some());
    }
}

#[tokio::test]
async fn staff_roles_and_policy() {
    let t = spawn_app().await;
    let tenant = t.tenant("ojas").await;
    t.add_user(
        &tenant,
        "desk@ojas.example",
        clinicos_domain::Role::FrontDesk,
    )
    .await;
    let owner = t.owner_token(&tenant).await;
    let (desk, _) = t.login("ojas", "desk@ojas.example", PASSWORD).await;
    // Front desk may not manage staff or edit the organisation.
    let (s, v) = body(
        t.post(
            "/api/v1/staff",
            Some(&desk),
            json!({"email": "new@ojas.example", "name": "New", "roles": ["nurse"]}),
        )
        .await,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let (s, _) = body(
        t.patch("/api/v1/tenant", &desk, json!({"display_name": "Hacked"}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        t.get("/api/v1/staff", Some(&desk)).await.status(),
        StatusCode::FORBIDDEN
    );
    // Each denial is itself in the audit trail.
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    let denied = clinicos_store::governance::audit::count_action(&mut tx, "policy.denied")
        .await
        .expect("count");
    assert_eq!(denied, 3, "three denied attempts, three audit events");
    drop(tx);
    // The owner invites a doctor with two roles; an invitation is emailed.
    let (s, v) = body(t.post("/api/v1/staff", Some(&owner), json!({"email": "Doc@Ojas.example", "name": "Dr Ojas", "roles": ["doctor", "branch_admin", "doctor"]})).await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["email"], "doc@ojas.example");
    assert_eq!(v["data"]["roles"], json!(["branch_admin", "doctor"]));
    let (s, v) = body(
        t.post(
            "/api/v1/staff",
            Some(&owner),
            json!({"email": "doc@ojas.example", "name": "Dup", "roles": ["nurse"]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("email"))
    );
    let (s, v) = body(
        t.post(
            "/api/v1/staff",
            Some(&owner),
            json!({"email": "x@ojas.example", "name": "X", "roles": ["wizard"]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    let (_, v) = body(t.get("/api/v1/outbox", Some(&owner)).await).await;
    assert!(v["data"]
        .as_array()
        .expect("outbox")
        .iter()
        .any(|m| m["recipient"] == "doc@ojas.example"
            && m["subject"].as_str().unwrap_or("").contains("invited")));
    // The invited user cannot sign in before choosing a password.
    let (s, _) = body(
        t.post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "ojas", "email": "doc@ojas.example", "password": "!invited:"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Paged staff list.
    let (s, v) = body(
        t.get("/api/v1/staff?limit=2&sort=email", Some(&owner))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["meta"]["total"], 3);
    assert_eq!(v["data"][0]["email"], "desk@ojas.example");
}

#[tokio::test]
async fn lists_filter_by_role_activity_text_and_city() {
    let t = spawn_app().await;
    let tenant = t.tenant("pari").await;
    let owner = t.owner_token(&tenant).await;
    t.add_user(
        &tenant,
        "asha.doctor@pari.example",
        clinicos_domain::Role::Doctor,
    )
    .await;
    t.add_user(
        &tenant,
        "bina.nurse@pari.example",
        clinicos_domain::Role::Nurse,
    )
    .await;
    t.add_user(
        &tenant,
        "chandra.doctor@pari.example",
        clinicos_domain::Role::Doctor,
    )
    .await;
    let (_, v) = body(t.get("/api/v1/staff?q=chandra", Some(&owner)).await).await;
    let id = v["data"][0]["id"].as_str().expect("id").to_owned();
    t.patch(
        &format!("/api/v1/staff/{id}"),
        &owner,
        json!({"is_active": false}),
    )
    .await;

    let emails = |v: &serde_json::Value| -> Vec<String> {
        v["data"]
            .as_array()
            .expect("rows")
            .iter()
            .filter_map(|u| u["email"].as_str().map(str::to_owned))
            .collect()
    };
    let (s, v) = body(
        t.get("/api/v1/staff?role=doctor&sort=email", Some(&owner))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        emails(&v),
        ["asha.doctor@pari.example", "chandra.doctor@pari.example"]
    );
    assert_eq!(v["meta"]["total"], 2);
    let (_, v) = body(
        t.get("/api/v1/staff?role=doctor&active=true", Some(&owner))
            .await,
    )
    .await;
    assert_eq!(emails(&v), ["asha.doctor@pari.example"]);
    let (_, v) = body(t.get("/api/v1/staff?q=NURSE", Some(&owner)).await).await;
    assert_eq!(emails(&v), ["bina.nurse@pari.example"]);
    // Wildcards in the text are literal.
    let (_, v) = body(t.get("/api/v1/staff?q=%25", Some(&owner)).await).await;
    assert_eq!(v["meta"]["total"], 0);
    let (s, v) = body(t.get("/api/v1/staff?role=wizard", Some(&owner)).await).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "INVALID_INPUT"));

    t.post(
        "/api/v1/branches",
        Some(&owner),
        json!({"code": "kochi", "name": "Pari Kochi", "city": "Kochi"}),
    )
    .await;
    let (_, v) = body(t.get("/api/v1/branches?city=kochi", Some(&owner)).await).await;
    assert_eq!(v["meta"]["total"], 1);
    assert_eq!(v["data"][0]["code"], "kochi");
    let (_, v) = body(t.get("/api/v1/branches?active=false", Some(&owner)).await).await;
    assert_eq!(v["meta"]["total"], 0);
}
