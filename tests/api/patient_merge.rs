//! Merging a duplicate patient record and undoing it: the child rows move
//! (and decrypt under the survivor), the merged id keeps resolving, undo
//! restores both records exactly, the permission and the refusals hold,
//! and every table with a patient_id is classified by the merge.

use crate::support::{body, spawn_app, TestApp};
use crate::trust_policy::{send, staff, Staff};
use clinicos_store::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn patient(t: &TestApp, token: &str, given: &str, phone: &str, ident: &str) -> String {
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(token),
            json!({"given_name": given, "family_name": "Pillai", "sex": "male",
                   "birth_date": "1975-07-09", "phone": phone, "confirm_new": true,
                   "notes": "Prefers Tamil",
                   "identifiers": [{"kind": "passport", "value": ident}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

async fn ok(t: &TestApp, method: &str, path: &str, token: &str, b: Option<Value>) -> Value {
    let (st, v) = send(t, method, path, token, b).await;
    assert!(st.is_success(), "{method} {path}: {st} {v}");
    v
}

/// Everything the API shows about a patient, as the doctor sees it.
async fn whole(t: &TestApp, s: &Staff, p: &str) -> Value {
    let mut out = serde_json::Map::new();
    for part in [
        "",
        "/history",
        "/allergies",
        "/conditions",
        "/medications",
        "/attachments",
        "/links",
        "/care-team",
    ] {
        let v = ok(
            t,
            "GET",
            &format!("/api/v1/patients/{p}{part}"),
            &s.doc1,
            None,
        )
        .await;
        out.insert(part.to_owned(), v["data"].clone());
    }
    Value::Object(out)
}

async fn download(t: &TestApp, token: &str, p: &str, a: &str) -> (StatusCode, Vec<u8>) {
    let r = t
        .http
        .get(t.url(&format!("/api/v1/patients/{p}/attachments/{a}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("download");
    (r.status(), r.bytes().await.expect("bytes").to_vec())
}

/// A survivor and a duplicate with history, an allergy, an attachment,
/// a care relationship and a child link of its own.
async fn family(t: &TestApp, s: &Staff) -> (String, String, String, String) {
    let a = patient(t, &s.desk, "Suresh", "+91 94440 10001", "M1234567").await;
    let b = patient(t, &s.desk, "Suresh K", "+91 94440 10002", "M7654321").await;
    let child = patient(t, &s.desk, "Arun", "+91 94440 10003", "N1111111").await;
    let team = |p: &str| format!("/api/v1/patients/{p}/care-team");
    let doc1 = json!({"user_id": s.id("doc1")});
    let steps = [
        (team(&a), &s.owner, doc1.clone()),
        (team(&b), &s.owner, doc1.clone()),
        (team(&child), &s.owner, doc1),
        (team(&b), &s.owner, json!({"user_id": s.id("doc2")})),
        (
            format!("/api/v1/patients/{a}/history"),
            &s.doc1,
            json!({"category": "medical", "text": "Hypertension since 2019"}),
        ),
        (
            format!("/api/v1/patients/{b}/history"),
            &s.doc1,
            json!({"category": "medical", "text": "Appendectomy 2004"}),
        ),
        (
            format!("/api/v1/patients/{b}/allergies"),
            &s.doc1,
            json!({"substance": "Sulfa drugs", "category": "medication", "reaction": "Rash", "severity": "moderate"}),
        ),
        (
            format!("/api/v1/patients/{b}/links"),
            &s.desk,
            json!({"kind": "parent", "dependant_id": child}),
        ),
    ];
    for (path, token, b) in steps {
        ok(t, "POST", &path, token, Some(b)).await;
    }
    let r = t
        .http
        .post(t.url(&format!("/api/v1/patients/{b}/attachments")))
        .bearer_auth(&s.doc1)
        .header("content-type", "application/pdf")
        .header("x-file-name", "ecg.pdf")
        .body(b"%PDF-1.4\nECG of Suresh Pillai\n%%EOF\n".to_vec())
        .send()
        .await
        .expect("upload");
    let (st, v) = body(r).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let att = v["data"]["id"].as_str().expect("id").to_owned();
    (a, b, child, att)
}

#[tokio::test]
async fn merge_then_undo_restores_both_records_exactly() {
    let t = spawn_app().await;
    let tenant = t.tenant("merge").await;
    let s = staff(&t, &tenant).await;
    let (a, b, child, att) = family(&t, &s).await;
    let before_a = whole(&t, &s, &a).await;
    let before_b = whole(&t, &s, &b).await;
    let before_child = whole(&t, &s, &child).await;

    let v = ok(&t, "POST", "/api/v1/patients/merge", &s.owner,
        Some(json!({"survivor_id": a, "merged_id": b, "reason": "same passport holder registered twice"}))).await;
    let merge = v["data"]["id"].as_str().expect("merge id").to_owned();
    let moved = &v["data"]["moved"];
    let rows = |table: &str| {
        moved
            .as_array()
            .expect("moved")
            .iter()
            .find(|m| m["table"] == table)
            .map(|m| m["rows"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    };
    for table in [
        "history_entries",
        "allergies",
        "attachments",
        "patient_identifiers",
        "patient_links",
        "care_relationships",
    ] {
        assert_eq!(rows(table), 1, "{table}: {moved}");
    }

    // The survivor has everything, decrypted under its own key.
    let after_a = whole(&t, &s, &a).await;
    assert_eq!(
        after_a["/history"]["entries"].as_array().map(Vec::len),
        Some(2),
        "{after_a}"
    );
    let allergies = after_a["/allergies"].to_string();
    assert!(allergies.contains("Sulfa drugs"), "{allergies}");
    let identifiers = after_a[""]["identifiers"].to_string();
    assert!(identifiers.contains("M7654321"), "{identifiers}");
    assert_eq!(after_a["/links"][0]["dependant_id"], child.as_str());
    let (st, bytes) = download(&t, &s.doc1, &a, &att).await;
    assert_eq!(st, StatusCode::OK);
    assert!(bytes.starts_with(b"%PDF-1.4\nECG of Suresh"));
    // doc2 was on the merged record's care team: now on the survivor's.
    let (st, _) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{a}/allergies"),
        &s.doc2,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);

    // The merged id still resolves, marked with the survivor.
    let v = ok(&t, "GET", &format!("/api/v1/patients/{b}"), &s.desk, None).await;
    assert_eq!(v["data"]["merged_into"], a.as_str());
    assert_eq!(v["data"]["may_contact"], false);
    assert!(v["data"]["identifiers"].as_array().expect("ids").is_empty());
    // The merged record takes no more writes: demographics, clinical
    // records and the care team are changed on the survivor.
    let refused = [
        (
            "PATCH",
            format!("/api/v1/patients/{b}"),
            &s.desk,
            json!({"city": "Pune"}),
        ),
        (
            "POST",
            format!("/api/v1/patients/{b}/allergies"),
            &s.doc1,
            json!({"substance": "Latex", "category": "environment"}),
        ),
        (
            "POST",
            format!("/api/v1/patients/{b}/history"),
            &s.doc1,
            json!({"category": "social", "text": "Non-smoker"}),
        ),
        (
            "POST",
            format!("/api/v1/patients/{b}/deactivate"),
            &s.desk,
            json!({}),
        ),
    ];
    for (method, path, token, body) in refused {
        let (st, v) = send(&t, method, &path, token, Some(body)).await;
        assert_eq!(st, StatusCode::CONFLICT, "{method} {path}: {v}");
        assert!(v.to_string().contains("merged into"), "{v}");
    }
    // Name search finds the survivor, not the merged record.
    let v = ok(&t, "GET", "/api/v1/patients?q=suresh", &s.desk, None).await;
    let found: Vec<&str> = v["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(found, vec![a.as_str()], "{v}");

    // Undo: both records exactly as before.
    let v = ok(
        &t,
        "POST",
        &format!("/api/v1/patients/merge/{merge}/undo"),
        &s.owner,
        None,
    )
    .await;
    assert!(!v["data"]["undone_at"].is_null(), "{v}");
    assert_eq!(whole(&t, &s, &a).await, before_a);
    assert_eq!(whole(&t, &s, &b).await, before_b);
    assert_eq!(whole(&t, &s, &child).await, before_child);
    let (st, bytes) = download(&t, &s.doc1, &b, &att).await;
    assert_eq!(st, StatusCode::OK);
    assert!(bytes.starts_with(b"%PDF-1.4\nECG of Suresh"));
    let (st, _) = download(&t, &s.doc1, &a, &att).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Undone once only.
    let (st, _) = send(
        &t,
        "POST",
        &format!("/api/v1/patients/merge/{merge}/undo"),
        &s.owner,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);

    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    for action in ["patient.merged", "patient.unmerged"] {
        let n = clinicos_store::governance::audit::count_action(&mut tx, action)
            .await
            .expect("count");
        assert_eq!(n, 1, "{action}");
    }
}

async fn post_merge(t: &TestApp, token: &str, b: Value) -> (StatusCode, Value) {
    send(t, "POST", "/api/v1/patients/merge", token, Some(b)).await
}

async fn undo(t: &TestApp, token: &str, merge: &str) -> StatusCode {
    let path = format!("/api/v1/patients/merge/{merge}/undo");
    send(t, "POST", &path, token, None).await.0
}

#[tokio::test]
async fn merge_needs_its_permission_and_refuses_what_would_be_inconsistent() {
    let t = spawn_app().await;
    let tenant = t.tenant("mergeno").await;
    let s = staff(&t, &tenant).await;
    let a = patient(&t, &s.desk, "Vijay", "+91 94440 20001", "P1000001").await;
    let b = patient(&t, &s.desk, "Vijay", "+91 94440 20002", "P1000002").await;
    let c = patient(&t, &s.desk, "Vijay", "+91 94440 20003", "P1000003").await;
    let other = t.tenant("mergeother").await;
    let other_owner = t.owner_token(&other).await;
    let stranger = patient(&t, &other_owner, "Vijay", "+91 94440 20009", "P1000009").await;
    let merge = |survivor: &str, merged: &str| json!({"survivor_id": survivor, "merged_id": merged, "reason": "duplicate"});
    let unknown = "0190a0a0-0000-7000-8000-000000000000";

    // The front desk (patients:write, not patients:merge); into itself; no
    // reason; another organisation's patient; an unknown id.
    for (token, b, want) in [
        (&s.desk, merge(&a, &b), StatusCode::FORBIDDEN),
        (&s.owner, merge(&a, &a), StatusCode::UNPROCESSABLE_ENTITY),
        (
            &s.owner,
            json!({"survivor_id": a, "merged_id": b, "reason": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (&s.owner, merge(&a, &stranger), StatusCode::NOT_FOUND),
        (&s.owner, merge(&a, unknown), StatusCode::NOT_FOUND),
    ] {
        let (st, v) = post_merge(&t, token, b.clone()).await;
        assert_eq!(st, want, "{b} {v}");
    }

    // b into a; then b again (already merged) is refused, either side.
    let (st, v) = post_merge(&t, &s.owner, merge(&a, &b)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let first = v["data"]["id"].as_str().expect("id").to_owned();
    for b in [merge(&c, &b), merge(&b, &c)] {
        assert_eq!(post_merge(&t, &s.owner, b).await.0, StatusCode::CONFLICT);
    }
    // a into c: the first merge is no longer the latest for a.
    let (st, v) = post_merge(&t, &s.owner, merge(&c, &a)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let second = v["data"]["id"].as_str().expect("id").to_owned();
    assert_eq!(undo(&t, &s.owner, &first).await, StatusCode::CONFLICT);
    assert_eq!(undo(&t, &s.desk, &second).await, StatusCode::FORBIDDEN);
    assert_eq!(undo(&t, &s.owner, &second).await, StatusCode::OK);
    assert_eq!(undo(&t, &s.owner, &first).await, StatusCode::OK);
    for p in [&a, &b, &c] {
        let v = ok(&t, "GET", &format!("/api/v1/patients/{p}"), &s.desk, None).await;
        assert!(v["data"]["merged_into"].is_null(), "{v}");
        assert_eq!(
            v["data"]["identifiers"].as_array().map(Vec::len),
            Some(1),
            "{v}"
        );
    }
    assert_eq!(
        undo(&t, &s.owner, "not-a-merge").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        undo(&t, &s.owner, &uuid::Uuid::now_v7().to_string()).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_table_with_a_patient_id_is_classified_by_the_merge() {
    let t = spawn_app().await;
    let db = clinicos_store::Db::connect(&t.db_url, 2, false)
        .await
        .expect("db");
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT m.name AS t FROM sqlite_master m, pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND c.name = 'patient_id' ORDER BY m.name",
        Backend::Postgres => "SELECT table_name::text AS t FROM information_schema.columns \
             WHERE column_name = 'patient_id' AND table_schema = current_schema() ORDER BY table_name",
    };
    let rows = sqlx::query(sql).fetch_all(db.pool()).await.expect("schema");
    let known = clinicos_app::patients::merge::classified_tables();
    let mut tables = Vec::new();
    for r in rows {
        let name: String = sqlx::Row::try_get(&r, "t").expect("name");
        assert!(
            known.contains(&name.as_str()),
            "{name} has a patient_id the merge does not handle (classify it in patient_merge.rs)"
        );
        tables.push(name);
    }
    assert!(tables.len() >= 10, "{tables:?}");
}
