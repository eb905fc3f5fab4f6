//! The search population: `--patients N` in the bench tenant and 99 other
//! tenants with [`OTHER_PATIENTS`] each, loaded straight into the database
//! (multi-row INSERTs, a transaction per [`TX_ROWS`] patients) with the
//! real cipher, the real name tokens and the real blind indexes, so that
//! the application's own search finds them; and the fixed, seeded mix of
//! queries both sides of search-name and search-phone run.
//!
//! Invariants:
//! - Every patient gets its own data key (made and stored in batches by
//!   `FieldCipher::create_subject_keys`), its phone sealed under it and
//!   bound to its row, and the phone's blind index: what a registration
//!   writes, minus the other optional columns.
//! - Names, queries and phones come from one seeded generator, so two runs
//!   load the same names and ask the same questions.

use super::database::BenchDb;
use super::fixture::Fixture;
use super::names::{self, Person};
use clinicos_app::tenancy::provisioning::NewTenant;
use clinicos_app::{App, AppError};
use clinicos_domain::patients::search::{self as name_search, NameParts};
use clinicos_domain::patients::search_pairs as name_pairs;
use clinicos_domain::{PatientId, TenantId};
use clinicos_store::kit::sealed::Sealed;
use clinicos_store::patients::registry::PatientPhone;
use clinicos_store::patients::search::PatientSearch;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Tenants besides the bench tenant.
pub const OTHER_TENANTS: usize = 99;
/// Patients of each other tenant.
pub const OTHER_PATIENTS: u64 = 100;
/// Patients per batch of new data keys (and of encryption).
const CHUNK: usize = 500;
/// Patients per transaction.
const TX_ROWS: usize = 10_000;
/// Queries in each mix (cycled through by the clients).
const QUERIES: usize = 400;
/// Patients kept aside to draw the queries from.
const SAMPLES: usize = 2_000;

/// One query: the ClinicOS URL and the same search for the raw side.
pub struct Query {
    pub url: String,
    pub search: PatientSearch,
}

/// The loaded population and the query mixes.
pub struct Population {
    pub patients: u64,
    pub load_secs: f64,
    pub name_queries: Vec<Query>,
    pub phone_queries: Vec<Query>,
    next_name: AtomicUsize,
    next_phone: AtomicUsize,
}

impl Population {
    /// The next name query of the mix (shared by all clients of a side).
    pub fn next_name(&self) -> &Query {
        let i = self.next_name.fetch_add(1, Ordering::Relaxed);
        &self.name_queries[i % self.name_queries.len()]
    }

    pub fn next_phone(&self) -> &Query {
        let i = self.next_phone.fetch_add(1, Ordering::Relaxed);
        &self.phone_queries[i % self.phone_queries.len()]
    }

    /// Start both mixes from their first query again (each side asks the
    /// same questions in the same order).
    pub fn rewind(&self) {
        self.next_name.store(0, Ordering::Relaxed);
        self.next_phone.store(0, Ordering::Relaxed);
    }

    /// Load the other tenants and `patients` patients of the bench tenant,
    /// then build the query mixes.
    pub async fn load(
        fx: &Fixture,
        db: &BenchDb,
        patients: u64,
        patients_url: &str,
    ) -> Result<Population, String> {
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(5);
        let app = &fx.app;
        for i in 0..OTHER_TENANTS {
            let entry = app
                .tenancy()
                .create_tenant(&other_tenant(i))
                .await
                .map_err(|e| format!("cannot create a bench tenant: {}", e.operator_message()))?;
            let base = 1_000_000 * (i as u64 + 1);
            load_patients(
                app,
                db,
                entry.tenant_id,
                None,
                None,
                base,
                OTHER_PATIENTS,
                &mut rng,
                &mut Vec::new(),
            )
            .await?;
        }
        // Statistics before the bench tenant's rows: with 99 tenants seen,
        // the planner knows `tenant_id` alone is not selective, so the
        // foreign-key checks of the load use the primary key.
        db.refresh_statistics().await?;
        super::progress(&format!(
            "search: {OTHER_TENANTS} other tenants with {OTHER_PATIENTS} patients each loaded"
        ));
        let tenant: TenantId = fx
            .tenant_id
            .parse()
            .map_err(|_| "the bench tenant id is not an id".to_owned())?;
        let mut samples = Vec::with_capacity(SAMPLES);
        load_patients(
            app,
            db,
            tenant,
            Some(&fx.branch_id),
            Some(&fx.user_id),
            0,
            patients,
            &mut rng,
            &mut samples,
        )
        .await?;
        db.refresh_statistics().await?;
        let load_secs = started.elapsed().as_secs_f64();
        super::progress(&format!(
            "search: {patients} patients loaded into the bench tenant ({load_secs:.1} s in all)"
        ));
        let mut name_queries = Vec::with_capacity(QUERIES);
        let mut phone_queries = Vec::with_capacity(QUERIES);
        for _ in 0..QUERIES {
            let p = &samples[rng.gen_range(0..samples.len())];
            let q = name_query(&p.person, &mut rng);
            let tokens = name_search::query_tokens(&q).map_err(|e| e.to_string())?;
            name_queries.push(Query {
                url: url(patients_url, &[("q", &q)])?,
                search: PatientSearch {
                    name_tokens: tokens,
                    ..PatientSearch::default()
                },
            });
            let p = &samples[rng.gen_range(0..samples.len())];
            phone_queries.push(Query {
                url: url(patients_url, &[("phone", &p.phone)])?,
                search: PatientSearch {
                    phone_bidx: Some(p.phone_bidx.clone()),
                    ..PatientSearch::default()
                },
            });
        }
        Ok(Population {
            patients,
            load_secs,
            name_queries,
            phone_queries,
            next_name: AtomicUsize::new(0),
            next_phone: AtomicUsize::new(0),
        })
    }
}

/// Refresh the planner's statistics after a bulk load, as autovacuum would
/// soon do on its own (PostgreSQL; SQLite plans from its indexes). Best
/// effort: a role that may not analyze gets a warning, not an error.
fn url(base: &str, params: &[(&str, &str)]) -> Result<String, String> {
    let mut all = params.to_vec();
    all.push(("limit", "20"));
    reqwest::Url::parse_with_params(base, &all)
        .map(String::from)
        .map_err(|e| format!("cannot build a search URL: {e}"))
}

fn other_tenant(i: usize) -> NewTenant {
    NewTenant {
        slug: format!("bench-other-{i:02}"),
        legal_name: format!("Other Clinic {i:02}"),
        display_name: format!("Other Clinic {i:02}"),
        country: "IN".into(),
        city: "Pune".into(),
        state: "MH".into(),
        region: None,
        plan: None,
        locale: "en".into(),
        currency: "INR".into(),
        time_zone: "Asia/Kolkata".into(),
        owner_email: format!("owner{i:02}@other.example"),
        owner_name: "Other Owner".into(),
        owner_password: None,
    }
}

/// A loaded patient the queries are drawn from.
struct Sample {
    person: Person,
    phone: String,
    phone_bidx: String,
}

/// The first 1-2 words of a search as typed at the desk: prefixes of 2-5
/// characters of the patient's names (given, family, or both in either
/// order; now and then the name in its local script).
fn name_query(p: &Person, rng: &mut StdRng) -> String {
    let pick = |text: &str, rng: &mut StdRng| -> Option<String> {
        let words = name_search::tokens(text);
        let w = words.get(rng.gen_range(0..words.len().max(1)))?;
        let n = rng.gen_range(2..=5).min(w.chars().count());
        Some(w.chars().take(n).collect())
    };
    let given = pick(&p.given, rng);
    let family = pick(&p.family, rng);
    let local = pick(&p.local, rng);
    let roll = rng.gen_range(0..100);
    let words: Vec<Option<String>> = match roll {
        0..=29 => vec![given],
        30..=54 => vec![family],
        55..=74 => vec![given, family],
        75..=89 => vec![family, given],
        _ if local.is_some() => vec![local],
        _ => vec![given],
    };
    let words: Vec<String> = words.into_iter().flatten().collect();
    if words.is_empty() {
        "ra".to_owned()
    } else {
        words.join(" ")
    }
}

/// Insert `n` generated patients of `tenant` (phones numbered from
/// `base`), keeping every so often one in `samples`; the planner's
/// statistics are refreshed each time the load has doubled, as autovacuum
/// would on a running database.
#[allow(clippy::too_many_arguments)]
async fn load_patients(
    app: &App,
    db: &BenchDb,
    tenant: TenantId,
    branch: Option<&str>,
    creator: Option<&str>,
    base: u64,
    n: u64,
    rng: &mut StdRng,
    samples: &mut Vec<Sample>,
) -> Result<(), String> {
    let every = (n / SAMPLES as u64).max(1);
    let mut done: u64 = 0;
    let mut next_statistics = 2 * TX_ROWS as u64;
    while done < n {
        let mut tx = app
            .store
            .write(tenant)
            .await
            .map_err(|e| format!("cannot load the bench patients: {e}"))?;
        let mut in_tx = 0;
        while in_tx < TX_ROWS && done < n {
            let size = (CHUNK as u64).min(n - done) as usize;
            let mut rows = Vec::with_capacity(size);
            for i in 0..size {
                let k = done + i as u64;
                rows.push(Generated {
                    id: PatientId::new(),
                    person: names::person(rng),
                    phone: format!("+91 9{:09}", base + k),
                    birth_date: format!(
                        "{}-{:02}-{:02}",
                        rng.gen_range(1940..=2024),
                        rng.gen_range(1..=12),
                        rng.gen_range(1..=28)
                    ),
                });
            }
            let ids: Vec<String> = rows.iter().map(|r| r.id.as_text()).collect();
            app.cipher
                .create_subject_keys(tenant, &ids)
                .await
                .map_err(AppError::operator_message)?;
            let mut sealed = Vec::with_capacity(size);
            for r in &rows {
                let phone = clinicos_app::patients::patient::normalise_phone(&r.phone);
                let ct = app
                    .cipher
                    .seal::<PatientPhone>(tenant, r.id, r.id, phone.as_bytes())
                    .await
                    .map_err(AppError::operator_message)?;
                let bidx = app
                    .cipher
                    .blind_index(tenant, "phone", &phone)
                    .await
                    .map_err(AppError::operator_message)?;
                sealed.push((ct, bidx));
            }
            insert_chunk(&mut tx, &rows, &sealed, branch, creator).await?;
            for (i, (r, (_, bidx))) in rows.into_iter().zip(sealed).enumerate() {
                if (done + i as u64).is_multiple_of(every) && samples.len() < SAMPLES {
                    samples.push(Sample {
                        person: r.person,
                        phone: r.phone,
                        phone_bidx: bidx,
                    });
                }
            }
            done += size as u64;
            in_tx += size;
        }
        tx.commit()
            .await
            .map_err(|e| format!("cannot load the bench patients: {e}"))?;
        if done >= next_statistics && done < n {
            db.refresh_statistics().await?;
            next_statistics *= 2;
        }
    }
    Ok(())
}

struct Generated {
    id: PatientId,
    person: Person,
    phone: String,
    birth_date: String,
}

/// Columns of the patient rows the loader writes (the rest take their
/// defaults), after the tenant.
const PATIENT_COLS: usize = 14;

/// Rows per multi-row INSERT. SQLite finds each of a statement's `$N`
/// parameters by name in a list, so binding is quadratic in the number of
/// parameters: at 7,000 a statement, two thirds of the load was spent
/// there. About 1,500 parameters a statement keeps it small.
const PATIENTS_PER_STATEMENT: usize = 100;

async fn insert_chunk(
    tx: &mut clinicos_store::TenantTx,
    rows: &[Generated],
    sealed: &[(Sealed<PatientPhone>, String)],
    branch: Option<&str>,
    creator: Option<&str>,
) -> Result<(), String> {
    for (rows, sealed) in rows
        .chunks(PATIENTS_PER_STATEMENT)
        .zip(sealed.chunks(PATIENTS_PER_STATEMENT))
    {
        insert_patients(tx, rows, sealed, branch, creator).await?;
        insert_tokens(tx, rows).await?;
    }
    Ok(())
}

async fn insert_patients(
    tx: &mut clinicos_store::TenantTx,
    rows: &[Generated],
    sealed: &[(Sealed<PatientPhone>, String)],
    branch: Option<&str>,
    creator: Option<&str>,
) -> Result<(), String> {
    let now = chrono::Utc::now().timestamp_micros();
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let b = 2 + i * PATIENT_COLS;
            let cols: Vec<String> = (b..b + PATIENT_COLS).map(|c| format!("${c}")).collect();
            // `updated_at` is `created_at` (the last value, bound once).
            format!("($1, {}, ${})", cols.join(", "), b + PATIENT_COLS - 1)
        })
        .collect();
    let sql = format!(
        "INSERT INTO patients (tenant_id, id, given_name, middle_name, family_name, local_name, \
         name_key, birth_date, sex, city, phone, phone_bidx, first_branch_id, created_by, created_at, \
         updated_at) VALUES {}",
        values.join(", ")
    );
    let mut q = tx.q(&sql);
    for (r, (ct, bidx)) in rows.iter().zip(sealed) {
        let p = &r.person;
        let parts = p.parts();
        q = q
            .bind(r.id.as_text())
            .bind(p.given.clone())
            .bind(p.middle.clone())
            .bind(p.family.clone())
            .bind(p.local.clone())
            .bind(name_search::sort_key(&parts))
            .bind(r.birth_date.clone())
            .bind(p.sex.to_owned())
            .bind("Pune".to_owned())
            .bind(ct.to_vec())
            .bind(bidx.clone())
            .bind(branch.map(str::to_owned))
            .bind(creator.map(str::to_owned))
            .bind(now);
    }
    tx.exec(q)
        .await
        .map_err(|e| format!("cannot insert bench patients: {e}"))?;
    Ok(())
}

async fn insert_tokens(
    tx: &mut clinicos_store::TenantTx,
    rows: &[Generated],
) -> Result<(), String> {
    let mut values = Vec::new();
    let mut args: Vec<String> = Vec::new();
    for r in rows {
        for t in name_search::patient_tokens(&r.person.parts()) {
            args.push(r.id.as_text());
            args.push(t.token);
            values.push(format!(
                "($1, ${}, ${}, {})",
                args.len(),
                args.len() + 1,
                i64::from(t.family)
            ));
        }
    }
    if values.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO patient_name_tokens (tenant_id, patient_id, token, is_family) VALUES {}",
        values.join(", ")
    );
    let mut q = tx.q(&sql);
    for a in args {
        q = q.bind(a);
    }
    tx.exec(q)
        .await
        .map_err(|e| format!("cannot insert bench name tokens: {e}"))?;
    insert_pairs(tx, rows).await
}

/// Pair rows per INSERT (6 parameters each; see `PATIENTS_PER_STATEMENT`).
const PAIRS_PER_STATEMENT: usize = 250;

async fn insert_pairs(tx: &mut clinicos_store::TenantTx, rows: &[Generated]) -> Result<(), String> {
    let mut all = Vec::new();
    for r in rows {
        let tokens = name_search::patient_tokens(&r.person.parts());
        for p in name_pairs::patient_pairs(&tokens) {
            let flag = |f: bool| i64::from(f).to_string();
            all.push([
                p.key,
                p.a,
                p.b,
                r.id.as_text(),
                flag(p.a_family),
                flag(p.b_family),
            ]);
        }
    }
    for chunk in all.chunks(PAIRS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 2 + 6 * i;
                format!(
                    "($1, ${b}, ${}, ${}, ${}, CAST(${} AS BIGINT), CAST(${} AS BIGINT))",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO patient_name_pairs (tenant_id, pair_key, token_a, token_b, patient_id, \
             family_a, family_b) VALUES {}",
            values.join(", ")
        );
        let mut q = tx.q(&sql);
        for row in chunk {
            for v in row {
                q = q.bind(v.clone());
            }
        }
        tx.exec(q)
            .await
            .map_err(|e| format!("cannot insert bench name pairs: {e}"))?;
    }
    Ok(())
}

impl Person {
    fn parts(&self) -> NameParts<'_> {
        NameParts {
            given: &self.given,
            middle: &self.middle,
            family: &self.family,
            local: &self.local,
        }
    }
}
