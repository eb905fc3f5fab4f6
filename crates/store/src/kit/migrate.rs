//! Versioned, forward-only migrations that run on both databases.
//!
//! Each migration is one SQL file written once in the portable subset
//! (`BLOB` becomes `BYTEA` on PostgreSQL) plus the list of tenant-owned
//! tables it creates; on PostgreSQL the runner gives each of those an RLS
//! policy on `current_setting('app.tenant_id', true)` (FORCEd, so even the
//! owner is filtered) and grants the application role DML on every table.
//! Migrations must stay backwards-compatible with the previous release's
//! code (add columns/tables; never drop or rename in the same release).

use crate::{Backend, Db, StoreError, StoreResult};
use sqlx::Executor;

/// One schema change.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
    /// Tables created by this migration that carry `tenant_id` and get RLS.
    pub tenant_tables: &'static [&'static str],
    /// For the `tenants` table the tenant column is its primary key.
    pub tenant_column: &'static str,
    /// Tables that only ever grow: SQLite triggers refuse UPDATE/DELETE, and
    /// the PostgreSQL application role loses those grants (re-checked after
    /// every later migration, whose blanket GRANT would otherwise restore them).
    pub append_only: &'static [&'static str],
    /// Tables the application only reads: written by the migration itself
    /// (as the owner); SQLite triggers refuse INSERT/UPDATE/DELETE, and the
    /// PostgreSQL application role loses those grants (re-checked after
    /// every later migration, like `append_only`).
    pub read_only: &'static [&'static str],
}

/// The tables of every migration up to and including `version` that
/// `list` picks (append-only or read-only).
fn tables_until(
    version: i64,
    list: fn(&Migration) -> &'static [&'static str],
) -> Vec<&'static str> {
    MIGRATIONS
        .iter()
        .filter(|m| m.version <= version)
        .flat_map(|m| list(m).iter().copied())
        .collect()
}

/// SQLite triggers refusing `ops` on `t` (which is `what`).
fn sqlite_refusing_triggers(t: &str, ops: &[&str], what: &str) -> Vec<String> {
    ops.iter()
        .map(|op| {
            format!(
                "CREATE TRIGGER {t}_no_{} BEFORE {op} ON {t} BEGIN SELECT RAISE(ABORT, '{t} is {what}'); END",
                op.to_lowercase()
            )
        })
        .collect()
}

/// Every migration, in order. Append only.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../../migrations/0001_foundation.sql"),
        tenant_tables: &[
            "tenants",
            "branches",
            "users",
            "user_roles",
            "user_branches",
            "sessions",
            "password_resets",
            "outbox_messages",
            "audit_events",
        ],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 2,
        name: "audit_chain",
        sql: include_str!("../../migrations/0002_audit_chain.sql"),
        tenant_tables: &["audit_chain", "audit_checkpoints"],
        tenant_column: "tenant_id",
        append_only: &["audit_events", "audit_chain", "audit_checkpoints"],
        read_only: &[],
    },
    Migration {
        version: 3,
        name: "mfa",
        sql: include_str!("../../migrations/0003_mfa.sql"),
        tenant_tables: &[
            "mfa_totp",
            "mfa_recovery_codes",
            "mfa_challenges",
            "staff_devices",
        ],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 4,
        name: "policy",
        sql: include_str!("../../migrations/0004_policy.sql"),
        tenant_tables: &["role_bundles", "user_grants"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 5,
        name: "patients",
        sql: include_str!("../../migrations/0005_patients.sql"),
        tenant_tables: &[
            "patients",
            "care_relationships",
            "history_entries",
            "break_glass_grants",
        ],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 6,
        name: "security_events",
        sql: include_str!("../../migrations/0006_security_events.sql"),
        tenant_tables: &[
            "security_events",
            "security_event_deliveries",
            "security_settings",
            "security_known_networks",
        ],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 8,
        name: "portal_identity",
        sql: include_str!("../../migrations/0008_portal_identity.sql"),
        tenant_tables: &["portal_otp_codes", "portal_sessions"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 9,
        name: "patient_search",
        sql: include_str!("../../migrations/0009_patient_search.sql"),
        tenant_tables: &["patient_name_tokens"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 10,
        name: "clinical_records",
        sql: include_str!("../../migrations/0010_clinical_records.sql"),
        tenant_tables: &["allergies", "conditions", "medications"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 11,
        name: "patient_registry",
        sql: include_str!("../../migrations/0011_patient_registry.sql"),
        tenant_tables: &["patient_identifiers"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 12,
        name: "attachments",
        sql: include_str!("../../migrations/0012_attachments.sql"),
        tenant_tables: &["attachments"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 13,
        name: "share_links",
        sql: include_str!("../../migrations/0013_share_links.sql"),
        tenant_tables: &["share_links"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 14,
        name: "patient_family",
        sql: include_str!("../../migrations/0014_patient_family.sql"),
        tenant_tables: &["patient_links"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 15,
        name: "patient_merges",
        sql: include_str!("../../migrations/0015_patient_merges.sql"),
        tenant_tables: &["patient_merges", "patient_merge_moves"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 16,
        name: "patient_name_tokens_by_patient",
        sql: include_str!("../../migrations/0016_patient_name_tokens_by_patient.sql"),
        tenant_tables: &[],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 17,
        name: "patient_name_pairs",
        sql: include_str!("../../migrations/0017_patient_name_pairs.sql"),
        tenant_tables: &["patient_name_pairs"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 18,
        name: "patients_by_created",
        sql: include_str!("../../migrations/0018_patients_by_created.sql"),
        tenant_tables: &[],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 19,
        name: "audit_event_mac",
        sql: include_str!("../../migrations/0019_audit_event_mac.sql"),
        tenant_tables: &["audit_legacy_events", "audit_rejections"],
        tenant_column: "tenant_id",
        append_only: &["audit_rejections"],
        read_only: &["audit_legacy_events"],
    },
    Migration {
        version: 20,
        name: "outbox_sealed",
        sql: include_str!("../../migrations/0020_outbox_sealed.sql"),
        tenant_tables: &[],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
    Migration {
        version: 21,
        name: "patient_erasure",
        sql: include_str!("../../migrations/0021_patient_erasure.sql"),
        tenant_tables: &["patient_erasures", "patient_legal_holds"],
        tenant_column: "tenant_id",
        append_only: &[],
        read_only: &[],
    },
];

/// Split a migration file into statements (no `;` inside literals in our
/// migrations; comments are dropped).
fn statements(sql: &str) -> Vec<String> {
    let cleaned: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    cleaned
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The only per-backend spellings in migrations: `BLOB` is `BYTEA`,
/// SQLite's byte-wise `COLLATE BINARY` is PostgreSQL's `COLLATE "C"`,
/// SQLite's `WITHOUT ROWID` has no PostgreSQL counterpart, and statements
/// about row-level security exist only on PostgreSQL (`None` on SQLite).
fn dialect(backend: Backend, stmt: &str) -> Option<String> {
    match backend {
        Backend::Sqlite if stmt.contains("ROW LEVEL SECURITY") => None,
        Backend::Sqlite => Some(stmt.to_owned()),
        Backend::Postgres => Some(
            stmt.replace(" BLOB", " BYTEA")
                .replace(" COLLATE BINARY", " COLLATE \"C\"")
                .replace(") WITHOUT ROWID", ")"),
        ),
    }
}

fn postgres_tenant_steps(m: &Migration) -> Vec<String> {
    let mut out = Vec::new();
    for t in m.tenant_tables {
        out.push(format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"));
        out.push(format!("ALTER TABLE {t} FORCE ROW LEVEL SECURITY"));
        out.push(format!(
            "CREATE POLICY tenant_isolation ON {t} \
             USING ({c} = current_setting('app.tenant_id', true)) \
             WITH CHECK ({c} = current_setting('app.tenant_id', true))",
            c = m.tenant_column
        ));
    }
    out
}

/// Apply every migration not yet applied. Runs as the database owner; safe
/// to call on every start (serve/demo) and from several instances at once
/// (PostgreSQL takes an advisory lock; SQLite an immediate transaction).
pub async fn run(db: &Db) -> StoreResult<Vec<i64>> {
    let mut conn = db.pool().acquire().await?;
    if db.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_lock(727274)").await?;
    }
    let result = apply(db.backend(), &mut conn, MIGRATIONS).await;
    if db.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_unlock(727274)").await?;
    }
    result
}

/// Apply those of `migrations` not yet applied (every one, except in
/// tests that stop at an older schema).
async fn apply(
    backend: Backend,
    conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
    migrations: &[Migration],
) -> StoreResult<Vec<i64>> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
         version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    if backend == Backend::Postgres {
        ensure_app_role(conn).await?;
    }
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut **conn)
        .await?;
    let mut done = Vec::new();
    for m in migrations.iter().filter(|m| !applied.contains(&m.version)) {
        let mut tx = match backend {
            Backend::Sqlite => sqlx::Connection::begin_with(&mut **conn, "BEGIN IMMEDIATE").await?,
            Backend::Postgres => sqlx::Connection::begin(&mut **conn).await?,
        };
        let mut steps: Vec<String> = statements(m.sql)
            .iter()
            .filter_map(|s| dialect(backend, s))
            .collect();
        match backend {
            Backend::Postgres => {
                steps.extend(postgres_tenant_steps(m));
                steps.push(format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
                    crate::kit::db::APP_ROLE
                ));
                let role = crate::kit::db::APP_ROLE;
                for t in tables_until(m.version, |m| m.append_only) {
                    steps.push(format!("REVOKE UPDATE, DELETE ON {t} FROM {role}"));
                }
                for t in tables_until(m.version, |m| m.read_only) {
                    steps.push(format!("REVOKE INSERT, UPDATE, DELETE ON {t} FROM {role}"));
                }
            }
            Backend::Sqlite => {
                for t in m.append_only {
                    steps.extend(sqlite_refusing_triggers(
                        t,
                        &["UPDATE", "DELETE"],
                        "append-only",
                    ));
                }
                for t in m.read_only {
                    steps.extend(sqlite_refusing_triggers(
                        t,
                        &["INSERT", "UPDATE", "DELETE"],
                        "written by migrations only",
                    ));
                }
            }
        }
        for s in &steps {
            tx.execute(s.as_str())
                .await
                .map_err(|e| StoreError::Migration(format!("{:04}_{}: {e}", m.version, m.name)))?;
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(crate::kit::row::ts(chrono::Utc::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        done.push(m.version);
    }
    Ok(done)
}

/// Create the application role once per cluster, and let it use the schema.
async fn ensure_app_role(conn: &mut sqlx::pool::PoolConnection<sqlx::Any>) -> StoreResult<()> {
    let role = crate::kit::db::APP_ROLE;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_roles WHERE rolname = $1")
        .bind(role)
        .fetch_optional(&mut **conn)
        .await?;
    if exists.is_none() {
        // Parallel test databases may race to create the cluster-wide role.
        if let Err(e) = conn
            .execute(format!("CREATE ROLE {role} NOLOGIN").as_str())
            .await
        {
            let dup = matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42710") || d.code().as_deref() == Some("23505"));
            if !dup {
                return Err(e.into());
            }
        }
    }
    conn.execute(format!("GRANT USAGE ON SCHEMA public TO {role}").as_str())
        .await?;
    conn.execute(format!("GRANT {role} TO CURRENT_USER").as_str())
        .await
        .ok();
    Ok(())
}

/// Versions applied so far (for `clinicos migrate` output and health).
pub async fn applied_versions(db: &Db) -> StoreResult<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(db.pool())
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_and_translate() {
        let s = statements(MIGRATIONS[0].sql);
        assert!(s.len() > 10);
        assert!(s.iter().all(|x| !x.starts_with("--")));
        let pg = dialect(Backend::Postgres, "CREATE TABLE x (a BLOB)");
        assert_eq!(pg.as_deref(), Some("CREATE TABLE x (a BYTEA)"));
        let pg = dialect(
            Backend::Postgres,
            "CREATE TABLE x (a TEXT COLLATE BINARY NOT NULL)",
        );
        assert_eq!(
            pg.as_deref(),
            Some("CREATE TABLE x (a TEXT COLLATE \"C\" NOT NULL)")
        );
        let table = "CREATE TABLE x (a TEXT, PRIMARY KEY (a)) WITHOUT ROWID";
        assert_eq!(
            dialect(Backend::Postgres, table).as_deref(),
            Some("CREATE TABLE x (a TEXT, PRIMARY KEY (a))")
        );
        assert_eq!(dialect(Backend::Sqlite, table).as_deref(), Some(table));
        let rls = "ALTER TABLE x NO FORCE ROW LEVEL SECURITY";
        assert_eq!(dialect(Backend::Sqlite, rls), None);
        assert_eq!(dialect(Backend::Postgres, rls).as_deref(), Some(rls));
    }

    /// Migration 0019 lists the events committed but not sealed when it
    /// ran as legacy (they carry no MAC through no fault of their own),
    /// and the application cannot add to that list afterwards.
    #[tokio::test]
    async fn the_event_mac_migration_lists_unsealed_events_as_legacy_once() {
        let dir = tempfile::tempdir().expect("dir");
        let url = crate::kit::db::sqlite_url_for_dir(dir.path());
        let db = Db::connect(&url, 1, false).await.expect("db");
        let mut conn = db.pool().acquire().await.expect("conn");
        let before = MIGRATIONS.iter().take_while(|m| m.version < 19).count();
        apply(Backend::Sqlite, &mut conn, &MIGRATIONS[..before])
            .await
            .expect("old schema");
        for (id, at) in [("sealed", 1), ("pending", 2)] {
            sqlx::query(
                "INSERT INTO audit_events (tenant_id, id, at, action, resource_type, outcome) \
                 VALUES ('t', $1, $2, 'auth.login', 'session', 'success')",
            )
            .bind(id)
            .bind(at)
            .execute(&mut *conn)
            .await
            .expect("event");
        }
        conn.execute(
            "INSERT INTO audit_chain (tenant_id, seq, event_id, prev_hash, hash, sealed_at) \
             VALUES ('t', 1, 'sealed', '0', 'h', 3)",
        )
        .await
        .expect("link");
        apply(Backend::Sqlite, &mut conn, MIGRATIONS)
            .await
            .expect("new schema");
        let legacy: Vec<String> = sqlx::query_scalar("SELECT event_id FROM audit_legacy_events")
            .fetch_all(&mut *conn)
            .await
            .expect("legacy");
        assert_eq!(legacy, vec!["pending".to_owned()]);
        let format: i64 = sqlx::query_scalar("SELECT format FROM audit_chain")
            .fetch_one(&mut *conn)
            .await
            .expect("format");
        assert_eq!(format, 1, "links sealed before are unkeyed");
        for sql in [
            "INSERT INTO audit_legacy_events (tenant_id, event_id) VALUES ('t', 'sealed')",
            "DELETE FROM audit_legacy_events",
            "UPDATE audit_legacy_events SET event_id = 'sealed'",
        ] {
            assert!(conn.execute(sql).await.is_err(), "refused: {sql}");
        }
    }

    #[test]
    fn versions_increase_and_may_have_gaps() {
        // Branches reserve numbers; the runner keys on the version, not
        // the position, so only order and uniqueness matter.
        for w in MIGRATIONS.windows(2) {
            assert!(
                w[0].version < w[1].version,
                "{} then {}",
                w[0].name,
                w[1].name
            );
        }
    }

    #[test]
    fn every_tenant_table_leads_with_tenant_id() {
        // The schema rule: tenant-owned tables carry tenant_id and their
        // keys start with it, so no row can reference another tenant's row.
        for m in MIGRATIONS {
            for t in m.tenant_tables {
                let stmt = statements(m.sql)
                    .into_iter()
                    .find(|s| s.starts_with(&format!("CREATE TABLE {t} (")))
                    .unwrap_or_default();
                assert!(stmt.contains("tenant_id TEXT"), "{t} lacks tenant_id");
                if *t != "tenants" {
                    assert!(
                        stmt.contains("PRIMARY KEY (tenant_id,"),
                        "{t}: key must lead with tenant_id"
                    );
                    for line in stmt
                        .lines()
                        .filter(|l| l.contains("FOREIGN KEY") || l.contains("UNIQUE"))
                    {
                        assert!(
                            line.contains("tenant_id"),
                            "{t}: constraint without tenant_id: {line}"
                        );
                    }
                }
            }
        }
    }
}
