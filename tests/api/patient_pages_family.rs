//! The chart's photo, family and merge forms in the browser's terms
//! (session cookie, CSRF-protected forms): the photo shows in the header
//! and is served through the audited page route; family links are added,
//! consented to and removed; a duplicate is merged after a confirm step and
//! the merge undone. The front desk gets no merge form and is refused;
//! posts without the token are refused; another tenant's records are not
//! found.

use crate::patient_pages::{location, text, upload_field, PNG};
use crate::support::{body, form, page, spawn_app, TestApp, CSRF};
use clinicos_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

/// Register a patient through the API; returns the id.
async fn patient(t: &TestApp, token: &str, given: &str, family: &str, born: &str) -> String {
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(token),
            json!({"given_name": given, "family_name": family, "sex": "female",
                   "birth_date": born, "city": "Chennai", "confirm_new": true}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

async fn chart(t: &TestApp, id: &str, cookie: &str) -> String {
    let (s, html) = text(page(t, &format!("/patients/{id}"), cookie).await).await;
    assert_eq!(s, StatusCode::OK);
    html
}

/// The flash cookie of a redirect says an error was shown.
fn refused(r: &reqwest::Response) -> bool {
    r.status() == StatusCode::SEE_OTHER
        && r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap_or("").starts_with("clinicos_flash=e:"))
}

/// An audit event with `action` names the patient.
async fn audit_has(t: &TestApp, owner: &str, patient: &str, action: &str) -> bool {
    let (_, v) = body(
        t.get(
            &format!("/api/v1/audit/events?resource_id={patient}&limit=100"),
            Some(owner),
        )
        .await,
    )
    .await;
    v["data"]
        .as_array()
        .is_some_and(|a| a.iter().any(|e| e["action"] == action))
}

#[tokio::test]
async fn photo_family_and_merge_from_the_chart() {
    let t = spawn_app().await;
    let tenant = t.tenant("pfm").await;
    let owner = t.owner_token(&tenant).await;
    let own = t.page_sign_in("pfm", "owner@pfm.example").await;
    let mother = patient(&t, &owner, "Lakshmi", "Nair", "1985-02-01").await;
    let child = patient(&t, &owner, "Anu", "Nair", "2015-06-10").await;
    let dup = patient(&t, &owner, "Laxmi", "Nair", "1985-02-01").await;

    // Photo: initials first; an upload shows it, served by the page route.
    let html = chart(&t, &mother, &own).await;
    assert!(html.contains("class=\"initials\"") && html.contains("id=\"photo-form\""));
    let photo_path = format!("/patients/{mother}/photo");
    let r = upload_field(
        &t,
        &photo_path,
        &own,
        "photo",
        ("me.png", "image/png", PNG),
        true,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!refused(&r), "photo accepted");
    let html = chart(&t, &mother, &own).await;
    assert!(html.contains(&format!("class=\"avatar\" src=\"{photo_path}\"")));
    let r = page(&t, &photo_path, &own).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert_eq!(r.bytes().await.map(|b| b.to_vec()).ok(), Some(PNG.to_vec()));
    assert!(audit_has(&t, &owner, &mother, "patient.photo.read").await);
    // A photo near the 5 MiB limit goes through the form too (above the
    // server's default upload size).
    let mut large = PNG.to_vec();
    large.resize(5 * 1024 * 1024 - 1024, 0);
    let r = upload_field(
        &t,
        &photo_path,
        &own,
        "photo",
        ("large.png", "image/png", &large),
        true,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!refused(&r), "a 5 MiB photo is accepted");
    let r = upload_field(
        &t,
        &photo_path,
        &own,
        "photo",
        ("me.png", "image/png", PNG),
        true,
    )
    .await;
    assert!(!refused(&r), "back to the small photo");
    // A PDF renamed .png is refused with a notice; the photo stays.
    let r = upload_field(
        &t,
        &photo_path,
        &own,
        "photo",
        ("x.png", "image/png", b"%PDF-1.4\n"),
        true,
    )
    .await;
    assert!(refused(&r));
    assert_eq!(page(&t, &photo_path, &own).await.status(), StatusCode::OK);
    let r = form(&t, &format!("{photo_path}/remove"), &own, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(chart(&t, &mother, &own)
        .await
        .contains("class=\"initials\""));
    assert_eq!(
        page(&t, &photo_path, &own).await.status(),
        StatusCode::NOT_FOUND
    );

    // Family: the mother is the child's parent (the child picked by a
    // pasted chart address); both charts show it, linked to each other.
    let links = format!("/patients/{mother}/links");
    let child_chart = format!("/patients/{child}");
    let r = form(
        &t,
        &links,
        &own,
        &[
            ("side", "responsible"),
            ("kind", "parent"),
            ("other", &child_chart),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!refused(&r));
    let html = chart(&t, &mother, &own).await;
    assert!(html.contains("Parent of") && html.contains(&format!("href=\"{child_chart}\"")));
    let html = chart(&t, &child, &own).await;
    assert!(html.contains("Child of") && html.contains(&format!("href=\"/patients/{mother}\"")));
    // The same link again, or a link to herself, is refused with a notice.
    let again = form(
        &t,
        &links,
        &own,
        &[
            ("side", "responsible"),
            ("kind", "parent"),
            ("other", &child),
        ],
    )
    .await;
    assert!(refused(&again));
    let own_link = form(
        &t,
        &links,
        &own,
        &[
            ("side", "dependant"),
            ("kind", "guardian"),
            ("other", &mother),
        ],
    )
    .await;
    assert!(refused(&own_link));
    let (_, v) = body(
        t.get(&format!("/api/v1/patients/{mother}/links"), Some(&owner))
            .await,
    )
    .await;
    let list = v["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{v}");
    let link = list[0]["id"].as_str().expect("link id").to_owned();
    // Consent recorded and withdrawn from the child's chart.
    let consent = format!("/patients/{child}/links/{link}/consent");
    assert_eq!(
        form(&t, &consent, &own, &[("consent", "yes")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert!(chart(&t, &child, &own)
        .await
        .contains("Adolescent consent recorded"));
    assert_eq!(
        form(&t, &consent, &own, &[("consent", "no")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert!(!chart(&t, &child, &own)
        .await
        .contains("Adolescent consent recorded"));
    let r = form(
        &t,
        &format!("/patients/{mother}/links/{link}/remove"),
        &own,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!chart(&t, &mother, &own).await.contains("Parent of"));

    // Merge: the first post shows both records to confirm, merging nothing.
    let merge = format!("/patients/{mother}/merge");
    let html = chart(&t, &mother, &own).await;
    assert!(html.contains(&format!("action=\"{merge}\"")));
    let (s, html) = text(
        form(
            &t,
            &merge,
            &own,
            &[("duplicate", &dup), ("reason", "Same person, spelling")],
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Lakshmi Nair") && html.contains("Laxmi Nair"));
    assert!(html.contains("name=\"confirm\" value=\"yes\""));
    assert!(!chart(&t, &dup, &own).await.contains("id=\"merged-banner\""));
    // Without a reason nothing happens.
    assert!(refused(
        &form(
            &t,
            &merge,
            &own,
            &[("duplicate", &dup), ("reason", " "), ("confirm", "yes")]
        )
        .await
    ));
    let r = form(
        &t,
        &merge,
        &own,
        &[
            ("duplicate", &dup),
            ("reason", "Same person, spelling"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!refused(&r), "{}", location(&r));
    // The duplicate's chart names the survivor and offers the undo.
    let html = chart(&t, &dup, &own).await;
    assert!(
        html.contains("id=\"merged-banner\"")
            && html.contains(&format!("href=\"/patients/{mother}\""))
    );
    assert!(
        !html.contains(&format!("action=\"/patients/{dup}/merge\"")),
        "no merge form on a merged record"
    );
    assert!(
        !html.contains("id=\"photo-form\"") && !html.contains("id=\"family-add\""),
        "a merged record offers no edits"
    );
    let start = html
        .find(&format!("/patients/{dup}/merges/"))
        .expect("undo form");
    let undo: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let html = chart(&t, &mother, &own).await;
    assert!(html.contains("id=\"merged-records\"") && html.contains("Laxmi Nair"));
    assert!(audit_has(&t, &owner, &dup, "patient.merged").await);
    let r = form(&t, &undo, &own, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!refused(&r));
    assert!(!chart(&t, &dup, &own).await.contains("id=\"merged-banner\""));
    assert!(!chart(&t, &mother, &own)
        .await
        .contains("id=\"merged-records\""));
    assert!(audit_has(&t, &owner, &dup, "patient.unmerged").await);
    // Undoing again is refused with a notice.
    assert!(refused(&form(&t, &undo, &own, &[]).await));
}

#[tokio::test]
async fn the_front_desk_edits_photo_and_family_but_cannot_merge() {
    let t = spawn_app().await;
    let tenant = t.tenant("pfd").await;
    t.add_user(&tenant, "desk@pfd.example", Role::FrontDesk)
        .await;
    let owner = t.owner_token(&tenant).await;
    let a = patient(&t, &owner, "Rosa", "Santos", "1990-01-01").await;
    let b = patient(&t, &owner, "Rosa", "Santo", "1990-01-01").await;
    let desk = t.page_sign_in("pfd", "desk@pfd.example").await;
    let html = chart(&t, &a, &desk).await;
    assert!(html.contains("id=\"family\"") && html.contains("id=\"photo-form\""));
    assert!(
        !html.contains("/merge\""),
        "no merge form for the front desk"
    );
    let r = upload_field(
        &t,
        &format!("/patients/{a}/photo"),
        &desk,
        "photo",
        ("r.png", "image/png", PNG),
        true,
    )
    .await;
    assert!(r.status() == StatusCode::SEE_OTHER && !refused(&r));
    let r = form(
        &t,
        &format!("/patients/{a}/merge"),
        &desk,
        &[("duplicate", &b), ("reason", "dup"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = form(&t, &format!("/patients/{a}/merges/{a}/undo"), &desk, &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!chart(&t, &b, &desk).await.contains("id=\"merged-banner\""));
}

#[tokio::test]
async fn chart_forms_need_the_csrf_token() {
    let t = spawn_app().await;
    let tenant = t.tenant("pfc").await;
    let owner = t.owner_token(&tenant).await;
    let a = patient(&t, &owner, "Omar", "Haddad", "1970-05-05").await;
    let b = patient(&t, &owner, "Omar", "Hadad", "1970-05-05").await;
    let own = t.page_sign_in("pfc", "owner@pfc.example").await;
    for path in [
        format!("/patients/{a}/links"),
        format!("/patients/{a}/merge"),
        format!("/patients/{a}/photo/remove"),
        format!("/patients/{a}/merges/{a}/undo"),
    ] {
        let r = t
            .http
            .post(t.url(&path))
            .header("cookie", format!("clinicos_csrf={CSRF}; {own}"))
            .form(&[
                ("side", "responsible"),
                ("kind", "parent"),
                ("other", b.as_str()),
                ("duplicate", b.as_str()),
                ("reason", "x"),
                ("confirm", "yes"),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = upload_field(
        &t,
        &format!("/patients/{a}/photo"),
        &own,
        "photo",
        ("p.png", "image/png", PNG),
        false,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = chart(&t, &a, &own).await;
    assert!(html.contains("class=\"initials\"") && !html.contains("Parent of"));
    assert!(!chart(&t, &b, &own).await.contains("id=\"merged-banner\""));
}

#[tokio::test]
async fn another_tenants_records_are_not_found_from_the_chart_forms() {
    let t = spawn_app().await;
    let ta = t.tenant("pfa").await;
    let tb = t.tenant("pfb").await;
    let owner_a = t.owner_token(&ta).await;
    let owner_b = t.owner_token(&tb).await;
    let a = patient(&t, &owner_a, "Chen", "Wei", "1980-08-08").await;
    let a2 = patient(&t, &owner_a, "Chen", "Wei", "1980-08-08").await;
    let b = patient(&t, &owner_b, "Ana", "Reyes", "1992-03-03").await;
    let own_b = t.page_sign_in("pfb", "owner@pfb.example").await;
    assert_eq!(
        page(&t, &format!("/patients/{a}/photo"), &own_b)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let r = upload_field(
        &t,
        &format!("/patients/{a}/photo"),
        &own_b,
        "photo",
        ("p.png", "image/png", PNG),
        true,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for (path, fields) in [
        (
            format!("/patients/{a}/links"),
            vec![
                ("side", "responsible"),
                ("kind", "parent"),
                ("other", b.as_str()),
            ],
        ),
        (
            format!("/patients/{b}/links"),
            vec![
                ("side", "responsible"),
                ("kind", "parent"),
                ("other", a.as_str()),
            ],
        ),
        (
            format!("/patients/{a}/merge"),
            vec![("duplicate", a2.as_str()), ("reason", "x")],
        ),
        (
            format!("/patients/{b}/merge"),
            vec![
                ("duplicate", a.as_str()),
                ("reason", "x"),
                ("confirm", "yes"),
            ],
        ),
        (format!("/patients/{a}/merges/{a}/undo"), vec![]),
    ] {
        let r = form(&t, &path, &own_b, &fields).await;
        assert!(
            r.status() == StatusCode::NOT_FOUND || refused(&r),
            "{path}: {}",
            r.status()
        );
    }
    // Nothing linked or merged on either side.
    let (_, v) = body(
        t.get(&format!("/api/v1/patients/{b}/links"), Some(&owner_b))
            .await,
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0));
    let (_, v) = body(
        t.get(&format!("/api/v1/patients/{a}"), Some(&owner_a))
            .await,
    )
    .await;
    assert!(v["data"]["merged_into"].is_null(), "{v}");
}

#[tokio::test]
async fn a_share_link_is_created_shown_once_used_and_revoked_from_the_chart() {
    let t = spawn_app().await;
    let tenant = t.tenant("pfs").await;
    t.add_user(&tenant, "desk@pfs.example", Role::FrontDesk)
        .await;
    let owner = t.owner_token(&tenant).await;
    let own = t.page_sign_in("pfs", "owner@pfs.example").await;
    let p = patient(&t, &owner, "Grace", "Okafor", "1979-09-09").await;
    let r = form(&t, &format!("/patients/{p}/care-team"), &own, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let files = format!("/patients/{p}/attachments");
    let r = upload_field(
        &t,
        &files,
        &own,
        "file",
        ("scan.png", "image/png", PNG),
        true,
    )
    .await;
    assert!(r.status() == StatusCode::SEE_OTHER && !refused(&r));
    let (_, v) = body(
        t.get(&format!("/api/v1/{}", &files[1..]), Some(&owner))
            .await,
    )
    .await;
    let file = v["data"]["attachments"][0]["id"]
        .as_str()
        .expect("attachment id")
        .to_owned();
    let share = format!("{files}/{file}/share-links");
    assert!(chart(&t, &p, &own)
        .await
        .contains(&format!("action=\"{share}\"")));

    // Bad expiries are refused with a notice, nothing created.
    for hours in ["abc", "0", "10000"] {
        assert!(
            refused(&form(&t, &share, &own, &[("hours", hours)]).await),
            "{hours}"
        );
    }
    // The front desk and a post without the token are refused.
    let desk = t.page_sign_in("pfs", "desk@pfs.example").await;
    assert_eq!(
        form(&t, &share, &desk, &[("hours", "24")]).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = t
        .http
        .post(t.url(&share))
        .header("cookie", format!("clinicos_csrf={CSRF}; {own}"))
        .form(&[("hours", "24")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!chart(&t, &p, &own).await.contains("Revoke link"));

    // Created: the URL is on its own page, once.
    let (s, html) = text(form(&t, &share, &own, &[("hours", "24")]).await).await;
    assert_eq!(s, StatusCode::OK);
    let start = html.find("/api/v1/shared/").expect("share url");
    let path: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let html = chart(&t, &p, &own).await;
    assert!(
        html.contains("Revoke link") && !html.contains(&path),
        "token not shown again"
    );
    // Anyone with the link gets the file, without a session.
    let r = t.http.get(t.url(&path)).send().await.expect("use");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.map(|b| b.to_vec()).ok(), Some(PNG.to_vec()));
    // Revoked: the link stops working and leaves the chart.
    let (_, v) = body(
        t.get(&format!("/api/v1/patients/{p}/share-links"), Some(&owner))
            .await,
    )
    .await;
    let link = v["data"][0]["id"].as_str().expect("link id").to_owned();
    let r = form(
        &t,
        &format!("/patients/{p}/share-links/{link}/revoke"),
        &own,
        &[],
    )
    .await;
    assert!(r.status() == StatusCode::SEE_OTHER && !refused(&r));
    assert_eq!(
        t.http.get(t.url(&path)).send().await.expect("use").status(),
        StatusCode::GONE
    );
    assert!(!chart(&t, &p, &own).await.contains("Revoke link"));
}

#[tokio::test]
async fn only_the_newest_merge_of_a_record_offers_undo() {
    let t = spawn_app().await;
    let tenant = t.tenant("pfu").await;
    let owner = t.owner_token(&tenant).await;
    let own = t.page_sign_in("pfu", "owner@pfu.example").await;
    let a = patient(&t, &owner, "Joy", "Mathew", "1960-01-01").await;
    let dup = patient(&t, &owner, "Joy", "Mathews", "1960-01-01").await;
    let b = patient(&t, &owner, "Joyce", "Mathew", "1960-01-01").await;
    for (survivor, merged) in [(&a, &dup), (&b, &a)] {
        let r = form(
            &t,
            &format!("/patients/{survivor}/merge"),
            &own,
            &[
                ("duplicate", merged),
                ("reason", "same person"),
                ("confirm", "yes"),
            ],
        )
        .await;
        assert!(r.status() == StatusCode::SEE_OTHER && !refused(&r));
    }
    // The first merge is older than a merge of its survivor: no undo offered.
    let html = chart(&t, &dup, &own).await;
    assert!(
        html.contains("id=\"merged-banner\"") && html.contains(&format!("href=\"/patients/{a}\""))
    );
    assert!(!html.contains("/undo\""), "older merge offers no undo");
    // The record merged last names its survivor and offers the undo.
    let html = chart(&t, &a, &own).await;
    assert!(
        html.contains("id=\"merged-banner\"") && html.contains(&format!("href=\"/patients/{b}\""))
    );
    assert_eq!(
        html.matches(&format!("action=\"/patients/{a}/merges/"))
            .count(),
        1,
        "one undo: the newest merge's"
    );
    assert!(html.contains("id=\"merged-records\"") && html.contains("Joy Mathews"));
}
