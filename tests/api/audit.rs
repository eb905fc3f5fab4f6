//! Tamper evidence: audit rows are append-only for the application, each
//! event carries a MAC only ClinicOS can compute, the sealer refuses events
//! without one, links and checkpoints are keyed and signed, the witness
//! outside the database catches a cut tail, and `verify_audit` names the
//! first broken link of any edit, insertion or deletion made behind its back.

use crate::support::*;
use clinicos_app::governance::audit_verify::VerifyReport;
use clinicos_app::governance::audit_witness::{FileWitness, MemoryWitness};
use clinicos_crypto::{AuditKeys, Key32};
use clinicos_domain::governance::audit::{
    checkpoint_message, legacy_link_hash, link_message, ChainedEvent, GENESIS,
};
use clinicos_store::governance::audit::{self as store_audit, ChainLink};
use clinicos_store::Backend;
use reqwest::StatusCode;
use std::sync::Arc;

/// A raw connection as the database owner (what an attacker with disk or
/// superuser access has), for tampering.
async fn owner_conn(url: &str) -> sqlx::AnyConnection {
    <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .expect("owner connection")
}

/// Let the owner's connection edit and delete audit rows (SQLite: drop the
/// triggers that stop the application; the PostgreSQL owner may already).
async fn allow_deletes(t: &TestApp, c: &mut sqlx::AnyConnection) {
    if t.app.store.backend() == Backend::Sqlite {
        for trig in [
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_chain_no_update",
            "audit_chain_no_delete",
            "audit_checkpoints_no_delete",
        ] {
            exec(c, &format!("DROP TRIGGER {trig}")).await;
        }
    }
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
    forge_event(&t, &tenant, None).await;
    t.app.governance().seal_audit_once().await.expect("seal");
    let tid = tenant.id.as_text();
    for sql in [
        "UPDATE audit_events SET action = 'x'".to_owned(),
        "UPDATE audit_events SET mac = NULL".to_owned(),
        "DELETE FROM audit_events".to_owned(),
        "DELETE FROM audit_chain".to_owned(),
        "UPDATE audit_checkpoints SET hash = 'x'".to_owned(),
        "DELETE FROM audit_rejections".to_owned(),
        // The legacy list is the migration's: the application cannot
        // make a MAC-less event pass as one written before MACs.
        format!(
            "INSERT INTO audit_legacy_events (tenant_id, event_id) \
             SELECT tenant_id, id FROM audit_events WHERE tenant_id = '{tid}'"
        ),
    ] {
        let mut tx = t.app.store.write(tenant.id).await.expect("tx");
        assert!(
            tx.raw_exec_unfiltered(&sql).await.is_err(),
            "must be refused: {sql}"
        );
    }
}

#[tokio::test]
async fn verification_names_edited_and_inserted_events() {
    let t = spawn_app().await;
    let tenant = t.tenant("chandni").await;
    for _ in 0..3 {
        t.owner_token(&tenant).await;
    }
    t.app.governance().seal_audit_once().await.expect("seal");
    let tid = tenant.id.as_text();
    let mut c = owner_conn(&t.db_url).await;
    allow_deletes(&t, &mut c).await;
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
        r.problems.first().is_some_and(|p| p.contains(&format!(
            "first broken link: link 2 (event {victim}): the event was altered"
        ))),
        "{:?}",
        r.problems
    );

    // 2. Insert an event that never went through the audit path (backdated).
    exec(&mut c, &format!("INSERT INTO audit_events (tenant_id, id, at, action, resource_type, outcome) VALUES ('{tid}', 'forged-1', 0, 'auth.login', 'session', 'success')")).await;
    let r = t.app.governance().verify_audit().await.expect("verify");
    assert_problem(&r, &["forged-1", "outside the audit path"]);
}

#[tokio::test]
async fn a_checkpoint_beyond_a_cut_chain_is_named() {
    let t = spawn_app().await;
    let tenant = t.tenant("chhaya").await;
    t.owner_token(&tenant).await;
    t.app.governance().seal_audit_once().await.expect("seal");
    let tid = tenant.id.as_text();
    let mut c = owner_conn(&t.db_url).await;
    allow_deletes(&t, &mut c).await;
    // Delete the newest link and its event, leaving the signed checkpoint.
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
    assert_problem(&r, &["truncated"]);
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

// ---- an audit chain only ClinicOS can extend ---------------------------
//
// Each attack below runs as plain SQL: inserts through the application's
// own connection (`TenantTx`: on PostgreSQL the `clinicos_app` role under
// the tenant's row-level security), deletions and rewrites through the
// owner's connection (the application role may not delete or update audit
// rows at all).

/// A made-up `patient.read` event, now, inserted as the application's
/// database role with `mac` (None: no MAC at all). Returns its id.
async fn forge_event(t: &TestApp, tenant: &Tenant, mac: Option<Vec<u8>>) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let mut tx = t.app.store.write(tenant.id).await.expect("tx");
    let q = tx
        .q("INSERT INTO audit_events (tenant_id, id, at, actor_id, actor_roles, action, \
            resource_type, resource_ids, purpose, outcome, mac) \
            VALUES ($1, $2, $3, $4, 'doctor', 'patient.read', 'patient', $5, 'treatment', 'success', $6)")
        .bind(id.clone())
        .bind(t.clock_now().timestamp_micros())
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(mac);
    tx.exec(q)
        .await
        .expect("the application role may insert events");
    tx.commit().await.expect("commit");
    id
}

/// Append a chain link as the application's database role (the INSERT
/// the sealer runs, but computed by someone else).
async fn append_link_as_app(t: &TestApp, tenant: &Tenant, l: &ChainLink) {
    let mut tx = t.app.store.write(tenant.id).await.expect("tx");
    store_audit::append_link(&mut tx, l)
        .await
        .expect("the application role may insert links");
    tx.commit().await.expect("commit");
}

async fn seal(t: &TestApp) -> usize {
    t.app.governance().seal_audit_once().await.expect("seal")
}

async fn verify(t: &TestApp) -> VerifyReport {
    t.app.governance().verify_audit().await.expect("verify")
}

/// The chain, the events and the unsealed events, read as the application.
async fn stored(
    t: &TestApp,
    tenant: &Tenant,
) -> (Vec<ChainLink>, Vec<ChainedEvent>, Vec<ChainedEvent>) {
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    let chain = store_audit::chain(&mut tx).await.expect("chain");
    let events = store_audit::all_events(&mut tx).await.expect("events");
    let pending = store_audit::unsealed(&mut tx, 100).await.expect("unsealed");
    tx.commit().await.expect("commit");
    (chain, events, pending)
}

/// The tenant's `audit_tampering` security events.
async fn tampering_events(t: &TestApp, owner: &str) -> Vec<serde_json::Value> {
    let (s, v) = body(
        t.get("/api/v1/security/events?kind=audit_tampering", Some(owner))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["data"].as_array().cloned().unwrap_or_default()
}

/// Assert that one problem of the report names every part.
#[track_caller]
fn assert_problem(r: &VerifyReport, parts: &[&str]) {
    assert!(
        r.problems
            .iter()
            .any(|p| parts.iter().all(|part| p.contains(part))),
        "{parts:?} in {:?}",
        r.problems
    );
}

/// The problems verification reports for one tenant, in order.
fn problems_of<'a>(r: &'a VerifyReport, tenant: &Tenant) -> Vec<&'a String> {
    let prefix = format!("tenant {}: ", tenant.slug);
    r.problems
        .iter()
        .filter(|p| p.starts_with(&prefix))
        .collect()
}

#[tokio::test]
async fn a_forged_event_is_refused_by_the_sealer_raised_and_named() {
    let t = spawn_app().await;
    let tenant = t.tenant("esha").await;
    let owner = t.owner_token(&tenant).await;
    seal(&t).await;
    let no_mac = forge_event(&t, &tenant, None).await;
    let wrong_mac = forge_event(&t, &tenant, Some(vec![7u8; 32])).await;

    // Named before the sealer has even seen them.
    let r = verify(&t).await;
    assert_problem(&r, &[&no_mac, "has no MAC"]);
    assert_problem(&r, &[&wrong_mac, "does not match its MAC"]);

    // The sealer refuses both, raises each once, and keeps sealing.
    assert_eq!(seal(&t).await, 0, "nothing forged is linked");
    assert_eq!(seal(&t).await, 0);
    t.owner_token(&tenant).await;
    assert_eq!(seal(&t).await, 1, "the chain goes on past the refusals");
    let (chain, _, pending) = stored(&t, &tenant).await;
    assert!(chain
        .iter()
        .all(|l| l.event_id != no_mac && l.event_id != wrong_mac));
    assert!(pending.is_empty(), "refused events are not offered again");
    let raised = tampering_events(&t, &owner).await;
    assert_eq!(raised.len(), 2, "{raised:?}");
    for (id, problem) in [(&no_mac, "missing_mac"), (&wrong_mac, "bad_mac")] {
        assert!(
            raised
                .iter()
                .any(|e| e["details"]["event_ids"][0] == id.as_str()
                    && e["details"]["count"] == 1
                    && e["details"]["problem"] == problem
                    && e["severity"] == "critical"),
            "{raised:?}"
        );
    }

    // Verification keeps naming them; the chain itself holds.
    let r = verify(&t).await;
    assert_eq!(r.refused_events, 2);
    assert!(
        r.problems.iter().all(|p| !p.contains("broken link")),
        "{:?}",
        r.problems
    );
    for id in [&no_mac, &wrong_mac] {
        assert_problem(&r, &[id.as_str(), "the sealer refused it"]);
    }
}

#[tokio::test]
async fn an_append_computed_without_the_key_fails_verification() {
    let t = spawn_app().await;
    let keyed = t.tenant("farah").await;
    let unkeyed = t.tenant("gauri").await;
    let owner = t.owner_token(&keyed).await;
    seal(&t).await;
    // The attacker knows every algorithm, not the key.
    let guess = AuditKeys::derive(&Key32::from_array([1; 32]));
    let mut appended = Vec::new();
    for tenant in [&keyed, &unkeyed] {
        // A real event (a sign-in, its MAC valid) the sealer has not linked
        // yet, linked by hand after the head, consistently computed: with
        // the keyed layout under a guessed key, or the old unkeyed SHA-256.
        t.owner_token(tenant).await;
        let (chain, _, pending) = stored(&t, tenant).await;
        let head = chain.last().expect("head");
        let e = pending.first().expect("one unsealed event");
        let tid = tenant.id.as_text();
        let seq = head.seq + 1;
        let (hash, format) = if tenant.slug == keyed.slug {
            let bytes = link_message(&tid, seq, &head.hash, &e.fields(), e.mac.as_deref());
            (guess.link_hash(&bytes), 2)
        } else {
            (legacy_link_hash(&head.hash, e), 1)
        };
        let link = ChainLink {
            seq,
            event_id: e.id.clone(),
            prev_hash: head.hash.clone(),
            hash,
            sealed_at: t.clock_now(),
            format,
        };
        append_link_as_app(&t, tenant, &link).await;
        appended.push((tenant, link));
    }
    let r = verify(&t).await;
    for ((tenant, link), why) in appended.iter().zip([
        "the link's keyed hash does not match",
        "an unkeyed link after the upgrade",
    ]) {
        let first = problems_of(&r, tenant);
        let named = format!(
            "first broken link: link {} (event {}): {why}",
            link.seq, link.event_id
        );
        assert!(
            first.first().is_some_and(|p| p.contains(&named)),
            "{named}: {:?}",
            r.problems
        );
    }

    // The sealer checks the head it is asked to extend, raises, extends.
    t.owner_token(&keyed).await;
    assert_eq!(seal(&t).await, 1);
    let raised = tampering_events(&t, &owner).await;
    assert!(
        raised
            .iter()
            .any(|e| e["details"]["problem"] == "head_link_invalid"
                && e["details"]["link"] == appended[0].1.seq),
        "{raised:?}"
    );
    let r = verify(&t).await;
    assert!(
        problems_of(&r, &keyed)
            .first()
            .is_some_and(|p| p.contains(&format!("link {} (event", appended[0].1.seq))),
        "still the first broken link: {:?}",
        r.problems
    );
}

#[tokio::test]
async fn cutting_the_tail_with_its_checkpoints_is_caught_by_the_witness() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("audit").join("checkpoints.jsonl");
    let witness = Arc::new(FileWitness::new(&path));
    let t = spawn_app_with(|app| app.audit_witness = witness.clone()).await;
    let tenant = t.tenant("hema").await;
    seal(&t).await;
    let kept = stored(&t, &tenant).await.0.len() as i64;
    for _ in 0..2 {
        t.owner_token(&tenant).await;
    }
    assert_eq!(seal(&t).await, 2);
    let end = kept + 2;
    let text = std::fs::read_to_string(&path).expect("witness file");
    let tid = tenant.id.as_text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[1]["type"], "audit_checkpoint");
    assert_eq!(
        (lines[1]["tenant_id"].as_str(), lines[1]["seq"].as_i64()),
        (Some(tid.as_str()), Some(end))
    );
    assert!(verify(&t).await.problems.is_empty());

    // Delete the newest events with their links and checkpoints: the
    // database alone is consistent again.
    let mut c = owner_conn(&t.db_url).await;
    allow_deletes(&t, &mut c).await;
    let cut: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM audit_chain WHERE tenant_id = $1 AND seq > $2")
            .bind(tid.clone())
            .bind(kept)
            .fetch_all(&mut c)
            .await
            .expect("tail");
    for sql in [
        "DELETE FROM audit_chain WHERE tenant_id = $1 AND seq > $2",
        "DELETE FROM audit_checkpoints WHERE tenant_id = $1 AND seq > $2",
    ] {
        sqlx::query(sql)
            .bind(tid.clone())
            .bind(kept)
            .execute(&mut c)
            .await
            .expect(sql);
    }
    for id in &cut {
        sqlx::query("DELETE FROM audit_events WHERE tenant_id = $1 AND id = $2")
            .bind(tid.clone())
            .bind(id.clone())
            .execute(&mut c)
            .await
            .expect("delete event");
    }
    let mut blind = t.app.clone();
    blind.audit_witness = Arc::new(MemoryWitness::default());
    let r = blind.governance().verify_audit().await.expect("verify");
    assert!(r.problems.is_empty(), "without a witness: {:?}", r.problems);
    assert_eq!(r.unwitnessed_tenants, vec!["hema".to_owned()]);

    let r = verify(&t).await;
    let named = format!(
        "tenant hema: the witness holds a signed checkpoint at link {end} but the chain ends at link {kept}: its tail was cut"
    );
    assert_problem(&r, &[&named]);
    // Sealing on from the cut does not make it go away.
    t.owner_token(&tenant).await;
    t.owner_token(&tenant).await;
    assert_eq!(seal(&t).await, 2);
    let r = verify(&t).await;
    let named = format!("the witness's checkpoint at link {end} does not match the chain");
    assert_problem(&r, &[&named]);
}

#[tokio::test]
async fn deleting_a_middle_event_and_re_chaining_names_the_first_broken_link() {
    let t = spawn_app().await;
    let tenant = t.tenant("indu").await;
    for _ in 0..4 {
        t.owner_token(&tenant).await;
    }
    seal(&t).await;
    let (chain, events, _) = stored(&t, &tenant).await;
    assert!(chain.len() >= 5);
    let k = 3usize;
    let removed = chain[k - 1].event_id.clone();
    let next = chain[k].event_id.clone();
    let tid = tenant.id.as_text();
    // Remove link k and its event, then move every later link down one
    // place and re-chain it consistently (the keyed layout, a guessed key).
    let guess = AuditKeys::derive(&Key32::from_array([2; 32]));
    let by_id: std::collections::HashMap<&str, &ChainedEvent> =
        events.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut c = owner_conn(&t.db_url).await;
    allow_deletes(&t, &mut c).await;
    sqlx::query("DELETE FROM audit_chain WHERE tenant_id = $1 AND seq = $2")
        .bind(tid.clone())
        .bind(k as i64)
        .execute(&mut c)
        .await
        .expect("delete link");
    sqlx::query("DELETE FROM audit_events WHERE tenant_id = $1 AND id = $2")
        .bind(tid.clone())
        .bind(removed.clone())
        .execute(&mut c)
        .await
        .expect("delete event");
    let mut prev = chain[k - 2].hash.clone();
    for l in &chain[k..] {
        let seq = l.seq - 1;
        let e = by_id[l.event_id.as_str()];
        let hash = guess.link_hash(&link_message(
            &tid,
            seq,
            &prev,
            &e.fields(),
            e.mac.as_deref(),
        ));
        sqlx::query("UPDATE audit_chain SET seq = $3, prev_hash = $4, hash = $5 WHERE tenant_id = $1 AND seq = $2")
            .bind(tid.clone())
            .bind(l.seq)
            .bind(seq)
            .bind(prev.clone())
            .bind(hash.clone())
            .execute(&mut c)
            .await
            .expect("re-chain");
        prev = hash;
    }
    let r = verify(&t).await;
    let first = problems_of(&r, &tenant);
    let named = format!("first broken link: link {k} (event {next})");
    assert!(
        first.first().is_some_and(|p| p.contains(&named)),
        "{named}: {:?}",
        r.problems
    );
    assert!(
        first.iter().all(|p| !p.contains("checkpoint")),
        "no later checkpoint is named instead: {:?}",
        r.problems
    );
}

#[tokio::test]
async fn links_sealed_before_event_macs_stay_verifiable_and_listed_events_seal_as_legacy() {
    // A database as the previous release left it: a known audit signing
    // seed (plaintext, upgraded in place at start), unkeyed links with a
    // signed checkpoint at their end, and an event committed but not sealed
    // when migration 0019 listed it.
    let (url, dir) = fresh_db().await;
    let seed = [9u8; 32];
    let store = clinicos_store::Store::open(&url, 2).await.expect("store");
    clinicos_store::tenancy::platform::insert_secret_if_absent(
        store.platform(),
        "audit_signing_ed25519",
        &seed,
    )
    .await
    .expect("legacy seed");
    store.close().await;
    let t = spawn_on(url, dir, settings()).await;
    let tenant = t.tenant("jaya").await;
    let tid = tenant.id.as_text();
    let old = t.clock_now() - chrono::Duration::hours(1);
    let mut c = owner_conn(&t.db_url).await;
    let legacy_event = |i: i64| ChainedEvent {
        id: uuid::Uuid::now_v7().to_string(),
        at_micros: old.timestamp_micros() + i,
        action: "auth.login".into(),
        resource_type: "session".into(),
        purpose: "operations".into(),
        outcome: "success".into(),
        ..ChainedEvent::default()
    };
    let insert_event = |e: &ChainedEvent| {
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, id, at, action, resource_type, purpose, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tid.clone())
        .bind(e.id.clone())
        .bind(e.at_micros)
        .bind(e.action.clone())
        .bind(e.resource_type.clone())
        .bind(e.purpose.clone())
        .bind(e.outcome.clone())
    };
    let mut prev = GENESIS.to_owned();
    for seq in 1..=2 {
        let e = legacy_event(seq);
        insert_event(&e).execute(&mut c).await.expect("old event");
        let hash = legacy_link_hash(&prev, &e);
        sqlx::query(
            "INSERT INTO audit_chain (tenant_id, seq, event_id, prev_hash, hash, sealed_at, format) \
             VALUES ($1, $2, $3, $4, $5, $6, 1)",
        )
        .bind(tid.clone())
        .bind(seq)
        .bind(e.id.clone())
        .bind(prev.clone())
        .bind(hash.clone())
        .bind(old.timestamp_micros())
        .execute(&mut c)
        .await
        .expect("old link");
        prev = hash;
    }
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let kid = t
        .app
        .governance()
        .audit_public_key()
        .await
        .expect("pk")
        .key_id;
    let signed_at = old.timestamp_micros() + 10;
    let sig = ed25519_dalek::Signer::sign(&key, &checkpoint_message(&tid, 2, &prev, signed_at));
    sqlx::query(
        "INSERT INTO audit_checkpoints (tenant_id, seq, hash, signed_at, key_id, signature) \
         VALUES ($1, 2, $2, $3, $4, $5)",
    )
    .bind(tid.clone())
    .bind(prev.clone())
    .bind(signed_at)
    .bind(kid)
    .bind(sig.to_bytes().to_vec())
    .execute(&mut c)
    .await
    .expect("old checkpoint");
    let pending = legacy_event(20);
    insert_event(&pending)
        .execute(&mut c)
        .await
        .expect("pending");
    if t.app.store.backend() == Backend::Sqlite {
        // Migration 0019 wrote its list before this trigger existed.
        exec(&mut c, "DROP TRIGGER audit_legacy_events_no_insert").await;
    }
    sqlx::query("INSERT INTO audit_legacy_events (tenant_id, event_id) VALUES ($1, $2)")
        .bind(tid.clone())
        .bind(pending.id.clone())
        .execute(&mut c)
        .await
        .expect("listed by the migration");
    // An event without a MAC that the migration did not list.
    let unlisted = legacy_event(30);
    insert_event(&unlisted)
        .execute(&mut c)
        .await
        .expect("unlisted");

    let r = verify(&t).await;
    assert_eq!(
        problems_of(&r, &tenant).len(),
        1,
        "only the unlisted event: {:?}",
        r.problems
    );
    // At start-up: the old chain's head is witnessed, and the chain gets
    // its `audit.chain_keyed` event (so even an idle tenant's next round
    // is its first keyed one, which closes the legacy list).
    assert_eq!(
        t.app
            .governance()
            .prepare_audit_chains()
            .await
            .expect("prepare"),
        1
    );
    let sealed = seal(&t).await;
    let (chain, events, _) = stored(&t, &tenant).await;
    assert!(events
        .iter()
        .any(|e| e.action == "audit.chain_keyed" && chain.iter().any(|l| l.event_id == e.id)));
    assert_eq!(
        chain[2].event_id, pending.id,
        "the listed event is linked next"
    );
    assert_eq!(chain[2].format, 2, "with a keyed link");
    assert!(chain.iter().all(|l| l.event_id != unlisted.id));
    assert_eq!(chain.len(), 2 + sealed);
    let r = verify(&t).await;
    let problems = problems_of(&r, &tenant);
    assert_eq!(problems.len(), 1, "{:?}", r.problems);
    assert!(
        problems[0].contains(&unlisted.id) && problems[0].contains("the sealer refused it"),
        "{:?}",
        r.problems
    );
    assert_eq!(r.sealed_events, chain.len());

    // Listed after the chain's first keyed round: refused.
    let late = legacy_event(40);
    insert_event(&late).execute(&mut c).await.expect("late");
    sqlx::query("INSERT INTO audit_legacy_events (tenant_id, event_id) VALUES ($1, $2)")
        .bind(tid.clone())
        .bind(late.id.clone())
        .execute(&mut c)
        .await
        .expect("listed late");
    assert_eq!(seal(&t).await, 0);
    let r = verify(&t).await;
    assert_problem(&r, &[&late.id, "late_legacy"]);
}
