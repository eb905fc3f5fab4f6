//! The audit event is written in the same transaction as what it records:
//! when the audit insert fails, the write it records is rolled back too.

use crate::support::{body, code, spawn_app};
use clinicos_store::{Backend, Db};
use reqwest::StatusCode;
use serde_json::json;

/// Make every insert of a `patient.created` event fail (as the database
/// owner, outside the application).
async fn break_patient_created_events(url: &str) -> Db {
    let db = Db::connect(url, 2, false).await.expect("owner connection");
    let statements: &[&str] = match db.backend() {
        Backend::Sqlite => &["CREATE TRIGGER refuse_patient_created BEFORE INSERT ON audit_events \
             WHEN NEW.action = 'patient.created' BEGIN SELECT RAISE(ABORT, 'audit store refused'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_patient_created() RETURNS trigger AS $$ BEGIN \
             IF NEW.action = 'patient.created' THEN RAISE EXCEPTION 'audit store refused'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_patient_created BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_patient_created()",
        ],
    };
    for s in statements {
        sqlx::query(s).execute(db.pool()).await.expect("trigger");
    }
    db
}

#[tokio::test]
async fn a_write_rolls_back_when_its_audit_event_cannot_be_stored() {
    let t = spawn_app().await;
    let tenant = t.tenant("atomic").await;
    let owner = t.owner_token(&tenant).await;
    let register = || async {
        let b = json!({"given_name": "Rollback", "family_name": "Probe", "sex": "male"});
        body(t.post("/api/v1/patients", Some(&owner), b).await).await
    };
    let db = break_patient_created_events(&t.db_url).await;
    let (s, v) = register().await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        "{v}"
    );
    for table in ["patients", "patient_name_tokens"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db.pool())
            .await
            .expect("count");
        assert_eq!(n, 0, "{table} kept a row of the failed registration");
    }
    // The same request succeeds once the audit store accepts events again.
    let drop = match db.backend() {
        Backend::Sqlite => "DROP TRIGGER refuse_patient_created",
        Backend::Postgres => "DROP TRIGGER refuse_patient_created ON audit_events",
    };
    sqlx::query(drop)
        .execute(db.pool())
        .await
        .expect("drop trigger");
    let (s, v) = register().await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
