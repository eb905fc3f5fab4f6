//! Rate limits per route class: 429 with Retry-After for each class, the
//! per-tenant override, exempt routes, and the stricter limit for
//! anonymous requests without a User-Agent.

use crate::support::*;
use clinicos_web::kit::limits::RateLimits;
use clinicos_web::WebConfig;
use reqwest::StatusCode;
use serde_json::json;

async fn spawn_limited(limits: RateLimits) -> TestApp {
    let (url, dir) = fresh_db().await;
    let config = WebConfig {
        rate_limits: limits,
        ..web_config()
    };
    spawn_with(url, dir, settings(), config).await
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds")
}

#[tokio::test]
async fn api_class_is_per_session_and_answers_429_with_retry_after() {
    let t = spawn_limited(RateLimits {
        api: 3,
        ..RateLimits::unlimited()
    })
    .await;
    let tenant = t.tenant("rlapi").await;
    let a = t.owner_token(&tenant).await;
    let b = t.owner_token(&tenant).await;
    for _ in 0..3 {
        assert_eq!(
            t.get("/api/v1/branches", Some(&a)).await.status(),
            StatusCode::OK
        );
    }
    let r = t.get("/api/v1/branches", Some(&a)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&r);
    assert!((1..=20).contains(&wait), "{wait}");
    let (_, v) = body(r).await;
    assert_eq!(code(&v), "RATE_LIMITED");
    assert!(v["error"]["request_id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    // Another session of the same clinic (same IP) has its own budget.
    assert_eq!(
        t.get("/api/v1/branches", Some(&b)).await.status(),
        StatusCode::OK
    );
    let metrics = t.get("/metrics", None).await.text().await.expect("metrics");
    assert!(
        metrics.contains("rate_limited_total{class=\"api\"}"),
        "429s are counted by class"
    );
    // Health and metrics are never limited.
    for _ in 0..10 {
        assert_eq!(t.get("/health/live", None).await.status(), StatusCode::OK);
        assert_eq!(t.get("/metrics", None).await.status(), StatusCode::OK);
    }
    // The bucket refills with time.
    t.clock.advance(chrono::Duration::seconds(wait as i64));
    assert_eq!(
        t.get("/api/v1/branches", Some(&a)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn global_class_limits_anonymous_requests_per_ip_on_api_and_pages() {
    let t = spawn_limited(RateLimits {
        global: 3,
        ..RateLimits::unlimited()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            t.get("/api/v1/openapi.json", None).await.status(),
            StatusCode::OK
        );
    }
    let r = t.get("/api/v1/auth/whatever", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) >= 1);
    let (_, v) = body(r).await;
    assert_eq!(code(&v), "RATE_LIMITED");
    // Pages get a plain 429 page with the same header.
    let r = t.get("/login", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) >= 1);
    assert!(r.headers().get("content-security-policy").is_some());
    let html = r.text().await.expect("html");
    assert!(html.contains("Too many requests"), "{html}");
    // Exempt: health, metrics, the stylesheet.
    for p in ["/health", "/health/ready", "/metrics", "/static/app.css"] {
        assert_eq!(t.get(p, None).await.status(), StatusCode::OK, "{p}");
    }
}

#[tokio::test]
async fn auth_class_uses_the_shared_counters_per_ip() {
    let t = spawn_limited(RateLimits {
        auth: 2,
        ..RateLimits::unlimited()
    })
    .await;
    t.tenant("rlauth").await;
    let wrong =
        json!({"tenant": "rlauth", "email": "x@rlauth.example", "password": "nope-nope-nope"});
    for _ in 0..2 {
        assert_eq!(
            t.post("/api/v1/auth/login", None, wrong.clone())
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = t
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": "x"}))
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(code(&body(r).await.1), "RATE_LIMITED");
    // Another instance on the same database shares the count.
    let other = spawn_with(
        t.db_url.clone(),
        None,
        settings(),
        WebConfig {
            rate_limits: RateLimits {
                auth: 2,
                ..RateLimits::unlimited()
            },
            ..web_config()
        },
    )
    .await;
    let r = other.post("/api/v1/auth/login", None, wrong.clone()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The window ends.
    t.clock.advance(chrono::Duration::seconds(61));
    let r = t.post("/api/v1/auth/login", None, wrong).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn otp_class_covers_the_portal_otp_prefix() {
    let t = spawn_limited(RateLimits {
        otp: 3,
        ..RateLimits::unlimited()
    })
    .await;
    for _ in 0..3 {
        let r = t.post("/api/v1/portal/otp/send", None, json!({})).await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "counted, then refused as incomplete"
        );
    }
    let r = t.post("/api/v1/portal/otp/verify", None, json!({})).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) >= 1);
}

#[tokio::test]
async fn a_tenant_can_lower_its_own_api_limit() {
    let t = spawn_limited(RateLimits::unlimited()).await;
    let tenant = t.tenant("rlten").await;
    let other = t.tenant("rlother").await;
    let owner = t.owner_token(&tenant).await;
    let (s, v) = body(
        t.http
            .put(t.url("/api/v1/security/settings"))
            .bearer_auth(&owner)
            .json(&json!({"api_requests_per_minute": 10}))
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["api_requests_per_minute"], 10);
    assert_eq!(v["data"]["failed_sign_in_threshold"], 5, "defaults kept");
    let fresh = t.owner_token(&tenant).await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(t.get("/api/v1/branches", Some(&fresh)).await.status());
    }
    assert!(
        statuses[..10].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    // The other organisation keeps the server default.
    let o = t.owner_token(&other).await;
    for _ in 0..15 {
        assert_eq!(
            t.get("/api/v1/branches", Some(&o)).await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn anonymous_requests_without_a_user_agent_get_a_stricter_limit() {
    let t = spawn_limited(RateLimits {
        no_user_agent: 2,
        ..RateLimits::unlimited()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(t.get("/login", None).await.status(), StatusCode::OK);
    }
    assert_eq!(
        t.get("/login", None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let r = t
        .http
        .get(t.url("/login"))
        .header("user-agent", "Mozilla/5.0 (test)")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(logs().contains("missing_user_agent"), "signal logged");
}

#[tokio::test]
async fn a_signed_in_browser_session_is_keyed_by_session_not_ip() {
    let t = spawn_limited(RateLimits {
        global: 4,
        ..RateLimits::unlimited()
    })
    .await;
    let tenant = t.tenant("rlpage").await;
    let cookie = t.page_sign_in("rlpage", &tenant.owner_email).await;
    // The first page proves the cookie; after that the session's own
    // (api) budget applies, not the IP's.
    for i in 0..8 {
        let r = t
            .http
            .get(t.url("/"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), StatusCode::OK, "request {i}");
    }
    // Three anonymous pages spend the rest of the IP's budget (4).
    for _ in 0..3 {
        assert_eq!(t.get("/login", None).await.status(), StatusCode::OK);
    }
    // A forged cookie is anonymous and shares the IP budget, now spent.
    let r = t
        .http
        .get(t.url("/"))
        .header("cookie", "clinicos_session=forged.forged.forged")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}
