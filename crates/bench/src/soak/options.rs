//! `clinicos bench soak` flags and their validation (one-line errors, as
//! for the other bench flags).

use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Longest load phase (minutes).
pub const MAX_LOAD_MINUTES: f64 = 600.0;
/// Longest idle pause (minutes).
pub const MAX_IDLE_MINUTES: f64 = 60.0;
/// Shortest load or idle phase (minutes): 3 seconds, for tests.
pub const MIN_MINUTES: f64 = 0.05;
/// Most concurrent clients.
pub const MAX_CLIENTS: usize = 256;
/// Most patients seeded before the load.
pub const MAX_SEEDED: u64 = 100_000;

/// Flags of `clinicos bench soak`.
#[derive(Args, Debug)]
pub struct SoakArgs {
    /// Empty or new directory for the SQLite database (kept afterwards);
    /// default: a fresh temporary directory, removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL server URL; a fresh database clinicos_bench_<random> is
    /// created on that server and dropped at the end.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Minutes of mixed API load (0.05-600; decimals allowed).
    #[arg(long, value_name = "MIN", default_value = "30")]
    pub minutes: String,
    /// Minutes the server idles before the load (its idle figure) and
    /// after it (0.05-60; decimals allowed).
    #[arg(long, value_name = "MIN", default_value = "2")]
    pub idle_minutes: String,
    /// Seconds between two readings of the server's memory (1-600).
    #[arg(long, value_name = "SECS", default_value = "10")]
    pub sample_secs: String,
    /// Concurrent clients (1-256).
    #[arg(long, value_name = "N", default_value = "8")]
    pub clients: String,
    /// Patients registered (with a chart) before the load (1-100000).
    #[arg(long, value_name = "N", default_value = "200")]
    pub patients: String,
    /// The clinicos executable to run as the server (default: this one),
    /// e.g. an older build to compare with.
    #[arg(long, value_name = "PATH")]
    pub server: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Validated flags.
#[derive(Debug)]
pub struct SoakPlan {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub load: Duration,
    pub idle: Duration,
    pub sample_every: Duration,
    pub clients: usize,
    pub patients: u64,
    pub server: Option<PathBuf>,
    pub json: bool,
}

fn minutes(flag: &str, text: &str, max: f64) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(m) if (MIN_MINUTES..=max).contains(&m) => Ok(Duration::from_secs_f64(m * 60.0)),
        _ => Err(format!(
            "{flag} must be minutes from {MIN_MINUTES} to {max}, not '{text}'"
        )),
    }
}

fn whole(flag: &str, text: &str, min: u64, max: u64) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} must be a whole number from {min} to {max}, not '{text}'"
        )),
    }
}

impl SoakPlan {
    pub fn from_args(a: SoakArgs) -> Result<SoakPlan, String> {
        if a.data_dir.is_some() && a.database_url.is_some() {
            return Err("give either --data-dir or --database-url, not both".into());
        }
        Ok(SoakPlan {
            load: minutes("--minutes", &a.minutes, MAX_LOAD_MINUTES)?,
            idle: minutes("--idle-minutes", &a.idle_minutes, MAX_IDLE_MINUTES)?,
            sample_every: Duration::from_secs(whole("--sample-secs", &a.sample_secs, 1, 600)?),
            clients: whole("--clients", &a.clients, 1, MAX_CLIENTS as u64)? as usize,
            patients: whole("--patients", &a.patients, 1, MAX_SEEDED)?,
            data_dir: a.data_dir,
            database_url: a.database_url,
            server: a.server,
            json: a.json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(minutes: &str, idle: &str, sample: &str, clients: &str) -> SoakArgs {
        SoakArgs {
            data_dir: None,
            database_url: None,
            minutes: minutes.into(),
            idle_minutes: idle.into(),
            sample_secs: sample.into(),
            clients: clients.into(),
            patients: "200".into(),
            server: None,
            json: false,
        }
    }

    #[test]
    fn accepts_the_defaults_and_short_runs() {
        let p = SoakPlan::from_args(args("30", "2", "10", "8")).unwrap();
        assert_eq!(p.load, Duration::from_secs(1800));
        assert_eq!(p.idle, Duration::from_secs(120));
        assert_eq!((p.sample_every, p.clients), (Duration::from_secs(10), 8));
        let p = SoakPlan::from_args(args("0.1", "0.05", "1", "2")).unwrap();
        assert_eq!(p.load, Duration::from_secs(6));
        assert_eq!(p.idle, Duration::from_secs(3));
    }

    #[test]
    fn rejects_bad_values_with_one_line() {
        for (m, i, s, c) in [
            ("0", "2", "10", "8"),
            ("601", "2", "10", "8"),
            ("ten", "2", "10", "8"),
            ("30", "61", "10", "8"),
            ("30", "2", "0", "8"),
            ("30", "2", "10", "0"),
            ("30", "2", "10", "257"),
        ] {
            let e = SoakPlan::from_args(args(m, i, s, c)).unwrap_err();
            assert!(e.starts_with("--") && !e.contains('\n'), "{e}");
        }
    }
}
