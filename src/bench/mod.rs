//! `clinicos bench`: drives the real HTTP API with N concurrent clients for
//! a bounded time and, in the same process and on the same database, runs
//! the raw-database baseline doing the same row work; reports throughput,
//! p50/p95/p99 latency and the ClinicOS / raw ratio side by side, plus the
//! cold start and idle memory of `clinicos serve`.
//!
//! Invariants:
//! - Performance is judged by ratios measured in one run on one machine,
//!   never by absolute timings: both sides share the database, its pool
//!   and the load loop ([`load::drive`]), and run one after the other.
//! - Each side gets a short unrecorded warm-up (pools filled, caches warm).
//! - The bench works only on a database it made ([`database::BenchDb`]) and
//!   removes it afterwards, on success and on failure.
//! - More than 1% errors on any side fails the run (after the report is
//!   printed, so the figures and the first error are visible).

mod api;
mod database;
mod fixture;
mod load;
mod machine;
mod options;
mod raw;
mod report;
mod serve_probe;

pub use options::BenchArgs;

use api::ApiClient;
use clinicos_store::Store;
use database::BenchDb;
use fixture::Fixture;
use load::Sample;
use machine::Machine;
use options::{Plan, Scenario};
use raw::Raw;
use report::{Report, ScenarioReport};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Pool size for the bench database: `clinicos serve`'s default.
const POOL_SIZE: u32 = 16;

/// Run the bench; `Err` is a one-line reason.
pub async fn run(a: BenchArgs) -> Result<(), String> {
    let plan = Plan::from_args(a)?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(plan.clients)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let db = BenchDb::create(plan.data_dir.clone(), plan.database_url.clone()).await?;
    let measured = measure(&plan, &db, &http).await;
    let removed = db.remove().await;
    let report = measured?;
    removed?;
    if plan.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", report.text());
    }
    report.check_errors()
}

fn progress(msg: &str) {
    eprintln!("bench: {msg}");
}

async fn measure(plan: &Plan, db: &BenchDb, http: &reqwest::Client) -> Result<Report, String> {
    progress("timing the cold start of clinicos serve");
    let serve = serve_probe::probe(http).await?;
    let store = Store::open(&db.url, POOL_SIZE)
        .await
        .map_err(|e| format!("cannot open the bench database: {e}"))?;
    let machine = Machine::read(store.platform(), db.backend_name()).await;
    let scenarios = with_fixture(plan, &store, http).await;
    store.close().await;
    Ok(Report {
        machine,
        clients: plan.clients,
        duration_secs: plan.duration.as_secs(),
        scenarios: scenarios?,
        serve,
    })
}

async fn with_fixture(
    plan: &Plan,
    store: &Store,
    http: &reqwest::Client,
) -> Result<Vec<ScenarioReport>, String> {
    let fx = Fixture::start(store.clone(), http).await?;
    let api = Arc::new(ApiClient::new(http.clone(), &fx)?);
    let raw = Arc::new(Raw::new(store.platform(), &fx));
    let mut measured = Ok(Vec::new());
    for &s in &plan.scenarios {
        match run_scenario(s, plan, &api, &raw).await {
            Ok(r) => {
                if let Ok(v) = &mut measured {
                    v.push(r);
                }
            }
            Err(e) => {
                measured = Err(e);
                break;
            }
        }
    }
    fx.stop().await?;
    measured
}

async fn run_scenario(
    s: Scenario,
    plan: &Plan,
    api: &Arc<ApiClient>,
    raw: &Arc<Raw>,
) -> Result<ScenarioReport, String> {
    let secs = plan.duration.as_secs();
    progress(&format!(
        "{}: ClinicOS over HTTP, {} clients, {secs} s",
        s.name(),
        plan.clients
    ));
    let a = Arc::clone(api);
    let clinicos = side(plan, move || {
        let a = Arc::clone(&a);
        async move {
            match s {
                Scenario::GetBranch => a.get_branch().await,
                Scenario::Login => a.login().await,
            }
        }
    })
    .await?;
    progress(&format!(
        "{}: raw database, {} clients, {secs} s",
        s.name(),
        plan.clients
    ));
    let r = Arc::clone(raw);
    let baseline = side(plan, move || {
        let r = Arc::clone(&r);
        async move {
            match s {
                Scenario::GetBranch => r.get_branch().await,
                Scenario::Login => r.login().await,
            }
        }
    })
    .await?;
    Ok(ScenarioReport::new(
        s,
        clinicos.summary(),
        baseline.summary(),
    ))
}

/// Warm up (unrecorded), then measure.
async fn side<F, Fut>(plan: &Plan, op: F) -> Result<Sample, String>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let warmup = (plan.duration / 10).clamp(Duration::from_millis(200), Duration::from_secs(2));
    load::drive(plan.clients, warmup, op.clone()).await?;
    load::drive(plan.clients, plan.duration, op).await
}
