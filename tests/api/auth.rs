//! Sign-in, tokens and sessions.

use crate::support::*;
use chrono::Duration;
use clinicos_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn login_me_and_wrong_credentials_answer_the_same() {
    let t = spawn_app().await;
    let tenant = t.tenant("asha").await;
    let (access, _) = t.login("asha", &tenant.owner_email, PASSWORD).await;
    let (s, v) = body(t.get("/api/v1/me", Some(&access)).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["email"], "owner@asha.example");
    assert_eq!(v["data"]["roles"], json!(["owner"]));

    // Wrong password, unknown email and unknown clinic: same status and code.
    for (slug, email, pw) in [
        ("asha", "owner@asha.example", "wrong-password-1"),
        ("asha", "nobody@asha.example", PASSWORD),
        ("nope", "owner@asha.example", PASSWORD),
    ] {
        let (s, v) = body(
            t.post(
                "/api/v1/auth/login",
                None,
                json!({"tenant": slug, "email": email, "password": pw}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&v), "INVALID_CREDENTIALS");
    }
}

#[tokio::test]
async fn logout_makes_the_access_token_fail_at_once() {
    let t = spawn_app().await;
    let tenant = t.tenant("bela").await;
    let (access, refresh) = t.login("bela", &tenant.owner_email, PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/me", Some(&access)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        t.post("/api/v1/auth/logout", Some(&access), json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (s, v) = body(t.get("/api/v1/me", Some(&access)).await).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&v), "UNAUTHORIZED");
    assert_eq!(
        t.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh})
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn ending_a_session_from_another_revokes_its_tokens() {
    let t = spawn_app().await;
    let tenant = t.tenant("chet").await;
    let (a, _) = t.login("chet", &tenant.owner_email, PASSWORD).await;
    let (b, _) = t.login("chet", &tenant.owner_email, PASSWORD).await;
    let (_, v) = body(t.get("/api/v1/me/sessions", Some(&a)).await).await;
    let sessions = v["data"].as_array().expect("list").clone();
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1"));
    let other = sessions
        .iter()
        .find(|s| s["current"] == false)
        .expect("other session");
    let id = other["id"].as_str().expect("id");
    let r = t
        .http
        .delete(t.url(&format!("/api/v1/me/sessions/{id}")))
        .bearer_auth(&a)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        t.get("/api/v1/me", Some(&b)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(t.get("/api/v1/me", Some(&a)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_ends_the_session() {
    let t = spawn_app().await;
    let tenant = t.tenant("dhan").await;
    let (_, r1) = t.login("dhan", &tenant.owner_email, PASSWORD).await;
    let (s, v) = body(
        t.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let a2 = v["data"]["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let r2 = v["data"]["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(r1, r2, "the refresh token rotates");
    assert_eq!(
        t.get("/api/v1/me", Some(&a2)).await.status(),
        StatusCode::OK
    );
    // Presenting the old token again is reuse: the whole session ends.
    assert_eq!(
        t.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/api/v1/me", Some(&a2)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.post("/api/v1/auth/refresh", None, json!({"refresh_token": r2}))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn idle_expiry_follows_the_clock() {
    let t = spawn_app().await;
    let tenant = t.tenant("esha").await;
    let (_, refresh) = t.login("esha", &tenant.owner_email, PASSWORD).await;
    t.clock.advance(Duration::minutes(16));
    // The access token itself would still be signed-valid only 10 minutes;
    // refresh shows the session is gone after 15 idle minutes.
    let (s, v) = body(
        t.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&v), "TOKEN_EXPIRED");
}

#[tokio::test]
async fn absolute_expiry_ends_a_busy_session_after_twelve_hours() {
    let t = spawn_app().await;
    let tenant = t.tenant("fara").await;
    let (_, mut refresh) = t.login("fara", &tenant.owner_email, PASSWORD).await;
    // Used every 9 minutes: never idle, but 12 hours is the hard limit.
    let mut minutes = 0;
    loop {
        t.clock.advance(Duration::minutes(9));
        minutes += 9;
        let (s, v) = body(
            t.post(
                "/api/v1/auth/refresh",
                None,
                json!({"refresh_token": refresh}),
            )
            .await,
        )
        .await;
        if minutes < 720 {
            assert_eq!(s, StatusCode::OK, "at {minutes} min: {v}");
            let access = v["data"]["access_token"].as_str().expect("a").to_owned();
            refresh = v["data"]["refresh_token"].as_str().expect("r").to_owned();
            assert_eq!(
                t.get("/api/v1/me", Some(&access)).await.status(),
                StatusCode::OK
            );
        } else {
            assert_eq!(s, StatusCode::UNAUTHORIZED, "at {minutes} min");
            assert_eq!(code(&v), "TOKEN_EXPIRED");
            break;
        }
    }
}

#[tokio::test]
async fn tenant_session_limits_are_settings() {
    let t = spawn_app().await;
    let tenant = t.tenant("gita").await;
    let token = t.owner_token(&tenant).await;
    let (s, _) = body(
        t.patch(
            "/api/v1/tenant",
            &token,
            json!({"idle_timeout_minutes": 30}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, refresh) = t.login("gita", &tenant.owner_email, PASSWORD).await;
    t.clock.advance(Duration::minutes(20));
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
    let token = t.owner_token(&tenant).await;
    let (s, v) = body(
        t.patch("/api/v1/tenant", &token, json!({"idle_timeout_minutes": 1}))
            .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    // A 5-minute idle limit ends a session while its access token is still
    // signed-valid: the server checks the session row on every request.
    let (s, _) = body(
        t.patch("/api/v1/tenant", &token, json!({"idle_timeout_minutes": 5}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (access, _) = t.login("gita", &tenant.owner_email, PASSWORD).await;
    t.clock.advance(Duration::minutes(3));
    assert_eq!(
        t.get("/api/v1/me", Some(&access)).await.status(),
        StatusCode::OK,
        "3 idle minutes: alive"
    );
    // Minute 9: the token (10-minute lifetime) is still signed-valid, but
    // the session has been idle for 6 minutes.
    t.clock.advance(Duration::minutes(6));
    let (s, v) = body(t.get("/api/v1/me", Some(&access)).await).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED"));
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let t = spawn_app().await;
    let tenant = t.tenant("hema").await;
    let (a, _) = t.login("hema", &tenant.owner_email, PASSWORD).await;
    let (b, b_refresh) = t.login("hema", &tenant.owner_email, PASSWORD).await;
    let (s, v) = body(
        t.post(
            "/api/v1/me/password",
            Some(&a),
            json!({"current_password": PASSWORD, "new_password": "password123"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
        "weak password refused"
    );
    let (s, _) = body(
        t.post(
            "/api/v1/me/password",
            Some(&a),
            json!({"current_password": "not-it", "new_password": "Brass-Kettle-Monsoon-9"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .post(
            "/api/v1/me/password",
            Some(&a),
            json!({"current_password": PASSWORD, "new_password": "Brass-Kettle-Monsoon-9"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        t.get("/api/v1/me", Some(&a)).await.status(),
        StatusCode::OK,
        "the session that changed it stays"
    );
    assert_eq!(
        t.get("/api/v1/me", Some(&b)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": b_refresh})
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    t.login("hema", &tenant.owner_email, "Brass-Kettle-Monsoon-9")
        .await;
}

#[tokio::test]
async fn forgot_and_reset_password_by_single_use_link() {
    let t = spawn_app().await;
    let tenant = t.tenant("indu").await;
    let (old_session, _) = t.login("indu", &tenant.owner_email, PASSWORD).await;
    // Unknown accounts get the same answer.
    for email in [tenant.owner_email.as_str(), "ghost@indu.example"] {
        let (s, v) = body(
            t.post(
                "/api/v1/auth/forgot-password",
                None,
                json!({"tenant": "indu", "email": email}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        assert!(v["data"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("If an account exists"));
    }
    let (_, v) = body(t.get("/api/v1/outbox", Some(&old_session)).await).await;
    let mails = v["data"].as_array().expect("outbox").clone();
    let reset_mails: Vec<_> = mails
        .iter()
        .filter(|m| m["subject"].as_str().unwrap_or("").contains("Reset"))
        .collect();
    assert_eq!(reset_mails.len(), 1, "only the real account got a message");
    assert_eq!(reset_mails[0]["recipient"], tenant.owner_email.as_str());
    let text = reset_mails[0]["body"].as_str().expect("body");
    let token = text
        .split("token=")
        .nth(1)
        .expect("link")
        .split_whitespace()
        .next()
        .expect("token")
        .to_owned();

    let (s, _) = body(
        t.post(
            "/api/v1/auth/reset-password",
            None,
            json!({"token": token, "new_password": "short"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({"token": token, "new_password": "Copper-Lantern-Dawn-4"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, v) = body(
        t.post(
            "/api/v1/auth/reset-password",
            None,
            json!({"token": token, "new_password": "Copper-Lantern-Dawn-5"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "INVALID_INPUT"),
        "single use"
    );
    assert_eq!(
        t.get("/api/v1/me", Some(&old_session)).await.status(),
        StatusCode::UNAUTHORIZED,
        "reset ends sessions"
    );
    t.login("indu", &tenant.owner_email, "Copper-Lantern-Dawn-4")
        .await;

    // An expired link does not work.
    t.post(
        "/api/v1/auth/forgot-password",
        None,
        json!({"tenant": "indu", "email": tenant.owner_email}),
    )
    .await;
    let (a, _) = t
        .login("indu", &tenant.owner_email, "Copper-Lantern-Dawn-4")
        .await;
    let (_, v) = body(t.get("/api/v1/outbox", Some(&a)).await).await;
    let text = v["data"][0]["body"].as_str().expect("body").to_owned();
    let token = text
        .split("token=")
        .nth(1)
        .expect("link")
        .split_whitespace()
        .next()
        .expect("token")
        .to_owned();
    t.clock.advance(Duration::minutes(31));
    let (s, _) = body(
        t.post(
            "/api/v1/auth/reset-password",
            None,
            json!({"token": token, "new_password": "Copper-Lantern-Dawn-6"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn lockout_is_shared_by_two_instances() {
    let first = spawn_app().await;
    let tenant = first.tenant("jaya").await;
    // A second server instance on the same database.
    let second = spawn_on(first.db_url.clone(), None, settings()).await;
    let wrong =
        json!({"tenant": "jaya", "email": tenant.owner_email, "password": "wrong-guess-123"});
    for i in 0..5 {
        let server = if i % 2 == 0 { &first } else { &second };
        let (s, v) = body(server.post("/api/v1/auth/login", None, wrong.clone()).await).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS"),
            "attempt {i}"
        );
    }
    let right = json!({"tenant": "jaya", "email": tenant.owner_email, "password": PASSWORD});
    for server in [&first, &second] {
        let r = server.post("/api/v1/auth/login", None, right.clone()).await;
        assert!(r.headers().get("retry-after").is_some());
        let (s, v) = body(r).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED")
        );
    }
    // The lock lifts after its duration (on the clock of the instance asked).
    first.clock.advance(Duration::minutes(16));
    first.login("jaya", &tenant.owner_email, PASSWORD).await;
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_ip() {
    let (url, dir) = fresh_db().await;
    let t = spawn_on(
        url,
        dir,
        clinicos_app::AuthSettings {
            ip_attempts_per_minute: 3,
            ..super::support::settings()
        },
    )
    .await;
    t.tenant("kala").await;
    let wrong = json!({"tenant": "kala", "email": "x@kala.example", "password": "nope-nope-nope"});
    for _ in 0..3 {
        assert_eq!(
            t.post("/api/v1/auth/login", None, wrong.clone())
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = t.post("/api/v1/auth/login", None, wrong.clone()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("60")
    );
}

#[tokio::test]
async fn deactivated_staff_are_signed_out_and_cannot_sign_in() {
    let t = spawn_app().await;
    let tenant = t.tenant("lata").await;
    t.add_user(&tenant, "nurse@lata.example", Role::Nurse).await;
    let owner = t.owner_token(&tenant).await;
    let (nurse, _) = t.login("lata", "nurse@lata.example", PASSWORD).await;
    let (_, v) = body(t.get("/api/v1/me", Some(&nurse)).await).await;
    let id = v["data"]["id"].as_str().expect("id").to_owned();
    let (s, _) = body(
        t.patch(
            &format!("/api/v1/staff/{id}"),
            &owner,
            json!({"is_active": false}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        t.get("/api/v1/me", Some(&nurse)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = body(
        t.post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "lata", "email": "nurse@lata.example", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_current_passwords_count_toward_the_lockout() {
    let t = spawn_app().await;
    let tenant = t.tenant("guess").await;
    let (stolen, _) = t.login("guess", &tenant.owner_email, PASSWORD).await;
    let guess = |n: usize| json!({"current_password": format!("guess-{n}"), "new_password": "Brass-Kettle-Monsoon-9"});
    // The default threshold is 5 failures: the fifth still says "wrong",
    // and locks the account.
    for n in 0..5 {
        let (s, v) = body(t.post("/api/v1/me/password", Some(&stolen), guess(n)).await).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
            "guess {n}: {v}"
        );
    }
    // Locked: even the right password is refused, here and at sign-in.
    let (s, v) = body(
        t.post(
            "/api/v1/me/password",
            Some(&stolen),
            json!({"current_password": PASSWORD, "new_password": "Brass-Kettle-Monsoon-9"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED"),
        "{v}"
    );
    let (s, v) = body(
        t.post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "guess", "email": tenant.owner_email, "password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED"),
        "{v}"
    );
    // Each failure is in the audit trail.
    let db = clinicos_store::Db::connect(&t.db_url, 2, false)
        .await
        .expect("owner connection");
    let failed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'auth.password_change' AND outcome = 'failure'",
    )
    .fetch_one(db.pool())
    .await
    .expect("count");
    assert_eq!(failed, 5);
}
