//! Text that PostgreSQL cannot store (U+0000) or that disguises itself
//! (control characters, ANSI escapes, direction overrides) is refused with
//! a 422 naming the field, for JSON bodies, query strings and page forms
//! alike, before sign-in and after; JSON with text after the document is a
//! 400. Each of these was a 500 on PostgreSQL before.

use crate::support::{body, code, form, page, spawn_app};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn field(v: &Value) -> String {
    v["error"]["details"][0]["field"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn control_characters_are_refused_everywhere_with_the_field_named() {
    let t = spawn_app().await;
    let tenant = t.tenant("nul").await;
    let owner = t.owner_token(&tenant).await;

    // Before sign-in.
    for (path, b, named) in [
        (
            "/api/v1/auth/login",
            json!({"tenant": "nul", "email": "a\u{0}", "password": "x"}),
            "email",
        ),
        (
            "/api/v1/auth/forgot-password",
            json!({"tenant": "nul\u{0}", "email": "a@b.example"}),
            "tenant",
        ),
        (
            "/api/v1/portal/otp/send",
            json!({"tenant": "nul", "channel": "sms", "destination": "+91 98\u{1b}[2J"}),
            "destination",
        ),
    ] {
        let (s, v) = body(t.post(path, None, b).await).await;
        assert_eq!(
            (s, code(&v), field(&v).as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", named),
            "{path}: {v}"
        );
    }

    // Signed in: bodies, nested fields, queries.
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(&owner),
            json!({"given_name": "Ann\u{0}", "sex": "female"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, field(&v).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "given_name"),
        "{v}"
    );
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(&owner),
            json!({"given_name": "Ann", "sex": "female",
                   "emergency_contact": {"name": "Bo\u{202E}b", "phone": "+91 98450 11223", "relationship": "x"}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, field(&v).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "emergency_contact.name"),
        "{v}"
    );
    let (s, v) = body(
        t.patch("/api/v1/me", &owner, json!({"name": "x\u{7}"}))
            .await,
    )
    .await;
    assert_eq!(
        (s, field(&v).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "name"),
        "{v}"
    );
    for q in ["q=%00", "city=Pune%00", "q=ab%E2%80%AEcd"] {
        let (s, v) = body(t.get(&format!("/api/v1/patients?{q}"), Some(&owner)).await).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
        assert!(field(&v).starts_with("query."), "{v}");
    }

    // Tab and line breaks stay allowed in free text; right-to-left scripts
    // are names like any other.
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(&owner),
            json!({"given_name": "مريم", "sex": "female", "notes": "line one\nline two\tend"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Page forms and page queries.
    let cookie = t.page_sign_in("nul", &tenant.owner_email).await;
    let r = form(
        &t,
        "/patients/new",
        &cookie,
        &[("given_name", "Ann\u{0}"), ("sex", "female")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = page(&t, "/patients?q=%00", &cookie).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn json_followed_by_anything_is_refused() {
    let t = spawn_app().await;
    t.tenant("trail").await;
    let r = t
        .http
        .post(t.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"tenant":"trail","email":"a@b.example","password":"x"}xyz"#)
        .send()
        .await
        .expect("request");
    let (s, v) = body(r).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "INVALID_INPUT"),
        "{v}"
    );
    // Trailing whitespace is still one document.
    let r = t
        .http
        .post(t.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"tenant\":\"trail\",\"email\":\"a@b.example\",\"password\":\"x\"}\n ")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_malformed_body_is_refused_on_routes_that_read_none() {
    let t = spawn_app().await;
    let tenant = t.tenant("bodyless").await;
    let owner = t.owner_token(&tenant).await;
    for path in ["/api/v1/me/mfa/totp", "/api/v1/auth/logout"] {
        let r = t
            .http
            .post(t.url(path))
            .bearer_auth(&owner)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("request");
        let (s, v) = body(r).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "INVALID_INPUT"),
            "{path}: {v}"
        );
    }
    // The session is still there: the malformed logout did nothing.
    assert_eq!(
        t.get("/api/v1/me", Some(&owner)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_query_parameters_and_sort_fields_are_refused() {
    let t = spawn_app().await;
    let tenant = t.tenant("unknownq").await;
    let owner = t.owner_token(&tenant).await;
    for (q, named) in [
        ("/api/v1/patients?colour=red", "query.colour"),
        ("/api/v1/staff?sortt=name", "query.sortt"),
        ("/api/v1/staff?sort=password_hash", "sort"),
        ("/api/v1/branches?active=maybe", ""),
    ] {
        let (s, v) = body(t.get(q, Some(&owner)).await).await;
        assert!(s.is_client_error(), "{q}: {s} {v}");
        if !named.is_empty() {
            assert_eq!(
                (s, field(&v).as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, named),
                "{q}: {v}"
            );
        }
    }
    // Documented parameters still work.
    let (s, v) = body(
        t.get("/api/v1/staff?sort=-name&limit=5", Some(&owner))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
