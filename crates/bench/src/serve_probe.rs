//! Cold start and idle memory of `clinicos serve`: the current executable
//! is started as a child on a fresh SQLite directory and a free loopback
//! port; cold start is the time from spawn until `/health/ready` answers
//! 200 (so it includes creating and migrating the database), idle RSS is
//! `VmRSS` after the server has sat idle for [`IDLE`].
//!
//! Invariant: the child never outlives the probe ([`ServerChild`] kills it
//! on every path, including errors), and leaves nothing outside its
//! scratch directory.

use super::database::ScratchDir;
use super::server_child::{this_exe, ChildData, ServerChild};
use clinicos_store::kit::db::sqlite_url_for_dir;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long the server idles before its memory is read.
const IDLE: Duration = Duration::from_secs(2);

/// What the probe measured.
#[derive(Clone, Debug, Serialize)]
pub struct ServeProbe {
    pub cold_start_ms: f64,
    pub idle_rss_kib: u64,
}

/// Start `clinicos serve`, time it to ready, read its idle RSS, kill it.
pub async fn probe(http: &reqwest::Client) -> Result<ServeProbe, String> {
    let dir = ScratchDir::new("bench-serve")?;
    let data = ChildData {
        exe: this_exe()?,
        database_url: sqlite_url_for_dir(dir.path()),
        dir: dir.path().to_owned(),
    };
    let start = Instant::now();
    let mut child = ServerChild::start(&data, "")?;
    child.wait_ready(http).await?;
    let cold_start = start.elapsed();
    tokio::time::sleep(IDLE).await;
    let memory = child.memory()?;
    drop(child);
    Ok(ServeProbe {
        cold_start_ms: cold_start.as_secs_f64() * 1000.0,
        idle_rss_kib: memory.rss_kib,
    })
}
