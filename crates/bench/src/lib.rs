//! `clinicos bench`: drives the real HTTP API with N concurrent clients for
//! a bounded time and, in the same process and on the same database, runs
//! the raw-database baseline doing the same row work; reports throughput,
//! p50/p95/p99 latency and the ClinicOS / raw ratio side by side, plus the
//! cold start and idle memory of `clinicos serve`. `clinicos bench soak`
//! ([`soak`]) runs `serve` as a child under a long mixed load and checks
//! that its memory comes back.
//!
//! Invariants:
//! - Performance is judged by ratios measured in one run on one machine,
//!   never by absolute timings: both sides share the database, its pool
//!   and the load loop ([`load::drive`]).
//! - The sides alternate in up to [`ROUNDS`] rounds (ClinicOS, raw,
//!   ClinicOS, raw, ...) whose samples are pooled, so a burst of other work
//!   on a shared machine lands on both sides instead of skewing the ratio.
//! - Each side gets a short unrecorded warm-up (pools filled, caches warm).
//! - The server logs as `clinicos serve` does by default (one JSON access
//!   line per request at info), into a sink: formatting is paid, the
//!   terminal is not.
//! - The bench works only on a database it made ([`database::BenchDb`]) and
//!   removes it afterwards, on success and on failure.
//! - More than 1% errors on any side fails the run (after the report is
//!   printed, so the figures and the first error are visible).
//!
//! This crate is a library so that it builds and tests on its own; the
//! `clinicos` binary parses [`BenchArgs`] as its `bench` subcommand and
//! calls [`run`]. The cold-start probe starts the running executable as
//! `serve`, so [`run`] must be called from the `clinicos` binary.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod api;
mod audit_sealer;
mod database;
mod field_crypto;
mod fixture;
mod load;
mod machine;
mod names;
mod options;
mod policy_decision;
mod population;
mod raw;
mod raw_sql;
mod report;
mod serve_probe;
mod server_child;
mod soak;

pub use options::{BenchArgs, BenchCommand};

use api::ApiClient;
use clinicos_store::Store;
use database::BenchDb;
use fixture::Fixture;
use load::Sample;
use machine::Machine;
use options::{Plan, Scenario};
use population::Population;
use raw::Raw;
use report::{PopulationReport, Report, ScenarioReport};
use std::sync::Arc;
use std::time::Duration;

/// Pool size for the bench database: `clinicos serve`'s default.
const POOL_SIZE: u32 = 16;
/// Most alternating rounds per scenario (fewer for runs under 5 s).
const ROUNDS: u32 = 5;

/// Run the bench; `Err` is a one-line reason.
pub async fn run(mut a: BenchArgs) -> Result<(), String> {
    if let Some(BenchCommand::Soak(s)) = a.command.take() {
        return soak::run(s).await;
    }
    let plan = Plan::from_args(a)?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(plan.clients)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    log_like_serve();
    let db = BenchDb::create(plan.data_dir.clone(), plan.database_url.clone()).await?;
    let measured = measure(&plan, &db, &http).await;
    let report = db.remove_after(measured).await?;
    report::print_and_judge(&report, plan.json)
}

/// The default `serve` subscriber (JSON, the default filter), writing nowhere.
fn log_like_serve() {
    use clinicos_web::kit::logging;
    logging::install(logging::default_filter(), false, std::io::sink);
}

fn progress(msg: &str) {
    eprintln!("bench: {msg}");
}

async fn measure(plan: &Plan, db: &BenchDb, http: &reqwest::Client) -> Result<Report, String> {
    progress("timing the cold start of clinicos serve");
    let serve = serve_probe::probe(http).await?;
    // A throw-away master key and key store, never the operator's.
    let key_dir = database::ScratchDir::new("bench-keys")?;
    let store = Store::open_with_keys(&db.url, POOL_SIZE, Some(scratch_keys(&key_dir).await?))
        .await
        .map_err(|e| format!("cannot open the bench database: {e}"))?;
    let machine = Machine::read(store.platform(), db.backend_name()).await;
    let measured = with_fixture(plan, db, &store, http).await;
    if let Some(k) = store.field_keys() {
        k.key_store.close().await;
    }
    store.close().await;
    drop(key_dir);
    let m = measured?;
    Ok(Report {
        machine,
        clients: plan.clients,
        duration_secs: plan.duration.as_secs(),
        scenarios: m.scenarios,
        field_crypto: m.field_crypto,
        policy: m.policy,
        audit_sealer: m.audit_sealer,
        population: m.population,
        serve,
    })
}

/// A random master key and an embedded key store in `dir`.
async fn scratch_keys(dir: &database::ScratchDir) -> Result<clinicos_store::FieldKeys, String> {
    let key_store =
        clinicos_store::KeyStore::open(&clinicos_store::KeyStore::sqlite_url_for_dir(dir.path()))
            .await
            .map_err(|e| format!("cannot open the bench key store: {e}"))?;
    Ok(clinicos_store::FieldKeys {
        key_store,
        master: Arc::new(clinicos_crypto::EnvMasterKey::single(
            clinicos_crypto::Key32::generate(),
        )),
    })
}

/// What the scenarios on the fixture measured.
struct Measured {
    scenarios: Vec<ScenarioReport>,
    field_crypto: Option<Vec<field_crypto::FieldCryptoRow>>,
    policy: Option<policy_decision::PolicyReport>,
    audit_sealer: Option<audit_sealer::SealerReport>,
    population: Option<PopulationReport>,
}

async fn with_fixture(
    plan: &Plan,
    db: &BenchDb,
    store: &Store,
    http: &reqwest::Client,
) -> Result<Measured, String> {
    let fx = Fixture::start(store.clone(), http).await?;
    let measured = on_fixture(plan, db, &fx, http).await;
    fx.stop().await?;
    measured
}

async fn on_fixture(
    plan: &Plan,
    db: &BenchDb,
    fx: &Fixture,
    http: &reqwest::Client,
) -> Result<Measured, String> {
    let mut api = Arc::new(ApiClient::new(http.clone(), fx, &fx.token)?);
    let raw = Arc::new(Raw::new(fx.app.store.platform(), fx));
    let mut out = Measured {
        scenarios: Vec::new(),
        field_crypto: None,
        audit_sealer: None,
        policy: None,
        population: None,
    };
    let pop = if plan.scenarios.iter().any(|s| s.searches()) {
        progress(&format!(
            "search: loading {} patients and {} other tenants",
            plan.patients,
            population::OTHER_TENANTS
        ));
        let p = Population::load(fx, db, plan.patients, api.patients_url()).await?;
        // A large load outlasts the access token (and the session's idle
        // timeout): the clients sign in again, as a front desk would.
        let fresh = fixture::sign_in(http, &fx.base_url, &fx.login_body()).await?;
        let token = fresh
            .pointer("/data/access_token")
            .and_then(serde_json::Value::as_str)
            .ok_or("the sign-in answer has no access token")?;
        api = Arc::new(ApiClient::new(http.clone(), fx, token)?);
        out.population = Some(PopulationReport {
            patients: p.patients,
            other_tenants: population::OTHER_TENANTS,
            other_patients_each: population::OTHER_PATIENTS,
            load_secs: p.load_secs,
        });
        Some(Arc::new(p))
    } else {
        None
    };
    for &s in &plan.scenarios {
        out.scenarios
            .push(run_scenario(s, plan, db, &api, &raw, pop.clone()).await?);
    }
    let rounds = ROUNDS.min(plan.duration.as_secs().max(1) as u32);
    if plan.field_crypto {
        progress(&format!(
            "field-crypto: {} s per side in {rounds} alternating rounds",
            plan.duration.as_secs()
        ));
        out.field_crypto =
            Some(field_crypto::measure(&fx.app.cipher, plan.duration, rounds).await?);
    }
    if plan.policy {
        progress("policy: one decision against one permission-bit check");
        out.policy = Some(policy_decision::measure(plan.duration, rounds)?);
    }
    if plan.audit_sealer {
        progress(&format!(
            "audit-sealer: {} audited requests/s for {} s while the sealer runs",
            plan.rate,
            plan.duration.as_secs()
        ));
        out.audit_sealer = Some(audit_sealer::measure(fx, http, plan.rate, plan.duration).await?);
    }
    Ok(out)
}

async fn run_scenario(
    s: Scenario,
    plan: &Plan,
    db: &BenchDb,
    api: &Arc<ApiClient>,
    raw: &Arc<Raw>,
    pop: Option<Arc<Population>>,
) -> Result<ScenarioReport, String> {
    let a = Arc::clone(api);
    let p = pop.clone();
    let api_op = move || {
        let a = Arc::clone(&a);
        let p = p.clone();
        async move {
            match (s, p.as_deref()) {
                (Scenario::GetBranch, _) => a.get_branch().await,
                (Scenario::Login, _) => a.login().await,
                (Scenario::ReadPatient, _) => a.read_patient().await,
                (Scenario::CreatePatient, _) => a.create_patient().await,
                (Scenario::OpenChart, _) => a.open_chart().await,
                (Scenario::SearchName, Some(p)) => a.get(&p.next_name().url).await,
                (Scenario::SearchPhone, Some(p)) => a.get(&p.next_phone().url).await,
                (Scenario::SearchName | Scenario::SearchPhone, None) => {
                    Err("no search population".into())
                }
            }
        }
    };
    let r = Arc::clone(raw);
    let p = pop.clone();
    let raw_op = move || {
        let r = Arc::clone(&r);
        let p = p.clone();
        async move {
            match (s, p.as_deref()) {
                (Scenario::GetBranch, _) => r.get_branch().await,
                (Scenario::Login, _) => r.login().await,
                (Scenario::ReadPatient, _) => r.read_patient().await,
                (Scenario::CreatePatient, _) => r.create_patient().await,
                (Scenario::OpenChart, _) => r.open_chart().await,
                (Scenario::SearchName, Some(p)) => r.search(&p.next_name().search).await,
                (Scenario::SearchPhone, Some(p)) => r.search(&p.next_phone().search).await,
                (Scenario::SearchName | Scenario::SearchPhone, None) => {
                    Err("no search population".into())
                }
            }
        }
    };
    let rewind = || {
        if let Some(p) = &pop {
            p.rewind();
        }
    };
    let secs = plan.duration.as_secs();
    let rounds = ROUNDS.min(secs.max(1) as u32);
    let round = plan.duration / rounds;
    progress(&format!(
        "{}: {} clients, {secs} s per side in {rounds} alternating rounds",
        s.name(),
        plan.clients
    ));
    let warmup = (plan.duration / 10).clamp(Duration::from_millis(200), Duration::from_secs(2));
    load::drive(plan.clients, warmup, api_op.clone()).await?;
    load::drive(plan.clients, warmup, raw_op.clone()).await?;
    let mut clinicos = Sample::default();
    let mut baseline = Sample::default();
    for _ in 0..rounds {
        db.refresh_statistics().await?;
        // Both sides ask the same queries in the same order.
        rewind();
        clinicos.absorb(load::drive(plan.clients, round, api_op.clone()).await?);
        rewind();
        baseline.absorb(load::drive(plan.clients, round, raw_op.clone()).await?);
    }
    Ok(ScenarioReport::new(
        s,
        clinicos.summary(),
        baseline.summary(),
    ))
}
