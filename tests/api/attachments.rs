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

pub(crate) const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Title (Haemoglobin report for Meera Iyer) >> endobj\n%%EOF\n";

pub(crate) async fn setup(t: &TestApp, slug: &str) -> (Staff, String) {
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

pub(crate) async fn upload(
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

/// An external program a test needs: true when present; when absent the
/// test fails on CI (`CI=true`) and is skipped (with a note) elsewhere.
pub(crate) fn tool_present(program: &str, args: &[&str], install: &str) -> bool {
    let found = std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} is required on CI: {install}"
        );
        eprintln!("skipped: {program} is not installed ({install})");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A child process killed when the test ends.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto's S3-compatible server on a free port, with an empty bucket.
async fn moto_with_bucket(bucket: &str) -> (Daemon, String) {
    let port = free_port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start moto_server");
    let daemon = Daemon(child);
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..150 {
        if http.get(&url).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let r = http
        .put(format!("{url}/{bucket}"))
        .send()
        .await
        .expect("create bucket");
    assert!(r.status().is_success(), "create bucket: {}", r.status());
    (daemon, url)
}

#[tokio::test]
async fn attachments_live_encrypted_in_an_s3_compatible_bucket() {
    if !tool_present(
        "moto_server",
        &["--help"],
        "python3 -m pip install 'moto[server]'",
    ) {
        return;
    }
    let (_moto, endpoint) = moto_with_bucket("clinicos-files").await;
    let s3 = clinicos_app::documents::blob_store::BlobStore::s3(
        &clinicos_app::documents::blob_store::S3Config {
            endpoint,
            bucket: "clinicos-files".into(),
            region: "us-east-1".into(),
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        },
    )
    .expect("s3 store");
    let bucket = s3.clone();
    let t = crate::support::spawn_app_with(move |app| app.files = s3).await;
    let (s, p) = setup(&t, "s3files").await;

    let (st, v) = upload(&t, &s.doc1, &p, "cbc.pdf", "application/pdf", PDF.to_vec()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let aid = v["data"]["id"].as_str().expect("id").to_owned();
    let r = t
        .http
        .get(t.url(&format!("/api/v1/patients/{p}/attachments/{aid}")))
        .bearer_auth(&s.doc1)
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), PDF);

    // The bucket holds exactly that object, as ciphertext; the local
    // files directory holds nothing.
    let objects = bucket.list_under("").await.expect("list bucket");
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert!(
        objects[0].key.ends_with(&format!("/{p}/{aid}")),
        "{objects:?}"
    );
    let stored = bucket.get(&objects[0].key).await.expect("object");
    assert!(stored.len() > PDF.len(), "sealed with nonce and tag");
    assert!(!contains(&stored, b"%PDF"), "plaintext in the bucket");
    assert!(
        !contains(&stored, b"Haemoglobin"),
        "plaintext in the bucket"
    );
    assert!(all_files(t.files_dir.path()).is_empty());
}

const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// clamd on a unix socket in a temporary directory, with one locally made
/// body signature (.ndb) matching the EICAR test string: no download.
async fn clamd() -> (Daemon, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("db");
    std::fs::create_dir(&db).expect("db dir");
    let hex: String = EICAR.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(
        db.join("local.ndb"),
        format!("Local.EICAR-Test:0:*:{hex}\n"),
    )
    .expect("sig");
    let socket = dir.path().join("clamd.sock");
    let conf = dir.path().join("clamd.conf");
    std::fs::write(
        &conf,
        format!(
            "LocalSocket {}\nForeground yes\nDatabaseDirectory {}\nLogFile {}\n",
            socket.display(),
            db.display(),
            dir.path().join("clamd.log").display()
        ),
    )
    .expect("conf");
    let child = std::process::Command::new("clamd")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start clamd");
    let daemon = Daemon(child);
    for _ in 0..300 {
        if tokio::net::UnixStream::connect(&socket).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (daemon, dir, socket)
}

#[tokio::test]
async fn clamd_refuses_eicar_passes_clean_files_and_an_outage_refuses_uploads() {
    if !tool_present("clamd", &["--version"], "apt-get install clamav-daemon") {
        return;
    }
    let (daemon, _dir, socket) = clamd().await;
    let scanner = clinicos_app::documents::clamd::ClamdScanner::new(
        clinicos_app::documents::clamd::ClamdAddress::Unix(socket),
        std::time::Duration::from_secs(20),
    );
    let t =
        crate::support::spawn_app_with(move |app| app.scanner = std::sync::Arc::new(scanner)).await;
    let (s, p) = setup(&t, "clamav").await;

    let (st, v) = upload(&t, &s.doc1, &p, "eicar.txt", "text/plain", EICAR.to_vec()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
        "{v}"
    );
    let why = v["error"]["details"][0]["message"]
        .as_str()
        .expect("message");
    assert!(
        why.contains("ClamAV") && why.contains("Local.EICAR-Test"),
        "{why}"
    );
    assert!(all_files(t.files_dir.path()).is_empty(), "nothing stored");

    // The same bytes inside a clean report are found too (body signature);
    // a clean file passes and is marked so.
    let (st, v) = upload(
        &t,
        &s.doc1,
        &p,
        "labs.csv",
        "text/csv",
        b"test,value\nHb,12.1\n".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["scan_status"], "clean");

    let (_, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/attachments"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(v["data"]["attachments"].as_array().expect("list").len(), 1);

    // clamd gone: uploads are refused (503), not stored unscanned.
    drop(daemon);
    let (st, v) = upload(&t, &s.doc1, &p, "labs2.csv", "text/csv", b"a,b\n".to_vec()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "SCANNER_UNAVAILABLE"),
        "{v}"
    );
    let (_, v) = send(
        &t,
        "GET",
        &format!("/api/v1/patients/{p}/attachments"),
        &s.doc1,
        None,
    )
    .await;
    assert_eq!(v["data"]["attachments"].as_array().expect("list").len(), 1);
}

#[tokio::test]
async fn housekeeping_sweeps_files_without_a_row_after_the_grace_period() {
    let t = spawn_app().await;
    let (s, p) = setup(&t, "orphans").await;
    let (st, v) = upload(&t, &s.doc1, &p, "cbc.pdf", "application/pdf", PDF.to_vec()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let aid = v["data"]["id"].as_str().expect("id").to_owned();
    let kept = t.app.files.list_under("").await.expect("list");
    assert_eq!(kept.len(), 1);
    let tenant = kept[0].key.split('/').next().expect("tenant").to_owned();
    // A file whose row never committed (the process died in between).
    let orphan = format!("{tenant}/{p}/{}", uuid::Uuid::now_v7());
    t.app
        .files
        .put(&orphan, b"sealed".to_vec())
        .await
        .expect("put");

    // Within the grace period nothing goes.
    let h = t.app.governance().housekeeping_once().await.expect("round");
    assert_eq!(h.orphan_files, 0);
    assert_eq!(t.app.files.list_under("").await.expect("list").len(), 2);

    t.clock.advance(chrono::Duration::minutes(
        clinicos_app::patients::attachments::ORPHAN_GRACE_MINUTES + 30,
    ));
    let h = t.app.governance().housekeeping_once().await.expect("round");
    assert_eq!(h.orphan_files, 1);
    let left = t.app.files.list_under("").await.expect("list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].key, kept[0].key);
    assert!(t.app.files.get(&orphan).await.is_err());
    // The attached file is untouched and still opens (the sign-in token
    // has expired on the advanced clock, so read it in the app).
    assert!(t.app.files.get(&kept[0].key).await.is_ok(), "{aid}");
    let again = t.app.governance().housekeeping_once().await.expect("round");
    assert_eq!(again.orphan_files, 0);
}
