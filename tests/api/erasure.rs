//! Patient erasure end to end, on SQLite and PostgreSQL: refused without
//! the permission, under a legal hold and within the retention period;
//! then the data key destroyed, the rows deleted, a tombstone left (410),
//! nothing found by name, phone or identifier, no duplicate warning for a
//! new registration with the same phone, the bulk export still working
//! (counting the erased), every other patient still decrypting; another
//! running instance forgetting the key; a restored backup erased again at
//! start-up; and the erasure page.

use crate::support::{
    code, form, page, pg_admin_url, settings, spawn_app, spawn_on, spawn_restored, Tenant, TestApp,
    PASSWORD,
};
use crate::trust_policy::{send, staff, Staff};
use clinicos_store::kit::db::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PHONE: &str = "+91 90817 26354";
const PASSPORT: &str = "K4418273";
const BORN: &str = "1979-11-02";

async fn register(t: &TestApp, token: &str, given: &str, family: &str, phone: &str) -> String {
    let (s, v) = send(
        t,
        "POST",
        "/api/v1/patients",
        token,
        Some(
            json!({"given_name": given, "family_name": family, "sex": "female",
                    "birth_date": BORN, "phone": phone, "city": "Madurai",
                    "identifiers": [{"kind": "passport", "value": format!("{PASSPORT}{given}")}]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

/// The patient to erase (Zubeida Quraishi) and another one (Harini
/// Venkatraman) who must stay readable.
async fn two_patients(t: &TestApp, s: &Staff) -> (String, String) {
    let p = register(t, &s.desk, "Zubeida", "Quraishi", PHONE).await;
    let q = register(t, &s.desk, "Harini", "Venkatraman", "+91 90817 99999").await;
    (p, q)
}

async fn erase(t: &TestApp, token: &str, p: &str, reason: &str) -> (StatusCode, Value) {
    send(
        t,
        "POST",
        &format!("/api/v1/patients/{p}/erasure"),
        token,
        Some(json!({"reason": reason, "reference": "DSR-2026-044"})),
    )
    .await
}

async fn get(t: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    send(t, "GET", path, token, None).await
}

/// The ids a patient list answers.
async fn found(t: &TestApp, token: &str, query: &str) -> Vec<String> {
    let (s, v) = get(t, token, &format!("/api/v1/patients?{query}")).await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["id"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn audit_count(t: &TestApp, tenant: &Tenant, action: &str) -> i64 {
    let mut tx = t.app.store.read(tenant.id).await.expect("tx");
    clinicos_store::governance::audit::count_action(&mut tx, action)
        .await
        .expect("count")
}

/// What an erased patient must no longer be: found, a duplicate, in the
/// export; and what the others must still be: readable.
async fn assert_erased(t: &TestApp, tenant: &Tenant, p: &str, q: &str) {
    let owner = t.owner_token(tenant).await;
    for path in [
        format!("/api/v1/patients/{p}"),
        format!("/api/v1/patients/{p}/allergies"),
        format!("/api/v1/patients/{p}/export"),
        format!("/api/v1/patients/{p}/export?format=pdf"),
        format!("/api/v1/patients/{p}/photo"),
    ] {
        let (s, v) = get(t, &owner, &path).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::GONE, "PATIENT_ERASED"),
            "{path}: {v}"
        );
    }
    let phone = PHONE.replace(' ', "%20").replace('+', "%2B");
    for query in [
        "q=quraishi".to_owned(),
        "q=zubeida".to_owned(),
        format!("phone={phone}"),
        format!("identifier_kind=passport&identifier={PASSPORT}Zubeida"),
        "limit=100".to_owned(),
    ] {
        assert!(
            !found(t, &owner, &query).await.contains(&p.to_owned()),
            "{query} found the erased patient"
        );
    }
    assert_eq!(found(t, &owner, "q=venkatraman").await, [q.to_owned()]);
    // Every other patient still decrypts, and the export works.
    let (s, v) = get(t, &owner, &format!("/api/v1/patients/{q}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["phone"], "+919081799999");
    let (s, v) = get(t, &owner, "/api/v1/patients/export").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["erased"], 1, "{v}");
    let exported: Vec<&str> = v["data"]["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .map(|e| e["patient"]["id"].as_str().unwrap_or(""))
        .collect();
    assert!(
        exported.contains(&q) && !exported.contains(&p),
        "{exported:?}"
    );
    // A new registration with the same phone and birth date is no duplicate.
    let (s, v) = send(
        t,
        "POST",
        "/api/v1/patients",
        &owner,
        Some(
            json!({"given_name": "Zubeida", "family_name": "Quraishi", "sex": "female",
                    "birth_date": BORN, "phone": PHONE,
                    "identifiers": [{"kind": "passport", "value": format!("{PASSPORT}Zubeida")}]}),
        ),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "not a duplicate of the erased record: {v}"
    );
    assert_ne!(v["data"]["id"].as_str(), Some(p));
}

/// The stored shell and the rows left of an erased patient, read as the
/// database owner.
async fn assert_nothing_left(t: &TestApp, p: &str) {
    let db = clinicos_store::Db::connect(&t.db_url, 2, false)
        .await
        .expect("db");
    let shell = sqlx::query(
        "SELECT given_name, family_name, birth_date, city, phone, phone_bidx, email, address, \
         notes, is_active, erased_at FROM patients WHERE id = $1",
    )
    .bind(p)
    .fetch_one(db.pool())
    .await
    .expect("shell row");
    let text = |c: &str| sqlx::Row::try_get::<Option<String>, _>(&shell, c).expect(c);
    let bytes = |c: &str| sqlx::Row::try_get::<Option<Vec<u8>>, _>(&shell, c).expect(c);
    for c in ["given_name", "family_name", "city"] {
        assert_eq!(text(c).as_deref(), Some(""), "{c}");
    }
    for c in ["birth_date", "phone_bidx"] {
        assert_eq!(text(c), None, "{c}");
    }
    for c in ["phone", "email", "address", "notes"] {
        assert_eq!(bytes(c), None, "{c}");
    }
    let erased: Option<i64> = sqlx::Row::try_get(&shell, "erased_at").expect("erased_at");
    assert!(erased.is_some());
    for (table, column) in clinicos_store::patients::erasure::DELETED {
        let n: i64 = sqlx::Row::try_get(
            &sqlx::query(&format!(
                "SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1"
            ))
            .bind(p)
            .fetch_one(db.pool())
            .await
            .expect("count"),
            "n",
        )
        .expect("n");
        assert_eq!(n, 0, "{table}.{column} still names the erased patient");
    }
    let n: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) AS n FROM outbox_messages WHERE addressee_id = $1")
            .bind(p)
            .fetch_one(db.pool())
            .await
            .expect("count"),
        "n",
    )
    .expect("n");
    assert_eq!(n, 0, "outbox messages to the erased patient");
    db.close().await;
}

#[tokio::test]
async fn erasure_is_refused_while_held_or_retained_then_leaves_only_a_tombstone() {
    let t = spawn_app().await;
    let tenant = t.tenant("erase").await;
    let s = staff(&t, &tenant).await;
    let (p, q) = two_patients(&t, &s).await;
    // A portal code to the patient's phone: an outbox message for them.
    let (st, v) = crate::portal_otp::send(&t, "erase", "sms", PHONE).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    // A clinical entry: the record must now be kept (India: 7 years).
    let (st, v) = send(
        &t,
        "POST",
        &format!("/api/v1/patients/{p}/care-team"),
        &s.owner,
        Some(json!({"user_id": s.id("doc1")})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let (st, v) = send(
        &t,
        "POST",
        &format!("/api/v1/patients/{p}/allergies"),
        &s.doc1,
        Some(json!({"substance": "Sulfonamides", "category": "medication", "reaction": "Stevens-Johnson"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    // The owner may not erase by default; nobody erases without the permission.
    for who in [&s.owner, &s.doc1, &s.desk] {
        let (st, v) = erase(&t, who, &p, "patient_request").await;
        assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{v}");
    }
    let check = format!("/api/v1/patients/{p}/erasure/check");
    let (st, v) = get(&t, &s.privacy, &check).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["erasable"], false);
    assert_eq!(v["data"]["blockers"][0]["code"], "RETENTION_APPLIES");
    assert_eq!(v["data"]["packs"], json!(["IN"]));
    let today = t.clock_now().date_naive();
    let until = today
        .checked_add_months(chrono::Months::new(7 * 12))
        .expect("date");
    assert_eq!(v["data"]["retention_until"], until.to_string());
    let (st, v) = erase(&t, &s.privacy, &p, "patient_request").await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "RETENTION_APPLIES"),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(&until.to_string()),
        "{v}"
    );

    // A legal hold, with its reason sealed.
    let holds = format!("/api/v1/patients/{p}/legal-holds");
    let (st, v) = send(
        &t,
        "POST",
        &holds,
        &s.privacy,
        Some(json!({"reason": "Court summons 44/2026"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let hold = v["data"]["id"].as_str().expect("hold id").to_owned();
    let (st, v) = send(&t, "POST", &holds, &s.desk, Some(json!({"reason": "x"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    crate::encryption::assert_not_stored(
        &t.db_url,
        b"Venkatraman",
        &["patient_legal_holds"],
        &[b"Court summons 44/2026"],
    )
    .await;

    // Eight years on, retention has run out; the hold has not.
    t.clock.advance(chrono::Duration::days(8 * 366));
    let privacy = t.login("erase", "privacy@erase.example", PASSWORD).await.0;
    let (st, v) = get(&t, &privacy, &check).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let blockers: Vec<&str> = v["data"]["blockers"]
        .as_array()
        .expect("blockers")
        .iter()
        .map(|b| b["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(blockers, ["LEGAL_HOLD"]);
    let (st, v) = erase(&t, &privacy, &p, "patient_request").await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "LEGAL_HOLD"), "{v}");
    let (st, v) = send(
        &t,
        "POST",
        &format!("{holds}/{hold}/release"),
        &privacy,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let (st, v) = send(
        &t,
        "POST",
        &format!("{holds}/{hold}/release"),
        &privacy,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "released already: {v}");

    // Bad input changes nothing.
    let (st, v) = erase(&t, &privacy, &p, "because").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = get(&t, &privacy, &format!("/api/v1/patients/{p}")).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let before = crate::portal_otp::messages(&t, &tenant).await.len();
    let (st, v) = erase(&t, &privacy, &p, "patient_request").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let r = &v["data"];
    assert_eq!(r["patient_id"], p.as_str());
    assert_eq!(r["reason"], "patient_request");
    assert_eq!(r["reference"], "DSR-2026-044");
    assert_eq!(r["key_destroyed"], true);
    let rows = |table: &str| {
        r["deleted"]
            .as_array()
            .expect("deleted")
            .iter()
            .find(|d| d["table"] == table)
            .map(|d| d["rows"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    };
    assert_eq!(rows("allergies"), 1);
    assert_eq!(rows("patient_identifiers"), 1);
    assert_eq!(rows("patient_legal_holds"), 1);
    assert!(rows("outbox_messages") >= 1, "{r}");
    assert!(rows("patient_name_tokens") >= 2, "{r}");

    // Erasing again: the record is gone.
    let (st, v) = erase(&t, &privacy, &p, "patient_request").await;
    assert_eq!((st, code(&v)), (StatusCode::GONE, "PATIENT_ERASED"), "{v}");
    // The tombstone.
    let (st, v) = get(&t, &privacy, &format!("/api/v1/patients/{p}/erasure")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["erased_by"], s.id("privacy").as_text());
    let (st, _) = get(&t, &privacy, &format!("/api/v1/patients/{q}/erasure")).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "not erased");
    // The key is gone from the key store.
    let keys = t.app.store.field_keys().expect("keys");
    assert!(keys
        .key_store
        .subject_key(&tenant.id.as_text(), &p)
        .await
        .expect("key store")
        .is_none());
    // A code asked for the erased phone goes nowhere.
    let (st, _) = crate::portal_otp::send(&t, "erase", "sms", PHONE).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(
        crate::portal_otp::messages(&t, &tenant).await.len(),
        before - rows("outbox_messages") as usize
    );
    assert_eq!(audit_count(&t, &tenant, "patient.erased").await, 1);
    assert_nothing_left(&t, &p).await;
    assert_erased(&t, &tenant, &p, &q).await;
}

#[tokio::test]
async fn records_merged_into_the_erased_one_go_with_it() {
    let t = spawn_app().await;
    let tenant = t.tenant("erasemerge").await;
    let s = staff(&t, &tenant).await;
    let (p, q) = two_patients(&t, &s).await;
    let dup = register(&t, &s.desk, "Zubeyda", "Qureshi", "+91 90817 55555").await;
    let (st, v) = send(
        &t,
        "POST",
        "/api/v1/patients/merge",
        &s.owner,
        Some(json!({"survivor_id": p, "merged_id": dup, "reason": "same person"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = get(
        &t,
        &s.privacy,
        &format!("/api/v1/patients/{p}/erasure/check"),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["merged_records"], json!([dup]));
    let (st, v) = erase(&t, &s.privacy, &p, "registered_in_error").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["also_erased"], json!([dup]));
    for id in [&p, &dup] {
        let (st, v) = get(&t, &s.owner, &format!("/api/v1/patients/{id}")).await;
        assert_eq!((st, code(&v)), (StatusCode::GONE, "PATIENT_ERASED"), "{v}");
    }
    let (st, _) = get(&t, &s.owner, &format!("/api/v1/patients/{q}")).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn another_running_instance_forgets_the_erased_key() {
    let a = spawn_app().await;
    let b = spawn_on(a.db_url.clone(), None, settings()).await;
    let tenant = a.tenant("erasetwo").await;
    let s = staff(&a, &tenant).await;
    let (p, _) = two_patients(&a, &s).await;
    // B reads the patient: its key is now in B's cache.
    let (st, v) = get(&b, &s.owner, &format!("/api/v1/patients/{p}")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let db = clinicos_store::Db::connect(&a.db_url, 2, false)
        .await
        .expect("db");
    let sealed: Vec<u8> = sqlx::Row::try_get(
        &sqlx::query("SELECT phone FROM patients WHERE id = $1")
            .bind(&p)
            .fetch_one(db.pool())
            .await
            .expect("row"),
        "phone",
    )
    .expect("phone");
    let open = |t: &TestApp| {
        let (c, p, sealed) = (t.app.cipher.clone(), p.clone(), sealed.clone());
        async move {
            c.decrypt(tenant.id, "patients", "phone", &p, &p, &sealed)
                .await
                .is_ok()
        }
    };
    assert!(open(&b).await, "B holds the key");
    let (st, v) = erase(&a, &s.privacy, &p, "patient_request").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // Both instances answer 410 at once (the tombstone is in the database).
    for t in [&a, &b] {
        let (st, v) = get(t, &s.owner, &format!("/api/v1/patients/{p}")).await;
        assert_eq!((st, code(&v)), (StatusCode::GONE, "PATIENT_ERASED"), "{v}");
    }
    assert!(!open(&a).await, "the erasing instance forgot the key");
    if db.backend() == Backend::Postgres {
        // B was told through LISTEN/NOTIFY before A answered; it applies
        // the message on its listener task.
        let mut forgotten = false;
        for _ in 0..100 {
            if !open(&b).await {
                forgotten = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            forgotten,
            "instance B still decrypts the erased patient's data"
        );
    }
    db.close().await;
}

/// A copy of the test database as a backup restore would bring back:
/// `VACUUM INTO` beside it (SQLite), `pg_dump | psql` into a new database
/// (PostgreSQL). Returns the copy's URL.
async fn backup(t: &TestApp) -> String {
    if let Some(admin) = pg_admin_url() {
        let (base, name) = t.db_url.rsplit_once('/').expect("pg url");
        let copy = format!("{name}_restored");
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("admin");
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {copy}").as_str())
            .await
            .expect("create copy");
        let url = format!("{base}/{copy}");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; pg_dump --dbname='{}' | psql -q -v ON_ERROR_STOP=1 --dbname='{url}' >/dev/null",
                t.db_url
            ))
            .output()
            .expect("pg_dump and psql (postgresql-client) are needed");
        assert!(
            out.status.success(),
            "pg_dump | psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        url
    } else {
        let path = t
            .db_url
            .strip_prefix("sqlite://")
            .and_then(|r| r.split('?').next())
            .expect("sqlite path");
        let copy = std::path::Path::new(path).with_file_name("restored.db");
        let db = clinicos_store::Db::connect(&t.db_url, 1, false)
            .await
            .expect("db");
        sqlx::query(&format!("VACUUM INTO '{}'", copy.display()))
            .execute(db.pool())
            .await
            .expect("vacuum into");
        db.close().await;
        format!("sqlite://{}?mode=rwc", copy.display())
    }
}

#[tokio::test]
async fn a_restored_backup_is_erased_again_at_start_up() {
    let t = spawn_app().await;
    let tenant = t.tenant("eraseback").await;
    let s = staff(&t, &tenant).await;
    let (p, q) = two_patients(&t, &s).await;
    let restored = backup(&t).await;
    let (st, v) = erase(&t, &s.privacy, &p, "patient_request").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // The backup comes back, with the live key store (kept apart).
    let r = spawn_restored(restored, &t.db_url).await;
    assert_eq!(
        audit_count(&r, &tenant, "patient.erasure_replayed").await,
        1
    );
    assert_nothing_left(&r, &p).await;
    assert_erased(&r, &tenant, &p, &q).await;
    // Starting again finds nothing left to do.
    assert_eq!(r.app.patients().replay_erasures().await.expect("replay"), 0);
}

#[tokio::test]
async fn every_table_with_a_patient_id_is_classified_by_the_erasure() {
    let t = spawn_app().await;
    let db = clinicos_store::Db::connect(&t.db_url, 2, false)
        .await
        .expect("db");
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT m.name AS t FROM sqlite_master m, pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND c.name IN ('patient_id', 'dependant_id', 'survivor_id', 'merged_id') \
             ORDER BY m.name",
        Backend::Postgres => "SELECT DISTINCT table_name::text AS t FROM information_schema.columns \
             WHERE column_name IN ('patient_id', 'dependant_id', 'survivor_id', 'merged_id') \
             AND table_schema = current_schema() ORDER BY 1",
    };
    let known = clinicos_store::patients::erasure::classified_tables();
    let rows = sqlx::query(sql).fetch_all(db.pool()).await.expect("schema");
    assert!(rows.len() >= 12, "{}", rows.len());
    for r in rows {
        let name: String = sqlx::Row::try_get(&r, "t").expect("name");
        assert!(
            known.contains(&name.as_str()),
            "{name} names a patient and the erasure does not handle it (classify it in patients/erasure.rs)"
        );
    }
    db.close().await;
}

#[tokio::test]
async fn the_privacy_officer_erases_from_the_page() {
    let t = spawn_app().await;
    let tenant = t.tenant("erasepage").await;
    let s = staff(&t, &tenant).await;
    let (p, _) = two_patients(&t, &s).await;
    let cookie = t
        .page_sign_in("erasepage", "privacy@erasepage.example")
        .await;
    let path = format!("/patients/{p}/erasure");
    let html = page(&t, &path, &cookie).await.text().await.expect("page");
    assert!(
        html.contains("erase-form") && html.contains("Zubeida"),
        "{html}"
    );
    // The chart links to the page.
    let chart = page(&t, &format!("/patients/{p}"), &cookie)
        .await
        .text()
        .await
        .expect("chart");
    assert!(chart.contains("erasure-link"));
    // A hold from the page, shown there, then released.
    let r = form(
        &t,
        &format!("/patients/{p}/legal-holds"),
        &cookie,
        &[("reason", "Insurer dispute")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = page(&t, &path, &cookie).await.text().await.expect("page");
    assert!(
        html.contains("Insurer dispute") && html.contains("LEGAL_HOLD"),
        "{html}"
    );
    assert!(!html.contains("erase-form"), "no erase form while held");
    let (_, v) = get(&t, &s.privacy, &format!("/api/v1/patients/{p}/legal-holds")).await;
    let hold = v["data"][0]["id"].as_str().expect("hold").to_owned();
    let r = form(
        &t,
        &format!("/patients/{p}/legal-holds/{hold}/release"),
        &cookie,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Without the typed word nothing happens.
    let fields = [
        ("reason", "patient_request"),
        ("reference", "DSR-9"),
        ("confirm", "erase"),
    ];
    let r = form(&t, &path, &cookie, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (st, _) = get(&t, &s.owner, &format!("/api/v1/patients/{p}")).await;
    assert_eq!(st, StatusCode::OK, "not erased without the word");
    let fields = [
        ("reason", "patient_request"),
        ("reference", "DSR-9"),
        ("confirm", "ERASE"),
    ];
    let r = form(&t, &path, &cookie, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (st, _) = get(&t, &s.owner, &format!("/api/v1/patients/{p}")).await;
    assert_eq!(st, StatusCode::GONE);
    let html = page(&t, &path, &cookie).await.text().await.expect("page");
    assert!(
        html.contains("tombstone") && html.contains("DSR-9"),
        "{html}"
    );
    // The chart itself answers 410.
    let r = page(&t, &format!("/patients/{p}"), &cookie).await;
    assert_eq!(r.status(), StatusCode::GONE);
    // A doctor has no erasure page.
    let doc = t.page_sign_in("erasepage", "doc1@erasepage.example").await;
    let r = page(&t, &path, &doc).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
