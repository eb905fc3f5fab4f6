//! What a soak run reports: the server's resident memory over time, the
//! three figures the verdict compares, and the requests by kind.

use super::load::OpCount;
use crate::machine::Machine;
use crate::report::Verdict;
use serde::Serialize;

/// After the idle pause, resident memory may be at most this many times
/// the idle figure before the load (issue 16).
pub const LIMIT_RATIO: f64 = 2.0;
/// More unexpected answers than this share fails the run.
pub const MAX_UNEXPECTED: f64 = 0.01;
/// Most rows of the memory timeline printed as text (JSON has them all).
const TEXT_ROWS: usize = 48;

/// One reading of the server's memory.
#[derive(Clone, Debug, Serialize)]
pub struct MemorySample {
    /// Seconds since the server was ready.
    pub at_secs: f64,
    /// `seeded`, `idle-before`, `load` or `idle-after`.
    pub phase: &'static str,
    pub rss_kib: u64,
    pub hwm_kib: u64,
    /// Load requests sent so far.
    pub requests: u64,
}

/// What a soak run measured.
#[derive(Clone, Debug, Serialize)]
pub struct SoakRun {
    pub machine: Machine,
    /// `/proc/loadavg` (1, 5, 15 minutes) when the load started and ended:
    /// the machine may be shared.
    pub loadavg_start: String,
    pub loadavg_end: String,
    pub clients: usize,
    pub load_secs: f64,
    pub idle_secs: f64,
    pub sample_secs: u64,
    pub seeded_patients: u64,
    pub samples: Vec<MemorySample>,
    /// The kernel's high-water mark of the server's resident memory.
    pub hwm_kib: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_unexpected: Option<String>,
    pub operations: Vec<OpCount>,
}

/// The soak's report: the run and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    #[serde(flatten)]
    pub run: SoakRun,
    /// Resident after the seeded server idled for `idle_secs`.
    pub idle_before_kib: u64,
    /// The highest reading.
    pub peak_rss_kib: u64,
    /// Resident after the load and `idle_secs` of idling.
    pub after_idle_kib: u64,
    /// `after_idle_kib / idle_before_kib`.
    pub ratio: f64,
    pub limit_ratio: f64,
    pub within_limit: bool,
    pub requests: u64,
    pub requests_per_sec: f64,
    pub unexpected: u64,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl SoakReport {
    /// Judge a run: the idle figures are the last readings of their
    /// phases.
    pub fn judge(run: SoakRun) -> SoakReport {
        let last_of = |phase: &str| {
            run.samples
                .iter()
                .rev()
                .find(|s| s.phase == phase)
                .map_or(0, |s| s.rss_kib)
        };
        let (idle_before_kib, after_idle_kib) = (last_of("idle-before"), last_of("idle-after"));
        let ratio = if idle_before_kib == 0 {
            f64::INFINITY
        } else {
            after_idle_kib as f64 / idle_before_kib as f64
        };
        let requests = run.operations.iter().map(|o| o.requests).sum();
        SoakReport {
            idle_before_kib,
            peak_rss_kib: run.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0),
            after_idle_kib,
            ratio,
            limit_ratio: LIMIT_RATIO,
            within_limit: ratio <= LIMIT_RATIO,
            requests,
            requests_per_sec: if run.load_secs > 0.0 {
                requests as f64 / run.load_secs
            } else {
                0.0
            },
            unexpected: run.operations.iter().map(|o| o.unexpected).sum(),
            run,
        }
    }
}

impl Verdict for SoakReport {
    /// Human-readable report.
    fn text(&self) -> String {
        let (run, m) = (&self.run, &self.run.machine);
        let mut out = format!(
            "clinicos bench soak: {} ({}), {} CPUs, {} MiB, {}\n\
             {} clients, {:.2} min of mixed load between two {:.2}-min idle pauses, {} patients seeded\n\
             load average (1/5/15 min): {} at the start of the load, {} at its end\n\n",
            m.backend,
            m.database_version,
            m.cpus,
            m.memory_total_mib,
            m.cpu_model,
            run.clients,
            run.load_secs / 60.0,
            run.idle_secs / 60.0,
            run.seeded_patients,
            run.loadavg_start,
            run.loadavg_end,
        );
        out.push_str(&format!(
            "{:>8}  {:<11} {:>9} {:>9} {:>10}\n",
            "t (s)", "phase", "RSS MiB", "HWM MiB", "requests"
        ));
        for s in thinned(&run.samples, TEXT_ROWS) {
            out.push_str(&format!(
                "{:>8.0}  {:<11} {:>9.1} {:>9.1} {:>10}\n",
                s.at_secs,
                s.phase,
                mib(s.rss_kib),
                mib(s.hwm_kib),
                s.requests
            ));
        }
        out.push_str(&format!(
            "\nrequests: {} ({:.1}/s), unexpected answers: {}\n",
            self.requests, self.requests_per_sec, self.unexpected
        ));
        for o in &run.operations {
            out.push_str(&format!(
                "  {:<16} {:>9} {:>6} unexpected\n",
                o.name, o.requests, o.unexpected
            ));
        }
        if let Some(e) = &run.first_unexpected {
            out.push_str(&format!("first unexpected answer: {e}\n"));
        }
        out.push_str(&format!(
            "\nidle before the load: {:.1} MiB; peak: {:.1} MiB (high-water mark {:.1} MiB); \
             after {:.2} min idle: {:.1} MiB = {:.2}x the idle figure (limit {LIMIT_RATIO}x): {}\n",
            mib(self.idle_before_kib),
            mib(self.peak_rss_kib),
            mib(run.hwm_kib),
            run.idle_secs / 60.0,
            mib(self.after_idle_kib),
            self.ratio,
            if self.within_limit { "ok" } else { "FAILED" }
        ));
        out
    }

    /// `Err` when memory did not come back or too many answers were wrong.
    fn check(&self) -> Result<(), String> {
        if !self.within_limit {
            return Err(format!(
                "after the idle pause the server holds {:.1} MiB, {:.2}x its idle {:.1} MiB (limit {LIMIT_RATIO}x)",
                mib(self.after_idle_kib),
                self.ratio,
                mib(self.idle_before_kib)
            ));
        }
        let attempts = self.requests.max(1) as f64;
        if self.unexpected as f64 / attempts > MAX_UNEXPECTED {
            return Err(format!(
                "{} of {} soak requests got an unexpected answer (first: {})",
                self.unexpected,
                self.requests,
                self.run.first_unexpected.as_deref().unwrap_or("none kept")
            ));
        }
        Ok(())
    }
}

/// At most about `rows` samples, evenly spaced, always keeping the last
/// reading of each phase and the highest one.
fn thinned(samples: &[MemorySample], rows: usize) -> Vec<&MemorySample> {
    let step = samples.len().div_ceil(rows.max(1)).max(1);
    let peak = samples
        .iter()
        .enumerate()
        .max_by_key(|(_, s)| s.rss_kib)
        .map(|(i, _)| i);
    samples
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            let last_of_phase = samples.get(i + 1).is_none_or(|n| n.phase != s.phase);
            i % step == 0 || last_of_phase || Some(*i) == peak
        })
        .map(|(_, s)| s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: f64, phase: &'static str, rss: u64) -> MemorySample {
        MemorySample {
            at_secs: at,
            phase,
            rss_kib: rss,
            hwm_kib: rss,
            requests: 0,
        }
    }

    fn report(samples: Vec<MemorySample>, unexpected: u64) -> SoakReport {
        SoakReport::judge(SoakRun {
            machine: Machine {
                cpus: 2,
                memory_total_mib: 1024,
                cpu_model: "test".into(),
                backend: "sqlite".into(),
                database_version: "3".into(),
            },
            loadavg_start: "0.1 0.1 0.1".into(),
            loadavg_end: "0.2 0.2 0.2".into(),
            clients: 2,
            load_secs: 10.0,
            idle_secs: 5.0,
            sample_secs: 1,
            seeded_patients: 10,
            samples,
            hwm_kib: 0,
            first_unexpected: None,
            operations: vec![OpCount {
                name: "read-patient",
                requests: 1000,
                unexpected,
            }],
        })
    }

    #[test]
    fn judges_the_last_idle_readings() {
        let r = report(
            vec![
                sample(0.0, "seeded", 90_000),
                sample(5.0, "idle-before", 40_000),
                sample(10.0, "load", 300_000),
                sample(15.0, "idle-after", 200_000),
                sample(20.0, "idle-after", 70_000),
            ],
            0,
        );
        assert_eq!((r.idle_before_kib, r.after_idle_kib), (40_000, 70_000));
        assert_eq!(r.peak_rss_kib, 300_000);
        assert!((r.ratio - 1.75).abs() < 1e-9 && r.within_limit);
        assert!(r.check().is_ok());
        assert!(r.text().contains("= 1.75x the idle figure (limit 2x): ok"));
        let over = report(
            vec![
                sample(5.0, "idle-before", 40_000),
                sample(20.0, "idle-after", 90_000),
            ],
            0,
        );
        assert!(!over.within_limit);
        assert!(over.check().unwrap_err().contains("2.25x"));
        let noisy = report(
            vec![sample(5.0, "idle-before", 1), sample(9.0, "idle-after", 1)],
            11,
        );
        assert!(noisy.check().unwrap_err().contains("11 of 1000"));
    }

    #[test]
    fn thins_long_timelines_but_keeps_phase_ends_and_the_peak() {
        let mut s: Vec<_> = (0..200)
            .map(|i| sample(i as f64, "load", 1000 + i))
            .collect();
        s[77].rss_kib = 9_999_999;
        s.push(sample(200.0, "idle-after", 5));
        let rows = thinned(&s, 48);
        assert!(rows.len() <= 48 + 3, "{}", rows.len());
        assert!(rows.iter().any(|r| r.rss_kib == 9_999_999));
        assert_eq!(rows.last().unwrap().phase, "idle-after");
        assert!(rows.iter().any(|r| r.at_secs == 199.0));
    }
}
