//! Patient portal sign-in with one-time codes: the happy path through the
//! outbox, wrong / used / expired / superseded codes, the OTP limits
//! (3 verifies a minute, 3 sends a minute per destination and per IP, 10
//! codes a day), no enumeration, no plaintext at rest, counters shared by
//! two instances, and portal and staff credentials kept apart.

use crate::support::{body, code, settings, spawn_app, spawn_on, Tenant, TestApp};
use chrono::Duration;
use clinicos_app::identity::portal::{OtpRequest, SEND_FLOOR};
use clinicos_app::kit::context::RequestInfo;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

pub(crate) const PHONE: &str = "+91 98450 11223";
const PHONE_DIGITS: &str = "9845011223";
const EMAIL: &str = "meera.iyer@example.in";

pub(crate) async fn register(t: &TestApp, tenant: &Tenant) -> String {
    let owner = t.owner_token(tenant).await;
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(&owner),
            json!({"given_name": "Meera", "family_name": "Iyer", "sex": "female",
                   "birth_date": "1988-03-14", "phone": PHONE, "email": EMAIL, "city": "Chennai",
                   "tags": ["needs-interpreter"], "notes": "prefers mornings"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

pub(crate) async fn send(
    t: &TestApp,
    slug: &str,
    channel: &str,
    dest: &str,
) -> (StatusCode, Value) {
    let b = json!({"tenant": slug, "channel": channel, "destination": dest});
    body(t.post("/api/v1/portal/otp/send", None, b).await).await
}

pub(crate) async fn verify(
    t: &TestApp,
    slug: &str,
    channel: &str,
    dest: &str,
    c: &str,
) -> reqwest::Response {
    let b = json!({"tenant": slug, "channel": channel, "destination": dest, "code": c});
    t.post("/api/v1/portal/otp/verify", None, b).await
}

/// One message of the development outbox, as the API shows it.
#[derive(serde::Deserialize)]
pub(crate) struct Msg {
    pub kind: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// The development outbox as the owner reads it, newest first.
pub(crate) async fn messages(t: &TestApp, tenant: &Tenant) -> Vec<Msg> {
    let owner = t.owner_token(tenant).await;
    let (s, v) = body(t.get("/api/v1/outbox", Some(&owner)).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    serde_json::from_value(v["data"].clone()).expect("outbox messages")
}

/// The code in the newest outbox message.
pub(crate) async fn last_code(t: &TestApp, tenant: &Tenant) -> String {
    let m = messages(t, tenant).await;
    code_in(&m.first().expect("a message").body)
}

/// The six-digit code in a message's text.
pub(crate) fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("six digits")
        .to_owned()
}

/// Sign in with a fresh code; returns the portal token.
async fn sign_in(t: &TestApp, tenant: &Tenant) -> String {
    assert_eq!(
        send(t, &tenant.slug, "sms", PHONE).await.0,
        StatusCode::ACCEPTED
    );
    let c = last_code(t, tenant).await;
    let (s, v) = body(verify(t, &tenant.slug, "sms", PHONE, &c).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

fn wrong(c: &str) -> String {
    let n: u32 = c.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn assert_invalid(r: reqwest::Response) {
    let (s, v) = body(r).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "INVALID_OTP"),
        "{v}"
    );
}

async fn assert_limited(r: reqwest::Response) {
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (s, v) = body(r).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
        "{v}"
    );
    let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!(secs >= 1, "{secs}");
}

#[tokio::test]
async fn a_patient_signs_in_with_a_code_from_the_outbox() {
    let t = spawn_app().await;
    let tenant = t.tenant("otp").await;
    let patient = register(&t, &tenant).await;
    let before = messages(&t, &tenant).await.len();

    let (s, v) = send(&t, "otp", "whatsapp", PHONE).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let m = messages(&t, &tenant).await;
    assert_eq!(m.len(), before + 1);
    let msg = &m[0];
    assert_eq!(
        (msg.channel.as_str(), msg.recipient.as_str()),
        ("whatsapp", "+919845011223")
    );
    let c = last_code(&t, &tenant).await;
    assert!(msg.body.contains("otp Health") && msg.subject.contains("otp Health"));
    for private in ["Meera", "Iyer", "1988", "Chennai"] {
        assert!(
            !msg.body.contains(private) && !msg.subject.contains(private),
            "{private}"
        );
    }

    let (s, v) = body(verify(&t, "otp", "whatsapp", "+91-98450-11223", &c).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(token.starts_with("pt."));
    assert_eq!(v["data"]["patient_id"], patient.as_str());

    let (s, v) = body(t.get("/api/v1/portal/me", Some(&token)).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["data"]["id"].as_str(), v["data"]["given_name"].as_str()),
        (Some(patient.as_str()), Some("Meera"))
    );
    assert_eq!(v["data"]["email"], EMAIL);
    // The front desk's working notes and tags are staff-only.
    assert_eq!(v["data"]["notes"], Value::Null, "{v}");
    assert_eq!(v["data"]["tags"], json!([]), "{v}");
    assert!(!v.to_string().contains("prefers mornings"));

    // The read is audited as the patient's own, naming the patient.
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    let q = tx.q(
        "SELECT resource_ids, purpose, actor_roles, reason FROM audit_events \
                  WHERE tenant_id = $1 AND action = 'patient.read'",
    );
    let rows = tx.all(q).await.expect("audit");
    tx.commit().await.expect("commit");
    let r = rows.last().expect("a patient.read event");
    let get = |c: &str| r.try_get::<String, _>(c).expect("col");
    assert_eq!(
        (
            get("resource_ids"),
            get("purpose"),
            get("actor_roles"),
            get("reason")
        ),
        (
            patient.clone(),
            "patient_request".into(),
            "patient".into(),
            "portal_self".into()
        )
    );

    // Single use.
    assert_invalid(verify(&t, "otp", "whatsapp", PHONE, &c).await).await;

    // Email works the same way.
    t.clock.advance(Duration::seconds(61));
    assert_eq!(
        send(&t, "otp", "email", " Meera.Iyer@EXAMPLE.in").await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(messages(&t, &tenant).await[0].recipient, EMAIL);
    let c = last_code(&t, &tenant).await;
    assert_eq!(
        verify(&t, "otp", "email", EMAIL, &c).await.status(),
        StatusCode::OK
    );

    // Sign-out ends the token at once.
    let r = t
        .post("/api/v1/portal/logout", Some(&token), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        t.get("/api/v1/portal/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn wrong_expired_and_superseded_codes_get_one_answer() {
    let t = spawn_app().await;
    let tenant = t.tenant("otpw").await;
    register(&t, &tenant).await;

    // Three wrong tries kill a code, even the right one afterwards.
    send(&t, "otpw", "sms", PHONE).await;
    let c = last_code(&t, &tenant).await;
    for bad in [wrong(&c), "12a456".into(), "1".into()] {
        assert_invalid(verify(&t, "otpw", "sms", PHONE, &bad).await).await;
    }
    t.clock.advance(Duration::seconds(61));
    assert_invalid(verify(&t, "otpw", "sms", PHONE, &c).await).await;

    // Expired after five minutes.
    send(&t, "otpw", "sms", PHONE).await;
    let c = last_code(&t, &tenant).await;
    t.clock.advance(Duration::minutes(5));
    assert_invalid(verify(&t, "otpw", "sms", PHONE, &c).await).await;

    // A new code invalidates the previous one.
    send(&t, "otpw", "sms", PHONE).await;
    let first = last_code(&t, &tenant).await;
    send(&t, "otpw", "sms", PHONE).await;
    let second = last_code(&t, &tenant).await;
    if first != second {
        assert_invalid(verify(&t, "otpw", "sms", PHONE, &first).await).await;
    }
    assert_eq!(
        verify(&t, "otpw", "sms", PHONE, &second).await.status(),
        StatusCode::OK
    );

    // An unknown clinic answers like a wrong code.
    assert_invalid(verify(&t, "nowhere", "sms", PHONE, &second).await).await;
}

#[tokio::test]
async fn three_verify_attempts_a_minute_then_429() {
    let t = spawn_app().await;
    let tenant = t.tenant("otpv").await;
    register(&t, &tenant).await;
    send(&t, "otpv", "sms", PHONE).await;
    let c = last_code(&t, &tenant).await;
    for _ in 0..2 {
        assert_invalid(verify(&t, "otpv", "sms", PHONE, &wrong(&c)).await).await;
    }
    assert_eq!(
        verify(&t, "otpv", "sms", PHONE, &c).await.status(),
        StatusCode::OK
    );
    // The fourth attempt in the minute is refused before any code is looked at.
    send(&t, "otpv", "sms", PHONE).await;
    let c = last_code(&t, &tenant).await;
    assert_limited(verify(&t, "otpv", "sms", PHONE, &c).await).await;
    // Unknown destinations are limited alike.
    for _ in 0..3 {
        assert_invalid(verify(&t, "otpv", "sms", "+91 90000 00000", "000000").await).await;
    }
    assert_limited(verify(&t, "otpv", "sms", "+91 90000 00000", "000000").await).await;
    // Next minute: allowed again (and the refused attempt did not touch the code).
    t.clock.advance(Duration::seconds(61));
    assert_eq!(
        verify(&t, "otpv", "sms", PHONE, &c).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn ten_codes_a_day_per_destination_then_429() {
    let t = spawn_app().await;
    let tenant = t.tenant("otpd").await;
    register(&t, &tenant).await;
    for i in 0..10 {
        let (s, v) = send(&t, "otpd", "sms", PHONE).await;
        assert_eq!(s, StatusCode::ACCEPTED, "code {i}: {v}");
        t.clock.advance(Duration::seconds(61));
    }
    let sent = messages(&t, &tenant).await.len();
    let b = json!({"tenant": "otpd", "channel": "sms", "destination": PHONE});
    let r = t.post("/api/v1/portal/otp/send", None, b.clone()).await;
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!(retry > 3600 && retry <= 24 * 3600, "{retry}");
    assert_limited(r).await;
    // WhatsApp goes to the same phone: the same budget.
    assert_limited(
        t.post(
            "/api/v1/portal/otp/send",
            None,
            json!({"tenant": "otpd", "channel": "whatsapp", "destination": PHONE}),
        )
        .await,
    )
    .await;
    assert_eq!(
        messages(&t, &tenant).await.len(),
        sent,
        "nothing sent past the limit"
    );
    // Another destination has its own budget; the day passes.
    assert_eq!(
        send(&t, "otpd", "email", EMAIL).await.0,
        StatusCode::ACCEPTED
    );
    t.clock.advance(Duration::hours(24));
    assert_eq!(send(&t, "otpd", "sms", PHONE).await.0, StatusCode::ACCEPTED);
}

fn from_ip(ip: &str) -> RequestInfo {
    RequestInfo {
        ip: ip.into(),
        user_agent: "test".into(),
        request_id: "r".into(),
        ..RequestInfo::default()
    }
}

fn otp(slug: &str, dest: &str) -> OtpRequest {
    OtpRequest {
        tenant_slug: slug.into(),
        channel: "sms".into(),
        destination: dest.into(),
        code: String::new(),
    }
}

#[tokio::test]
async fn three_sends_a_minute_per_destination_and_per_ip() {
    let t = spawn_app().await;
    t.tenant("otps").await;
    let limited = |r: Result<(), clinicos_app::AppError>| {
        matches!(r, Err(clinicos_app::AppError::RateLimited { .. }))
    };
    // Per destination, whatever the IP.
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        t.app
            .identity()
            .send_portal_code(&otp("otps", PHONE), &from_ip(ip))
            .await
            .expect("sent");
    }
    assert!(limited(
        t.app
            .identity()
            .send_portal_code(&otp("otps", PHONE), &from_ip("10.0.0.4"))
            .await
    ));
    // Per IP, whatever the destination.
    for n in 1..=3 {
        t.app
            .identity()
            .send_portal_code(
                &otp("otps", &format!("+91 91111 0000{n}")),
                &from_ip("10.9.9.9"),
            )
            .await
            .expect("sent");
    }
    assert!(limited(
        t.app
            .identity()
            .send_portal_code(&otp("otps", "+91 91111 00009"), &from_ip("10.9.9.9"))
            .await
    ));
    // Over HTTP the 429 carries Retry-After.
    for _ in 0..3 {
        send(&t, "otps", "sms", "+91 92222 00001").await;
    }
    let b = json!({"tenant": "otps", "channel": "sms", "destination": "+91 92222 00002"});
    assert_limited(t.post("/api/v1/portal/otp/send", None, b).await).await;
    t.clock.advance(Duration::seconds(61));
    assert!(t
        .app
        .identity()
        .send_portal_code(&otp("otps", PHONE), &from_ip("10.0.0.4"))
        .await
        .is_ok());
}

#[tokio::test]
async fn unknown_destinations_and_clinics_get_the_same_answer_and_no_message() {
    let t = spawn_app().await;
    let tenant = t.tenant("otpu").await;
    register(&t, &tenant).await;
    let started = std::time::Instant::now();
    let (s1, known) = send(&t, "otpu", "sms", PHONE).await;
    let known_took = started.elapsed();
    let sent = messages(&t, &tenant).await.len();

    let started = std::time::Instant::now();
    let (s2, unknown) = send(&t, "otpu", "sms", "+91 90000 12345").await;
    let unknown_took = started.elapsed();
    let (s3, no_clinic) = send(&t, "no-such-clinic", "sms", PHONE).await;
    assert_eq!(
        (s1, s2, s3),
        (
            StatusCode::ACCEPTED,
            StatusCode::ACCEPTED,
            StatusCode::ACCEPTED
        )
    );
    assert_eq!(known, unknown);
    assert_eq!(known, no_clinic);
    assert_eq!(
        messages(&t, &tenant).await.len(),
        sent,
        "no message for an unknown phone"
    );
    // Both wait for the same floor, so timing does not tell them apart.
    assert!(known_took >= SEND_FLOOR && unknown_took >= SEND_FLOOR);

    // The unknown destination still has a code row (no patient): the
    // verify answer cannot tell either.
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    let q = tx.q(
        "SELECT COUNT(*) AS n FROM portal_otp_codes WHERE tenant_id = $1 AND patient_id IS NULL",
    );
    let n: i64 = tx.one(q).await.expect("count").try_get("n").expect("n");
    tx.commit().await.expect("commit");
    assert_eq!(n, 1);
    assert_invalid(verify(&t, "otpu", "sms", "+91 90000 12345", "123456").await).await;

    // Malformed input is a 422 whoever it names.
    let (s, v) = send(&t, "otpu", "fax", PHONE).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    let (s, _) = send(&t, "otpu", "email", "not-an-email").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Every text or byte value in a row, for plaintext checks.
fn values(r: &sqlx::any::AnyRow) -> Vec<String> {
    (0..r.columns().len())
        .filter_map(|i| {
            r.try_get::<String, _>(i).ok().or_else(|| {
                r.try_get::<Vec<u8>, _>(i)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            })
        })
        .collect()
}

#[tokio::test]
async fn stored_codes_and_counters_hold_no_plaintext() {
    let t = spawn_app().await;
    let tenant = t.tenant("otpp").await;
    register(&t, &tenant).await;
    send(&t, "otpp", "sms", PHONE).await;
    let c = last_code(&t, &tenant).await;
    verify(&t, "otpp", "sms", PHONE, &wrong(&c)).await;
    let token = {
        let (s, v) = body(verify(&t, "otpp", "sms", PHONE, &c).await).await;
        assert_eq!(s, StatusCode::OK);
        v["data"]["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    };
    let secret = token.rsplit('.').next().expect("secret").to_owned();

    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    let mut stored = Vec::new();
    for table in ["portal_otp_codes", "portal_sessions", "audit_events"] {
        let sql = format!("SELECT * FROM {table} WHERE tenant_id = $1");
        let q = tx.q(&sql);
        let rows = tx.all(q).await.expect("rows");
        assert!(!rows.is_empty(), "{table}");
        stored.extend(rows.iter().flat_map(values));
    }
    tx.commit().await.expect("commit");
    let counters = sqlx::query("SELECT key FROM rate_counters")
        .fetch_all(t.app.store.platform().pool())
        .await
        .expect("counters");
    stored.extend(counters.iter().flat_map(values));
    assert!(
        stored.iter().any(|v| v.len() == 64),
        "blind index / hash present"
    );
    for v in &stored {
        for secret_value in [PHONE_DIGITS, "+919845011223", secret.as_str()] {
            assert!(
                !v.contains(secret_value),
                "plaintext {secret_value:?} stored in {v:?}"
            );
        }
        // Hex hashes, ids and numbers may hold any six digits by chance;
        // any other value must not carry the code.
        let hexish = v.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-');
        assert!(
            v != &c && (hexish || !v.contains(c.as_str())),
            "code stored in {v:?}"
        );
    }
    let logs = crate::support::logs();
    assert!(!logs.contains(PHONE_DIGITS) && !logs.contains(&secret));
}

#[tokio::test]
async fn limits_and_codes_are_shared_by_two_instances() {
    let first = spawn_app().await;
    let tenant = first.tenant("otp2").await;
    register(&first, &tenant).await;
    let second = spawn_on(first.db_url.clone(), None, settings()).await;

    // A code sent through one instance works on the other, once.
    send(&first, "otp2", "sms", PHONE).await;
    let c = last_code(&first, &tenant).await;
    assert_eq!(
        verify(&second, "otp2", "sms", PHONE, &c).await.status(),
        StatusCode::OK
    );
    assert_invalid(verify(&first, "otp2", "sms", PHONE, &c).await).await;

    // Verify attempts: 3 a minute across both instances (2 used above).
    assert_invalid(verify(&second, "otp2", "sms", PHONE, "000000").await).await;
    assert_limited(verify(&first, "otp2", "sms", PHONE, "000000").await).await;
    assert_limited(verify(&second, "otp2", "sms", PHONE, "000000").await).await;

    // Sends: 3 a minute per destination across both instances.
    let dest = "+91 93333 00001";
    send(&second, "otp2", "sms", dest).await;
    first.clock.advance(Duration::seconds(61));
    second.clock.advance(Duration::seconds(61));
    for (server, ip) in [
        (&first, "10.1.0.1"),
        (&second, "10.1.0.2"),
        (&first, "10.1.0.3"),
    ] {
        server
            .app
            .identity()
            .send_portal_code(&otp("otp2", dest), &from_ip(ip))
            .await
            .expect("sent");
    }
    let r = second
        .app
        .identity()
        .send_portal_code(&otp("otp2", dest), &from_ip("10.2.2.2"))
        .await;
    assert!(
        matches!(r, Err(clinicos_app::AppError::RateLimited { .. })),
        "4th send across instances"
    );
}

#[tokio::test]
async fn portal_and_staff_tokens_do_not_mix() {
    let t = spawn_app().await;
    let tenant = t.tenant("otpx").await;
    register(&t, &tenant).await;
    let portal = sign_in(&t, &tenant).await;
    let staff = t.owner_token(&tenant).await;

    for path in ["/api/v1/patients", "/api/v1/me", "/api/v1/outbox"] {
        let (s, v) = body(t.get(path, Some(&portal)).await).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            "{path}"
        );
    }
    let (s, v) = body(t.get("/api/v1/portal/me", Some(&staff)).await).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
        "{v}"
    );
    assert_eq!(
        t.post("/api/v1/portal/logout", Some(&staff), json!({}))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // A tampered secret, and no token at all.
    let tampered = format!("{portal}x");
    assert_eq!(
        t.get("/api/v1/portal/me", Some(&tampered)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/api/v1/portal/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Staff APIs still work for staff, and the portal token for the portal.
    assert_eq!(
        t.get("/api/v1/patients", Some(&staff)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        t.get("/api/v1/portal/me", Some(&portal)).await.status(),
        StatusCode::OK
    );
    // Portal sessions follow the tenant's idle limit (15 minutes by default).
    t.clock.advance(Duration::minutes(16));
    let (s, v) = body(t.get("/api/v1/portal/me", Some(&portal)).await).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED"));
}

#[tokio::test]
async fn the_portal_pages_sign_a_patient_in_and_out() {
    use crate::support::{form, page, set_cookie_named};
    let t = spawn_app().await;
    let tenant = t.tenant("otppage").await;
    register(&t, &tenant).await;

    let r = page(&t, "/portal/login", "").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .expect("html")
        .contains("name=\"destination\""));
    let dest = [
        ("tenant", "otppage"),
        ("channel", "sms"),
        ("destination", PHONE),
    ];
    let r = form(&t, "/portal/login", "", &dest).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("action=\"/portal/verify\""), "{html}");
    let c = last_code(&t, &tenant).await;

    // A wrong code re-renders the code step with the generic 401.
    let mut fields = dest.to_vec();
    let bad = wrong(&c);
    fields.push(("code", bad.as_str()));
    let r = form(&t, "/portal/verify", "", &fields).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    fields.pop();
    fields.push(("code", c.as_str()));
    let r = form(&t, "/portal/verify", "", &fields).await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let cookie = set_cookie_named(&r, "clinicos_portal").expect("portal cookie");
    assert!(cookie.starts_with("clinicos_portal=pt."));

    let r = page(&t, "/portal", &cookie).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("Meera") && html.contains(EMAIL), "{html}");
    // The staff pages do not take the portal cookie.
    let r = page(&t, "/", &cookie).await;
    assert!(r.status().is_redirection());

    let r = form(&t, "/portal/logout", &cookie, &[]).await;
    assert!(r.status().is_redirection());
    let r = page(&t, "/portal", &cookie).await;
    assert_eq!(r.headers()["location"], "/portal/login");
}
