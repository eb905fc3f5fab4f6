//! The raw-database side of each scenario: the same row work as the
//! ClinicOS request, straight on the store's sqlx pool, without HTTP,
//! routing, authentication code, policy or JSON.
//!
//! Invariants:
//! - Same pool (size and connection settings) as the server uses, same
//!   rows (ids from the fixture), and the store's own statements
//!   ([`crate::raw_sql`]): each read names exactly the columns the
//!   repository reads.
//! - On PostgreSQL each transaction sets `app.tenant_id` first, as the
//!   row-level security policies require; so the baseline pays that too.
//! - On SQLite each write transaction takes the store's writer turn
//!   (`Db::writer_turn`), so both sides queue their writes alike.
//! - A missing row is an error (`fetch_one`), so a baseline that silently
//!   read nothing (e.g. RLS filtering everything) cannot look fast.

use super::fixture::Fixture;
use super::raw_sql::{self, Statements};
use chrono::Utc;
use clinicos_app::kit::crypto;
use clinicos_domain::governance::audit::EventFields;
use clinicos_store::patients::registry;
use clinicos_store::patients::search::PatientSearch;
use clinicos_store::{Backend, Db};
use sqlx::{Any, AnyPool, Row, Transaction};

/// SQLite's writer, held for a write transaction.
type WriterTurn = tokio::sync::OwnedMutexGuard<()>;

/// The size of a wrapped data key (envelope header, nonce, 32 bytes, tag).
const WRAPPED_KEY_BYTES: usize = 5 + 12 + 32 + 16;
/// The birth date of every create-patient registration (`fixture::patient_body`).
const BIRTH_DATE: &str = "1984-06-01";

/// The page size both sides of the search scenarios ask for.
pub const SEARCH_PAGE: i64 = 20;

/// The baseline's connection and the fixture's ids.
pub struct Raw {
    pool: AnyPool,
    /// The store's database handle, for SQLite's writer turn: the baseline
    /// queues its writes the way the store does.
    db: Db,
    /// The key store's pool (new data keys are rows there).
    keys: Option<AnyPool>,
    /// The audit event key: each baseline event carries its MAC, as the
    /// audit writer's do (one HMAC, and the same row).
    audit_keys: Option<std::sync::Arc<clinicos_crypto::AuditKeys>>,
    sql: Statements,
    created: std::sync::atomic::AtomicU64,
    backend: Backend,
    tenant: String,
    session: String,
    user: String,
    branch: String,
    patient: String,
    email: String,
    password: String,
}

fn db_err(e: sqlx::Error) -> String {
    format!("database: {e}")
}

impl Raw {
    pub fn new(db: &Db, fx: &Fixture) -> Raw {
        Raw {
            pool: db.pool().clone(),
            db: db.clone(),
            keys: fx
                .app
                .store
                .field_keys()
                .map(|k| k.key_store.db().pool().clone()),
            audit_keys: fx.app.store.audit_keys().cloned(),
            sql: Statements::from_store(),
            created: std::sync::atomic::AtomicU64::new(0),
            backend: db.backend(),
            tenant: fx.tenant_id.clone(),
            session: fx.session_id.clone(),
            user: fx.user_id.clone(),
            branch: fx.branch_id.clone(),
            patient: fx.patient_id.as_text(),
            email: fx.email.clone(),
            password: fx.password.clone(),
        }
    }

    /// A write transaction and, on SQLite, the writer turn it holds (keep
    /// it until the transaction ends).
    async fn begin_write(&self) -> Result<(Option<WriterTurn>, Transaction<'static, Any>), String> {
        let turn = self.db.writer_turn().await.map_err(|e| e.to_string())?;
        Ok((turn, self.begin(true).await?))
    }

    async fn begin(&self, write: bool) -> Result<Transaction<'static, Any>, String> {
        let mut tx = match (self.backend, write) {
            (Backend::Sqlite, true) => self.pool.begin_with("BEGIN IMMEDIATE").await,
            _ => self.pool.begin().await,
        }
        .map_err(db_err)?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(self.tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        Ok(tx)
    }

    /// Session, tenant, user (+ roles, branches) and the branch, in one
    /// read transaction.
    pub async fn get_branch(&self) -> Result<(), String> {
        let mut tx = self.begin(false).await?;
        for (sql, id) in [
            (&self.sql.session, Some(&self.session)),
            (&self.sql.tenant, None),
            (&self.sql.user, Some(&self.user)),
            (&self.sql.branch, Some(&self.branch)),
        ] {
            let q = sqlx::query(sql).bind(self.tenant.as_str());
            let q = match id {
                Some(id) => q.bind(id.as_str()),
                None => q,
            };
            q.fetch_one(&mut *tx).await.map_err(db_err)?;
        }
        for sql in [self.sql.roles, self.sql.user_branches] {
            let rows = sqlx::query(sql)
                .bind(self.tenant.as_str())
                .bind(self.user.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            if rows.is_empty() {
                return Err("the owner has no roles or branches".into());
            }
        }
        tx.commit().await.map_err(db_err)
    }

    /// What authenticating a request reads: session, tenant, user, roles,
    /// branches and the policy rows, inside the caller's transaction.
    async fn auth_reads(&self, tx: &mut Transaction<'static, Any>) -> Result<(), String> {
        for (sql, id) in [
            (&self.sql.session, Some(&self.session)),
            (&self.sql.tenant, None),
            (&self.sql.user, Some(&self.user)),
        ] {
            let q = sqlx::query(sql).bind(self.tenant.as_str());
            let q = match id {
                Some(id) => q.bind(id.as_str()),
                None => q,
            };
            q.fetch_one(&mut **tx).await.map_err(db_err)?;
        }
        for sql in [self.sql.roles, self.sql.user_branches, self.sql.policy_rows] {
            sqlx::query(sql)
                .bind(self.tenant.as_str())
                .bind(self.user.as_str())
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    /// The audit event of a patient action, as the owner, in `tx`.
    async fn audit(
        &self,
        tx: &mut Transaction<'static, Any>,
        action: &str,
        id: &str,
        purpose: &str,
    ) -> Result<(), String> {
        let event_id = uuid::Uuid::now_v7().to_string();
        let at = Utc::now().timestamp_micros();
        let fields = EventFields {
            id: &event_id,
            at_micros: at,
            actor_id: &self.user,
            actor_roles: "owner",
            branch_id: &self.branch,
            action,
            resource_type: "patient",
            resource_ids: id,
            purpose,
            outcome: "success",
            reason: "",
            ip: "127.0.0.1",
            user_agent: "clinicos-bench",
            request_id: "bench",
        };
        let keys = self
            .audit_keys
            .as_deref()
            .ok_or("the audit keys are not loaded")?;
        let mac = clinicos_store::governance::audit::event_mac(keys, &self.tenant, &fields);
        sqlx::query(self.sql.audit)
            .bind(self.tenant.as_str())
            .bind(event_id)
            .bind(at)
            .bind(self.user.as_str())
            .bind("owner")
            .bind(self.branch.as_str())
            .bind(action.to_owned())
            .bind("patient")
            .bind(id.to_owned())
            .bind("success")
            .bind("")
            .bind("127.0.0.1")
            .bind("clinicos-bench")
            .bind("bench")
            .bind(purpose.to_owned())
            .bind(mac)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Authenticate, select the patient row, insert its audit event.
    pub async fn read_patient(&self) -> Result<(), String> {
        let (_turn, mut tx) = self.begin_write().await?;
        self.auth_reads(&mut tx).await?;
        sqlx::query(self.sql.patient())
            .bind(self.tenant.as_str())
            .bind(self.patient.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        self.audit(&mut tx, "patient.read", &self.patient, "treatment")
            .await?;
        tx.commit().await.map_err(db_err)
    }

    /// What a registration writes, without the work: a data key row of
    /// the same size in the key store, then in one write transaction the
    /// authentication reads, the branch, both duplicate checks, the patient
    /// row with blobs the size of the encrypted phone and email, its name
    /// tokens and pairs (one statement each), the identifier and the audit
    /// event.
    pub async fn create_patient(&self) -> Result<(), String> {
        let n = self
            .created
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = uuid::Uuid::now_v7().to_string();
        let now = Utc::now().timestamp_micros();
        let keys = self
            .keys
            .as_ref()
            .ok_or("the bench store has no key store")?;
        sqlx::query(self.sql.new_data_key)
            .bind(self.tenant.as_str())
            .bind(id.as_str())
            .bind(1i64)
            .bind(1i64)
            .bind(vec![5u8; WRAPPED_KEY_BYTES])
            .bind(now)
            .execute(keys)
            .await
            .map_err(db_err)?;
        let phone_bidx = crypto::sha256_hex(&format!("phone {n}"));
        let passport_bidx = crypto::sha256_hex(&format!("passport {n}"));
        let (_turn, mut tx) = self.begin_write().await?;
        self.auth_reads(&mut tx).await?;
        sqlx::query(&self.sql.branch)
            .bind(self.tenant.as_str())
            .bind(self.branch.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if self.backend == Backend::Postgres {
            let keys = registry::duplicate_lock_keys(
                Some((phone_bidx.as_str(), BIRTH_DATE)),
                &[("passport".to_owned(), passport_bidx.clone())],
            );
            for k in keys {
                sqlx::query(registry::DUPLICATE_LOCK_SQL)
                    .bind(self.tenant.as_str())
                    .bind(k)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        let same_phone = sqlx::query(self.sql.same_phone)
            .bind(self.tenant.as_str())
            .bind(phone_bidx.as_str())
            .bind(BIRTH_DATE)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let same_identifier = sqlx::query(self.sql.same_identifier)
            .bind(self.tenant.as_str())
            .bind("passport")
            .bind(passport_bidx.as_str())
            .bind(1i64)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        if !same_phone.is_empty() || !same_identifier.is_empty() {
            return Err("the raw registration found a duplicate".into());
        }
        // Every column, in the store's order (`PatientRow`'s declaration),
        // as a registration of `fixture::patient_body` writes it (unset
        // fields at the application's defaults).
        sqlx::query(self.sql.new_patient)
            .bind(self.tenant.as_str())
            .bind(id.as_str())
            .bind(self.user.as_str())
            .bind(now)
            .bind(self.branch.as_str())
            // given, middle, family and local name, birth date (not
            // estimated), sex, gender identity, city, postcode, language,
            // channel, blood group, marketing consent
            .bind("Kavita")
            .bind("Ramesh")
            .bind("Deshpande")
            .bind("")
            .bind(BIRTH_DATE)
            .bind(0i64)
            .bind("female")
            .bind("")
            .bind("Pune")
            .bind("")
            .bind("")
            .bind("none")
            .bind("unknown")
            .bind(0i64)
            // phone and email with their indexes, address, emergency
            // contact, notes, tags
            .bind(vec![7u8; 46])
            .bind(phone_bidx)
            .bind(vec![9u8; 53])
            .bind(crypto::sha256_hex(&id))
            .bind(None::<Vec<u8>>)
            .bind(None::<Vec<u8>>)
            .bind(None::<Vec<u8>>)
            .bind("[]")
            // care consent, active, deceased at and on, erased at, updated,
            // name key
            .bind(None::<i64>)
            .bind(1i64)
            .bind(None::<i64>)
            .bind(None::<String>)
            .bind(None::<i64>)
            .bind(now)
            .bind("deshpande kavita ramesh")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for sql in [&self.sql.new_tokens, &self.sql.new_pairs] {
            sqlx::query(sql)
                .bind(self.tenant.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        sqlx::query(self.sql.new_identifier)
            .bind(self.tenant.as_str())
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(id.as_str())
            .bind("passport")
            .bind(vec![3u8; 42])
            .bind(passport_bidx)
            .bind("")
            .bind("IN")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.audit(&mut tx, "patient.created", &id, "operations")
            .await?;
        tx.commit().await.map_err(db_err)
    }

    /// One part of the chart: authenticate, read the rows, audit.
    async fn chart_part(&self, sql: &str, action: &str) -> Result<(), String> {
        let (_turn, mut tx) = self.begin_write().await?;
        self.auth_reads(&mut tx).await?;
        let rows = sqlx::query(sql)
            .bind(self.tenant.as_str())
            .bind(self.patient.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            return Err("a chart part of the bench patient is empty".into());
        }
        self.audit(&mut tx, action, &self.patient, "treatment")
            .await?;
        tx.commit().await.map_err(db_err)
    }

    /// The five chart reads, concurrently, as the chart's requests run.
    pub async fn open_chart(&self) -> Result<(), String> {
        let [a, b, c, d, e] = &self.sql.chart;
        let (a, b, c, d, e) = tokio::join!(
            self.chart_part(a, "patient.read"),
            self.chart_part(b, "allergy.list"),
            self.chart_part(c, "condition.list"),
            self.chart_part(d, "medication.list"),
            self.chart_part(e, "history.read")
        );
        a.and(b).and(c).and(d).and(e)
    }

    /// A search: authenticate, run the store's page and count statements
    /// for it (the same SQL ClinicOS runs), audit the ids of the page.
    pub async fn search(&self, s: &PatientSearch) -> Result<(), String> {
        let st = raw_sql::search(s);
        let (_turn, mut tx) = self.begin_write().await?;
        self.auth_reads(&mut tx).await?;
        let mut q = sqlx::query(&st.page).bind(self.tenant.as_str());
        for a in &st.args {
            q = q.bind(a.as_str());
        }
        let rows = q
            .bind(SEARCH_PAGE)
            .bind(0i64)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        if st.needs_count(rows.len(), 0) {
            let mut q = sqlx::query(&st.count).bind(self.tenant.as_str());
            for a in &st.args {
                q = q.bind(a.as_str());
            }
            q.fetch_one(&mut *tx).await.map_err(db_err)?;
        }
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            ids.push(r.try_get::<String, _>("id").map_err(db_err)?);
        }
        self.audit(&mut tx, "patient.list", &ids.join(","), "treatment")
            .await?;
        tx.commit().await.map_err(db_err)
    }

    /// Look the owner up by email, verify the password (argon2id, same
    /// parameters, on the blocking pool) and insert a session row.
    pub async fn login(&self) -> Result<(), String> {
        let mut tx = self.begin(false).await?;
        let row = sqlx::query(&self.sql.credentials)
            .bind(self.tenant.as_str())
            .bind(self.email.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let hash: String = row.try_get("password_hash").map_err(db_err)?;
        let password = self.password.clone();
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
            .await
            .map_err(|e| format!("password check failed: {e}"))?;
        if !ok {
            return Err("the password did not verify".into());
        }
        let secret = crypto::random_token(32);
        let secret_hash = crypto::sha256_hex(&secret);
        let now = Utc::now().timestamp_micros();
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(self.sql.new_session)
            .bind(self.tenant.as_str())
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(self.user.as_str())
            .bind("api")
            .bind(secret_hash.as_str())
            .bind(secret_hash.as_str())
            .bind(crypto::random_token(24))
            .bind(self.branch.as_str())
            .bind("127.0.0.1")
            .bind("clinicos-bench")
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}
