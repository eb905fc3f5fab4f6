//! The policy point end to end: role bundles and single grants as data,
//! own patients (care team and the encounter window), restricted records,
//! note authorship, cross-branch visibility, consent, break-the-glass with
//! its expiry and review, and the audit of every read.

use crate::support::{body, code, spawn_app, Tenant, TestApp, PASSWORD};
use chrono::Duration;
use clinicos_domain::{Role, UserId};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) struct Staff {
    pub(crate) owner: String,
    pub(crate) doc1: String,
    pub(crate) doc2: String,
    pub(crate) nurse: String,
    pub(crate) desk: String,
    pub(crate) privacy: String,
    pub(crate) ids: Vec<(String, UserId)>,
}

impl Staff {
    pub(crate) fn id(&self, who: &str) -> UserId {
        self.ids
            .iter()
            .find(|(e, _)| e.starts_with(who))
            .map(|(_, id)| *id)
            .expect("staff id")
    }
}

pub(crate) async fn staff(t: &TestApp, tenant: &Tenant) -> Staff {
    let slug = &tenant.slug;
    for (who, role) in [
        ("doc1", Role::Doctor),
        ("doc2", Role::Doctor),
        ("nurse", Role::Nurse),
        ("desk", Role::FrontDesk),
        ("privacy", Role::PrivacyOfficer),
    ] {
        t.add_user(tenant, &format!("{who}@{slug}.example"), role)
            .await;
    }
    let owner = t.owner_token(tenant).await;
    let (_, v) = body(t.get("/api/v1/staff?limit=100", Some(&owner)).await).await;
    let ids = v["data"]
        .as_array()
        .expect("staff")
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap_or("").to_owned(),
                u["id"].as_str().unwrap_or("").parse().expect("id"),
            )
        })
        .collect();
    let login = |who: &str| format!("{who}@{slug}.example");
    Staff {
        doc1: t.login(slug, &login("doc1"), PASSWORD).await.0,
        doc2: t.login(slug, &login("doc2"), PASSWORD).await.0,
        nurse: t.login(slug, &login("nurse"), PASSWORD).await.0,
        desk: t.login(slug, &login("desk"), PASSWORD).await.0,
        privacy: t.login(slug, &login("privacy"), PASSWORD).await.0,
        owner,
        ids,
    }
}

pub(crate) async fn send(
    t: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    b: Option<Value>,
) -> (StatusCode, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut r = t.http.request(m, t.url(path)).bearer_auth(token);
    if let Some(b) = b {
        r = r.json(&b);
    }
    body(r.send().await.expect("request")).await
}

pub(crate) async fn register(t: &TestApp, token: &str) -> String {
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(token),
            // The same person again on purpose: skip the duplicate warning.
            json!({"given_name": "Meera", "family_name": "Iyer", "sex": "female",
                   "birth_date": "1988-03-14", "phone": "+91 98450 11223", "city": "Chennai",
                   "confirm_new": true}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

async fn denials(t: &TestApp, tenant: &Tenant) -> i64 {
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    clinicos_store::governance::audit::count_action(&mut tx, "policy.denied")
        .await
        .expect("count")
}

#[tokio::test]
async fn own_patients_restricted_records_authorship_and_grants() {
    let t = spawn_app().await;
    let tenant = t.tenant("abac").await;
    let s = staff(&t, &tenant).await;
    let p = register(&t, &s.desk).await;
    let hist = format!("/api/v1/patients/{p}/history");

    // Front desk reads demographics (decrypted) but no clinical records.
    let (st, v) = send(&t, "GET", &format!("/api/v1/patients/{p}"), &s.desk, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["phone"], "+919845011223");
    let before = denials(&t, &tenant).await;
    let (st, v) = send(&t, "GET", &hist, &s.desk, None).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "FORBIDDEN"));

    // Another doctor's patient: no care relationship, no access.
    let (st, v) = send(&t, "GET", &hist, &s.doc1, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("care relationship"));
    assert_eq!(
        denials(&t, &tenant).await,
        before + 2,
        "denials are audited"
    );

    // On the care team, doc1 records a normal and a restricted entry.
    let team = format!("/api/v1/patients/{p}/care-team");
    for who in ["doc1", "nurse"] {
        let (st, v) = send(
            &t,
            "POST",
            &team,
            &s.owner,
            Some(json!({"user_id": s.id(who)})),
        )
        .await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    }
    let (st, v) = send(
        &t,
        "POST",
        &team,
        &s.desk,
        Some(json!({"user_id": s.id("doc2")})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "front desk cannot change care teams: {v}"
    );
    let (st, normal) = send(
        &t,
        "POST",
        &hist,
        &s.doc1,
        Some(json!({"category": "medical", "text": "Type 2 diabetes since 2015"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{normal}");
    let (st, v) = send(&t, "POST", &hist, &s.doc1, Some(json!({"category": "medical", "text": "Depressive episode 2021", "sensitivity": "mental_health"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["restricted"], true);
    let (st, v) = send(
        &t,
        "POST",
        &hist,
        &s.doc1,
        Some(json!({"category": "medical", "text": "x", "sensitivity": "secret"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // The doctor sees both; the nurse (no restricted permission) one, and
    // learns that one was withheld.
    let (_, v) = send(&t, "GET", &hist, &s.doc1, None).await;
    assert_eq!(v["data"]["entries"].as_array().map(Vec::len), Some(2));
    let (st, v) = send(&t, "GET", &hist, &s.nurse, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["data"]["withheld"], 1);

    // Own patients through encounters: outside the 24-month window no,
    // inside yes.
    let now = t.clock_now();
    t.app
        .patients()
        .record_encounter(
            tenant.id,
            p.parse().expect("id"),
            s.id("doc2"),
            "visit",
            now - Duration::days(25 * 31),
        )
        .await
        .expect("old visit");
    let (st, _) = send(&t, "GET", &hist, &s.doc2, None).await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "a visit 25 months ago is outside the window"
    );
    t.app
        .patients()
        .record_encounter(
            tenant.id,
            p.parse().expect("id"),
            s.id("doc2"),
            "appointment",
            now - Duration::days(30),
        )
        .await
        .expect("recent appointment");
    let (st, _) = send(&t, "GET", &hist, &s.doc2, None).await;
    assert_eq!(st, StatusCode::OK);

    // Only the author edits an entry.
    let entry = normal["data"]["id"].as_str().expect("entry id");
    let edit = json!({"category": "medical", "text": "Type 2 diabetes since 2014"});
    let (st, v) = send(
        &t,
        "PUT",
        &format!("{hist}/{entry}"),
        &s.doc2,
        Some(edit.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("author"));
    let (st, v) = send(&t, "PUT", &format!("{hist}/{entry}"), &s.doc1, Some(edit)).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // A single grant: the nurse records point-of-care results as history.
    let write = json!({"category": "other", "text": "Capillary glucose 142 mg/dL"});
    let (st, _) = send(&t, "POST", &hist, &s.nurse, Some(write.clone())).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, g) = send(&t, "POST", "/api/v1/policy/grants", &s.owner, Some(json!({"user_id": s.id("nurse"), "permission": "clinical:write", "reason": "records point-of-care tests"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{g}");
    let (st, v) = send(&t, "POST", &hist, &s.nurse, Some(write.clone())).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = send(
        &t,
        "POST",
        "/api/v1/policy/grants",
        &s.owner,
        Some(json!({"user_id": s.id("nurse"), "permission": "clinical:everything", "reason": "x"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let gid = g["data"]["id"].as_str().expect("grant id");
    let (st, _) = send(
        &t,
        "DELETE",
        &format!("/api/v1/policy/grants/{gid}"),
        &s.owner,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = send(&t, "POST", &hist, &s.nurse, Some(write)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "revoked grant no longer applies");

    // Bundles are data: without patients:read the front desk is refused.
    let (st, v) = send(
        &t,
        "PUT",
        "/api/v1/policy/roles/front_desk",
        &s.owner,
        Some(json!({"permissions": ["tenant:read", "branches:read"]})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let (st, _) = send(&t, "GET", &format!("/api/v1/patients/{p}"), &s.desk, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, v) = send(&t, "GET", "/api/v1/policy", &s.owner, None).await;
    let desk = v["data"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["role"] == "front_desk")
        .cloned()
        .expect("desk");
    assert_eq!(desk["edited"], true);
    let (st, _) = send(
        &t,
        "DELETE",
        "/api/v1/policy/roles/front_desk",
        &s.owner,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = send(&t, "GET", &format!("/api/v1/patients/{p}"), &s.desk, None).await;
    assert_eq!(st, StatusCode::OK);
    // Only holders of policy:write change the policy.
    let (st, _) = send(
        &t,
        "PUT",
        "/api/v1/policy/roles/nurse",
        &s.doc1,
        Some(json!({"permissions": []})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cross_branch_visibility_and_explicit_consent_are_tenant_settings() {
    let t = spawn_app().await;
    let tenant = t.tenant("xbr").await;
    let s = staff(&t, &tenant).await;
    let p = register(&t, &s.desk).await;
    let hist = format!("/api/v1/patients/{p}/history");
    let team = format!("/api/v1/patients/{p}/care-team");
    send(
        &t,
        "POST",
        &team,
        &s.owner,
        Some(json!({"user_id": s.id("doc1")})),
    )
    .await;
    // The owner records an entry in a branch doc1 does not work in.
    let (st, v) = send(
        &t,
        "POST",
        "/api/v1/branches",
        &s.owner,
        Some(json!({"name": "Annex", "code": "ANX"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let annex = v["data"]["id"].as_str().expect("branch").to_owned();
    let (st, v) = send(
        &t,
        "POST",
        "/api/v1/me/branch",
        &s.owner,
        Some(json!({"branch_id": annex})),
    )
    .await;
    assert!(st.is_success(), "{v}");
    send(
        &t,
        "POST",
        &team,
        &s.owner,
        Some(json!({"user_id": s.id("owner")})),
    )
    .await;
    let (st, v) = send(
        &t,
        "POST",
        &hist,
        &s.owner,
        Some(json!({"category": "surgical", "text": "Appendectomy 2010"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, v) = send(&t, "GET", &hist, &s.doc1, None).await;
    assert_eq!(
        v["data"]["entries"].as_array().map(Vec::len),
        Some(1),
        "one chart across branches by default"
    );
    let mut settings = json!({"own_patient_window_months": 24, "break_glass_minutes": 60, "consent_policy": "implied", "clinical_cross_branch": false});
    let (st, v) = send(
        &t,
        "PUT",
        "/api/v1/policy/settings",
        &s.owner,
        Some(settings.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, v) = send(&t, "GET", &hist, &s.doc1, None).await;
    assert_eq!(
        v["data"]["entries"].as_array().map(Vec::len),
        Some(0),
        "other branch's entry hidden"
    );
    assert_eq!(v["data"]["withheld"], 1);
    // Explicit consent: a patient registered without consent to care is
    // closed to clinicians until it is recorded.
    settings["consent_policy"] = json!("explicit");
    settings["clinical_cross_branch"] = json!(true);
    send(
        &t,
        "PUT",
        "/api/v1/policy/settings",
        &s.owner,
        Some(settings.clone()),
    )
    .await;
    let (st, v) = send(&t, "GET", &hist, &s.doc1, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("consent"));
    settings["break_glass_minutes"] = json!(0);
    settings["consent_policy"] = json!("sometimes");
    let (st, v) = send(
        &t,
        "PUT",
        "/api/v1/policy/settings",
        &s.owner,
        Some(settings),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn break_the_glass_is_time_boxed_flagged_and_reviewed() {
    let t = spawn_app().await;
    let tenant = t.tenant("glass").await;
    let s = staff(&t, &tenant).await;
    let p = register(&t, &s.desk).await;
    let hist = format!("/api/v1/patients/{p}/history");
    send(
        &t,
        "POST",
        &format!("/api/v1/patients/{p}/care-team"),
        &s.owner,
        Some(json!({"user_id": s.id("doc1")})),
    )
    .await;
    send(
        &t,
        "POST",
        &hist,
        &s.doc1,
        Some(json!({"category": "medical", "text": "Penicillin anaphylaxis 2019"})),
    )
    .await;
    send(
        &t,
        "POST",
        &hist,
        &s.doc1,
        Some(json!({"category": "medical", "text": "HIV positive", "sensitivity": "hiv_sti"})),
    )
    .await;

    let glass = format!("/api/v1/patients/{p}/break-glass");
    let (st, _) = send(&t, "GET", &hist, &s.doc2, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = send(
        &t,
        "POST",
        &glass,
        &s.doc2,
        Some(json!({"reason": "urgent"})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required: {v}"
    );
    let (st, v) = send(
        &t,
        "POST",
        &glass,
        &s.desk,
        Some(json!({"reason": "Patient collapsed in the waiting room"})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "front desk has no emergency access: {v}"
    );
    let (st, v) = send(
        &t,
        "POST",
        &glass,
        &s.doc1,
        Some(json!({"reason": "Patient collapsed in the waiting room"})),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "doc1 already has access: {v}");
    let (st, g) = send(
        &t,
        "POST",
        &glass,
        &s.doc2,
        Some(json!({"reason": "Unconscious in casualty, allergy status needed"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{g}");
    assert_eq!(g["data"]["active"], true);
    let gid = g["data"]["id"].as_str().expect("grant").to_owned();

    // Under the grant: normal entries readable, restricted still closed,
    // and the read is flagged in the audit.
    let (st, v) = send(&t, "GET", &hist, &s.doc2, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["emergency_access"], true);
    assert_eq!(v["data"]["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["data"]["withheld"], 1);
    let (_, report) = send(
        &t,
        "GET",
        &format!("/api/v1/audit/events?resource_id={p}&action=patient.history.read"),
        &s.privacy,
        None,
    )
    .await;
    let flagged: Vec<&Value> = report["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["purpose"] == "emergency")
        .collect();
    assert_eq!(flagged.len(), 1, "{report}");
    assert_eq!(flagged[0]["reason"], format!("break_glass:{gid}"));

    // The privacy officer has a review task (outbox, no PHI).
    let mail = crate::portal_otp::messages(&t, &tenant).await;
    let task = mail
        .iter()
        .find(|m| m.recipient.starts_with("privacy@"))
        .expect("review task");
    assert_eq!(task.kind, "break_glass.review");
    assert!(task.body.contains(&gid) && !task.body.contains("Unconscious"));

    // Time-boxed: after 60 minutes the access is gone.
    t.clock.advance(Duration::minutes(61));
    let doc2 = t.login("glass", "doc2@glass.example", PASSWORD).await.0;
    let privacy = t.login("glass", "privacy@glass.example", PASSWORD).await.0;
    let s = Staff { doc2, privacy, ..s };
    let (st, _) = send(&t, "GET", &hist, &s.doc2, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Review: not by the holder, once, with the outcome recorded.
    let review = format!("/api/v1/break-glass/{gid}/review");
    let (st, _) = send(&t, "GET", "/api/v1/break-glass", &s.doc2, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = send(&t, "GET", "/api/v1/break-glass", &s.privacy, None).await;
    assert_eq!(st, StatusCode::OK);
    let pending = v["data"].as_array().expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0]["reason"],
        "Unconscious in casualty, allergy status needed"
    );
    assert_eq!(pending[0]["active"], false);
    let (st, v) = send(
        &t,
        "POST",
        &review,
        &s.privacy,
        Some(json!({"outcome": "maybe"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = send(
        &t,
        "POST",
        &review,
        &s.privacy,
        Some(json!({"outcome": "justified", "note": "Confirmed with casualty log"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["review_status"], "justified");
    let (st, _) = send(
        &t,
        "POST",
        &review,
        &s.privacy,
        Some(json!({"outcome": "unjustified"})),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (_, v) = send(&t, "GET", "/api/v1/break-glass", &s.privacy, None).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0));
    let (_, v) = send(
        &t,
        "GET",
        &format!("/api/v1/audit/events?resource_id={gid}"),
        &s.privacy,
        None,
    )
    .await;
    let actions: Vec<&str> = v["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"break_glass.opened") && actions.contains(&"break_glass.reviewed"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn patient_reads_and_lists_are_audited_with_their_ids() {
    let t = spawn_app().await;
    let tenant = t.tenant("seen").await;
    let s = staff(&t, &tenant).await;
    let a = register(&t, &s.desk).await;
    let b = register(&t, &s.desk).await;
    let (st, v) = send(&t, "GET", "/api/v1/patients?q=mee", &s.desk, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["meta"]["total"], 2);
    let (_, v) = send(
        &t,
        "GET",
        "/api/v1/patients?phone=%2B91%2098450%2011223",
        &s.desk,
        None,
    )
    .await;
    assert_eq!(v["meta"]["total"], 2, "exact phone through the blind index");
    let (_, v) = send(
        &t,
        "GET",
        "/api/v1/patients?phone=%2B911111111",
        &s.desk,
        None,
    )
    .await;
    assert_eq!(v["meta"]["total"], 0);
    send(&t, "GET", &format!("/api/v1/patients/{a}"), &s.nurse, None).await;
    // Who saw my record: every event naming patient a.
    let (_, v) = send(
        &t,
        "GET",
        &format!("/api/v1/audit/events?resource_id={a}"),
        &s.privacy,
        None,
    )
    .await;
    let actions: Vec<&str> = v["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for want in ["patient.created", "patient.list", "patient.read"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    let list = v["data"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "patient.list")
        .expect("list event");
    let ids = list["resource_ids"].as_array().expect("ids");
    assert!(
        ids.contains(&json!(a)) && ids.contains(&json!(b)),
        "a list names every id it returned"
    );
    // Bad input: malformed id 400, unknown id 404, malformed body 422.
    let (st, _) = send(&t, "GET", "/api/v1/patients/not-an-id", &s.desk, None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let unknown = format!("/api/v1/patients/{}", uuid::Uuid::now_v7());
    let (st, _) = send(&t, "GET", &unknown, &s.desk, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = send(
        &t,
        "POST",
        "/api/v1/patients",
        &s.desk,
        Some(json!({"given_name": "", "sex": "x"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn bulk_export_leaves_restricted_records_out_without_their_own_permission() {
    let t = spawn_app().await;
    let tenant = t.tenant("bulk").await;
    let s = staff(&t, &tenant).await;
    let p = register(&t, &s.desk).await;
    let hist = format!("/api/v1/patients/{p}/history");
    send(
        &t,
        "POST",
        &format!("/api/v1/patients/{p}/care-team"),
        &s.owner,
        Some(json!({"user_id": s.id("doc1")})),
    )
    .await;
    send(
        &t,
        "POST",
        &hist,
        &s.doc1,
        Some(json!({"category": "medical", "text": "Asthma"})),
    )
    .await;
    send(
        &t,
        "POST",
        &hist,
        &s.doc1,
        Some(json!({"category": "medical", "text": "BRCA1 carrier", "sensitivity": "genetics"})),
    )
    .await;
    // No export permission: refused.
    let (st, _) = send(&t, "GET", "/api/v1/patients/export", &s.privacy, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // A single grant of export:patients: the restricted entry stays out.
    send(&t, "POST", "/api/v1/policy/grants", &s.owner, Some(json!({"user_id": s.id("privacy"), "permission": "export:patients", "reason": "data portability request"}))).await;
    let (st, v) = send(&t, "GET", "/api/v1/patients/export", &s.privacy, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["data"]["patients"][0]["history"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(v["data"]["withheld_restricted"], 1);
    assert!(!v.to_string().contains("BRCA1"));
    // The owner holds export:restricted too.
    let (_, v) = send(&t, "GET", "/api/v1/patients/export", &s.owner, None).await;
    assert_eq!(
        v["data"]["patients"][0]["history"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        v["data"]["patients"][0]["patient"]["phone"],
        "+919845011223"
    );
    let (_, report) = send(
        &t,
        "GET",
        &format!("/api/v1/audit/events?resource_id={p}&action=export.patients"),
        &s.privacy,
        None,
    )
    .await;
    assert_eq!(report["data"].as_array().map(Vec::len), Some(2), "{report}");
}
