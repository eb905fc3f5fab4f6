//! The demo clinic's clinical data, read back through the API as the demo
//! doctor: allergies (the banner's life-threatening one), conditions,
//! medications and attachments are there, and seeding twice adds nothing.

use crate::support::{body, spawn_app, TestApp};
use clinicos_app::demo::organisation::DEMO_PASSWORD;
use reqwest::StatusCode;
use serde_json::Value;

async fn get(t: &TestApp, token: &str, path: &str) -> Value {
    let (s, v) = body(t.get(path, Some(token)).await).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v
}

async fn patient_id(t: &TestApp, token: &str, q: &str) -> String {
    let v = get(t, token, &format!("/api/v1/patients?q={q}")).await;
    v["data"][0]["id"].as_str().expect("a patient").to_owned()
}

#[tokio::test]
async fn demo_patients_have_records_and_files_once() {
    let t = spawn_app().await;
    t.app.demo().seed_demo().await.expect("seed");
    t.app.demo().seed_demo().await.expect("seed again");
    let (doc, _) = t
        .login("demo", "doctor@demo.clinicos.example", DEMO_PASSWORD)
        .await;
    let lakshmi = patient_id(&t, &doc, "lakshmi%20sharma").await;
    let base = format!("/api/v1/patients/{lakshmi}");
    let v = get(&t, &doc, &format!("{base}/allergies")).await;
    let entries = v["data"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "seeded once: {v}");
    assert_eq!(entries[0]["substance"], "Penicillin");
    let v = get(&t, &doc, &format!("{base}/conditions")).await;
    assert_eq!(v["data"]["entries"][0]["code"], "E11.9");
    let v = get(&t, &doc, &format!("{base}/medications")).await;
    assert_eq!(v["data"]["entries"][0]["name"], "Metformin");
    let v = get(&t, &doc, &format!("{base}/attachments")).await;
    let files = v["data"]["attachments"].as_array().expect("files");
    assert_eq!(files.len(), 2, "{v}");
    let pdf = files
        .iter()
        .find(|f| f["content_type"] == "application/pdf")
        .expect("the lab report");
    let r = t
        .get(
            &format!("{base}/attachments/{}", pdf["id"].as_str().expect("id")),
            Some(&doc),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.expect("bytes").starts_with(b"%PDF-"));

    // Found by the name in Devanagari too, and printed in it.
    let v = get(&t, &doc, &format!("/api/v1/patients?q={}", "लक्ष्मी")).await;
    assert_eq!(v["data"][0]["id"], lakshmi.as_str(), "{v}");
    let r = t
        .get(&format!("{base}/export?format=pdf"), Some(&doc))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let record = r.bytes().await.expect("bytes");
    let record = String::from_utf8_lossy(&record);
    assert!(record.contains("+NotoSansDevanagari-Regular"));
    assert!(!record.contains("cannot print"));
    let mohammed = patient_id(&t, &doc, "mohammed").await;
    let v = get(&t, &doc, &format!("/api/v1/patients/{mohammed}")).await;
    assert_eq!(v["data"]["local_name"], "محمد صدیقی");
    assert!(
        clinicos_pdf::printable("محمد صدیقی"),
        "Urdu letters have a face"
    );

    let rohan = patient_id(&t, &doc, "rohan%20sharma").await;
    let v = get(&t, &doc, &format!("/api/v1/patients/{rohan}/allergies")).await;
    assert_eq!(v["data"]["entries"][0]["severity"], "life-threatening");
}
