//! OpenAPI coverage of the router, Prometheus metrics, and logs that never
//! carry PHI.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

/// Paths the built router actually serves, read from its debug form (axum
/// keeps a path table per router; this sees every route however added).
fn router_paths(router: &axum::Router) -> BTreeSet<String> {
    let dbg = format!("{router:?}");
    let mut out = BTreeSet::new();
    for part in dbg.split('"').skip(1).step_by(2) {
        if part.starts_with('/') && !part.contains(' ') {
            out.insert(part.to_owned());
        }
    }
    out
}

#[tokio::test]
async fn openapi_documents_every_api_route() {
    let t = spawn_app().await;
    let state = clinicos_web::WebState {
        app: t.app.clone(),
        config: Default::default(),
    };
    let router = clinicos_web::build_router(state);
    let served = router_paths(&router);
    assert!(
        served.contains("/api/v1/auth/login"),
        "router enumeration works: {served:?}"
    );
    let spec: serde_json::Value = t
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .expect("spec");
    assert!(
        spec["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "OpenAPI 3.1"
    );
    let documented: BTreeSet<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let api: BTreeSet<String> = served
        .iter()
        .filter(|p| p.starts_with("/api/") || p.starts_with("/health") || *p == "/metrics")
        .cloned()
        .collect();
    let missing: Vec<_> = api.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    let phantom: Vec<_> = documented.difference(&api).collect();
    assert!(
        phantom.is_empty(),
        "documented routes the router does not serve: {phantom:?}"
    );
    // Every operation has responses and every JSON body a schema.
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("ops") {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
        }
    }
}

#[tokio::test]
async fn metrics_are_valid_prometheus_text() {
    let t = spawn_app().await;
    let tenant = t.tenant("mitra").await;
    let token = t.owner_token(&tenant).await;
    t.get("/api/v1/branches", Some(&token)).await;
    t.get("/health/ready", None).await;
    let r = t.get("/metrics", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.expect("text");
    for name in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "db_pool_connections",
        "sessions_started_total",
    ] {
        assert!(text.contains(name), "metrics lack {name}");
    }
    assert!(
        text.contains("route=\"/api/v1/branches\""),
        "labelled by route template"
    );
    let Ok(promtool) = which("promtool") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "promtool is not installed (CI=true: .ci/run installs Debian's prometheus package)"
        );
        eprintln!("skipped promtool check: promtool is not installed (.ci/run installs Debian's prometheus package)");
        return;
    };
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("promtool output");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // promtool exits 3 for lint warnings only (e.g. naming advice); 1 for invalid text.
    assert!(
        out.status.code() == Some(0) || (out.status.code() == Some(3) && !report.contains("error")),
        "promtool: {report}"
    );
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|f| f.is_file())
        })
        .ok_or(())
}

#[tokio::test]
async fn planted_phi_never_reaches_logs_or_error_bodies() {
    let t = spawn_app().await;
    let tenant = t.tenant("nidhi").await;
    let owner = t.owner_token(&tenant).await;
    let name = "Xanthippe Vorobyeva";
    let phone = "+91 99887 66554";
    let email = "xanthippe.vorobyeva@phi.example";
    let mut bodies = Vec::new();
    // Sign-in with a planted email (fails), forgot-password for it.
    bodies.push(
        t.post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "nidhi", "email": email, "password": "Wrong-Password-123"}),
        )
        .await
        .text()
        .await
        .unwrap_or_default(),
    );
    bodies.push(
        t.post(
            "/api/v1/auth/forgot-password",
            None,
            json!({"tenant": "nidhi", "email": email}),
        )
        .await
        .text()
        .await
        .unwrap_or_default(),
    );
    // Wrong types and bad values carrying PHI.
    bodies.push(
        t.post(
            "/api/v1/staff",
            Some(&owner),
            json!({"email": email, "name": 42, "roles": ["doctor"]}),
        )
        .await
        .text()
        .await
        .unwrap_or_default(),
    );
    bodies.push(
        t.post(
            "/api/v1/staff",
            Some(&owner),
            json!({"email": phone, "name": name, "roles": [name]}),
        )
        .await
        .text()
        .await
        .unwrap_or_default(),
    );
    bodies.push(
        t.patch(
            "/api/v1/me",
            &owner,
            json!({"name": [name], "phone": phone}),
        )
        .await
        .text()
        .await
        .unwrap_or_default(),
    );
    bodies.push(
        t.post(
            "/api/v1/branches",
            Some(&owner),
            json!({"code": name, "name": name, "phone": phone, "email": "bad"}),
        )
        .await
        .text()
        .await
        .unwrap_or_default(),
    );
    bodies.push(
        t.get(
            &format!("/api/v1/branches?sort={}", name.replace(' ', "%20")),
            Some(&owner),
        )
        .await
        .text()
        .await
        .unwrap_or_default(),
    );
    bodies.push(
        t.http
            .post(t.url("/api/v1/branches"))
            .bearer_auth(&owner)
            .header("content-type", "application/json")
            .body(format!("{{\"name\": \"{name}\", "))
            .send()
            .await
            .expect("send")
            .text()
            .await
            .unwrap_or_default(),
    );
    // Successful writes with PHI.
    let (s, _) = body(
        t.post(
            "/api/v1/staff",
            Some(&owner),
            json!({"email": email, "name": name, "roles": ["doctor"]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = body(
        t.patch("/api/v1/me", &owner, json!({"name": name, "phone": phone}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // A page request with PHI in the query string.
    t.get(
        &format!("/login?email={email}&name={}", name.replace(' ', "+")),
        None,
    )
    .await;

    let logs = logs();
    assert!(logs.contains("\"route\""), "logs were captured");
    for needle in [name, phone, email, "Xanthippe", "9988766554", "xanthippe"] {
        assert!(
            !logs.contains(needle),
            "planted PHI '{needle}' found in logs"
        );
        for b in &bodies {
            assert!(
                !b.contains(needle),
                "planted PHI '{needle}' echoed in an error body: {b}"
            );
        }
    }
}

#[tokio::test]
async fn every_route_declares_its_action() {
    use clinicos_web::route_actions::{Declared, API, PAGES};
    let t = spawn_app().await;
    let state = clinicos_web::WebState {
        app: t.app.clone(),
        config: Default::default(),
    };
    let served = router_paths(&clinicos_web::build_router(state));
    let spec: serde_json::Value = t
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .expect("spec");
    // Every API operation carries its declared action in the document.
    let mut undeclared = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("ops") {
            if op["x-clinicos-action"].as_str().is_none() {
                undeclared.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "API routes without an action: {undeclared:?}"
    );
    for (m, p, _) in API {
        assert!(
            spec["paths"][p][m.to_lowercase()].is_object(),
            "declared but not served: {m} {p}"
        );
    }
    // Every page route is declared, and every declaration is served.
    let pages: BTreeSet<&str> = PAGES.iter().map(|(p, _)| *p).collect();
    let missing: Vec<&String> = served
        .iter()
        .filter(|p| !(p.starts_with("/api/") || p.starts_with("/health") || *p == "/metrics"))
        .filter(|p| !p.contains("__private__axum_fallback"))
        .filter(|p| !pages.contains(p.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "page routes without an action: {missing:?}"
    );
    for p in &pages {
        assert!(served.contains(*p), "declared page not served: {p}");
    }
    // The declarations hold: a user whose bundle is emptied is refused by
    // every permission-bearing read.
    let tenant = t.tenant("nobody").await;
    t.add_user(
        &tenant,
        "acc@nobody.example",
        clinicos_domain::Role::Accountant,
    )
    .await;
    let owner = t.owner_token(&tenant).await;
    let r = t
        .http
        .put(t.url("/api/v1/policy/roles/accountant"))
        .bearer_auth(&owner)
        .json(&serde_json::json!({"permissions": []}))
        .send()
        .await
        .expect("empty bundle");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (token, _) = t
        .login("nobody", "acc@nobody.example", crate::support::PASSWORD)
        .await;
    let id = uuid::Uuid::now_v7().to_string();
    for (m, p, d) in API {
        let Declared::Act(a) = d else { continue };
        if *m != "GET" || a.permission().is_none() {
            continue;
        }
        let path = p
            .replace("{role}", "nurse")
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    id.as_str()
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        // Refused for the missing permission, before any record is looked
        // up: a 404 would tell which ids exist.
        let s = t.get(&path, Some(&token)).await.status();
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "{m} {p} answered {s} to a user without {a:?}"
        );
    }
}
