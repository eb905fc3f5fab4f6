//! The patient pages in the browser's terms (session cookie, CSRF-protected
//! forms): a doctor registers (with the duplicate warning), finds the
//! patient through the search fragment, joins the care team, records an
//! allergy, uploads a file and exports the record; the front desk sees
//! demographics only; posts without the CSRF token are refused; another
//! tenant's patient is not found.

use crate::support::{body, form, page, spawn_app, TestApp, CSRF};
use crate::trust_policy::register;
use clinicos_domain::Role;
use reqwest::StatusCode;

/// A 1x1 PNG.
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

pub(crate) async fn text(r: reqwest::Response) -> (StatusCode, String) {
    let s = r.status();
    (s, r.text().await.unwrap_or_default())
}

pub(crate) fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// POST a multipart form with one file field named `file` (and the CSRF
/// token in the action URL, as the page's form does when `with_token`).
async fn upload(
    t: &TestApp,
    path: &str,
    cookie: &str,
    name: &str,
    mime: &str,
    bytes: &[u8],
    with_token: bool,
) -> reqwest::Response {
    upload_field(t, path, cookie, "file", (name, mime, bytes), with_token).await
}

/// POST a multipart form with one file in `field` (name, type, bytes) and
/// a sensitivity.
pub(crate) async fn upload_field(
    t: &TestApp,
    path: &str,
    cookie: &str,
    field: &str,
    (name, mime, bytes): (&str, &str, &[u8]),
    with_token: bool,
) -> reqwest::Response {
    let boundary = "----clinicos-test-boundary";
    let mut b = Vec::new();
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(bytes);
    b.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"sensitivity\"\r\n\r\nnormal\r\n--{boundary}--\r\n")
            .as_bytes(),
    );
    let url = if with_token {
        format!("{path}?csrf={CSRF}")
    } else {
        path.to_owned()
    };
    t.http
        .post(t.url(&url))
        .header("cookie", format!("clinicos_csrf={CSRF}; {cookie}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(b)
        .send()
        .await
        .expect("upload")
}

const ASHA: [(&str, &str); 7] = [
    ("given_name", "Asha"),
    ("family_name", "Raghunathan"),
    ("sex", "female"),
    ("age_years", "34"),
    ("phone_code", "+91"),
    ("phone", "98765 43210"),
    ("care_consent", "yes"),
];

#[tokio::test]
async fn a_doctor_registers_finds_and_charts_a_patient() {
    let t = spawn_app().await;
    let tenant = t.tenant("ppg").await;
    t.add_user(&tenant, "doc@ppg.example", Role::Doctor).await;
    let doc = t.page_sign_in("ppg", "doc@ppg.example").await;

    let (s, html) = text(page(&t, "/patients", &doc).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"patient-search\"") && html.contains("aria-live=\"polite\""));
    assert!(
        html.contains("href=\"/patients\" aria-current=\"page\""),
        "nav link"
    );
    let (s, html) = text(page(&t, "/patients/new", &doc).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"given_name\"") && html.contains("autofocus"));

    // Register; the stated age becomes an estimated birth date.
    let r = form(&t, "/patients/new", &doc, &ASHA).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let chart = location(&r);
    let id = chart.trim_start_matches("/patients/").to_owned();
    assert!(!id.is_empty() && !id.contains('/'), "{chart}");

    // The same phone and birth date again: the warning names the record
    // and offers to create anyway; confirming creates a second one.
    let (s, html) = text(form(&t, "/patients/new", &doc, &ASHA).await).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(html.contains(&format!("href=\"/patients/{id}\"")));
    assert!(html.contains("name=\"confirm_new\" value=\"yes\""));
    let mut again = ASHA.to_vec();
    again.push(("confirm_new", "yes"));
    let r = form(&t, "/patients/new", &doc, &again).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_ne!(location(&r), chart);

    // A bad age is shown next to its field, with nothing written.
    let mut bad = ASHA.to_vec();
    bad[3] = ("age_years", "thirty");
    let (s, html) = text(form(&t, "/patients/new", &doc, &bad).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"age_years-error\""));

    // Search as you type: the fragment alone, both records found by prefix.
    let (s, html) = text(page(&t, "/patients?q=ragh+as&fragment=results", &doc).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("<html"), "a fragment, not a page");
    assert!(html.contains("Asha Raghunathan") && html.contains(&format!("/patients/{id}")));
    assert!(html.contains("Patients found: 2"), "{html}");
    let (_, html) = text(page(&t, "/patients?q=zzz&fragment=results", &doc).await).await;
    assert!(html.contains("Patients found: 0"));
    let (_, html) = text(page(&t, "/patients?q=%2B91+98765+43210", &doc).await).await;
    assert!(html.contains("Patients found: 2"), "phone lookup");

    // The chart: no care relationship yet, so the doctor is offered to join.
    let (s, html) = text(page(&t, &chart, &doc).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Asha Raghunathan") && html.contains("~34"));
    assert!(html.contains(&format!("action=\"/patients/{id}/care-team\"")));
    assert!(!html.contains("id=\"allergies\""));
    let r = form(&t, &format!("{chart}/care-team"), &doc, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = text(page(&t, &chart, &doc).await).await;
    assert!(html.contains("id=\"allergies\"") && html.contains("Allergies: Not recorded"));

    // Add an allergy: it heads the banner.
    let r = form(
        &t,
        &format!("{chart}/records/allergies"),
        &doc,
        &[
            ("substance", "Penicillin"),
            ("category", "medication"),
            ("reaction", "Hives"),
            ("severity", "severe"),
            ("status", "active"),
            ("sensitivity", "normal"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).ends_with("#allergies"));
    let r = form(
        &t,
        &format!("{chart}/records/allergies"),
        &doc,
        &[
            ("substance", ""),
            ("category", "nonsense"),
            ("reaction", "Rash"),
        ],
    )
    .await;
    // Refused input comes back in its open form, each message by its field.
    let (s, html) = text(r).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("<details class=\"add\" open>"));
    assert!(html.contains("id=\"allergies-new-substance-error\""));
    assert!(html.contains("id=\"allergies-new-category-error\""));
    assert!(html
        .contains("id=\"allergies-new-reaction\" name=\"reaction\" type=\"text\" value=\"Rash\""));
    let (_, html) = text(page(&t, &chart, &doc).await).await;
    assert!(
        html.contains("<li class=\"severe\">Penicillin (Severe)</li>"),
        "banner"
    );
    assert!(html.matches("Penicillin").count() >= 2, "banner and list");

    // Upload a PNG: listed with an inline preview served by the audited
    // download; a PDF renamed .png is refused.
    let r = upload(
        &t,
        &format!("{chart}/attachments"),
        &doc,
        "scan.png",
        "image/png",
        PNG,
        true,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("{chart}#attachments"));
    let r = upload(
        &t,
        &format!("{chart}/attachments"),
        &doc,
        "report.png",
        "image/png",
        b"%PDF-1.4\n%%EOF\n",
        true,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = text(page(&t, &chart, &doc).await).await;
    assert_eq!(
        html.matches("class=\"preview\"").count(),
        1,
        "one file kept"
    );
    let href = html
        .split(&format!("href=\"/patients/{id}/attachments/"))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("download link")
        .to_owned();
    let r = page(&t, &format!("{chart}/attachments/{href}"), &doc).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), PNG);

    // Timeline with a kind filter; a reversed range is a notice, not a 500.
    let (s, html) = text(page(&t, &format!("{chart}?kind=allergy"), &doc).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<ol class=\"timeline\">"));
    let (s, html) =
        text(page(&t, &format!("{chart}?from=2026-12-01&to=2020-01-01"), &doc).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("The timeline filter is not valid"));

    // The JSON export downloads.
    let r = page(&t, &format!("{chart}/export"), &doc).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap_or("")
        .starts_with("attachment"));
    let (_, v) = body(r).await;
    assert_eq!(v["schema"], "clinicos-patient-record/1");
    assert_eq!(v["allergies"]["entries"][0]["substance"], "Penicillin");
    // And the printable copy.
    assert!(html_has_pdf_link(&t, &chart, &doc).await);
    let r = page(&t, &format!("{chart}/export.pdf"), &doc).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&pdf).contains("Penicillin"));

    // Edit demographics: a bad email is shown next to the field.
    let r = form(
        &t,
        &chart,
        &doc,
        &[
            ("given_name", "Asha"),
            ("family_name", "R"),
            ("sex", "female"),
            ("email", "nope"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = form(
        &t,
        &chart,
        &doc,
        &[
            ("given_name", "Asha"),
            ("family_name", "Rao"),
            ("sex", "female"),
            ("tags", "diabetic, VIP"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = text(page(&t, &chart, &doc).await).await;
    assert!(html.contains("Asha Rao") && html.contains("<span class=\"tag\">VIP</span>"));

    // Every chart read was audited through the services.
    let owner = t.owner_token(&tenant).await;
    let (_, v) = body(
        t.get(
            "/api/v1/audit/events?action=patient.allergies.read",
            Some(&owner),
        )
        .await,
    )
    .await;
    assert!(v["data"].as_array().is_some_and(|a| !a.is_empty()), "{v}");
}

#[tokio::test]
async fn the_front_desk_sees_demographics_only() {
    let t = spawn_app().await;
    let tenant = t.tenant("ppd").await;
    t.add_user(&tenant, "desk@ppd.example", Role::FrontDesk)
        .await;
    let owner = t.owner_token(&tenant).await;
    let id = register(&t, &owner).await;
    let desk = t.page_sign_in("ppd", "desk@ppd.example").await;
    let chart = format!("/patients/{id}");
    let (s, html) = text(page(&t, &chart, &desk).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Clinical records are not available to your role"));
    for hidden in [
        "id=\"allergies\"",
        "id=\"allergy-banner\"",
        "/export",
        "id=\"timeline\"",
        "care-team",
    ] {
        assert!(!html.contains(hidden), "{hidden}");
    }
    assert!(html.contains("id=\"demographics\"") && html.contains("Meera Iyer"));
    // Writing or reading clinical parts directly is refused by the service.
    let r = form(
        &t,
        &format!("{chart}/records/allergies"),
        &desk,
        &[("substance", "Latex"), ("category", "environment")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for export in ["export", "export.pdf"] {
        assert_eq!(
            page(&t, &format!("{chart}/{export}"), &desk).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    // But registering, finding by identifier and status changes are theirs.
    assert_eq!(
        page(&t, "/patients/new", &desk).await.status(),
        StatusCode::OK
    );
    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(&owner),
            serde_json::json!({"given_name": "Tomas", "family_name": "Reyes", "sex": "male",
                "identifiers": [{"kind": "passport", "value": "P1234567", "country": "PH"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, html) = text(
        page(
            &t,
            "/patients?identifier_kind=passport&identifier=p-1234567&fragment=results",
            &desk,
        )
        .await,
    )
    .await;
    assert!(
        html.contains("Tomas Reyes") && html.contains("Patients found: 1"),
        "{html}"
    );
    let r = form(
        &t,
        &format!("{chart}/status"),
        &desk,
        &[("action", "deactivate")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = form(
        &t,
        &format!("{chart}/status"),
        &desk,
        &[("action", "deceased"), ("date", "2999-01-01")],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a notice, nothing recorded"
    );
    let (_, html) = text(page(&t, &chart, &desk).await).await;
    assert!(!html.contains("tag danger"), "not recorded as deceased");
    let r = form(
        &t,
        &format!("{chart}/status"),
        &desk,
        &[("action", "deceased"), ("date", "2025-01-02")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = text(page(&t, &chart, &desk).await).await;
    assert!(html.contains("Deceased 2025-01-02"), "{html}");
    assert!(html.contains(">Inactive</span>") && html.contains("value=\"reactivate\""));
}

#[tokio::test]
async fn posts_need_the_csrf_token() {
    let t = spawn_app().await;
    let tenant = t.tenant("ppc").await;
    t.add_user(&tenant, "doc@ppc.example", Role::Doctor).await;
    let owner = t.owner_token(&tenant).await;
    let id = register(&t, &owner).await;
    let doc = t.page_sign_in("ppc", "doc@ppc.example").await;
    for path in [
        "/patients/new".to_owned(),
        format!("/patients/{id}"),
        format!("/patients/{id}/care-team"),
        format!("/patients/{id}/records/allergies"),
    ] {
        let r = t
            .http
            .post(t.url(&path))
            .header("cookie", format!("clinicos_csrf={CSRF}; {doc}"))
            .form(&[
                ("given_name", "X"),
                ("sex", "male"),
                ("substance", "X"),
                ("category", "food"),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = upload(
        &t,
        &format!("/patients/{id}/attachments"),
        &doc,
        "a.png",
        "image/png",
        PNG,
        false,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nothing was written: still one patient, not on anyone's care team.
    let (_, v) = body(t.get("/api/v1/patients", Some(&owner)).await).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    let (_, v) = body(
        t.get(&format!("/api/v1/patients/{id}/care-team"), Some(&owner))
            .await,
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0));
}

/// A form without a required field gets the site's error page, in the
/// user's language, naming the field; nothing is written.
#[tokio::test]
async fn a_form_missing_a_required_field_gets_an_error_page() {
    let t = spawn_app().await;
    let tenant = t.tenant("ppf").await;
    let owner = t.owner_token(&tenant).await;
    let id = register(&t, &owner).await;
    let cookies = t.page_sign_in("ppf", &tenant.owner_email).await;
    let r = form(
        &t,
        &format!("/patients/{id}/status"),
        &cookies,
        &[("date", "2025-01-02")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html")));
    let (_, html) = text(r).await;
    assert!(html.contains("action"), "{html}");
    assert!(html.contains("The form could not be read"), "{html}");
    assert!(
        !html.contains("2025-01-02"),
        "no submitted value is echoed: {html}"
    );
    // Still active.
    let (_, v) = body(t.get(&format!("/api/v1/patients/{id}"), Some(&owner)).await).await;
    assert_eq!(v["data"]["is_active"], true, "{v}");
}

#[tokio::test]
async fn another_tenants_patient_is_not_found() {
    let t = spawn_app().await;
    let a = t.tenant("ppa").await;
    let b = t.tenant("ppb").await;
    t.add_user(&b, "doc@ppb.example", Role::Doctor).await;
    let id = register(&t, &t.owner_token(&a).await).await;
    let doc_b = t.page_sign_in("ppb", "doc@ppb.example").await;
    for path in [
        format!("/patients/{id}"),
        format!("/patients/{id}/export"),
        format!("/patients/{id}/attachments/{id}"),
    ] {
        assert_eq!(
            page(&t, &path, &doc_b).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let r = form(&t, &format!("/patients/{id}/care-team"), &doc_b, &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (_, html) = text(page(&t, "/patients?q=meera&fragment=results", &doc_b).await).await;
    assert!(html.contains("Patients found: 0"));
    let _ = b;
}

async fn html_has_pdf_link(t: &TestApp, chart: &str, token: &str) -> bool {
    let (_, html) = text(page(t, chart, token).await).await;
    html.contains(&format!("{chart}/export.pdf"))
}
