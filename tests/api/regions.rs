//! Data residency: each tenant's rows live only in its home region's
//! database, and requests are routed there by tenant.

use crate::support::*;
use reqwest::StatusCode;
use sqlx::Row;

async fn count(url: &str, sql: &str, tenant: &str) -> i64 {
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .expect("connect");
    let row = sqlx::query(sql)
        .bind(tenant.to_owned())
        .fetch_one(&mut c)
        .await
        .expect("count");
    row.try_get::<i64, _>(0).expect("n")
}

#[tokio::test]
async fn tenants_live_only_in_their_home_region() {
    let t = spawn_app().await;
    let (eu_url, _eu_dir) = fresh_db().await;
    t.app
        .store
        .add_region("eu", "Europe", &eu_url)
        .await
        .expect("add region");
    let home = t.tenant("anaya").await;
    let away = t.tenant_in("berlin", Some("eu")).await;

    for table in ["tenants", "branches", "users", "user_roles", "audit_events"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1");
        assert!(
            count(&t.db_url, &sql, &home.id.as_text()).await > 0,
            "{table}: home tenant in primary"
        );
        assert_eq!(
            count(&eu_url, &sql, &home.id.as_text()).await,
            0,
            "{table}: home tenant not in eu"
        );
        assert!(
            count(&eu_url, &sql, &away.id.as_text()).await > 0,
            "{table}: eu tenant in eu"
        );
        assert_eq!(
            count(&t.db_url, &sql, &away.id.as_text()).await,
            0,
            "{table}: eu tenant not in primary"
        );
    }
    // The directory (platform data) knows where each tenant lives.
    assert_eq!(
        count(
            &t.db_url,
            "SELECT COUNT(*) FROM tenant_directory WHERE tenant_id = $1",
            &away.id.as_text()
        )
        .await,
        1
    );

    // Requests route by tenant: sign-in, reads and writes reach the eu database.
    let token = t.owner_token(&away).await;
    let (s, v) = body(t.get("/api/v1/tenant", Some(&token)).await).await;
    assert_eq!(
        (s, v["data"]["home_region"].as_str()),
        (StatusCode::OK, Some("eu"))
    );
    let (s, _) = body(t.post("/api/v1/branches", Some(&token), serde_json::json!({"code": "mitte", "name": "Berlin Mitte", "country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"})).await).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        count(
            &eu_url,
            "SELECT COUNT(*) FROM branches WHERE tenant_id = $1",
            &away.id.as_text()
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &t.db_url,
            "SELECT COUNT(*) FROM branches WHERE tenant_id = $1",
            &away.id.as_text()
        )
        .await,
        0
    );
    // An unknown region is refused.
    let r = t.tenant_in_result("cairo", Some("mars")).await;
    assert!(r.is_err());
}
