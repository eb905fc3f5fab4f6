//! Cold start and idle memory of `clinicos serve`: the current executable
//! is started as a child on a fresh SQLite directory and a free loopback
//! port; cold start is the time from spawn until `/health/ready` answers
//! 200 (so it includes creating and migrating the database), idle RSS is
//! `VmRSS` after the server has sat idle for [`IDLE`].
//!
//! Invariant: the child never outlives the probe (killed on every path,
//! including errors, by [`ChildGuard`]).

use super::database::ScratchDir;
use serde::Serialize;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server idles before its memory is read.
const IDLE: Duration = Duration::from_secs(2);
/// Give up if the server is not ready by then.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// What the probe measured.
#[derive(Clone, Debug, Serialize)]
pub struct ServeProbe {
    pub cold_start_ms: f64,
    pub idle_rss_kib: u64,
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Start `clinicos serve`, time it to ready, read its idle RSS, kill it.
pub async fn probe(http: &reqwest::Client) -> Result<ServeProbe, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let dir = ScratchDir::new("bench-serve")?;
    let port = free_port()?;
    let bind = format!("127.0.0.1:{port}");
    // Attachment files inside the scratch directory too (the default,
    // `<data-dir>-files` beside it, would outlive the probe).
    let config = dir.path().join("probe.toml");
    let files = dir.path().join("files");
    std::fs::write(
        &config,
        format!("files_dir = {:?}\n", files.display().to_string()),
    )
    .map_err(|e| format!("cannot write the probe's config: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--bind")
        .arg(&bind)
        // Its own throw-away master key and key store, never the operator's.
        .arg("--master-key-file")
        .arg(dir.path().join("keys").join("master.key"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Only the flags decide where the child's data goes.
    for var in [
        "CLINICOS_DATABASE_URL",
        "CLINICOS_CONFIG",
        "CLINICOS_DATA_DIR",
        "CLINICOS_BIND",
        "CLINICOS_MASTER_KEY",
        "CLINICOS_MASTER_KEY_FILE",
        "CLINICOS_KEY_STORE_URL",
    ] {
        cmd.env_remove(var);
    }
    let start = Instant::now();
    let mut child = ChildGuard(
        cmd.spawn()
            .map_err(|e| format!("cannot start clinicos serve: {e}"))?,
    );
    let url = format!("http://{bind}/health/ready");
    let cold_start = loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!("clinicos serve exited early ({status})"));
        }
        let ready = http
            .get(&url)
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false);
        if ready {
            break start.elapsed();
        }
        if start.elapsed() > READY_LIMIT {
            return Err(format!(
                "clinicos serve was not ready within {READY_LIMIT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    tokio::time::sleep(IDLE).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.0.id()))
        .map_err(|e| format!("cannot read the server's memory use: {e}"))?;
    drop(child);
    Ok(ServeProbe {
        cold_start_ms: cold_start.as_secs_f64() * 1000.0,
        idle_rss_kib: vm_rss_kib(&status).ok_or("no VmRSS line in /proc/<pid>/status")?,
    })
}

/// The `VmRSS:  12345 kB` figure of a `/proc/<pid>/status` text, in KiB.
fn vm_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_vm_rss() {
        let s = "Name:\tclinicos\nVmPeak:\t  99 kB\nVmRSS:\t   23456 kB\nThreads:\t3\n";
        assert_eq!(super::vm_rss_kib(s), Some(23456));
        assert_eq!(super::vm_rss_kib("Name:\tx\n"), None);
    }
}
