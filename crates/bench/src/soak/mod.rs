//! `clinicos bench soak`: does the server's memory come back after a long
//! mixed load? (issue 16)
//!
//! The production server runs as a child process (`clinicos serve`, so its
//! resident memory is its own, not the load generator's) on a fresh
//! database: a tenant is made with the CLI, patients with charts are
//! registered through the API, and the server idles for the idle pause;
//! its resident memory then is the idle figure. Then `--clients` clients
//! send the mixed load of [`load::MIX`] for `--minutes`, from random
//! client addresses (the server trusts `X-Forwarded-For`), and the server
//! idles for the pause again. `VmRSS` and `VmHWM` are read from
//! `/proc/<pid>/status` every `--sample-secs` throughout.
//!
//! Verdict: after the second pause resident memory must be at most
//! [`report::LIMIT_RATIO`] times the idle figure, and at most 1% of the
//! answers may be unexpected; otherwise the run fails (after printing its
//! report).
//!
//! Invariants:
//! - The child never outlives the run, and the database, key files and
//!   attachment files it used are removed (a `--data-dir` is kept).
//! - The server's limits stay at their defaults except the per-session
//!   `api` limit, raised so that a few signed-in clients can load it; the
//!   per-address limits see the random addresses as they would see many
//!   real clients.

pub mod load;
pub mod options;
pub mod report;

use crate::database::{random_suffix, BenchDb, ScratchDir};
use crate::machine::Machine;
use crate::server_child::{this_exe, ChildData, Memory, ServerChild};
use load::{Known, Target};
use options::SoakPlan;
use rand::rngs::StdRng;
use rand::SeedableRng;
use report::{MemorySample, SoakReport, SoakRun};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The soak tenant and its owner.
const SLUG: &str = "soak";
const OWNER_EMAIL: &str = "owner@soak.example";
/// Seeded patients' phone numbers start here (the load's registrations
/// count up from 0, so the two never meet).
const SEED_NUMBERS: u64 = 50_000_000;

/// The server's configuration beside its data (see the module invariants).
const SERVER_CONFIG: &str = "trust_proxy = true\nrate_limit_api = 10000000\n";

/// Run the soak; `Err` is a one-line reason.
pub async fn run(a: options::SoakArgs) -> Result<(), String> {
    let plan = SoakPlan::from_args(a)?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .user_agent("clinicos-bench-soak")
        .pool_max_idle_per_host(plan.clients)
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let db = BenchDb::create(plan.data_dir.clone(), plan.database_url.clone()).await?;
    let dir = ScratchDir::new("bench-soak")?;
    let data = ChildData {
        exe: match &plan.server {
            Some(p) => p.clone(),
            None => this_exe()?,
        },
        database_url: db.url.clone(),
        dir: dir.path().to_owned(),
    };
    let measured = soak(&plan, &db, &data, &http).await;
    drop(dir);
    let report = db.remove_after(measured).await?;
    crate::report::print_and_judge(&report, plan.json)
}

fn progress(msg: &str) {
    eprintln!("bench soak: {msg}");
}

async fn soak(
    plan: &SoakPlan,
    db: &BenchDb,
    data: &ChildData,
    http: &reqwest::Client,
) -> Result<SoakReport, String> {
    let password = format!("Quartz-{}-Harbour", random_suffix());
    progress("creating the soak tenant");
    data.run(
        &[
            "tenant",
            "create",
            "--slug",
            SLUG,
            "--name",
            "Soak Clinic",
            "--owner-email",
            OWNER_EMAIL,
            "--owner-name",
            "Soak Owner",
            "--password-stdin",
        ],
        &password,
    )?;
    // A new clinic requires its owner to enrol two-step sign-in; the soak
    // signs the owner in with the password alone (its logins stay one
    // request), so it relaxes the rule as an operator would.
    data.run(
        &[
            "tenant",
            "sign-in-security",
            "--tenant",
            SLUG,
            "--mfa-required-roles",
            "none",
        ],
        "",
    )?;
    let machine = machine(db).await?;
    let mut server = ServerChild::start(data, SERVER_CONFIG)?;
    server.wait_ready(http).await?;
    let t0 = Instant::now();
    let mut samples = Vec::new();
    let login_body =
        serde_json::json!({"tenant": SLUG, "email": OWNER_EMAIL, "password": password}).to_string();
    progress(&format!(
        "registering {} patients with charts",
        plan.patients
    ));
    let charts = seed(http, &server.base_url, &login_body, plan).await?;
    samples.push(sample(&server, t0, "seeded", 0)?);
    let wrong_body =
        serde_json::json!({"tenant": SLUG, "email": "nobody@soak.example", "password": "Wrong-password-1"})
            .to_string();
    let target = Arc::new(Target::new(
        http.clone(),
        &server.base_url,
        login_body,
        wrong_body,
        charts,
    ));
    progress(&format!("idle for {:.0} s", plan.idle.as_secs_f64()));
    watch(
        &mut server,
        t0,
        "idle-before",
        plan.idle,
        plan,
        &target,
        &mut samples,
    )
    .await?;
    let loadavg_start = loadavg();
    progress(&format!(
        "mixed load: {} clients for {:.0} s",
        plan.clients,
        plan.load.as_secs_f64()
    ));
    let started = Instant::now();
    let driving = {
        let t = Arc::clone(&target);
        let (clients, deadline) = (plan.clients, started + plan.load);
        tokio::spawn(async move { t.drive(clients, deadline).await })
    };
    let watched = watch(
        &mut server,
        t0,
        "load",
        plan.load,
        plan,
        &target,
        &mut samples,
    )
    .await;
    let driven = driving
        .await
        .map_err(|e| format!("the soak load failed: {e}"))?;
    let load_secs = started.elapsed().as_secs_f64();
    watched?;
    driven?;
    let loadavg_end = loadavg();
    samples.push(sample(&server, t0, "load", target.requests())?);
    progress(&format!("idle for {:.0} s", plan.idle.as_secs_f64()));
    watch(
        &mut server,
        t0,
        "idle-after",
        plan.idle,
        plan,
        &target,
        &mut samples,
    )
    .await?;
    let hwm = server.memory()?.hwm_kib;
    drop(server);
    Ok(SoakReport::judge(SoakRun {
        machine,
        loadavg_start,
        loadavg_end,
        clients: plan.clients,
        load_secs,
        idle_secs: plan.idle.as_secs_f64(),
        sample_secs: plan.sample_every.as_secs(),
        seeded_patients: plan.patients,
        samples,
        hwm_kib: hwm,
        first_unexpected: target.first_unexpected(),
        operations: target.counts(),
    }))
}

/// Read the server's memory every sample interval for `phase`'s length;
/// the last reading falls at its end.
async fn watch(
    server: &mut ServerChild,
    t0: Instant,
    phase: &'static str,
    length: Duration,
    plan: &SoakPlan,
    target: &Target,
    samples: &mut Vec<MemorySample>,
) -> Result<(), String> {
    let end = Instant::now() + length;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        tokio::time::sleep(left.min(plan.sample_every)).await;
        server.check_running()?;
        samples.push(sample(server, t0, phase, target.requests())?);
    }
}

fn sample(
    server: &ServerChild,
    t0: Instant,
    phase: &'static str,
    requests: u64,
) -> Result<MemorySample, String> {
    let Memory { rss_kib, hwm_kib } = server.memory()?;
    Ok(MemorySample {
        at_secs: t0.elapsed().as_secs_f64(),
        phase,
        rss_kib,
        hwm_kib,
        requests,
    })
}

/// The machine and database, read over a connection of our own.
async fn machine(db: &BenchDb) -> Result<Machine, String> {
    let conn = clinicos_store::Db::connect(&db.url, 1, false)
        .await
        .map_err(|e| format!("cannot open the soak database: {e}"))?;
    let m = Machine::read(&conn, db.backend_name()).await;
    conn.close().await;
    Ok(m)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sign in once and register `plan.patients` patients, each with the owner
/// on its care team and a history entry and an allergy, from `clients`
/// concurrent tasks.
async fn seed(
    http: &reqwest::Client,
    base: &str,
    login_body: &str,
    plan: &SoakPlan,
) -> Result<Vec<Known>, String> {
    let signed_in = post(http, base, "/api/v1/auth/login", None, login_body).await?;
    let field = |path: &str| {
        signed_in
            .pointer(path)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the sign-in answer has no {path}"))
    };
    let (token, user) = (field("/data/access_token")?, field("/data/user_id")?);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for worker in 0..plan.clients.min(8) {
        let (http, base, token, user) =
            (http.clone(), base.to_owned(), token.clone(), user.clone());
        let (next, total) = (Arc::clone(&next), plan.patients);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(worker as u64);
            let mut made = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, String>(made);
                }
                let (body, mut k) = load::new_patient(SEED_NUMBERS + n, &mut rng);
                let v = post(&http, &base, "/api/v1/patients", Some(&token), &body).await?;
                k.id = v
                    .pointer("/data/id")
                    .and_then(Value::as_str)
                    .ok_or("a seeded patient has no id")?
                    .to_owned();
                let chart = format!("/api/v1/patients/{}", k.id);
                let care = serde_json::json!({ "user_id": user }).to_string();
                for (part, body) in [
                    ("/care-team", care.as_str()),
                    ("/history", r#"{"category":"family","text":"Mother: type 2 diabetes from 50"}"#),
                    ("/allergies", r#"{"substance":"Penicillin","category":"medication","reaction":"Hives","severity":"moderate"}"#),
                ] {
                    post(&http, &base, &format!("{chart}{part}"), Some(&token), body).await?;
                }
                made.push(k);
            }
        }));
    }
    let mut charts = Vec::new();
    for t in tasks {
        charts.extend(
            t.await
                .map_err(|e| format!("a seeding task failed: {e}"))??,
        );
    }
    Ok(charts)
}

/// POST a JSON body; the answer's JSON (see [`load::json_answer`]).
async fn post(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Result<Value, String> {
    let mut r = http
        .post(format!("{base}{path}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    load::json_answer(r, &format!("POST {path}")).await
}
