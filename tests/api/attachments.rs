//! Patient attachments end to end: upload, list and download round trip;
//! content sniffing (a PDF renamed .png is refused), the size limit, the
//! policy point (front desk refused), the audit of every read and write,
//! and no plaintext of the file or its name in the files directory or the
//! database.

use crate::encryption::assert_not_stored;
use crate::support::{body, code, spawn_app, TestApp};
use crate::trust_policy::{register, send, staff, Staff};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Title (Haemoglobin report for Meera Iyer) >> endobj\n%%EOF\n";

async fn setup(t: &TestApp, slug: &str) -> (Staff, String) {
    let tenant = t.tenant(slug).await;
    let s = staff(t, &tenant).await;
    let p = register(t, &s.desk).await;
    let (st, v) = send(
        t,
        "POST",
        &format!("/api/v1/patients/{p}/care-team"),
        &s.owner,
        Some(json!({"user_id": s.id("doc1")})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    (s, p)
}

async fn upload(
    t: &TestApp,
    token: &str,
    p: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let r = t
        .http
        .post(t.url(&format!("/api/v1/patients/{p}/attachments")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .header("x-file-name", name)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    body(r).await
}

fn all_files(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.extend(std::fs::read(&path).expect("read file"));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn files_round_trip_encrypted_within_the_policy_and_audited() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "attach").await;

    let (st, v) = upload(
        &t,
        &s.doc1,
        &p,
        "Meera%20CBC.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let a = v["data"].clone();
    assert_eq!(a["file_name"], "Meera CBC.pdf");
    assert_eq!(a["content_type"], "application/pdf");
    assert_eq!(a["size_bytes"], json!(PDF.len()));
    assert_eq!(a["scan_status"], "not_scanned");
    assert_eq!(a["uploaded_by"], json!(s.id("doc1")));
    let aid = a["id"].as_str().expect("id").to_owned();

    let (st, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/attachments"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["attachments"][0]["id"], json!(aid));
    assert_eq!(v["data"]["withheld"], 0);

    let r = t
        .http
        .get(t.url(&format!("/api/v1/patients/{p}/attachments/{aid}")))
        .bearer_auth(&s.doc1)
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disp = r.headers()["content-disposition"].to_str().expect("ascii");
    assert!(disp.starts_with("attachment;"), "{disp}");
    assert!(disp.contains("Meera%20CBC.pdf"), "{disp}");
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), PDF);

    // Front desk may neither upload, list nor download.
    let (st, v) = upload(&t, &s.desk, &p, "x.pdf", "application/pdf", PDF.to_vec()).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    for path in [
        format!("/api/v1/patients/{p}/attachments"),
        format!("/api/v1/patients/{p}/attachments/{aid}"),
    ] {
        let (st, v) = send(&t, "GET", &path, &s.desk, None).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::FORBIDDEN, "FORBIDDEN"),
            "{path}"
        );
    }

    // Unknown attachment: 404.
    let missing = uuid::Uuid::now_v7();
    let (st, _) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/attachments/{missing}"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

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
    for want in [
        "patient.attachment.created",
        "patient.attachments.read",
        "patient.attachment.downloaded",
    ] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }

    // Neither the content nor the name is stored in the clear.
    let files = all_files(t.files_dir.path());
    assert!(files.len() > PDF.len(), "the encrypted file is on disk");
    assert!(
        !contains(&files, b"Haemoglobin report"),
        "plaintext in the files directory"
    );
    assert!(
        !contains(&files, b"%PDF"),
        "plaintext in the files directory"
    );
    assert_not_stored(&t.db_url, b"attachments", &["attachments"], &[b"Meera CBC"]).await;
}

#[tokio::test]
async fn content_must_match_the_declared_type_and_size_limit() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "sniff").await;

    // A PDF renamed .png (declared as PNG, or declared as PDF).
    let (st, v) = upload(&t, &s.doc1, &p, "scan.png", "image/png", PDF.to_vec()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = upload(&t, &s.doc1, &p, "scan.png", "application/pdf", PDF.to_vec()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // An unsupported type, binary junk, a name with a path.
    let (st, _) = upload(
        &t,
        &s.doc1,
        &p,
        "a.zip",
        "application/zip",
        b"PK\x03\x04".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = upload(&t, &s.doc1, &p, "a.txt", "text/plain", vec![0xFF, 0xFE, 0]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = upload(
        &t,
        &s.doc1,
        &p,
        "..%2Fa.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Oversize: past the 20 MiB attachment limit (and the 3 MiB global one).
    let mut big = PDF.to_vec();
    big.resize(20 * 1024 * 1024 + 1, b' ');
    let (st, v) = upload(&t, &s.doc1, &p, "big.pdf", "application/pdf", big).await;
    assert!(
        st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::PAYLOAD_TOO_LARGE,
        "{st} {v}"
    );
    // Within it, beyond the global upload limit: accepted.
    let mut large = PDF.to_vec();
    large.resize(5 * 1024 * 1024, b' ');
    let (st, v) = upload(&t, &s.doc1, &p, "large.pdf", "application/pdf", large).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    // CSV, text, PNG, JPEG and DICOM are accepted by content.
    let mut dicom = vec![0u8; 128];
    dicom.extend_from_slice(b"DICM\x02\x00\x00\x00");
    for (name, ty, bytes) in [
        ("labs.csv", "text/csv", b"test,value\nHb,12.1\n".to_vec()),
        (
            "note.txt",
            "text/plain; charset=utf-8",
            "नमस्ते".as_bytes().to_vec(),
        ),
        ("x.png", "image/png", b"\x89PNG\r\n\x1a\n0000".to_vec()),
        ("x.jpg", "image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
        ("ct.dcm", "application/dicom", dicom),
    ] {
        let (st, v) = upload(&t, &s.doc1, &p, name, ty, bytes).await;
        assert_eq!(st, StatusCode::CREATED, "{name}: {v}");
    }
    let (_, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/attachments"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(v["data"]["attachments"].as_array().expect("list").len(), 6);
}
