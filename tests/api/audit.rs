//! Tamper evidence: audit rows are append-only for the application, and
//! `verify_audit` finds any edit, insertion or deletion made behind its back.

use crate::support::*;
use clinicos_store::Backend;
use reqwest::StatusCode;

/// A raw connection as the database owner (what an attacker with disk or
/// superuser access has), for tampering.
async fn owner_conn(url: &str) -> sqlx::AnyConnection {
    <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .expect("owner connection")
}

async fn exec(c: &mut sqlx::AnyConnection, sql: &str) {
    sqlx::Executor::execute(c, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn sealing_chains_every_event_and_verification_passes() {
    let t = spawn_app().await;
    let tenant = t.tenant("anil").await;
    t.owner_token(&tenant).await;
    let sealed = t.app.governance().seal_audit_once().await.expect("seal");
    assert!(sealed >= 2, "creation and sign-in events sealed: {sealed}");
    assert_eq!(
        t.app.governance().seal_audit_once().await.expect("seal"),
        0,
        "nothing twice"
    );
    t.owner_token(&tenant).await;
    assert_eq!(
        t.app.governance().seal_audit_once().await.expect("seal"),
        1,
        "the next event extends the chain"
    );
    let r = t.app.governance().verify_audit().await.expect("verify");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.sealed_events, sealed + 1);
    assert_eq!(r.checkpoints, 2);
    let (s, v) = body(t.get("/api/v1/audit/public-key", None).await).await;
    assert_eq!(
        (s, v["data"]["algorithm"].as_str()),
        (StatusCode::OK, Some("Ed25519"))
    );
}

#[tokio::test]
async fn the_application_cannot_change_or_delete_audit_rows() {
    let t = spawn_app().await;
    let tenant = t.tenant("bala").await;
    t.app.governance().seal_audit_once().await.expect("seal");
    for sql in [
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_chain",
        "UPDATE audit_checkpoints SET hash = 'x'",
    ] {
        let mut tx = t.app.store.write(tenant.id).await.expect("tx");
        assert!(
            tx.raw_exec_unfiltered(sql).await.is_err(),
            "must be refused: {sql}"
        );
    }
}

#[tokio::test]
async fn verification_names_edited_inserted_and_deleted_events() {
    let t = spawn_app().await;
    let tenant = t.tenant("chandni").await;
    for _ in 0..3 {
        t.owner_token(&tenant).await;
    }
    t.app.governance().seal_audit_once().await.expect("seal");
    let tid = tenant.id.as_text();
    let mut c = owner_conn(&t.db_url).await;
    if t.app.store.backend() == Backend::Sqlite {
        for trig in [
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_chain_no_delete",
        ] {
            exec(&mut c, &format!("DROP TRIGGER {trig}")).await;
        }
    }
    // 1. Edit a sealed event.
    let victim: String = sqlx::Row::get(
        &sqlx::query("SELECT event_id FROM audit_chain WHERE tenant_id = $1 AND seq = 2")
            .bind(tid.clone())
            .fetch_one(&mut c)
            .await
            .expect("link 2"),
        0,
    );
    exec(
        &mut c,
        &format!(
            "UPDATE audit_events SET outcome = 'success', reason = 'forged' WHERE id = '{victim}'"
        ),
    )
    .await;
    let r = t.app.governance().verify_audit().await.expect("verify");
    assert!(
        r.problems
            .first()
            .is_some_and(|p| p.contains(&victim) && p.contains("altered")),
        "{:?}",
        r.problems
    );

    // 2. Insert an event that never went through the audit path (backdated).
    exec(&mut c, &format!("INSERT INTO audit_events (tenant_id, id, at, action, resource_type, outcome) VALUES ('{tid}', 'forged-1', 0, 'auth.login', 'session', 'success')")).await;
    let r = t.app.governance().verify_audit().await.expect("verify");
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("forged-1") && p.contains("outside the audit path")),
        "{:?}",
        r.problems
    );

    // 3. Delete the newest link and its event: the signed checkpoint no longer matches.
    let head: String = sqlx::Row::get(
        &sqlx::query(
            "SELECT event_id FROM audit_chain WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(tid.clone())
        .fetch_one(&mut c)
        .await
        .expect("head"),
        0,
    );
    exec(
        &mut c,
        &format!("DELETE FROM audit_chain WHERE event_id = '{head}'"),
    )
    .await;
    exec(
        &mut c,
        &format!("DELETE FROM audit_events WHERE id = '{head}'"),
    )
    .await;
    let r = t.app.governance().verify_audit().await.expect("verify");
    assert!(
        r.problems.iter().any(|p| p.contains("truncated")),
        "{:?}",
        r.problems
    );
}

#[tokio::test]
async fn access_reports_by_user_record_action_and_date() {
    use clinicos_domain::Role;
    let t = spawn_app().await;
    let tenant = t.tenant("damini").await;
    t.add_user(&tenant, "nurse@damini.example", Role::Nurse)
        .await;
    t.add_user(&tenant, "privacy@damini.example", Role::PrivacyOfficer)
        .await;
    t.add_user(&tenant, "desk@damini.example", Role::FrontDesk)
        .await;
    let (nurse, _) = t.login("damini", "nurse@damini.example", PASSWORD).await;
    let (_, v) = body(t.get("/api/v1/me", Some(&nurse)).await).await;
    let nurse_id = v["data"]["id"].as_str().expect("id").to_owned();
    let (po, _) = t.login("damini", "privacy@damini.example", PASSWORD).await;
    let (desk, _) = t.login("damini", "desk@damini.example", PASSWORD).await;
    body(t.get("/api/v1/tenant/export", Some(&po)).await).await;

    // Per user: the nurse's own actions only.
    let (s, v) = body(
        t.get(
            &format!("/api/v1/audit/events?user_id={nurse_id}"),
            Some(&po),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["data"].as_array().expect("rows");
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r["actor_id"] == nurse_id.as_str()),
        "{v}"
    );
    assert!(rows.iter().any(|r| r["action"] == "auth.login"));
    // Per record: every event that touched the nurse's account (creation, sign-in).
    let (_, v) = body(
        t.get(
            &format!("/api/v1/audit/events?resource_id={nurse_id}"),
            Some(&po),
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert!(actions.contains(&"staff.create"), "{actions:?}");
    // Per action and per date range.
    let (_, v) = body(
        t.get("/api/v1/audit/events?action=export.", Some(&po))
            .await,
    )
    .await;
    assert_eq!(v["meta"]["total"], 1);
    let tomorrow = (t.clock_now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let (_, v) = body(
        t.get(&format!("/api/v1/audit/events?from={tomorrow}"), Some(&po))
            .await,
    )
    .await;
    assert_eq!(v["meta"]["total"], 0);
    let today = t.clock_now().format("%Y-%m-%d").to_string();
    let (_, v) = body(
        t.get(
            &format!("/api/v1/audit/events?from={today}&to={today}"),
            Some(&po),
        )
        .await,
    )
    .await;
    assert!(v["meta"]["total"].as_u64().unwrap_or(0) >= 5);
    let (s, v) = body(
        t.get("/api/v1/audit/events?from=25-11-2026", Some(&po))
            .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    // Front desk may not read the audit trail.
    let (s, _) = body(t.get("/api/v1/audit/events", Some(&desk)).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // CSV of the same report.
    let r = t
        .get(
            &format!("/api/v1/audit/events.csv?user_id={nurse_id}"),
            Some(&po),
        )
        .await;
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let csv = r.text().await.expect("csv");
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .is_some_and(|h| h.starts_with("at,actor_id,actor_roles")));
    assert!(lines.all(|l| l.contains(&nurse_id)));
    // Reading the audit trail is itself audited.
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    assert!(
        clinicos_store::governance::audit::count_action(&mut tx, "audit.report_view")
            .await
            .expect("n")
            >= 5
    );
    assert_eq!(
        clinicos_store::governance::audit::count_action(&mut tx, "export.audit_report")
            .await
            .expect("n"),
        1
    );
}
