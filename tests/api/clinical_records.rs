//! Allergies, chronic conditions and current medications end to end: CRUD,
//! the policy point (front desk refused, nurse reads but does not write,
//! restricted entries withheld, only the author edits), the audit of every
//! read and write, 422s for bad enums and dates, and no plaintext of the
//! clinical content in the database bytes.

use crate::encryption::assert_not_stored;
use crate::support::{code, spawn_app, TestApp};
use crate::trust_policy::{register, send, staff, Staff};
use reqwest::StatusCode;
use serde_json::{json, Value};

const KINDS: [&str; 3] = ["allergies", "conditions", "medications"];

/// A patient with doc1 and the nurse on the care team.
pub(crate) async fn setup(t: &TestApp, slug: &str) -> (Staff, String) {
    let tenant = t.tenant(slug).await;
    let s = staff(t, &tenant).await;
    let p = register(t, &s.desk).await;
    for who in ["doc1", "nurse"] {
        let (st, v) = send(
            t,
            "POST",
            &format!("/api/v1/patients/{p}/care-team"),
            &s.owner,
            Some(json!({"user_id": s.id(who)})),
        )
        .await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    }
    (s, p)
}

async fn post(t: &TestApp, token: &str, path: &str, b: Value) -> Value {
    let (st, v) = send(t, "POST", path, token, Some(b)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["data"].clone()
}

fn ids(v: &Value) -> Vec<String> {
    v["data"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn records_are_created_read_and_changed_within_the_policy_and_audited() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "clin").await;
    let base = format!("/api/v1/patients/{p}");

    // Front desk reads demographics but no clinical list.
    let (st, _) = send(&t, "GET", &base, &s.desk, None).await;
    assert_eq!(st, StatusCode::OK);
    for kind in KINDS {
        let (st, v) = send(&t, "GET", &format!("{base}/{kind}"), &s.desk, None).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::FORBIDDEN, "FORBIDDEN"),
            "{kind}"
        );
    }

    // The doctor on the care team records one of each, plus a restricted condition.
    let allergy = post(&t, &s.doc1, &format!("{base}/allergies"),
        json!({"substance": "Penicillin", "category": "medication", "reaction": "Hives", "severity": "severe"})).await;
    assert_eq!(allergy["status"], "active");
    assert_eq!(allergy["recorded_by"], json!(s.id("doc1")));
    let cond = post(
        &t,
        &s.doc1,
        &format!("{base}/conditions"),
        json!({"name": "Type 2 diabetes", "code": "e11.9", "onset_date": "2015-06-01"}),
    )
    .await;
    assert_eq!(cond["code"], "E11.9");
    let hidden = post(
        &t,
        &s.doc1,
        &format!("{base}/conditions"),
        json!({"name": "HIV infection", "code": "B20", "sensitivity": "hiv_sti"}),
    )
    .await;
    assert_eq!(hidden["restricted"], true);
    let med = post(&t, &s.doc1, &format!("{base}/medications"),
        json!({"name": "Metformin", "dose": "500 mg", "frequency": "twice daily", "route": "oral", "start_date": "2015-06-01"})).await;
    assert_eq!(med["status"], "active");

    // The doctor reads everything, decrypted.
    let (st, v) = send(&t, "GET", &format!("{base}/allergies"), &s.doc1, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let a = &v["data"]["entries"][0];
    assert_eq!(
        (a["substance"].as_str(), a["reaction"].as_str()),
        (Some("Penicillin"), Some("Hives"))
    );
    let (_, v) = send(&t, "GET", &format!("{base}/conditions"), &s.doc1, None).await;
    assert_eq!(
        (ids(&v).len(), v["data"]["withheld"].clone()),
        (2, json!(0))
    );

    // The nurse on the care team reads (restricted withheld) but cannot write.
    let (st, v) = send(&t, "GET", &format!("{base}/conditions"), &s.nurse, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), vec![cond["id"].as_str().expect("id").to_owned()]);
    assert_eq!(v["data"]["withheld"], 1);
    let (st, v) = send(&t, "GET", &format!("{base}/medications"), &s.nurse, None).await;
    assert_eq!(
        (st, v["data"]["entries"][0]["name"].clone()),
        (StatusCode::OK, json!("Metformin"))
    );
    let (st, _) = send(
        &t,
        "POST",
        &format!("{base}/allergies"),
        &s.nurse,
        Some(json!({"substance": "Latex", "category": "environment"})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Only the author changes an entry (doc2 is on the care team too).
    let (st, _) = send(
        &t,
        "POST",
        &format!("{base}/care-team"),
        &s.owner,
        Some(json!({"user_id": s.id("doc2")})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let aid = allergy["id"].as_str().expect("allergy id");
    let resolve = json!({"substance": "Penicillin", "category": "medication", "reaction": "Hives", "severity": "severe", "status": "resolved"});
    let (st, v) = send(
        &t,
        "PUT",
        &format!("{base}/allergies/{aid}"),
        &s.doc2,
        Some(resolve.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("author"),
        "{v}"
    );
    let (st, v) = send(
        &t,
        "PUT",
        &format!("{base}/allergies/{aid}"),
        &s.doc1,
        Some(resolve),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["status"], "resolved");
    let (st, _) = send(
        &t,
        "PUT",
        &format!("{base}/allergies/{}", cond["id"].as_str().unwrap_or("")),
        &s.doc1,
        Some(json!({"substance": "x", "category": "food"})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "an id of another kind is not an allergy"
    );

    // Conditions resolve; medications stop with a stop date.
    let cid = cond["id"].as_str().expect("condition id");
    let (st, v) = send(&t, "PUT", &format!("{base}/conditions/{cid}"), &s.doc1,
        Some(json!({"name": "Type 2 diabetes", "code": "E11.9", "status": "resolved", "onset_date": "2015-06-01", "resolved_date": "2024-01-10"}))).await;
    assert_eq!(
        (st, v["data"]["status"].clone()),
        (StatusCode::OK, json!("resolved")),
        "{v}"
    );
    let mid = med["id"].as_str().expect("medication id");
    let stop = |date: Option<&str>| json!({"name": "Metformin", "dose": "500 mg", "status": "stopped", "start_date": "2015-06-01", "stop_date": date});
    let (st, v) = send(
        &t,
        "PUT",
        &format!("{base}/medications/{mid}"),
        &s.doc1,
        Some(stop(None)),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a stop needs its date: {v}"
    );
    let (st, v) = send(
        &t,
        "PUT",
        &format!("{base}/medications/{mid}"),
        &s.doc1,
        Some(stop(Some("2014-01-01"))),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "stop before start: {v}"
    );
    let (st, v) = send(
        &t,
        "PUT",
        &format!("{base}/medications/{mid}"),
        &s.doc1,
        Some(stop(Some("2024-02-01"))),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["data"]["status"].clone(), v["data"]["stop_date"].clone()),
        (json!("stopped"), json!("2024-02-01"))
    );
    assert_eq!(
        v["data"]["frequency"],
        Value::Null,
        "an update replaces every field"
    );

    // Every read and write left an event naming the patient.
    let (_, v) = send(
        &t,
        "GET",
        &format!("/api/v1/audit/events?resource_id={p}&limit=100"),
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
    for kind in ["allergies", "conditions", "medications"] {
        assert!(
            actions.contains(&format!("patient.{kind}.read").as_str()),
            "{kind} read in {actions:?}"
        );
    }
    for one in ["allergy", "condition", "medication"] {
        for what in ["created", "updated"] {
            let want = format!("patient.{one}.{what}");
            assert!(actions.contains(&want.as_str()), "{want} in {actions:?}");
        }
    }
}

#[tokio::test]
async fn bad_enums_codes_and_dates_are_422_with_the_field_named() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "clinbad").await;
    let base = format!("/api/v1/patients/{p}");
    let cases = [
        (
            "allergies",
            json!({"substance": "Peanut", "category": "nuts"}),
            "category",
        ),
        (
            "allergies",
            json!({"substance": "Peanut", "category": "food", "severity": "fatal"}),
            "severity",
        ),
        (
            "allergies",
            json!({"substance": "Peanut", "category": "food", "status": "gone"}),
            "status",
        ),
        (
            "allergies",
            json!({"substance": " ", "category": "food"}),
            "substance",
        ),
        (
            "allergies",
            json!({"substance": "Peanut", "category": "food", "sensitivity": "secret"}),
            "sensitivity",
        ),
        (
            "conditions",
            json!({"name": "Diabetes", "code": "diabetes"}),
            "code",
        ),
        (
            "conditions",
            json!({"name": "Diabetes", "code": "E1.9"}),
            "code",
        ),
        (
            "conditions",
            json!({"name": "Asthma", "status": "stopped"}),
            "status",
        ),
        (
            "conditions",
            json!({"name": "Asthma", "onset_date": "2020-02-01", "resolved_date": "2019-01-01"}),
            "resolved_date",
        ),
        (
            "medications",
            json!({"name": "Aspirin", "start_date": "2024-13-01"}),
            "start_date",
        ),
        (
            "medications",
            json!({"name": "Aspirin", "status": "paused"}),
            "status",
        ),
        (
            "medications",
            json!({"name": "Aspirin", "start_date": "2024-03-01", "stop_date": "2024-02-01"}),
            "stop_date",
        ),
    ];
    for (kind, b, field) in cases {
        let (st, v) = send(
            &t,
            "POST",
            &format!("{base}/{kind}"),
            &s.doc1,
            Some(b.clone()),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{kind} {b}: {v}");
        let fields: Vec<&str> = v["error"]["details"]
            .as_array()
            .map(|d| d.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(fields.contains(&field), "{kind} {b}: {field} in {v}");
    }
    let (st, _) = send(
        &t,
        "POST",
        &format!("{base}/allergies"),
        &s.doc1,
        Some(json!({"substance": "Peanut", "category": "food", "colour": "red"})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );
    let (st, _) = send(
        &t,
        "POST",
        &format!("{base}/conditions"),
        &s.doc1,
        Some(json!({"name": "Fracture", "code": "S72.001A"})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::CREATED,
        "a 7-character ICD-10-CM code has the right shape"
    );
    let (_, v) = send(&t, "GET", &format!("{base}/allergies"), &s.doc1, None).await;
    assert_eq!(ids(&v).len(), 0, "nothing was written by a refused request");

    // The tier is fixed once recorded; unknown patients and entries are 404.
    let a = post(
        &t,
        &s.doc1,
        &format!("{base}/allergies"),
        json!({"substance": "Peanut", "category": "food"}),
    )
    .await;
    let aid = a["id"].as_str().expect("allergy id");
    let (st, v) = send(
        &t,
        "PUT",
        &format!("{base}/allergies/{aid}"),
        &s.doc1,
        Some(json!({"substance": "Peanut", "category": "food", "sensitivity": "genetics"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let unknown = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let (st, _) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{unknown}/medications"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = send(
        &t,
        "PUT",
        &format!("{base}/medications/{unknown}"),
        &s.doc1,
        Some(json!({"name": "Aspirin"})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn clinical_content_is_not_in_the_database_bytes() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "clinphi").await;
    let base = format!("/api/v1/patients/{p}");
    post(&t, &s.doc1, &format!("{base}/allergies"),
        json!({"substance": "Sulfamethoxazole", "category": "medication", "reaction": "Stevens-Johnson"})).await;
    post(
        &t,
        &s.doc1,
        &format!("{base}/conditions"),
        json!({"name": "Sarcoidosis", "code": "D86.9"}),
    )
    .await;
    post(
        &t,
        &s.doc1,
        &format!("{base}/medications"),
        json!({"name": "Hydroxychloroquine", "dose": "200 mg", "frequency": "Bidaily"}),
    )
    .await;
    let needles: [&[u8]; 6] = [
        b"Sulfamethoxazole",
        b"Stevens-Johnson",
        b"Sarcoidosis",
        b"D86.9",
        b"Hydroxychloroquine",
        b"Bidaily",
    ];
    assert_not_stored(
        &t.db_url,
        b"Meera",
        &[
            "allergies",
            "conditions",
            "medications",
            "audit_events",
            "outbox_messages",
        ],
        &needles,
    )
    .await;
}
