//! The browser side of stronger sign-in: the code page after the password
//! page, the forced-enrolment redirect, and the security and device pages.

use crate::support::{form, page, session_cookie, spawn_app, PASSWORD};
use clinicos_app::identity::totp;
use clinicos_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn browser_sign_in_asks_for_the_code_after_the_password() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfap").await;
    let owner = t.owner_token(&tenant).await;
    let (_, v) =
        crate::support::body(t.post("/api/v1/me/mfa/totp", Some(&owner), json!({})).await).await;
    let secret = v["data"]["secret"].as_str().expect("secret").to_owned();
    let raw = totp::base32_decode(&secret).expect("b32");
    let now = || clinicos_app::Clock::now(&*t.clock).timestamp();
    let code = totp::code_at_step(&raw, totp::step_at(now()));
    let r = t
        .post(
            "/api/v1/me/mfa/totp/confirm",
            Some(&owner),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    t.clock.advance(chrono::Duration::seconds(30));

    let r = form(
        &t,
        "/login",
        "",
        &[
            ("tenant", "mfap"),
            ("email", &tenant.owner_email),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(session_cookie(&r).is_none(), "no session before the code");
    let html = r.text().await.expect("html");
    let token = html
        .split("name=\"mfa_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("mfa_token field")
        .to_owned();
    let r = form(
        &t,
        "/login/mfa",
        "",
        &[("mfa_token", &token), ("code", "000000")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let code = totp::code_at_step(&raw, totp::step_at(now()));
    let r = form(
        &t,
        "/login/mfa",
        "",
        &[("mfa_token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r).expect("session cookie");
    let r = page(&t, "/me/security", &cookie).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        page(&t, "/admin/devices", &cookie).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn browser_users_who_must_enrol_are_sent_to_enrolment() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfaq").await;
    let owner = t.owner_token(&tenant).await;
    t.add_user(&tenant, "nurse@mfaq.example", Role::Nurse).await;
    let r = t
        .http
        .put(t.url("/api/v1/tenant/sign-in-security"))
        .bearer_auth(&owner)
        .json(&json!({"mfa_required_roles": ["nurse"], "device_approval": false}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::OK);
    let r = form(
        &t,
        "/login",
        "",
        &[
            ("tenant", "mfaq"),
            ("email", "nurse@mfaq.example"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let cookie = session_cookie(&r).expect("session cookie");
    let r = page(&t, "/", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/me/security")
    );
    let r = form(&t, "/me/security/totp", &cookie, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("otpauth://totp/"));
}
