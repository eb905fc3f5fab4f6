//! The database itself keeps tenants apart. On PostgreSQL: row-level
//! security with the application filter removed, with no tenant set, and
//! across pooled connections. On both: no row can reference another
//! tenant's row.

use crate::support::*;
use clinicos_store::kit::row::RowExt;
use clinicos_store::Store;
use sqlx::Row;

#[tokio::test]
async fn a_row_cannot_reference_another_tenants_row() {
    let t = spawn_app().await;
    let a = t.tenant("arun").await;
    let b = t.tenant("bina").await;
    let b_branch = {
        let mut tx = t.app.store.read(b.id).await.expect("tx");
        let q = tx.q("SELECT id FROM branches WHERE tenant_id = $1");
        tx.one(q).await.expect("b branch").text("id").expect("id")
    };
    let mut tx = t.app.store.write(a.id).await.expect("tx");
    let q = tx.q("SELECT id FROM users WHERE tenant_id = $1");
    let a_user = tx.one(q).await.expect("a user").text("id").expect("id");
    let q = tx
        .q("INSERT INTO user_branches (tenant_id, user_id, branch_id) VALUES ($1, $2, $3)")
        .bind(a_user)
        .bind(b_branch);
    let err = tx
        .exec(q)
        .await
        .expect_err("cross-tenant reference must fail");
    assert!(
        matches!(err, clinicos_store::StoreError::ForeignKey),
        "{err:?}"
    );
}

#[tokio::test]
async fn row_level_security_on_postgres() {
    if pg_admin_url().is_none() {
        eprintln!("skipped: row-level security runs on PostgreSQL (set CLINICOS_TEST_DATABASE_URL; .ci/run does)");
        return;
    }
    let (url, _) = fresh_db().await;
    // One pooled connection, so every transaction reuses it.
    let store = Store::open(&url, 1).await.expect("store");
    let t = spawn_on(url.clone(), None, settings()).await;
    let a = t.tenant("asha").await;
    let b = t.tenant("bhanu").await;
    t.tenant("chitra").await;

    // 1. Application filter removed: RLS still returns only the tenant's rows.
    let mut tx = store.read(a.id).await.expect("tx");
    let rows = tx
        .raw_all_unfiltered("SELECT tenant_id FROM branches")
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    assert!(rows
        .iter()
        .all(|r| r.text("tenant_id").expect("t") == a.id.as_text()));
    let users = tx
        .raw_all_unfiltered("SELECT tenant_id FROM users")
        .await
        .expect("rows");
    assert!(
        !users.is_empty()
            && users
                .iter()
                .all(|r| r.text("tenant_id").expect("t") == a.id.as_text())
    );
    tx.commit().await.expect("commit");

    // 2. The same pooled connection serves tenant B next: none of A's rows.
    let mut tx = store.read(b.id).await.expect("tx");
    let rows = tx
        .raw_all_unfiltered("SELECT tenant_id FROM branches")
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].text("tenant_id").expect("t"), b.id.as_text());
    tx.commit().await.expect("commit");

    // 3. Every table with a tenant column, read from the schema (not a
    // list kept by hand): RLS is on and forced, a tenant's transaction sees
    // only its own rows, and with no tenant set there are none. The
    // platform's own tables name tenants but belong to the operator.
    const PLATFORM: &[&str] = &["tenant_directory"];
    let tables: Vec<(String, bool, bool)> = sqlx::query(
        "SELECT c.relname::text AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND EXISTS ( \
           SELECT 1 FROM information_schema.columns col WHERE col.table_schema = n.nspname \
           AND col.table_name = c.relname AND col.column_name = 'tenant_id') ORDER BY 1",
    )
    .fetch_all(store.platform().pool())
    .await
    .expect("tables")
    .iter()
    .map(|r| {
        (
            r.try_get("name").expect("name"),
            r.try_get("rls").expect("rls"),
            r.try_get("forced").expect("forced"),
        )
    })
    .collect();
    assert!(tables.len() > 30, "{tables:?}");
    let mut tx = store.read(a.id).await.expect("tx");
    for (table, rls, forced) in &tables {
        if PLATFORM.contains(&table.as_str()) {
            continue;
        }
        assert!(
            *rls && *forced,
            "{table}: row-level security is not on and forced"
        );
        let rows = tx
            .raw_all_unfiltered(&format!("SELECT tenant_id FROM {table}"))
            .await
            .expect("rows");
        assert!(
            rows.iter()
                .all(|r| r.text("tenant_id").expect("t") == a.id.as_text()),
            "{table} shows another tenant's row"
        );
    }
    tx.commit().await.expect("commit");
    // No tenant set: zero rows, not an error and not everything.
    for table in ["tenants", "branches", "users", "sessions", "audit_events"] {
        assert!(
            tables.iter().any(|(t, _, _)| t == table),
            "{table} is checked"
        );
    }
    for (table, _, _) in &tables {
        if PLATFORM.contains(&table.as_str()) {
            continue;
        }
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.platform().pool())
            .await
            .expect("count")
            .try_get(0)
            .expect("n");
        assert_eq!(n, 0, "{table} without a tenant");
    }

    // 4. Writing a row for another tenant is refused by the policy's WITH CHECK.
    let mut tx = store.write(a.id).await.expect("tx");
    let sql = format!(
        "INSERT INTO outbox_messages (tenant_id, id, channel, recipient, subject, body, created_at) VALUES ('{}', 'x1', 'email', 'r', 's', 'b', 0)",
        b.id.as_text()
    );
    assert!(
        tx.raw_exec_unfiltered(&sql).await.is_err(),
        "RLS must refuse a row of another tenant"
    );
    drop(tx);

    // 5. The application role is not the owner and cannot switch RLS off.
    let mut c = store.platform().pool().acquire().await.expect("conn");
    let who: String = sqlx::query("SELECT current_user::text")
        .fetch_one(&mut *c)
        .await
        .expect("who")
        .try_get(0)
        .expect("name");
    assert_eq!(who, clinicos_store::kit::db::APP_ROLE);
    assert!(
        sqlx::Executor::execute(&mut *c, "ALTER TABLE branches DISABLE ROW LEVEL SECURITY")
            .await
            .is_err()
    );
    // Return the pool's only connection before closing the pool.
    drop(c);
    store.close().await;
}
