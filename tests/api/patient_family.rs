//! A patient's photo (content-checked, size-limited, encrypted at rest,
//! audited), family links (no self-links, duplicates or cycles; audited)
//! and a parent's portal view of their children, which stops at the
//! jurisdiction's adolescent-confidentiality age (India: 18).

use crate::portal_otp::{last_code, send as send_code, verify};
use crate::support::{body, code, spawn_app, Tenant, TestApp};
use crate::trust_policy::{register, send, staff};
use chrono::{Datelike, Duration, NaiveDate};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A PNG header and a recognisable marker (the sniffer reads the header).
fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    b.extend_from_slice(b"tEXtComment\x00Photo of Meera Iyer, front desk 2026");
    b
}

async fn put_photo(
    t: &TestApp,
    token: &str,
    p: &str,
    content_type: &str,
    name: Option<&str>,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let mut r = t
        .http
        .put(t.url(&format!("/api/v1/patients/{p}/photo")))
        .bearer_auth(token)
        .header("content-type", content_type);
    if let Some(n) = name {
        r = r.header("x-file-name", n);
    }
    body(r.body(bytes).send().await.expect("upload")).await
}

fn files_contain(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).expect("dir").flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            files_contain(&path, needle)
        } else {
            let b = std::fs::read(&path).expect("file");
            b.windows(needle.len()).any(|w| w == needle)
        }
    })
}

async fn count(t: &TestApp, tenant: &Tenant, action: &str) -> i64 {
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    clinicos_store::governance::audit::count_action(&mut tx, action)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_photo_round_trips_encrypted_within_its_limits_and_audited() {
    let t = spawn_app().await;
    let tenant = t.tenant("photo").await;
    let s = staff(&t, &tenant).await;
    let p = register(&t, &s.desk).await;

    // The front desk sets it (demographics) and reads it back.
    let (st, v) = put_photo(&t, &s.desk, &p, "image/png", Some("meera.png"), png()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["content_type"], "image/png");
    let r = t
        .http
        .get(t.url(&format!("/api/v1/patients/{p}/photo")))
        .bearer_auth(&s.desk)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.expect("bytes").to_vec(), png());
    // At rest it is ciphertext.
    assert!(!files_contain(t.files_dir.path(), b"Photo of Meera Iyer"));

    // Up to 5 MiB is accepted (above the server's default upload size).
    let mut large = png();
    large.resize(5 * 1024 * 1024 - 1024, 0);
    let (st, v) = put_photo(&t, &s.desk, &p, "image/png", None, large).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // 6 MB, a PDF renamed .png (declared either way), a wrong extension.
    let mut big = png();
    big.resize(6 * 1024 * 1024, 0);
    let (st, v) = put_photo(&t, &s.desk, &p, "image/png", None, big).await;
    assert!(
        st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::PAYLOAD_TOO_LARGE,
        "{st} {v}"
    );
    assert!(!code(&v).is_empty(), "{v}");
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n".to_vec();
    for ty in ["image/png", "application/pdf"] {
        let (st, v) = put_photo(&t, &s.desk, &p, ty, Some("scan.png"), pdf.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(code(&v), "VALIDATION_ERROR", "{v}");
    }
    let (st, _) = put_photo(&t, &s.desk, &p, "image/png", Some("me.jpg"), png()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // WebP and JPEG are accepted by content; the last one set is served.
    let webp = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00".to_vec();
    let (st, v) = put_photo(&t, &s.desk, &p, "image/webp", None, webp).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = put_photo(
        &t,
        &s.desk,
        &p,
        "image/jpeg",
        None,
        vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["content_type"], "image/jpeg");

    // Removed: gone.
    let (st, _) = send(
        &t,
        "DELETE",
        &format!("/api/v1/patients/{p}/photo"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/photo"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = send(
        &t,
        "DELETE",
        &format!("/api/v1/patients/{p}/photo"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    assert_eq!(count(&t, &tenant, "patient.photo.updated").await, 4);
    assert_eq!(count(&t, &tenant, "patient.photo.read").await, 1);
    assert_eq!(count(&t, &tenant, "patient.photo.deleted").await, 1);
}

async fn person(t: &TestApp, token: &str, given: &str, birth: &str, phone: &str) -> String {
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(token),
            json!({"given_name": given, "family_name": "Raman", "sex": "female",
                   "birth_date": birth, "phone": phone, "confirm_new": true}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

async fn link(t: &TestApp, token: &str, from: &str, b: Value) -> (StatusCode, Value) {
    send(
        t,
        "POST",
        &format!("/api/v1/patients/{from}/links"),
        token,
        Some(b),
    )
    .await
}

#[tokio::test]
async fn links_refuse_self_duplicates_cycles_and_strangers() {
    let t = spawn_app().await;
    let tenant = t.tenant("links").await;
    let s = staff(&t, &tenant).await;
    let gran = person(&t, &s.desk, "Kamala", "1950-02-01", "+91 90000 00001").await;
    let mum = person(&t, &s.desk, "Lakshmi", "1980-02-01", "+91 90000 00002").await;
    let kid = person(&t, &s.desk, "Anu", "2015-02-01", "+91 90000 00003").await;

    let (st, v) = link(
        &t,
        &s.desk,
        &gran,
        json!({"kind": "parent", "dependant_id": mum}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // From the child's side: the responsible patient is named instead.
    let (st, v) = link(
        &t,
        &s.desk,
        &kid,
        json!({"kind": "parent", "responsible_id": mum}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["responsible_id"], mum.as_str());
    assert_eq!(v["data"]["dependant_id"], kid.as_str());
    assert_eq!(v["data"]["other"]["given_name"], "Lakshmi");
    let kid_link = v["data"]["id"].as_str().expect("id").to_owned();

    // Self, duplicate, cycle (the grandchild as the grandmother's parent),
    // a guardian link beside the parent one (fine), then bad input.
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    for (from, b, want) in [
        (
            &kid,
            json!({"kind": "parent", "dependant_id": kid}),
            unprocessable,
        ),
        (
            &mum,
            json!({"kind": "parent", "dependant_id": kid}),
            StatusCode::CONFLICT,
        ),
        (
            &kid,
            json!({"kind": "parent", "dependant_id": gran}),
            unprocessable,
        ),
        (
            &gran,
            json!({"kind": "guardian", "dependant_id": kid}),
            StatusCode::CREATED,
        ),
        (
            &mum,
            json!({"kind": "uncle", "dependant_id": kid}),
            unprocessable,
        ),
        (&mum, json!({"kind": "parent"}), unprocessable),
        (
            &mum,
            json!({"kind": "parent", "dependant_id": kid, "responsible_id": gran}),
            unprocessable,
        ),
        (
            &mum,
            json!({"kind": "parent", "dependant_id": kid, "dependent_adult": true}),
            unprocessable,
        ),
    ] {
        let (st, v) = link(&t, &s.desk, from, b.clone()).await;
        assert_eq!(st, want, "{b} {v}");
    }
    // A patient of another organisation is not found.
    let other = t.tenant("links2").await;
    let other_owner = t.owner_token(&other).await;
    let stranger = person(
        &t,
        &other_owner,
        "Stranger",
        "1990-01-01",
        "+91 90000 00009",
    )
    .await;
    let (st, _) = link(
        &t,
        &s.desk,
        &mum,
        json!({"kind": "parent", "dependant_id": stranger}),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Listed from either side; removed from either side.
    let (st, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{mum}/links"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"].as_array().expect("links").len(), 2, "{v}");
    let (st, _) = send(
        &t,
        "DELETE",
        &format!("/api/v1/patients/{gran}/links/{kid_link}"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "not on this patient's links");
    let (st, _) = send(
        &t,
        "DELETE",
        &format!("/api/v1/patients/{kid}/links/{kid_link}"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{kid}/links"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(v["data"].as_array().expect("links").len(), 1, "{v}");
    // Without patients:write: refused.
    let (st, _) = link(
        &t,
        &s.nurse,
        &mum,
        json!({"kind": "parent", "dependant_id": kid}),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    assert_eq!(count(&t, &tenant, "patient.link.created").await, 3);
    assert_eq!(count(&t, &tenant, "patient.link.deleted").await, 1);
    assert_eq!(count(&t, &tenant, "patient.links.read").await, 2);
}

/// `years` years before `today`, shifted by `days` days.
fn born(today: NaiveDate, years: i32, days: i64) -> String {
    let anniversary =
        NaiveDate::from_ymd_opt(today.year() - years, today.month(), today.day().min(28))
            .expect("date");
    (anniversary + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn portal_token(t: &TestApp, tenant: &Tenant, phone: &str) -> String {
    let (st, v) = send_code(t, &tenant.slug, "sms", phone).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let c = last_code(t, tenant).await;
    let (st, v) = body(verify(t, &tenant.slug, "sms", phone, &c).await).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

async fn portal_get(t: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    body(
        t.http
            .get(t.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("portal request"),
    )
    .await
}

fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_parent_sees_a_child_in_the_portal_until_the_adolescent_age() {
    let t = spawn_app().await;
    let tenant = t.tenant("guard").await;
    let owner = t.owner_token(&tenant).await;
    // India's pack: confidentiality from 18 (the age of majority).
    let today = t.clock_now().date_naive();
    let parent_phone = "+91 98111 22233";
    let parent = person(&t, &owner, "Devi", "1982-05-05", parent_phone).await;
    // Five days short of 18 (crosses the line when the clock moves on).
    let teen = person(&t, &owner, "Priya", &born(today, 18, 5), "+91 98111 22234").await;
    // Just past 18.
    let adult = person(&t, &owner, "Kavya", &born(today, 18, -3), "+91 98111 22235").await;
    let small = person(&t, &owner, "Ravi", &born(today, 6, 0), "+91 98111 22236").await;
    // A dependent adult under the parent's legal guardianship.
    let ward = person(&t, &owner, "Mohan", "1960-01-01", "+91 98111 22237").await;
    for (kid, kind, extra) in [
        (&teen, "parent", json!({})),
        (&adult, "parent", json!({})),
        (&small, "parent", json!({})),
        (&ward, "guardian", json!({"dependent_adult": true})),
    ] {
        let mut b = json!({"kind": kind, "dependant_id": kid});
        b.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        let (st, v) = link(&t, &owner, &parent, b).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }

    let token = portal_token(&t, &tenant, parent_phone).await;
    let (st, v) = portal_get(&t, &token, "/api/v1/portal/dependants").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut seen = ids(&v);
    seen.sort();
    let mut want = vec![teen.clone(), small.clone(), ward.clone()];
    want.sort();
    assert_eq!(seen, want, "below 18 and the ward, not the 18-year-old");
    let (st, v) = portal_get(&t, &token, &format!("/api/v1/portal/dependants/{teen}")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["given_name"], "Priya");
    let (st, v) = portal_get(&t, &token, &format!("/api/v1/portal/dependants/{adult}")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    // Not a dependant at all: refused the same way.
    let (st, _) = portal_get(&t, &token, &format!("/api/v1/portal/dependants/{parent}")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Ten days on, the teenager is 18: the record closes to the parent.
    t.clock.advance(Duration::days(10));
    let token = portal_token(&t, &tenant, parent_phone).await;
    let (_, v) = portal_get(&t, &token, "/api/v1/portal/dependants").await;
    let seen = ids(&v);
    assert!(!seen.contains(&teen), "{v}");
    assert!(seen.contains(&small) && seen.contains(&ward), "{v}");
    let (st, _) = portal_get(&t, &token, &format!("/api/v1/portal/dependants/{teen}")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Every read and refusal is audited.
    assert_eq!(count(&t, &tenant, "portal.dependants.read").await, 2);
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    let denied = clinicos_store::governance::audit::count_action(&mut tx, "policy.denied")
        .await
        .expect("count");
    assert!(denied >= 3, "{denied}");
}

#[tokio::test]
async fn the_demo_has_families_and_photos() {
    let t = spawn_app().await;
    t.app.demo().seed_demo().await.expect("demo");
    let entry =
        clinicos_store::tenancy::platform::directory_by_slug(t.app.store.platform(), "demo")
            .await
            .expect("directory")
            .expect("demo tenant");
    let mut tx = t.app.store.read(entry.tenant_id).await.expect("tx");
    let (rows, _) = clinicos_store::patients::search::search(
        &mut tx,
        &clinicos_store::patients::search::PatientSearch::default(),
        100,
        0,
    )
    .await
    .expect("patients");
    let mut links = 0;
    let mut photos = 0;
    for p in &rows {
        links += clinicos_store::patients::links::dependants_of(&mut tx, p.id)
            .await
            .expect("links")
            .len();
        if clinicos_store::patients::links::photo(&mut tx, p.id)
            .await
            .expect("photo")
            .is_some()
        {
            photos += 1;
        }
    }
    assert_eq!((links, photos), (5, 2));
}

#[tokio::test]
async fn an_adolescent_consent_reopens_the_record_where_the_pack_sets_a_lower_age() {
    let t = spawn_app().await;
    // Australia's pack: the adolescent decides from 14.
    let mut n = crate::support::new_tenant("guardau", None);
    n.country = "AU".into();
    n.city = "Sydney".into();
    n.state = "NSW".into();
    n.currency = "AUD".into();
    n.time_zone = "Australia/Sydney".into();
    let e = t.app.tenancy().create_tenant(&n).await.expect("tenant");
    t.relax_mfa(e.tenant_id).await;
    let tenant = Tenant {
        slug: "guardau".into(),
        id: e.tenant_id,
        owner_email: n.owner_email.clone(),
    };
    let owner = t.owner_token(&tenant).await;
    let today = t.clock_now().date_naive();
    let parent_phone = "+61 412 555 001";
    let parent = person(&t, &owner, "Claire", "1980-04-04", parent_phone).await;
    let teen = person(&t, &owner, "Mia", &born(today, 15, 0), "+61 412 555 002").await;
    let kid = person(&t, &owner, "Noah", &born(today, 13, 5), "+61 412 555 003").await;
    let mut teen_link = String::new();
    for d in [&teen, &kid] {
        let (st, v) = link(
            &t,
            &owner,
            &parent,
            json!({"kind": "parent", "dependant_id": d}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        if d == &teen {
            teen_link = v["data"]["id"].as_str().expect("id").to_owned();
        }
    }
    let token = portal_token(&t, &tenant, parent_phone).await;
    let listed = |v: &Value| ids(v);
    let (_, v) = portal_get(&t, &token, "/api/v1/portal/dependants").await;
    assert_eq!(listed(&v), vec![kid.clone()], "15 is past AU's 14: {v}");

    // The adolescent consents (recorded by staff): the record opens.
    let consent = format!("/api/v1/patients/{teen}/links/{teen_link}/consent");
    let (st, v) = send(&t, "PUT", &consent, &owner, Some(json!({"consent": true}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(!v["data"]["adolescent_consent_at"].is_null(), "{v}");
    let (_, v) = portal_get(&t, &token, "/api/v1/portal/dependants").await;
    assert_eq!(listed(&v).len(), 2, "{v}");
    let (st, _) = portal_get(&t, &token, &format!("/api/v1/portal/dependants/{teen}")).await;
    assert_eq!(st, StatusCode::OK);
    // Withdrawn: closed again.
    let (st, _) = send(&t, "PUT", &consent, &owner, Some(json!({"consent": false}))).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = portal_get(&t, &token, &format!("/api/v1/portal/dependants/{teen}")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(count(&t, &tenant, "patient.link.consent_given").await, 1);
    assert_eq!(
        count(&t, &tenant, "patient.link.consent_withdrawn").await,
        1
    );
}
