//! The raw-database side of each scenario: the same row work as the
//! ClinicOS request, straight on the store's sqlx pool, without HTTP,
//! routing, authentication code, policy or JSON.
//!
//! Invariants:
//! - Same pool (size and connection settings) as the server uses, same
//!   rows (ids from the fixture), same columns as the repositories select.
//! - On PostgreSQL each transaction sets `app.tenant_id` first, as the
//!   row-level security policies require; so the baseline pays that too.
//! - On SQLite each write transaction takes the store's writer turn
//!   (`Db::writer_turn`), so both sides queue their writes alike.
//! - A missing row is an error (`fetch_one`), so a baseline that silently
//!   read nothing (e.g. RLS filtering everything) cannot look fast.

use super::fixture::Fixture;
use chrono::Utc;
use clinicos_app::kit::crypto;
use clinicos_store::patients::search::{self as patient_search, PatientSearch};
use clinicos_store::{Backend, Db};
use sqlx::{Any, AnyPool, Row, Transaction};

/// SQLite's writer, held for a write transaction.
type WriterTurn = tokio::sync::OwnedMutexGuard<()>;

const SESSION: &str = "SELECT id, user_id, kind, secret_hash, refresh_hash, csrf_token, branch_id, ip, \
    user_agent, created_at, last_seen_at, revoked_at FROM sessions WHERE tenant_id = $1 AND id = $2";
const TENANT: &str =
    "SELECT tenant_id, slug, legal_name, display_name, logo_mime, address_line, city, \
    state, postcode, country, home_region, default_locale, default_currency, default_time_zone, \
    subscription_status, plan_code, idle_timeout_minutes, absolute_timeout_minutes, created_at, \
    updated_at FROM tenants WHERE tenant_id = $1";
const USER: &str = "SELECT id, email, name, phone, languages, locale, registration_number, \
    registration_council, qualifications, specialisation, health_professional_id, avatar_mime, \
    signature_mime, is_active, password_hash, last_login_at, created_at, updated_at \
    FROM users WHERE tenant_id = $1 AND id = $2";
const ROLES: &str = "SELECT role FROM user_roles WHERE tenant_id = $1 AND user_id = $2";
const USER_BRANCHES: &str =
    "SELECT branch_id FROM user_branches WHERE tenant_id = $1 AND user_id = $2 ORDER BY branch_id";
const BRANCH: &str =
    "SELECT id, code, name, address_line, city, state, postcode, country, time_zone, \
    currency, gstin, vat_id, tin, working_hours, phone, email, is_active, created_at, updated_at \
    FROM branches WHERE tenant_id = $1 AND id = $2";
const CREDENTIALS: &str = "SELECT id, password_hash, is_active, name, email FROM users \
    WHERE tenant_id = $1 AND email = $2";
const NEW_SESSION: &str = "INSERT INTO sessions (tenant_id, id, user_id, kind, secret_hash, \
    refresh_hash, csrf_token, branch_id, ip, user_agent, created_at, last_seen_at) \
    VALUES ($1, $2, $3, 'api', $4, $4, $5, $6, '127.0.0.1', 'clinicos-bench', $7, $7)";

const POLICY_ROWS: &str =
    "SELECT role AS k, permissions AS v FROM role_bundles WHERE tenant_id = $1 \
    UNION ALL SELECT '' AS k, permission AS v FROM user_grants \
    WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL";
const PATIENT: &str = "SELECT id, given_name, middle_name, family_name, birth_date, sex, city, postcode, \
    phone, phone_bidx, email, email_bidx, first_branch_id, care_consent_at, is_active, deceased_at, \
    created_by, created_at, updated_at FROM patients WHERE tenant_id = $1 AND id = $2";
const NEW_PATIENT: &str = "INSERT INTO patients (tenant_id, id, given_name, middle_name, family_name, \
    name_key, birth_date, sex, city, postcode, phone, phone_bidx, email, email_bidx, first_branch_id, \
    care_consent_at, is_active, deceased_at, created_by, created_at, updated_at) \
    VALUES ($1, $2, 'Kavita', 'Ramesh', 'Deshpande', 'deshpande kavita ramesh', '1984-06-01', 'female', \
    'Pune', '', $3, $4, $5, $6, $7, NULL, 1, NULL, $8, $9, $9)";
const NEW_TOKENS: &str =
    "INSERT INTO patient_name_tokens (tenant_id, patient_id, token, is_family) \
    VALUES ($1, $2, 'deshpande', 1), ($1, $2, 'kavita', 0), ($1, $2, 'ramesh', 0)";
/// The name pairs of Kavita Ramesh Deshpande (`name_pairs::patient_pairs`).
const NEW_PAIRS: &str =
    "INSERT INTO patient_name_pairs (tenant_id, pair_key, token_a, token_b, patient_id, \
    family_a, family_b) VALUES ($1, 'de ka', 'deshpande', 'kavita', $2, 1, 0), \
    ($1, 'de ra', 'deshpande', 'ramesh', $2, 1, 0), ($1, 'ka ra', 'kavita', 'ramesh', $2, 0, 0)";
const NEW_IDENTIFIER: &str =
    "INSERT INTO patient_identifiers (tenant_id, id, patient_id, kind, value, \
    value_bidx, issuer, country, created_at) VALUES ($1, $2, $3, 'passport', $4, $5, '', 'IN', $6)";
// The duplicate checks in the store's shape (`patients::duplicates`,
// `patient_identifiers::find`): no ORDER BY (the store sorts in Rust).
const SAME_PHONE: &str = "SELECT id FROM patients WHERE tenant_id = $1 AND phone_bidx = $2 \
    AND birth_date = '1984-06-01' AND is_active = 1";
const SAME_IDENTIFIER: &str = "SELECT i.patient_id FROM patient_identifiers i \
    WHERE i.tenant_id = $1 AND i.kind = 'passport' AND i.value_bidx = $2 \
    AND (SELECT p.is_active FROM patients p \
        WHERE p.tenant_id = i.tenant_id AND p.id = i.patient_id) = 1";
const NEW_DATA_KEY: &str = "INSERT INTO subject_keys (tenant_id, subject_id, key_version, \
    tenant_key_version, wrapped, created_at) VALUES ($1, $2, 1, 1, $3, $4)";
/// The size of a wrapped data key (envelope header, nonce, 32 bytes, tag).
const WRAPPED_KEY_BYTES: usize = 5 + 12 + 32 + 16;
/// What the chart reads, per part (the columns the repositories select).
const CHART_READS: [&str; 5] = [
    PATIENT,
    "SELECT id, patient_id, tier, category, severity, status, substance, reaction, note, branch_id, \
     recorded_by, recorded_at, updated_at FROM allergies WHERE tenant_id = $1 AND patient_id = $2 \
     ORDER BY recorded_at DESC, id DESC",
    "SELECT id, patient_id, tier, status, onset_date, resolved_date, name, code, note, branch_id, \
     recorded_by, recorded_at, updated_at FROM conditions WHERE tenant_id = $1 AND patient_id = $2 \
     ORDER BY recorded_at DESC, id DESC",
    "SELECT * FROM medications WHERE tenant_id = $1 AND patient_id = $2 \
     ORDER BY recorded_at DESC, id DESC",
    "SELECT id, patient_id, category, tier, body, branch_id, recorded_by, recorded_at, updated_at \
     FROM history_entries WHERE tenant_id = $1 AND patient_id = $2 ORDER BY recorded_at, id",
];
const AUDIT: &str =
    "INSERT INTO audit_events (tenant_id, id, at, actor_id, actor_roles, branch_id, \
    action, resource_type, resource_ids, outcome, reason, ip, user_agent, request_id, purpose) \
    VALUES ($1, $2, $3, $4, 'owner', $5, $6, 'patient', $7, 'success', '', '127.0.0.1', \
    'clinicos-bench', 'bench', $8)";

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
            created: std::sync::atomic::AtomicU64::new(0),
            backend: db.backend(),
            tenant: fx.tenant_id.clone(),
            session: fx.session_id.clone(),
            user: fx.user_id.clone(),
            branch: fx.branch_id.clone(),
            patient: fx.patient_id.clone(),
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
            (SESSION, Some(&self.session)),
            (TENANT, None),
            (USER, Some(&self.user)),
            (BRANCH, Some(&self.branch)),
        ] {
            let q = sqlx::query(sql).bind(self.tenant.as_str());
            let q = match id {
                Some(id) => q.bind(id.as_str()),
                None => q,
            };
            q.fetch_one(&mut *tx).await.map_err(db_err)?;
        }
        for sql in [ROLES, USER_BRANCHES] {
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
            (SESSION, Some(&self.session)),
            (TENANT, None),
            (USER, Some(&self.user)),
        ] {
            let q = sqlx::query(sql).bind(self.tenant.as_str());
            let q = match id {
                Some(id) => q.bind(id.as_str()),
                None => q,
            };
            q.fetch_one(&mut **tx).await.map_err(db_err)?;
        }
        for sql in [ROLES, USER_BRANCHES, POLICY_ROWS] {
            sqlx::query(sql)
                .bind(self.tenant.as_str())
                .bind(self.user.as_str())
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    async fn audit(
        &self,
        tx: &mut Transaction<'static, Any>,
        action: &str,
        id: &str,
        purpose: &str,
    ) -> Result<(), String> {
        sqlx::query(AUDIT)
            .bind(self.tenant.as_str())
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(Utc::now().timestamp_micros())
            .bind(self.user.as_str())
            .bind(self.branch.as_str())
            .bind(action.to_owned())
            .bind(id.to_owned())
            .bind(purpose.to_owned())
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Authenticate, select the patient row, insert its audit event.
    pub async fn read_patient(&self) -> Result<(), String> {
        let (_turn, mut tx) = self.begin_write().await?;
        self.auth_reads(&mut tx).await?;
        sqlx::query(PATIENT)
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
    /// tokens (one statement), the identifier and the audit event.
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
        sqlx::query(NEW_DATA_KEY)
            .bind(self.tenant.as_str())
            .bind(id.as_str())
            .bind(vec![5u8; WRAPPED_KEY_BYTES])
            .bind(now)
            .execute(keys)
            .await
            .map_err(db_err)?;
        let phone_bidx = crypto::sha256_hex(&format!("phone {n}"));
        let passport_bidx = crypto::sha256_hex(&format!("passport {n}"));
        let (_turn, mut tx) = self.begin_write().await?;
        self.auth_reads(&mut tx).await?;
        sqlx::query(BRANCH)
            .bind(self.tenant.as_str())
            .bind(self.branch.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        for (sql, bidx) in [(SAME_PHONE, &phone_bidx), (SAME_IDENTIFIER, &passport_bidx)] {
            let same = sqlx::query(sql)
                .bind(self.tenant.as_str())
                .bind(bidx.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            if !same.is_empty() {
                return Err("the raw registration found a duplicate".into());
            }
        }
        sqlx::query(NEW_PATIENT)
            .bind(self.tenant.as_str())
            .bind(id.as_str())
            .bind(vec![7u8; 46])
            .bind(phone_bidx)
            .bind(vec![9u8; 53])
            .bind(crypto::sha256_hex(&id))
            .bind(self.branch.as_str())
            .bind(self.user.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for sql in [NEW_TOKENS, NEW_PAIRS] {
            sqlx::query(sql)
                .bind(self.tenant.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        sqlx::query(NEW_IDENTIFIER)
            .bind(self.tenant.as_str())
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(id.as_str())
            .bind(vec![3u8; 42])
            .bind(passport_bidx)
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
        let [a, b, c, d, e] = CHART_READS;
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
        let st = patient_search::statements(s);
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
        let row = sqlx::query(CREDENTIALS)
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
        let now = Utc::now().timestamp_micros();
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(NEW_SESSION)
            .bind(self.tenant.as_str())
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(self.user.as_str())
            .bind(crypto::sha256_hex(&secret))
            .bind(crypto::random_token(24))
            .bind(self.branch.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clinicos_domain::patients::search::{patient_tokens, NameParts};
    use clinicos_domain::patients::search_pairs::patient_pairs;

    /// The baseline writes the same name rows as a registration of the
    /// fixture's patient.
    #[test]
    fn the_raw_registration_writes_the_patients_own_pairs_and_tokens() {
        let tokens = patient_tokens(&NameParts {
            given: "Kavita",
            middle: "Ramesh",
            family: "Deshpande",
            local: "",
        });
        for t in &tokens {
            assert!(NEW_TOKENS.contains(&format!("'{}', {}", t.token, u8::from(t.family))));
        }
        let pairs = patient_pairs(&tokens);
        assert_eq!(NEW_PAIRS.matches("($1,").count(), pairs.len());
        for p in pairs {
            let row = format!(
                "'{}', '{}', '{}', $2, {}, {}",
                p.key,
                p.a,
                p.b,
                u8::from(p.a_family),
                u8::from(p.b_family)
            );
            assert!(NEW_PAIRS.contains(&row), "{row}");
        }
    }
}
