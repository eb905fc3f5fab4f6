//! `clinicos serve` as a child process of the bench: started from an
//! executable (by default this one) on a database, key files and a config
//! of the bench's choosing, on a free loopback port, so that what is
//! measured of it (cold start, resident memory) is its own.
//!
//! Invariants:
//! - The child never outlives its [`ServerChild`] (killed and reaped on
//!   drop, on every path including errors).
//! - Only the flags decide where the child's data goes: every
//!   `CLINICOS_*` variable that could point it elsewhere is removed, and
//!   its master key, key store, audit witness and attachment files are
//!   inside the scratch directory it is given.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Give up if the server is not ready by then.
pub const READY_LIMIT: Duration = Duration::from_secs(60);

/// Variables that would point a child at other data than its flags say.
const LOCATION_VARS: [&str; 9] = [
    "CLINICOS_DATABASE_URL",
    "CLINICOS_CONFIG",
    "CLINICOS_DATA_DIR",
    "CLINICOS_BIND",
    "CLINICOS_MASTER_KEY",
    "CLINICOS_MASTER_KEY_FILE",
    "CLINICOS_KEY_STORE_URL",
    "CLINICOS_AUDIT_WITNESS_FILE",
    "CLINICOS_PUBLIC_URL",
];

/// Where a child keeps its data: one database (`--database-url`, SQLite
/// or PostgreSQL), everything else under `dir`.
#[derive(Clone, Debug)]
pub struct ChildData {
    pub exe: PathBuf,
    pub database_url: String,
    pub dir: PathBuf,
}

impl ChildData {
    /// The flags that put a `clinicos` command on this data.
    fn db_flags(&self) -> Vec<String> {
        let path = |p: PathBuf| p.display().to_string();
        vec![
            "--database-url".into(),
            self.database_url.clone(),
            "--master-key-file".into(),
            path(self.dir.join("keys").join("master.key")),
            "--audit-witness-file".into(),
            path(self.dir.join("audit").join("checkpoints.jsonl")),
        ]
    }

    /// A `clinicos` command on this data, quiet and with no inherited
    /// locations.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args(args).args(self.db_flags());
        for var in LOCATION_VARS {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Run a one-off command (e.g. `tenant create`) with `stdin` as its
    /// standard input; `Err` carries its error line.
    pub fn run(&self, args: &[&str], stdin: &str) -> Result<(), String> {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run clinicos {}: {e}", args.join(" ")))?;
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.as_bytes())
                .map_err(|e| format!("cannot write to clinicos {}: {e}", args.join(" ")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("clinicos {} failed: {e}", args.join(" ")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "clinicos {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// A running `clinicos serve`.
pub struct ServerChild {
    child: Child,
    pub base_url: String,
    log: PathBuf,
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the most it was ever resident.
    pub hwm_kib: u64,
}

impl ServerChild {
    /// Start `serve` on `data` with `config` (TOML, written into the data
    /// directory; attachment files are put there too).
    pub fn start(data: &ChildData, config: &str) -> Result<ServerChild, String> {
        let port = free_port()?;
        let bind = format!("127.0.0.1:{port}");
        let config_path = data.dir.join("serve.toml");
        let files = data.dir.join("files");
        std::fs::write(
            &config_path,
            format!("files_dir = {:?}\n{config}", files.display().to_string()),
        )
        .map_err(|e| format!("cannot write the server's config: {e}"))?;
        let log = data.dir.join("serve.log");
        let log_file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let config_arg = config_path.display().to_string();
        let child = data
            .command(&["serve", "--config", &config_arg, "--bind", &bind])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start clinicos serve: {e}"))?;
        Ok(ServerChild {
            child,
            base_url: format!("http://{bind}"),
            log,
        })
    }

    /// Wait until `/health/ready` answers 200; the time it took from now.
    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> Result<Duration, String> {
        let start = Instant::now();
        let url = format!("{}/health/ready", self.base_url);
        loop {
            self.check_running()?;
            let ready = http
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return Ok(start.elapsed());
            }
            if start.elapsed() > READY_LIMIT {
                return Err(format!(
                    "clinicos serve was not ready within {READY_LIMIT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// `Err` naming the exit and the server's last log line if it stopped.
    pub fn check_running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                let text = std::fs::read_to_string(&self.log).unwrap_or_default();
                let last = text.lines().last().unwrap_or("").trim();
                Err(format!("clinicos serve exited ({status}): {last}"))
            }
            Err(e) => Err(format!("cannot check on clinicos serve: {e}")),
        }
    }

    /// The server's resident memory now.
    pub fn memory(&self) -> Result<Memory, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("cannot read the server's memory use: {e}"))?;
        Ok(Memory {
            rss_kib: status_kib(&status, "VmRSS:").ok_or("no VmRSS line in /proc/<pid>/status")?,
            hwm_kib: status_kib(&status, "VmHWM:").unwrap_or(0),
        })
    }
}

/// A free loopback port (free when asked; the child binds it next).
pub fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// This executable, the `clinicos` binary the bench runs in.
pub fn this_exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))
}

/// The `<field>  12345 kB` figure of a `/proc/<pid>/status` text, in KiB.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_memory_figures() {
        let s = "Name:\tclinicos\nVmPeak:\t  99 kB\nVmHWM:\t   40000 kB\nVmRSS:\t   23456 kB\nThreads:\t3\n";
        assert_eq!(super::status_kib(s, "VmRSS:"), Some(23456));
        assert_eq!(super::status_kib(s, "VmHWM:"), Some(40000));
        assert_eq!(super::status_kib("Name:\tx\n", "VmRSS:"), None);
    }
}
