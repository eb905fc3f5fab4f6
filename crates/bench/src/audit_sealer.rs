//! Can the audit sealer keep up? Audited API requests are sent at a fixed
//! rate (default 1,000/s) for a bounded time while the sealer runs as in
//! `serve` (a round every [`SEAL_INTERVAL`]); the backlog (events not yet
//! chained) is sampled over time, and after the load the remaining backlog
//! is drained to measure sealing throughput.
//!
//! The audited request is `GET /api/v1/staff` by a front-desk user: the
//! policy point refuses it (403) and writes one `policy.denied` audit event
//! in its own transaction, the cheapest request that always audits.
//!
//! Invariants: at most [`MAX_IN_FLIGHT`] requests are outstanding; a tick
//! that finds them all busy is not sent (the achieved rate says so); the
//! sealer task is stopped before the drain so only one sealer runs.

use super::fixture::{login_body, sign_in, Fixture};
use clinicos_app::governance::audit_trail::SEAL_INTERVAL;
use clinicos_app::tenancy::provisioning::NewUser;
use clinicos_app::{App, AppError};
use clinicos_domain::{Role, TenantId};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most requests outstanding at once.
const MAX_IN_FLIGHT: usize = 256;

/// Backlog at one moment.
#[derive(Clone, Debug, Serialize)]
pub struct BacklogSample {
    pub at_secs: f64,
    pub backlog: i64,
}

/// What the sealer run measured.
#[derive(Clone, Debug, Serialize)]
pub struct SealerReport {
    pub target_rate: u64,
    pub achieved_rate: f64,
    pub audited_requests: u64,
    pub failed_requests: u64,
    pub not_sent: u64,
    pub load_secs: f64,
    pub seal_interval_secs: f64,
    pub samples: Vec<BacklogSample>,
    /// Unsealed events when the load stopped.
    pub backlog_at_end: i64,
    /// Events sealed while the load ran.
    pub sealed_during_load: u64,
    /// Time the sealer spent sealing (rounds during the load and the drain).
    pub sealing_busy_secs: f64,
    /// Events sealed per second of sealing work.
    pub sealing_throughput: f64,
    /// Time to seal what was left after the load.
    pub drain_secs: f64,
    /// Sealing throughput at least the achieved rate, and the backlog at the
    /// end no more than about one sealing interval of arrivals.
    pub keeps_up: bool,
}

async fn backlog(app: &App, tenant: TenantId) -> Result<i64, String> {
    let mut tx = app.store.read(tenant).await.map_err(|e| e.to_string())?;
    let n = clinicos_store::governance::audit::unsealed_count(&mut tx)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(n)
}

/// A front-desk user's bearer token (refused by `GET /api/v1/staff`).
async fn desk_token(fx: &Fixture, http: &reqwest::Client) -> Result<HeaderValue, String> {
    let email = "desk@bench.example";
    let user = NewUser {
        email: email.into(),
        name: "Bench Desk".into(),
        roles: vec![Role::FrontDesk],
        branch_ids: vec![],
        password: Some(fx.password.clone()),
        locale: None,
    };
    fx.app
        .tenancy()
        .create_user_cli(&fx.slug, &user)
        .await
        .map_err(AppError::operator_message)?;
    let v = sign_in(
        http,
        &fx.base_url,
        &login_body(&fx.slug, email, &fx.password),
    )
    .await?;
    let token = v
        .pointer("/data/access_token")
        .and_then(serde_json::Value::as_str)
        .ok_or("the desk sign-in has no token")?;
    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| "bad token".to_owned())
}

struct Sealer {
    busy_nanos: AtomicU64,
    sealed: AtomicU64,
    stop: AtomicBool,
}

/// Run the sealer as `serve` does until told to stop.
fn spawn_sealer(app: App, s: Arc<Sealer>) -> tokio::task::JoinHandle<Result<(), String>> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SEAL_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    if s.stop.load(Ordering::Relaxed) { return Ok(()); }
                    continue;
                }
            }
            if s.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let t = Instant::now();
            let n = app
                .governance()
                .seal_audit_once()
                .await
                .map_err(AppError::operator_message)?;
            s.busy_nanos
                .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            s.sealed.fetch_add(n as u64, Ordering::Relaxed);
        }
    })
}

/// Drive audited requests at `rate`/s for `duration` while the sealer runs.
pub async fn measure(
    fx: &Fixture,
    http: &reqwest::Client,
    rate: u64,
    duration: Duration,
) -> Result<SealerReport, String> {
    let tenant: TenantId = fx
        .tenant_id
        .parse()
        .map_err(|_| "bad bench tenant id".to_owned())?;
    let bearer = desk_token(fx, http).await?;
    let url = format!("{}/api/v1/staff", fx.base_url);
    // Seal what the set-up wrote, so the backlog starts at zero.
    fx.app
        .governance()
        .seal_audit_once()
        .await
        .map_err(AppError::operator_message)?;
    let sealer = Arc::new(Sealer {
        busy_nanos: AtomicU64::new(0),
        sealed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let task = spawn_sealer(fx.app.clone(), sealer.clone());
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut not_sent = 0u64;
    let mut samples = Vec::new();
    let sample_every = (duration / 10).clamp(Duration::from_millis(250), Duration::from_secs(1));
    let start = Instant::now();
    let mut next_sample = start;
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while start.elapsed() < duration {
        tick.tick().await;
        if Instant::now() >= next_sample {
            let b = backlog(&fx.app, tenant).await?;
            samples.push(BacklogSample {
                at_secs: start.elapsed().as_secs_f64(),
                backlog: b,
            });
            next_sample += sample_every;
        }
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            not_sent += 1;
            continue;
        };
        let (http, url, bearer) = (http.clone(), url.clone(), bearer.clone());
        let (ok, failed) = (ok.clone(), failed.clone());
        tokio::spawn(async move {
            let r = http.get(&url).header(AUTHORIZATION, bearer).send().await;
            let audited = match r {
                Ok(r) => r.status() == reqwest::StatusCode::FORBIDDEN && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            if audited {
                ok.fetch_add(1, Ordering::Relaxed)
            } else {
                failed.fetch_add(1, Ordering::Relaxed)
            };
            drop(permit);
        });
    }
    // Let in-flight requests finish.
    let _ = slots.acquire_many(MAX_IN_FLIGHT as u32).await;
    let load_secs = start.elapsed().as_secs_f64();
    sealer.stop.store(true, Ordering::Relaxed);
    task.await
        .map_err(|e| format!("the sealer task failed: {e}"))??;
    let backlog_at_end = backlog(&fx.app, tenant).await?;
    samples.push(BacklogSample {
        at_secs: load_secs,
        backlog: backlog_at_end,
    });
    let sealed_during_load = sealer.sealed.load(Ordering::Relaxed);
    let drain = Instant::now();
    let mut drained = 0u64;
    while backlog(&fx.app, tenant).await? > 0 {
        drained += fx
            .app
            .governance()
            .seal_audit_once()
            .await
            .map_err(AppError::operator_message)? as u64;
    }
    let drain_secs = drain.elapsed().as_secs_f64();
    let busy =
        Duration::from_nanos(sealer.busy_nanos.load(Ordering::Relaxed)).as_secs_f64() + drain_secs;
    let audited = ok.load(Ordering::Relaxed);
    let achieved_rate = audited as f64 / load_secs.max(1e-9);
    let sealing_throughput = (sealed_during_load + drained) as f64 / busy.max(1e-9);
    let interval = SEAL_INTERVAL.as_secs_f64();
    Ok(SealerReport {
        target_rate: rate,
        achieved_rate,
        audited_requests: audited,
        failed_requests: failed.load(Ordering::Relaxed),
        not_sent,
        load_secs,
        seal_interval_secs: interval,
        samples,
        backlog_at_end,
        sealed_during_load,
        sealing_busy_secs: busy,
        sealing_throughput,
        drain_secs,
        keeps_up: sealing_throughput >= achieved_rate
            && (backlog_at_end as f64) <= achieved_rate * interval * 1.5 + MAX_IN_FLIGHT as f64,
    })
}
