//! The SQL of the raw-database baseline (`raw.rs`). Every statement
//! is the store's own: the reads are the very statements its repositories
//! run for the same rows (built from the column lists they read), the
//! writes the store's inserts, and a search the store's page and count
//! statements. Only the name tokens and pairs of the registration are
//! written here (one multi-row statement each, with the fixture patient's
//! values), under the store's column lists.
//!
//! Invariants, checked by the tests below (the last two on a migrated
//! SQLite database):
//! - Each raw statement is the store's statement for the same rows, and
//!   each whole-row read names exactly the store's column list.
//! - Every column of a table read whole is either in that list or named
//!   in the tests' list of columns the application does not read: a
//!   column dropped from the store's list fails the test as surely as one
//!   dropped from a raw statement.
//! - Every statement compiles.

use clinicos_store::governance::{audit, policy};
use clinicos_store::identity::{sessions, users};
use clinicos_store::kit::keystore;
use clinicos_store::patients::records::{ALLERGIES, CONDITIONS, MEDICATIONS};
use clinicos_store::patients::registry::{self, PatientRow};
use clinicos_store::patients::search::{self as patient_search, PatientSearch};
use clinicos_store::patients::{identifiers, name_index};
use clinicos_store::tenancy::{branches, tenants};

/// Every statement the baseline runs but a search's, built once.
pub struct Statements {
    /// The session by id (`$2`).
    pub session: String,
    /// The transaction's tenant.
    pub tenant: String,
    /// The user by id (`$2`), then its roles and branches (`$2`: the user).
    pub user: String,
    pub roles: &'static str,
    pub user_branches: &'static str,
    /// The rows of the user's (`$2`) effective permissions.
    pub policy_rows: &'static str,
    /// The branch by id (`$2`).
    pub branch: String,
    /// Sign-in's lookup of the user by email (`$2`).
    pub credentials: String,
    /// Duplicate candidates: phone blind index `$2` and birth date `$3`;
    /// identifier kind `$2`, blind index `$3`, active only unless `$4` = 0.
    pub same_phone: &'static str,
    pub same_identifier: &'static str,
    /// What the chart opens, in its order: the patient row (by id, `$2`),
    /// then the patient's (`$2`) allergies, conditions, medications and
    /// history.
    pub chart: [String; 5],
    /// A session row (12 parameters).
    pub new_session: &'static str,
    /// A subject data key in the key store (6 parameters).
    pub new_data_key: &'static str,
    /// A patient row (33 parameters).
    pub new_patient: &'static str,
    /// The name tokens and name pairs of Kavita Ramesh Deshpande, the
    /// patient of `fixture::patient_body` (`$2`: the patient).
    pub new_tokens: String,
    pub new_pairs: String,
    /// An identifier row (9 parameters).
    pub new_identifier: &'static str,
    /// An audit event with its MAC (16 parameters).
    pub audit: &'static str,
}

impl Statements {
    /// The store's statements.
    pub fn from_store() -> Statements {
        Statements {
            session: sessions::get_sql(),
            tenant: tenants::get_sql(),
            user: users::get_sql(),
            roles: users::ROLES_SQL,
            user_branches: users::BRANCHES_SQL,
            policy_rows: policy::EFFECTIVE_ROWS_SQL,
            branch: branches::get_sql(),
            credentials: users::credentials_by_email_sql(),
            same_phone: registry::SAME_PHONE_AND_BIRTH_SQL,
            same_identifier: identifiers::FIND_SQL,
            chart: [
                registry::get_sql(),
                ALLERGIES.list_sql(),
                CONDITIONS.list_sql(),
                MEDICATIONS.list_sql(),
                registry::history_sql(),
            ],
            new_session: sessions::INSERT_SQL,
            new_data_key: keystore::INSERT_SUBJECT_KEY_SQL,
            new_patient: PatientRow::insert_sql(),
            new_tokens: format!(
                "INSERT INTO patient_name_tokens ({}) VALUES ($1, $2, 'deshpande', 1), \
                 ($1, $2, 'kavita', 0), ($1, $2, 'ramesh', 0)",
                name_index::TOKEN_COLS
            ),
            new_pairs: format!(
                "INSERT INTO patient_name_pairs ({}) VALUES \
                 ($1, 'de ka', 'deshpande', 'kavita', $2, 1, 0), \
                 ($1, 'de ra', 'deshpande', 'ramesh', $2, 1, 0), \
                 ($1, 'ka ra', 'kavita', 'ramesh', $2, 0, 0)",
                name_index::PAIR_COLS
            ),
            new_identifier: identifiers::INSERT_SQL,
            audit: audit::INSERT_SQL,
        }
    }

    /// The patient row by id (`$2`), as read-patient and the chart read it.
    pub fn patient(&self) -> &str {
        &self.chart[0]
    }
}

/// The statements of a search: the store's, for the same query.
pub fn search(s: &PatientSearch) -> patient_search::Statements {
    patient_search::statements(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::ScratchDir;
    use clinicos_domain::patients::search::{patient_tokens, query_tokens, NameParts};
    use clinicos_domain::patients::search_pairs::patient_pairs;
    use clinicos_store::kit::db::sqlite_url_for_dir;
    use clinicos_store::{Db, KeyStore, Store};
    use sqlx::Row;
    use std::collections::BTreeSet;

    /// Columns the application does not read with the whole row: the
    /// tenant key every row carries, columns read by statements of their
    /// own (images, the password hash at sign-in, the tenant's
    /// clinical-access settings, a patient's photo and merge) and a
    /// session's revocation reason, which is only written. A column of a
    /// table read whole must be read or listed here.
    const UNREAD: &[(&str, &[&str])] = &[
        ("sessions", &["tenant_id", "revoked_reason"]),
        (
            "tenants",
            &[
                "logo",
                "break_glass_minutes",
                "clinical_cross_branch",
                "consent_policy",
                "own_patient_window_months",
            ],
        ),
        (
            "users",
            &["tenant_id", "password_hash", "avatar", "signature"],
        ),
        ("branches", &["tenant_id"]),
        (
            "patients",
            &[
                "tenant_id",
                "name_key",
                "merged_at",
                "merged_into",
                "photo_id",
                "photo_sha256",
                "photo_size",
                "photo_type",
            ],
        ),
        ("allergies", &["tenant_id"]),
        ("conditions", &["tenant_id"]),
        ("medications", &["tenant_id"]),
        ("history_entries", &["tenant_id"]),
    ];

    fn list(cols: &str) -> Vec<String> {
        cols.split(',').map(|c| c.trim().to_owned()).collect()
    }

    /// The column list and table of `SELECT <cols> FROM <table> ...`.
    fn select_parts(sql: &str) -> (Vec<String>, String) {
        let rest = sql.strip_prefix("SELECT ").expect("a SELECT");
        let (cols, after) = rest.split_once(" FROM ").expect("FROM");
        let table = after.split_whitespace().next().expect("a table");
        (list(cols), table.to_owned())
    }

    /// The table and column list of `INSERT INTO <table> (<cols>) VALUES ...`.
    fn insert_parts(sql: &str) -> (String, Vec<String>) {
        let rest = sql.strip_prefix("INSERT INTO ").expect("an INSERT");
        let (table, after) = rest.split_once(" (").expect("a column list");
        let (cols, _) = after.split_once(')').expect("a closed column list");
        (table.to_owned(), list(cols))
    }

    /// The whole-row reads: (raw statement, table, the store's columns).
    fn whole_rows(st: &Statements) -> Vec<(&str, &'static str, String)> {
        let [patient, allergies, conditions, medications, history] = &st.chart;
        vec![
            (&st.session, "sessions", sessions::COLS.to_owned()),
            (&st.tenant, "tenants", tenants::COLS.to_owned()),
            (&st.user, "users", users::COLS.to_owned()),
            (&st.branch, "branches", branches::COLS.to_owned()),
            (&st.credentials, "users", users::CREDENTIAL_COLS.to_owned()),
            (patient, "patients", PatientRow::COLS.to_owned()),
            (allergies, "allergies", ALLERGIES.columns()),
            (conditions, "conditions", CONDITIONS.columns()),
            (medications, "medications", MEDICATIONS.columns()),
            (
                history,
                "history_entries",
                registry::HISTORY_COLS.to_owned(),
            ),
        ]
    }

    /// Every statement with the database it runs on (true: the key store).
    fn all(st: &Statements) -> Vec<(&str, bool)> {
        let mut out: Vec<(&str, bool)> = vec![
            (&st.session, false),
            (&st.tenant, false),
            (&st.user, false),
            (st.roles, false),
            (st.user_branches, false),
            (st.policy_rows, false),
            (&st.branch, false),
            (&st.credentials, false),
            (st.same_phone, false),
            (st.same_identifier, false),
            (st.new_session, false),
            (st.new_data_key, true),
            (st.new_patient, false),
            (&st.new_tokens, false),
            (&st.new_pairs, false),
            (st.new_identifier, false),
            (st.audit, false),
        ];
        out.extend(st.chart.iter().map(|s| (s.as_str(), false)));
        out
    }

    #[test]
    fn every_raw_statement_is_the_stores_statement_for_the_same_rows() {
        // Destructured so that a new statement cannot go unchecked.
        let Statements {
            session,
            tenant,
            user,
            roles,
            user_branches,
            policy_rows,
            branch,
            credentials,
            same_phone,
            same_identifier,
            chart,
            new_session,
            new_data_key,
            new_patient,
            new_tokens,
            new_pairs,
            new_identifier,
            audit: audit_event,
        } = Statements::from_store();
        let pairs: [(&str, &str); 20] = [
            (&session, &sessions::get_sql()),
            (&tenant, &tenants::get_sql()),
            (&user, &users::get_sql()),
            (roles, users::ROLES_SQL),
            (user_branches, users::BRANCHES_SQL),
            (policy_rows, policy::EFFECTIVE_ROWS_SQL),
            (&branch, &branches::get_sql()),
            (&credentials, &users::credentials_by_email_sql()),
            (same_phone, registry::SAME_PHONE_AND_BIRTH_SQL),
            (same_identifier, identifiers::FIND_SQL),
            (&chart[0], &registry::get_sql()),
            (&chart[1], &ALLERGIES.list_sql()),
            (&chart[2], &CONDITIONS.list_sql()),
            (&chart[3], &MEDICATIONS.list_sql()),
            (&chart[4], &registry::history_sql()),
            (new_session, sessions::INSERT_SQL),
            (new_data_key, keystore::INSERT_SUBJECT_KEY_SQL),
            (new_patient, PatientRow::insert_sql()),
            (new_identifier, identifiers::INSERT_SQL),
            (audit_event, audit::INSERT_SQL),
        ];
        for (raw, store) in pairs {
            assert_eq!(raw, store);
        }
        // The name rows carry the fixture patient's values (checked below),
        // under the store's columns.
        assert_eq!(
            insert_parts(&new_tokens),
            (
                "patient_name_tokens".to_owned(),
                list(name_index::TOKEN_COLS)
            )
        );
        assert_eq!(
            insert_parts(&new_pairs),
            ("patient_name_pairs".to_owned(), list(name_index::PAIR_COLS))
        );
    }

    #[test]
    fn every_whole_row_read_names_exactly_the_stores_columns() {
        let st = Statements::from_store();
        for (sql, table, store_cols) in whole_rows(&st) {
            let (cols, from) = select_parts(sql);
            assert_eq!(from, table, "{sql}");
            assert_eq!(cols, list(&store_cols), "{sql}");
            assert!(!cols.iter().any(|c| c.contains('*')), "{sql}");
        }
    }

    #[test]
    fn a_search_runs_the_stores_page_and_count_statements() {
        let searches = [
            PatientSearch {
                name_tokens: query_tokens("kav desh").expect("tokens"),
                ..PatientSearch::default()
            },
            PatientSearch {
                name_tokens: query_tokens("ra").expect("tokens"),
                ..PatientSearch::default()
            },
            PatientSearch {
                phone_bidx: Some("0".repeat(64)),
                ..PatientSearch::default()
            },
        ];
        for s in &searches {
            let raw = search(s);
            let store = patient_search::statements(s);
            assert_eq!(raw.page, store.page);
            assert_eq!(raw.count, store.count);
            assert_eq!(raw.args, store.args);
            assert_eq!(raw.page_has_total, store.page_has_total);
        }
    }

    /// The baseline writes the same name rows as a registration of the
    /// fixture's patient.
    #[test]
    fn the_raw_registration_writes_the_patients_own_pairs_and_tokens() {
        let st = Statements::from_store();
        let tokens = patient_tokens(&NameParts {
            given: "Kavita",
            middle: "Ramesh",
            family: "Deshpande",
            local: "",
        });
        assert_eq!(st.new_tokens.matches("($1,").count(), tokens.len());
        for t in &tokens {
            let row = format!("'{}', {}", t.token, u8::from(t.family));
            assert!(st.new_tokens.contains(&row), "{row}");
        }
        let pairs = patient_pairs(&tokens);
        assert_eq!(st.new_pairs.matches("($1,").count(), pairs.len());
        for p in pairs {
            let row = format!(
                "'{}', '{}', '{}', $2, {}, {}",
                p.key,
                p.a,
                p.b,
                u8::from(p.a_family),
                u8::from(p.b_family)
            );
            assert!(st.new_pairs.contains(&row), "{row}");
        }
    }

    /// A migrated SQLite database and key store in `dir`.
    async fn databases(dir: &ScratchDir) -> (Store, KeyStore) {
        let store = Store::open(&sqlite_url_for_dir(dir.path()), 1)
            .await
            .expect("store");
        let keys = KeyStore::open(&KeyStore::sqlite_url_for_dir(dir.path()))
            .await
            .expect("key store");
        (store, keys)
    }

    async fn table_columns(db: &Db, table: &str) -> BTreeSet<String> {
        sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(db.pool())
            .await
            .expect("table info")
            .iter()
            .map(|r| r.try_get::<String, _>("name").expect("name"))
            .collect()
    }

    #[tokio::test]
    async fn every_column_of_a_table_read_whole_is_read_or_named_unread() {
        let dir = ScratchDir::new("bench-raw-sql").expect("scratch dir");
        let (store, keys) = databases(&dir).await;
        let st = Statements::from_store();
        let mut problems = Vec::new();
        for (sql, table, _) in whole_rows(&st) {
            if sql == st.credentials.as_str() {
                continue; // sign-in's few columns; the user row is read whole
            }
            let (read, _) = select_parts(sql);
            let read: BTreeSet<String> = read.into_iter().collect();
            let unread: BTreeSet<String> = UNREAD
                .iter()
                .find(|(t, _)| *t == table)
                .map(|(_, cols)| cols.iter().map(|c| (*c).to_owned()).collect())
                .unwrap_or_default();
            let columns = table_columns(store.platform(), table).await;
            assert!(!columns.is_empty(), "no table {table}");
            for c in columns.difference(&read) {
                if !unread.contains(c) {
                    problems.push(format!("{table}.{c} is neither read nor listed unread"));
                }
            }
            for c in read.intersection(&unread) {
                problems.push(format!("{table}.{c} is read and listed unread"));
            }
            for c in read.union(&unread).filter(|c| !columns.contains(*c)) {
                problems.push(format!("{table}.{c} is not a column"));
            }
        }
        keys.close().await;
        store.close().await;
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// The highest `$N` of a statement.
    fn parameters(sql: &str) -> usize {
        sql.split('$')
            .skip(1)
            .filter_map(|s| {
                let n: String = s.chars().take_while(char::is_ascii_digit).collect();
                n.parse().ok()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn every_statement_compiles_on_sqlite() {
        let dir = ScratchDir::new("bench-raw-sql").expect("scratch dir");
        let (store, keys) = databases(&dir).await;
        let st = Statements::from_store();
        let search_statements: Vec<String> = [
            PatientSearch {
                name_tokens: query_tokens("kav desh").expect("tokens"),
                ..PatientSearch::default()
            },
            PatientSearch {
                phone_bidx: Some("0".repeat(64)),
                ..PatientSearch::default()
            },
        ]
        .iter()
        .flat_map(|s| {
            let s = search(s);
            [s.page, s.count]
        })
        .collect();
        let mut statements = all(&st);
        statements.extend(search_statements.iter().map(|s| (s.as_str(), false)));
        for (sql, on_keys) in statements {
            // EXPLAIN compiles the statement without running it.
            let explain = format!("EXPLAIN {sql}");
            let mut q = sqlx::query(&explain);
            for _ in 0..parameters(sql) {
                q = q.bind("x");
            }
            let db = if on_keys { keys.db() } else { store.platform() };
            if let Err(e) = q.fetch_all(db.pool()).await {
                panic!("{sql}\n{e}");
            }
        }
        keys.close().await;
        store.close().await;
    }
}
