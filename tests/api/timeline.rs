//! The patient timeline and the JSON record export end to end: items from
//! every source newest first, kind and date filters with 422s, restricted
//! items withheld for the nurse, front desk refused, the export's schema
//! and sections, and one audit event for each.

use crate::clinical_records::setup;
use crate::support::{spawn_app, TestApp};
use crate::trust_policy::{send, Staff};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post(t: &TestApp, token: &str, path: String, b: Value) -> String {
    t.clock.advance(chrono::Duration::seconds(2));
    let (st, v) = send(t, "POST", &path, token, Some(b)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

fn kinds(v: &Value) -> Vec<String> {
    v["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["kind"].as_str().map(str::to_owned))
        .collect()
}

async fn audit_ids(t: &TestApp, s: &Staff, p: &str, action: &str) -> Vec<Value> {
    let (_, v) = send(
        t,
        "GET",
        &format!("/api/v1/audit/events?resource_id={p}&limit=100"),
        &s.privacy,
        None,
    )
    .await;
    v["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

/// One record of each kind by doc1, a few seconds apart: history,
/// allergy, restricted condition, medication (ids in that order).
async fn seed(t: &TestApp, s: &Staff, p: &str) -> [String; 4] {
    let base = format!("/api/v1/patients/{p}");
    let bodies = [
        (
            "history",
            json!({"category": "surgical", "text": "Appendectomy 2010"}),
        ),
        (
            "allergies",
            json!({"substance": "Penicillin", "category": "medication"}),
        ),
        (
            "conditions",
            json!({"name": "HIV infection", "sensitivity": "hiv_sti"}),
        ),
        (
            "medications",
            json!({"name": "Metformin", "dose": "500 mg"}),
        ),
    ];
    let mut ids = Vec::new();
    for (kind, b) in bodies {
        ids.push(post(t, &s.doc1, format!("{base}/{kind}"), b).await);
    }
    ids.try_into().expect("four ids")
}

#[tokio::test]
async fn timeline_orders_filters_withholds_and_audits() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "timeline").await;
    let base = format!("/api/v1/patients/{p}");
    let [hist, allergy, hidden, med] = seed(&t, &s, &p).await;

    // The doctor sees every item, newest first, with short titles.
    let (st, v) = send(&t, "GET", &format!("{base}/timeline"), &s.doc1, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        kinds(&v),
        [
            "medication",
            "condition",
            "allergy",
            "history",
            "registration"
        ]
    );
    let items = &v["data"]["items"];
    assert_eq!(items[0]["id"], json!(med));
    assert_eq!(items[0]["title"], "Medication (active): Metformin");
    assert_eq!(items[1]["restricted"], true);
    assert_eq!(items[2]["title"], "Allergy (medication): Penicillin");
    assert_eq!(
        items[3]["title"], "History (surgical)",
        "no history text in titles"
    );
    assert_eq!(v["data"]["withheld"], 0);

    // The nurse: the restricted condition is withheld and counted.
    let (st, v) = send(&t, "GET", &format!("{base}/timeline"), &s.nurse, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        kinds(&v),
        ["medication", "allergy", "history", "registration"]
    );
    assert_eq!(v["data"]["withheld"], 1);
    assert!(!v.to_string().contains(&hidden));

    // Filters: kind list, date range, and 422s naming the field.
    let (_, v) = send(
        &t,
        "GET",
        &format!("{base}/timeline?kind=allergy,history"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(kinds(&v), ["allergy", "history"]);
    let today = t.clock_now().date_naive();
    let tomorrow = today.succ_opt().expect("tomorrow");
    let (_, v) = send(
        &t,
        "GET",
        &format!("{base}/timeline?from={today}&to={today}"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(kinds(&v).len(), 5, "{v}");
    let (_, v) = send(
        &t,
        "GET",
        &format!("{base}/timeline?from={tomorrow}"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(kinds(&v).len(), 0, "{v}");
    for (q, field) in [
        ("kind=visits", "kind"),
        ("from=yesterday", "from"),
        (&format!("from={tomorrow}&to={today}") as &str, "to"),
    ] {
        let (st, v) = send(&t, "GET", &format!("{base}/timeline?{q}"), &s.doc1, None).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
        assert!(
            v["error"]["details"].to_string().contains(field),
            "{q}: {v}"
        );
    }

    // Front desk: refused.
    let (st, _) = send(&t, "GET", &format!("{base}/timeline"), &s.desk, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // One event per read naming the patient and the items shown.
    let events = audit_ids(&t, &s, &p, "patient.timeline.read").await;
    assert!(!events.is_empty());
    let all = events.iter().map(Value::to_string).collect::<String>();
    for id in [&hist, &allergy, &med, &hidden] {
        assert!(all.contains(id.as_str()), "{id} in {all}");
    }
}

#[tokio::test]
async fn export_has_the_schema_and_every_section_and_is_audited() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "timeline").await;
    let base = format!("/api/v1/patients/{p}");
    let [hist, allergy, hidden, med] = seed(&t, &s, &p).await;

    let (st, v) = send(&t, "GET", &format!("{base}/export"), &s.doc1, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let d = &v["data"];
    assert_eq!(d["schema"], "clinicos-patient-record/1");
    assert_eq!(d["patient"]["id"], json!(p));
    assert_eq!(d["history"]["entries"][0]["text"], "Appendectomy 2010");
    assert_eq!(d["allergies"]["entries"][0]["substance"], "Penicillin");
    assert_eq!(d["conditions"]["entries"][0]["id"], json!(hidden));
    assert_eq!(d["medications"]["entries"][0]["name"], "Metformin");

    let (st, v) = send(&t, "GET", &format!("{base}/export"), &s.nurse, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["conditions"]["entries"], json!([]));
    assert_eq!(v["data"]["conditions"]["withheld"], 1);
    assert!(!v.to_string().contains("HIV infection"));

    let (st, _) = send(&t, "GET", &format!("{base}/export"), &s.desk, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let events = audit_ids(&t, &s, &p, "export.patient_record").await;
    assert_eq!(events.len(), 2, "doctor and nurse exports");
    let all = events.iter().map(Value::to_string).collect::<String>();
    for id in [&hist, &allergy, &hidden, &med] {
        assert!(all.contains(id.as_str()), "{id} in {all}");
    }
}

async fn get_bytes(t: &TestApp, path: &str, token: &str) -> reqwest::Response {
    t.http
        .get(t.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn pdf_export_prints_the_visible_record_and_is_audited() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "timeline").await;
    let base = format!("/api/v1/patients/{p}");
    let [hist, allergy, hidden, med] = seed(&t, &s, &p).await;

    let r = get_bytes(&t, &format!("{base}/export?format=pdf"), &s.doc1).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disposition = r.headers()["content-disposition"].to_str().expect("ascii");
    assert!(disposition.contains(&format!("patient-record-{p}.pdf")));
    let pdf = r.bytes().await.expect("body");
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    for needle in [
        "Appendectomy 2010",
        "Penicillin",
        "HIV infection",
        "Metformin 500 mg",
    ] {
        assert!(text.contains(needle), "{needle} in the doctor's PDF");
    }

    // The nurse's copy withholds the restricted condition and says so.
    let r = get_bytes(&t, &format!("{base}/export?format=pdf"), &s.nurse).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = String::from_utf8_lossy(&r.bytes().await.expect("body")).into_owned();
    assert!(!text.contains("HIV infection"));
    assert!(text.contains("Restricted entries not included for this reader: 1."));

    let r = get_bytes(&t, &format!("{base}/export?format=pdf"), &s.desk).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (st, v) = send(
        &t,
        "GET",
        &format!("{base}/export?format=docx"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("format"), "{v}");

    let events = audit_ids(&t, &s, &p, "export.patient_record_pdf").await;
    assert_eq!(events.len(), 2, "doctor and nurse PDF exports");
    let all = events.iter().map(Value::to_string).collect::<String>();
    for id in [&hist, &allergy, &hidden, &med] {
        assert!(all.contains(id.as_str()), "{id} in {all}");
    }
    assert!(
        audit_ids(&t, &s, &p, "export.patient_record")
            .await
            .is_empty(),
        "the PDF is audited under its own action"
    );
}

#[tokio::test]
async fn attachments_are_on_the_timeline_with_their_file_name() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "timeline").await;
    let base = format!("/api/v1/patients/{p}");
    seed(&t, &s, &p).await;
    t.clock.advance(chrono::Duration::seconds(2));
    let r = t
        .http
        .post(t.url(&format!("{base}/attachments")))
        .bearer_auth(&s.doc1)
        .header("content-type", "text/plain")
        .header("x-file-name", "lab-report.txt")
        .body("Hb 13.2 g/dL")
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.expect("json")["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (st, v) = send(&t, "GET", &format!("{base}/timeline"), &s.doc1, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["data"]["items"][0]["kind"], "attachment",
        "newest first: {v}"
    );
    assert_eq!(v["data"]["items"][0]["id"], json!(id));
    assert_eq!(
        v["data"]["items"][0]["title"],
        "Attachment (text/plain): lab-report.txt"
    );
    let (st, v) = send(
        &t,
        "GET",
        &format!("{base}/timeline?kind=attachment"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(kinds(&v), ["attachment"]);
}

/// Text of a PDF as poppler's `pdftotext` reads it; `None` (skipped) when
/// poppler is not installed outside CI (`.ci/run` installs it).
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("record.pdf");
    std::fs::write(&file, pdf).expect("write pdf");
    match std::process::Command::new("pdftotext")
        .arg("-raw")
        .arg(&file)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "pdftotext failed");
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("pdftotext (poppler-utils) is needed in CI: {e}")
        }
        Err(_) => None,
    }
}

#[tokio::test]
async fn pdf_export_prints_local_script_names_and_notes() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "timeline-scripts").await;
    let base = format!("/api/v1/patients/{p}");
    let (st, v) = send(
        &t,
        "PATCH",
        &base,
        &s.desk,
        Some(json!({"local_name": "राहुल शर्मा"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = send(
        &t,
        "POST",
        &format!("{base}/allergies"),
        &s.doc1,
        Some(json!({"substance": "Penicillin", "category": "medication",
                    "note": "पेनिसिलिन से एलर्जी; أعراض خفيفة"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    let r = get_bytes(&t, &format!("{base}/export?format=pdf"), &s.doc1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = r.bytes().await.expect("body");
    let raw = String::from_utf8_lossy(&pdf);
    assert!(
        raw.contains("+NotoSansDevanagari-Regular"),
        "Devanagari embedded"
    );
    assert!(raw.contains("+NotoNaskhArabic-Regular"), "Arabic embedded");
    assert!(!raw.contains("cannot print"), "the local name is printed");
    let Some(text) = pdf_text(&pdf) else {
        return;
    };
    for needle in ["राहुल शर्मा", "पेनिसिलिन से एलर्जी;", "أعراض", "خفيفة"]
    {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
}
