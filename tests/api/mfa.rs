//! Stronger sign-in: TOTP enrolment and sign-in, replay and lockout,
//! recovery codes, the tenant's MFA-required roles, device approval, and
//! admins ending other staff members' sessions.

use crate::support::{body, code, spawn_app, TestApp, PASSWORD};
use clinicos_app::identity::totp;
use clinicos_domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The code an authenticator would show now (per the injected clock).
fn code_now(t: &TestApp, secret: &str) -> String {
    let raw = totp::base32_decode(secret).expect("base32");
    let now = clinicos_app::Clock::now(&*t.clock).timestamp();
    totp::code_at_step(&raw, totp::step_at(now))
}

fn next_step(t: &TestApp) {
    t.clock.advance(chrono::Duration::seconds(30));
}

/// Enrol the token's user; returns (secret, recovery codes).
async fn enrol(t: &TestApp, token: &str) -> (String, Vec<String>) {
    let (s, v) = body(t.post("/api/v1/me/mfa/totp", Some(token), json!({})).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let secret = v["data"]["secret"].as_str().expect("secret").to_owned();
    let uri = v["data"]["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(&secret));
    let (s, v) = body(
        t.post(
            "/api/v1/me/mfa/totp/confirm",
            Some(token),
            json!({"code": code_now(t, &secret)}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let codes: Vec<String> = v["data"]["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    // The confirming code's step is spent; sign-ins use the next one.
    next_step(t);
    (secret, codes)
}

async fn password_step(
    t: &TestApp,
    slug: &str,
    email: &str,
    device: Option<&str>,
) -> reqwest::Response {
    let mut r = t
        .http
        .post(t.url("/api/v1/auth/login"))
        .json(&json!({"tenant": slug, "email": email, "password": PASSWORD}));
    if let Some(d) = device {
        r = r.header("X-Device-Id", d);
    }
    r.send().await.expect("request")
}

async fn mfa_token(t: &TestApp, slug: &str, email: &str) -> String {
    let (s, v) = body(password_step(t, slug, email, None).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["mfa_required"], true);
    assert!(
        v["data"]["access_token"].is_null(),
        "no session before the code"
    );
    v["data"]["mfa_token"]
        .as_str()
        .expect("mfa_token")
        .to_owned()
}

async fn second_step(t: &TestApp, token: &str, factor: Value) -> (StatusCode, Value) {
    let mut b = factor;
    b["mfa_token"] = json!(token);
    body(t.post("/api/v1/auth/mfa", None, b).await).await
}

#[tokio::test]
async fn enrol_confirm_and_sign_in_with_a_totp_code() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfaa").await;
    let owner = t.owner_token(&tenant).await;
    let (s, v) = body(t.get("/api/v1/me/mfa", Some(&owner)).await).await;
    assert_eq!(
        (s, &v["data"]["totp_active"]),
        (StatusCode::OK, &json!(false))
    );
    // Confirming with a wrong code does not activate.
    t.post("/api/v1/me/mfa/totp", Some(&owner), json!({})).await;
    let (s, v) = body(
        t.post(
            "/api/v1/me/mfa/totp/confirm",
            Some(&owner),
            json!({"code": "000000"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (secret, _) = enrol(&t, &owner).await;
    let (_, v) = body(t.get("/api/v1/me/mfa", Some(&owner)).await).await;
    assert_eq!(v["data"]["totp_active"], true);
    assert_eq!(v["data"]["recovery_codes_left"], 10);

    let token = mfa_token(&t, "mfaa", &tenant.owner_email).await;
    let (s, v) = second_step(&t, &token, json!({"code": "123456"})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "INVALID_MFA_CODE")
    );
    let good = code_now(&t, &secret);
    let (s, v) = second_step(&t, &token, json!({"code": good})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let access = v["data"]["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert!(v["data"]["refresh_token"].is_string());
    assert_eq!(
        t.get("/api/v1/me", Some(&access)).await.status(),
        StatusCode::OK
    );
    // The challenge is single use.
    let (s, _) = second_step(&t, &token, json!({"code": good})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The same code (same time step) cannot be replayed on a new challenge.
    let token = mfa_token(&t, "mfaa", &tenant.owner_email).await;
    let (s, v) = second_step(&t, &token, json!({"code": good})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "INVALID_MFA_CODE")
    );
    next_step(&t);
    let (s, _) = second_step(&t, &token, json!({"code": code_now(&t, &secret)})).await;
    assert_eq!(s, StatusCode::OK);
    // Bad input is a 4xx envelope, never a 500.
    let (s, _) = second_step(&t, "garbage", json!({"code": "1"})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let r = t.post("/api/v1/auth/mfa", None, json!({"code": 5})).await;
    assert!(r.status().is_client_error());
    // Neither the secret nor codes reach the logs.
    assert!(!crate::support::logs().contains(&secret));
}

#[tokio::test]
async fn recovery_codes_work_once_and_can_turn_mfa_off() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfab").await;
    let owner = t.owner_token(&tenant).await;
    let (_, codes) = enrol(&t, &owner).await;
    let token = mfa_token(&t, "mfab", &tenant.owner_email).await;
    let (s, _) = second_step(
        &t,
        &token,
        json!({"recovery_code": codes[0].to_uppercase()}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let token = mfa_token(&t, "mfab", &tenant.owner_email).await;
    let (s, v) = second_step(&t, &token, json!({"recovery_code": codes[0]})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "INVALID_MFA_CODE")
    );
    let (_, v) = body(t.get("/api/v1/me/mfa", Some(&owner)).await).await;
    assert_eq!(v["data"]["recovery_codes_left"], 9);
    // Turning off needs a factor.
    let r = t
        .post(
            "/api/v1/me/mfa/totp/disable",
            Some(&owner),
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = t
        .post(
            "/api/v1/me/mfa/totp/disable",
            Some(&owner),
            json!({"recovery_code": codes[1]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Password alone signs in again.
    t.login("mfab", &tenant.owner_email, PASSWORD).await;
}

#[tokio::test]
async fn wrong_codes_lock_the_account() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfac").await;
    let owner = t.owner_token(&tenant).await;
    let (secret, _) = enrol(&t, &owner).await;
    let token = mfa_token(&t, "mfac", &tenant.owner_email).await;
    for _ in 0..5 {
        let (s, _) = second_step(&t, &token, json!({"code": "999999"})).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right code is refused, and so is the password step.
    let (s, v) = second_step(&t, &token, json!({"code": code_now(&t, &secret)})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED")
    );
    let (s, v) = body(password_step(&t, "mfac", &tenant.owner_email, None).await).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED")
    );
}

#[tokio::test]
async fn required_roles_must_enrol_before_anything_else() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfad").await;
    let owner = t.owner_token(&tenant).await;
    t.add_user(&tenant, "doc@mfad.example", Role::Doctor).await;
    t.add_user(&tenant, "desk@mfad.example", Role::FrontDesk)
        .await;
    let r = t
        .http
        .put(t.url("/api/v1/tenant/sign-in-security"))
        .bearer_auth(&owner)
        .json(&json!({"mfa_required_roles": ["doctor", "nurse"], "device_approval": false}))
        .send()
        .await
        .expect("put");
    let (s, v) = body(r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["mfa_required_roles"], json!(["doctor", "nurse"]));
    // A doctor without MFA signs in but reaches only enrolment and sign-out.
    let (doc, _) = t.login("mfad", "doc@mfad.example", PASSWORD).await;
    let (s, v) = body(t.get("/api/v1/branches", Some(&doc)).await).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "MFA_ENROLMENT_REQUIRED")
    );
    let (_, v) = body(t.get("/api/v1/me/mfa", Some(&doc)).await).await;
    assert_eq!(v["data"]["required"], true);
    enrol(&t, &doc).await;
    assert_eq!(
        t.get("/api/v1/branches", Some(&doc)).await.status(),
        StatusCode::OK
    );
    // Roles outside the list are not affected.
    let (desk, _) = t.login("mfad", "desk@mfad.example", PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/branches", Some(&desk)).await.status(),
        StatusCode::OK
    );
    // Only the owner changes the setting.
    let r = t
        .http
        .put(t.url("/api/v1/tenant/sign-in-security"))
        .bearer_auth(&desk)
        .json(&json!({"mfa_required_roles": [], "device_approval": false}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// A new clinic requires two-step sign-in of its owner, branch admins and
/// privacy officers; the owner enrols, then may relax the rule, and the
/// audit trail records what it became.
#[tokio::test]
async fn a_new_clinic_requires_mfa_of_its_owner_admins_and_privacy_officers() {
    let t = spawn_app().await;
    let n = crate::support::new_tenant("mfanew", None);
    let e = t.app.tenancy().create_tenant(&n).await.expect("tenant");
    for (email, role) in [
        ("admin@mfanew.example", Role::BranchAdmin),
        ("privacy@mfanew.example", Role::PrivacyOfficer),
        ("doc@mfanew.example", Role::Doctor),
    ] {
        let u = clinicos_app::tenancy::provisioning::NewUser {
            email: email.into(),
            name: "Staff".into(),
            roles: vec![role],
            branch_ids: vec![],
            password: Some(PASSWORD.into()),
            locale: None,
        };
        t.app
            .tenancy()
            .create_user_cli("mfanew", &u)
            .await
            .expect("user");
    }
    for email in [
        "owner@mfanew.example",
        "admin@mfanew.example",
        "privacy@mfanew.example",
    ] {
        let (token, _) = t.login("mfanew", email, PASSWORD).await;
        let (s, v) = body(t.get("/api/v1/patients", Some(&token)).await).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "MFA_ENROLMENT_REQUIRED"),
            "{email}: {v}"
        );
    }
    let (doc, _) = t.login("mfanew", "doc@mfanew.example", PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/patients", Some(&doc)).await.status(),
        StatusCode::OK,
        "other roles sign in with a password"
    );
    // The owner enrols, signs in with two steps, and relaxes the rule.
    let (owner, _) = t.login("mfanew", "owner@mfanew.example", PASSWORD).await;
    let (s, v) = body(t.get("/api/v1/tenant", Some(&owner)).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (secret, _) = enrol(&t, &owner).await;
    let token = mfa_token(&t, "mfanew", "owner@mfanew.example").await;
    let (s, v) = second_step(&t, &token, json!({"code": code_now(&t, &secret)})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let owner = v["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (_, v) = body(t.get("/api/v1/tenant", Some(&owner)).await).await;
    assert_eq!(
        v["data"]["mfa_required_roles"],
        json!(["owner", "branch_admin", "privacy_officer"])
    );
    set_security(&t, &owner, json!(["owner"]), false).await;
    let (admin, _) = t.login("mfanew", "admin@mfanew.example", PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/patients", Some(&admin)).await.status(),
        StatusCode::OK,
        "relaxed for branch admins"
    );
    let mut tx = t.app.store.read(e.tenant_id).await.expect("tx");
    let events = clinicos_store::governance::audit::all_events(&mut tx)
        .await
        .expect("audit");
    let changes: Vec<&str> = events
        .iter()
        .filter(|ev| ev.action == "tenant.sign_in_security")
        .map(|ev| ev.reason.as_str())
        .collect();
    assert_eq!(changes, ["mfa_required_roles=owner device_approval=false"]);
}

pub(crate) async fn set_security(t: &TestApp, owner: &str, roles: Value, device_approval: bool) {
    let r = t
        .http
        .put(t.url("/api/v1/tenant/sign-in-security"))
        .bearer_auth(owner)
        .json(&json!({"mfa_required_roles": roles, "device_approval": device_approval}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn new_devices_wait_for_approval_and_denied_ones_stay_blocked() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfae").await;
    let owner = t.owner_token(&tenant).await;
    t.add_user(&tenant, "doc@mfae.example", Role::Doctor).await;
    set_security(&t, &owner, json!([]), true).await;

    let r = password_step(&t, "mfae", "doc@mfae.example", None).await;
    let device = r
        .headers()
        .get("x-device-id")
        .and_then(|v| v.to_str().ok())
        .expect("device id issued")
        .to_owned();
    let (s, v) = body(r).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "DEVICE_APPROVAL_PENDING")
    );
    let (s, v) = body(password_step(&t, "mfae", "doc@mfae.example", Some(&device)).await).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "DEVICE_APPROVAL_PENDING")
    );

    let (s, v) = body(t.get("/api/v1/staff/device-approvals", Some(&owner)).await).await;
    assert_eq!(s, StatusCode::OK);
    let list = v["data"].as_array().expect("list");
    assert_eq!(list.len(), 1, "{v}");
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let (s, v) = body(
        t.post(
            &format!("/api/v1/staff/device-approvals/{id}/approve"),
            Some(&owner),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, &v["data"]["status"]),
        (StatusCode::OK, &json!("approved"))
    );
    // Deciding twice is a conflict; unknown ids are 404.
    let r = t
        .post(
            &format!("/api/v1/staff/device-approvals/{id}/deny"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = t
        .post(
            "/api/v1/staff/device-approvals/nope/deny",
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "not an id");
    let r = t
        .post(
            &format!(
                "/api/v1/staff/device-approvals/{}/deny",
                uuid::Uuid::now_v7()
            ),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let (s, v) = body(password_step(&t, "mfae", "doc@mfae.example", Some(&device)).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["data"]["access_token"].is_string());

    // Another device, denied, stays blocked.
    let (s, _) =
        body(password_step(&t, "mfae", "doc@mfae.example", Some("laptop-123")).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = body(t.get("/api/v1/staff/device-approvals", Some(&owner)).await).await;
    let id = v["data"][0]["id"].as_str().expect("id").to_owned();
    let (s, _) = body(
        t.post(
            &format!("/api/v1/staff/device-approvals/{id}/deny"),
            Some(&owner),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) =
        body(password_step(&t, "mfae", "doc@mfae.example", Some("laptop-123")).await).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "DEVICE_DENIED"));
    // A doctor cannot decide approvals.
    let (s, v) = body(password_step(&t, "mfae", "doc@mfae.example", Some(&device)).await).await;
    let doc = v["data"]["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        t.get("/api/v1/staff/device-approvals", Some(&doc))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Approve and deny are audited.
    sqlx::any::install_default_drivers();
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&t.db_url)
        .await
        .expect("connect");
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('auth.device_approve', 'auth.device_deny')",
    )
    .fetch_one(&mut c)
    .await
    .expect("count");
    assert_eq!(n, 2);
}

#[tokio::test]
async fn admin_ends_another_staff_members_session_at_once() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfaf").await;
    let owner = t.owner_token(&tenant).await;
    t.add_user(&tenant, "doc@mfaf.example", Role::Doctor).await;
    let (s, v) = body(password_step(&t, "mfaf", "doc@mfaf.example", None).await).await;
    assert_eq!(s, StatusCode::OK);
    let doc = v["data"]["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let doc_id = v["data"]["user"]["id"].as_str().expect("id").to_owned();
    let (s, v) = body(
        t.get(&format!("/api/v1/staff/{doc_id}/sessions"), Some(&owner))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let sessions = v["data"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1);
    let sid = sessions[0]["id"].as_str().expect("sid").to_owned();
    // The doctor cannot list others' sessions.
    let r = t
        .get(&format!("/api/v1/staff/{doc_id}/sessions"), Some(&doc))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = t
        .http
        .delete(t.url(&format!("/api/v1/staff/{doc_id}/sessions/{sid}")))
        .bearer_auth(&owner)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        t.get("/api/v1/me", Some(&doc)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, v) = body(
        t.get(&format!("/api/v1/staff/{doc_id}/sessions"), Some(&owner))
            .await,
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0));
    // Refresh-token reuse ends that whole session (the token family), and
    // the admin's view no longer lists it.
    let (_, r1) = t.login("mfaf", "doc@mfaf.example", PASSWORD).await;
    let (s, _) = body(
        t.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = body(
        t.get(&format!("/api/v1/staff/{doc_id}/sessions"), Some(&owner))
            .await,
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    let (s, _) = body(
        t.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, v) = body(
        t.get(&format!("/api/v1/staff/{doc_id}/sessions"), Some(&owner))
            .await,
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0));
    // Malformed ids are 4xx.
    let r = t
        .get("/api/v1/staff/not-a-uuid/sessions", Some(&owner))
        .await;
    assert!(r.status().is_client_error());
}

#[tokio::test]
async fn branch_admins_only_reach_staff_of_their_branches() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfag").await;
    let owner = t.owner_token(&tenant).await;
    let mut branch = Vec::new();
    for c in ["north", "south"] {
        let (s, v) = body(
            t.post(
                "/api/v1/branches",
                Some(&owner),
                json!({"code": c, "name": c}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        branch.push(
            v["data"]["id"]
                .as_str()
                .expect("id")
                .parse::<clinicos_domain::BranchId>()
                .expect("branch id"),
        );
    }
    for (email, role, b) in [
        ("admin@mfag.example", Role::BranchAdmin, branch[0]),
        ("near@mfag.example", Role::Doctor, branch[0]),
        ("far@mfag.example", Role::Doctor, branch[1]),
    ] {
        let u = clinicos_app::tenancy::provisioning::NewUser {
            email: email.into(),
            name: "Staff".into(),
            roles: vec![role],
            branch_ids: vec![b],
            password: Some(PASSWORD.into()),
            locale: None,
        };
        t.app
            .tenancy()
            .create_user_cli("mfag", &u)
            .await
            .expect("user");
    }
    let (admin, _) = t.login("mfag", "admin@mfag.example", PASSWORD).await;
    let mut ids = Vec::new();
    for email in ["near@mfag.example", "far@mfag.example"] {
        let (_, v) = body(password_step(&t, "mfag", email, None).await).await;
        ids.push(v["data"]["user"]["id"].as_str().expect("id").to_owned());
    }
    let r = t
        .get(&format!("/api/v1/staff/{}/sessions", ids[0]), Some(&admin))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, v) = body(
        t.get(&format!("/api/v1/staff/{}/sessions", ids[1]), Some(&owner))
            .await,
    )
    .await;
    let far_sid = v["data"][0]["id"].as_str().expect("sid").to_owned();
    let r = t
        .get(&format!("/api/v1/staff/{}/sessions", ids[1]), Some(&admin))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = t
        .http
        .delete(t.url(&format!("/api/v1/staff/{}/sessions/{far_sid}", ids[1])))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Pending devices of other branches are not listed for the branch admin.
    set_security(&t, &owner, json!([]), true).await;
    password_step(&t, "mfag", "far@mfag.example", None).await;
    let (_, v) = body(t.get("/api/v1/staff/device-approvals", Some(&admin)).await).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0));
    let (_, v) = body(t.get("/api/v1/staff/device-approvals", Some(&owner)).await).await;
    let id = v["data"][0]["id"].as_str().expect("id").to_owned();
    let r = t
        .post(
            &format!("/api/v1/staff/device-approvals/{id}/approve"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_cli_recovers_a_lost_phone_and_a_blocked_device() {
    let t = spawn_app().await;
    let tenant = t.tenant("mfah").await;
    let owner = t.owner_token(&tenant).await;
    enrol(&t, &owner).await;
    set_security(&t, &owner, json!([]), true).await;
    let r = t
        .app
        .identity()
        .reset_sign_in_cli("mfah", &tenant.owner_email, true, false)
        .await
        .expect("reset");
    assert!(r.mfa_removed);
    // Without MFA the owner reaches the device check, from a new device.
    let (s, v) = body(password_step(&t, "mfah", &tenant.owner_email, Some("phone-1")).await).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "DEVICE_APPROVAL_PENDING")
    );
    let r = t
        .app
        .identity()
        .reset_sign_in_cli("mfah", &tenant.owner_email, false, true)
        .await
        .expect("reset");
    assert_eq!(r.devices_approved, 1);
    let (s, _) = body(password_step(&t, "mfah", &tenant.owner_email, Some("phone-1")).await).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn openapi_describes_both_answers_of_the_password_step() {
    let t = spawn_app().await;
    let (_, d) = body(t.get("/api/v1/openapi.json", None).await).await;
    let one_of = &d["components"]["schemas"]["LoginResult"]["oneOf"];
    let refs: Vec<&str> = one_of
        .as_array()
        .expect("oneOf")
        .iter()
        .filter_map(|r| r["$ref"].as_str())
        .collect();
    assert!(
        refs.iter().any(|r| r.ends_with("/LoginResponse")),
        "{refs:?}"
    );
    assert!(
        refs.iter().any(|r| r.ends_with("/MfaChallenge")),
        "{refs:?}"
    );
}

#[tokio::test]
async fn totp_secrets_are_stored_encrypted() {
    use clinicos_store::kit::row::RowExt;
    let t = spawn_app().await;
    let tenant = t.tenant("mfasec").await;
    let owner = t.owner_token(&tenant).await;
    let (secret, _) = enrol(&t, &owner).await;
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    let q = tx.q("SELECT secret FROM mfa_totp WHERE tenant_id = $1");
    let stored = tx
        .one(q)
        .await
        .expect("row")
        .text("secret")
        .expect("secret");
    assert!(
        !stored.contains(&secret),
        "the TOTP secret must not be stored in clear"
    );
    assert!(!stored.to_uppercase().contains(&secret[..8]));
    drop(tx);
    // And it still works: sign in with a code computed from the shown secret.
    let token = mfa_token(&t, "mfasec", &tenant.owner_email).await;
    next_step(&t);
    let good = code_now(&t, &secret);
    let (s, v) = second_step(&t, &token, json!({"code": good})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
