//! The facts a reader needs to judge the figures: CPUs, memory, CPU model
//! and the database engine and version, read by the tool itself.

use clinicos_store::{Backend, Db};
use serde::Serialize;
use sqlx::Row;

/// The machine and database the bench ran on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// CPUs available to this process (as `nproc` counts them).
    pub cpus: usize,
    pub memory_total_mib: u64,
    pub cpu_model: String,
    pub backend: String,
    pub database_version: String,
}

impl Machine {
    pub async fn read(db: &Db, backend: &str) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_total_mib: mem_total_kib(&meminfo) / 1024,
            cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".into()),
            backend: backend.to_owned(),
            database_version: database_version(db)
                .await
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

async fn database_version(db: &Db) -> Option<String> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT sqlite_version() AS v",
        Backend::Postgres => "SELECT current_setting('server_version') AS v",
    };
    let row = sqlx::query(sql).fetch_one(db.pool()).await.ok()?;
    row.try_get::<String, _>("v").ok()
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn mem_total_kib(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_proc_files() {
        let cpu = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n";
        assert_eq!(super::cpu_model(cpu).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(
            super::mem_total_kib("MemTotal:       24683520 kB\n"),
            24683520
        );
    }
}
