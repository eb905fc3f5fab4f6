//! Ids in paths and headers are read one way on every route: a UUID in
//! either case names the row (stored in lower case); anything else is 400
//! `INVALID_ID` naming the parameter, never echoing it; a well-formed id
//! that names nothing in the tenant is 404.

use crate::attachments::{setup, PDF};
use crate::support::{body, code, page, spawn_app};
use crate::trust_policy::{register, send, staff};
use reqwest::StatusCode;
use serde_json::Value;

/// Check an `INVALID_ID` answer; the parameter it names.
fn refused(st: StatusCode, v: &Value) -> &str {
    assert_eq!(
        (st, code(v)),
        (StatusCode::BAD_REQUEST, "INVALID_ID"),
        "{v}"
    );
    v["error"]["details"][0]["field"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_malformed_patient_id_is_400_naming_the_parameter() {
    let t = spawn_app().await;
    let tenant = t.tenant("idsbad").await;
    let s = staff(&t, &tenant).await;
    for path in [
        "/api/v1/patients/abc",
        "/api/v1/patients/abc/history",
        "/api/v1/patients/0190a0a0-0000-7000-8000-00000000000/allergies",
    ] {
        let (st, v) = send(&t, "GET", path, &s.desk, None).await;
        assert_eq!(refused(st, &v), "id", "{path}");
        assert!(
            !v.to_string().contains("abc"),
            "the value is not echoed: {v}"
        );
    }
    // The second id of a path is named too.
    let p = register(&t, &s.desk).await;
    let (st, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/attachments/not-a-file"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(refused(st, &v), "attachment");
}

#[tokio::test]
async fn an_upper_case_patient_id_names_the_same_patient() {
    let t = spawn_app().await;
    let tenant = t.tenant("idscase").await;
    let s = staff(&t, &tenant).await;
    let p = register(&t, &s.desk).await;
    let upper = p.to_uppercase();
    assert_ne!(upper, p);
    let (st, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{upper}"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["id"], p.as_str(), "answered in the stored form");
    // A change through the upper-case id lands on the same row.
    let r = t
        .patch(
            &format!("/api/v1/patients/{upper}"),
            &s.desk,
            serde_json::json!({"city": "Madurai"}),
        )
        .await;
    let (st, v) = body(r).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, v) = send(&t, "GET", &format!("/api/v1/patients/{p}"), &s.desk, None).await;
    assert_eq!(v["data"]["city"], "Madurai", "{v}");
}

#[tokio::test]
async fn a_well_formed_unknown_id_is_404() {
    let t = spawn_app().await;
    let tenant = t.tenant("idsnone").await;
    let s = staff(&t, &tenant).await;
    let unknown = uuid::Uuid::now_v7();
    let (st, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{unknown}"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{v}");
    // Another tenant's patient is unknown here.
    let other = t.tenant("idsother").await;
    let o = staff(&t, &other).await;
    let theirs = register(&t, &o.desk).await;
    let (st, _) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{theirs}"),
        &s.desk,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_malformed_staff_id_is_400_with_the_same_code() {
    let t = spawn_app().await;
    let tenant = t.tenant("idsstaff").await;
    let owner = t.owner_token(&tenant).await;
    let (st, v) = body(t.get("/api/v1/staff/abc", Some(&owner)).await).await;
    assert_eq!(refused(st, &v), "id");
    let (st, v) = body(t.get("/api/v1/staff/abc/sessions", Some(&owner)).await).await;
    refused(st, &v);
}

#[tokio::test]
async fn a_malformed_visit_id_header_is_400() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "idsvisit").await;
    let upload = |visit: &'static str| {
        let t = &t;
        let (token, p) = (s.doc1.clone(), p.clone());
        async move {
            let r = t
                .http
                .post(t.url(&format!("/api/v1/patients/{p}/attachments")))
                .bearer_auth(token)
                .header("content-type", "application/pdf")
                .header("x-file-name", "cbc.pdf")
                .header("x-visit-id", visit)
                .body(PDF.to_vec())
                .send()
                .await
                .expect("upload");
            body(r).await
        }
    };
    let (st, v) = upload("visit-7").await;
    assert_eq!(refused(st, &v), "X-Visit-Id");
    assert!(!v.to_string().contains("visit-7"), "{v}");
    // A visit id in upper case is stored in the one form.
    let (st, v) = upload("0190A0A0-0000-7000-8000-0000000000AB").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["data"]["visit_id"],
        "0190a0a0-0000-7000-8000-0000000000ab"
    );
}

#[tokio::test]
async fn pages_answer_a_malformed_id_with_their_error_page() {
    let t = spawn_app().await;
    let tenant = t.tenant("idspage").await;
    let _ = staff(&t, &tenant).await;
    let cookie = t
        .page_sign_in("idspage", &format!("desk@{}.example", tenant.slug))
        .await;
    let r = page(&t, "/patients/abc", &cookie).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.expect("page");
    assert!(html.contains("<html"), "an error page, not JSON");
    let r = page(&t, &format!("/patients/{}", uuid::Uuid::now_v7()), &cookie).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
