//! The load loop shared by both sides of every scenario, and the latency
//! statistics computed from it.
//!
//! Invariants:
//! - No operation starts after the deadline; the elapsed time runs until
//!   the last in-flight operation has finished, so throughput is never
//!   flattered by work that was cut off.
//! - Every successful operation's latency is kept (no sampling); failures
//!   are counted, never dropped, and the first failure's message is kept so
//!   the report can say what went wrong.

use serde::Serialize;
use std::future::Future;
use std::time::{Duration, Instant};

/// What one side of a scenario measured.
#[derive(Debug, Default)]
pub struct Sample {
    /// Latencies of the successful operations, sorted ascending.
    pub latencies: Vec<Duration>,
    pub errors: u64,
    pub elapsed: Duration,
    pub first_error: Option<String>,
}

/// The figures reported for one side of a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub requests: u64,
    pub errors: u64,
    /// Errors as a share of all attempts (0.0 to 1.0).
    pub error_rate: f64,
    /// Successful operations per second of wall time.
    pub throughput: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// Run `op` in a loop on `clients` concurrent tasks until `duration` has
/// passed. `op` returns `Err(message)` for a failed operation (transport
/// error, non-2xx answer, database error).
pub async fn drive<F, Fut>(clients: usize, duration: Duration, op: F) -> Result<Sample, String>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut part = Sample::default();
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match op().await {
                    Ok(()) => part.latencies.push(t0.elapsed()),
                    Err(e) => {
                        part.errors += 1;
                        part.first_error.get_or_insert(e);
                    }
                }
            }
            part
        }));
    }
    let mut all = Sample::default();
    for t in tasks {
        let part = t.await.map_err(|e| format!("a load task failed: {e}"))?;
        all.latencies.extend(part.latencies);
        all.errors += part.errors;
        if all.first_error.is_none() {
            all.first_error = part.first_error;
        }
    }
    all.elapsed = start.elapsed();
    all.latencies.sort_unstable();
    Ok(all)
}

/// The nearest-rank percentile `p` (0-100] of ascending `sorted` latencies;
/// zero for an empty slice.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Sample {
    /// Pool another round of the same side into this one.
    pub fn absorb(&mut self, other: Sample) {
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn summary(&self) -> Summary {
        let ok = self.latencies.len() as u64;
        let attempts = ok + self.errors;
        let secs = self.elapsed.as_secs_f64();
        Summary {
            requests: ok,
            errors: self.errors,
            error_rate: if attempts == 0 {
                0.0
            } else {
                self.errors as f64 / attempts as f64
            },
            throughput: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            p50_ms: ms(percentile(&self.latencies, 50.0)),
            p95_ms: ms(percentile(&self.latencies, 95.0)),
            p99_ms: ms(percentile(&self.latencies, 99.0)),
            first_error: self.first_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        let s = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&s, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&s, 95.0), Duration::from_millis(95));
        assert_eq!(percentile(&s, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&s, 100.0), Duration::from_millis(100));
    }

    #[test]
    fn percentile_of_small_and_empty_samples() {
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
        let one = millis(&[7]);
        assert_eq!(percentile(&one, 50.0), Duration::from_millis(7));
        assert_eq!(percentile(&one, 99.0), Duration::from_millis(7));
        let few = millis(&[1, 2, 3, 4]);
        assert_eq!(percentile(&few, 50.0), Duration::from_millis(2));
        assert_eq!(percentile(&few, 95.0), Duration::from_millis(4));
        assert_eq!(percentile(&few, 0.0), Duration::from_millis(1));
    }

    #[test]
    fn summary_counts_errors_against_all_attempts() {
        let s = Sample {
            latencies: millis(&[1, 2, 3]),
            errors: 1,
            elapsed: Duration::from_secs(2),
            first_error: Some("HTTP 500".into()),
        };
        let sum = s.summary();
        assert_eq!(sum.requests, 3);
        assert!((sum.error_rate - 0.25).abs() < 1e-9);
        assert!((sum.throughput - 1.5).abs() < 1e-9);
    }

    #[test]
    fn absorb_pools_rounds() {
        let mut a = Sample {
            latencies: millis(&[3, 5]),
            errors: 0,
            elapsed: Duration::from_secs(1),
            first_error: None,
        };
        a.absorb(Sample {
            latencies: millis(&[1]),
            errors: 2,
            elapsed: Duration::from_secs(1),
            first_error: Some("HTTP 503".into()),
        });
        assert_eq!(a.latencies, millis(&[1, 3, 5]));
        assert_eq!((a.errors, a.elapsed), (2, Duration::from_secs(2)));
        assert_eq!(a.first_error.as_deref(), Some("HTTP 503"));
    }

    #[tokio::test]
    async fn drive_stops_at_the_deadline_and_counts_failures() {
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let c = counter.clone();
        let s = drive(2, Duration::from_millis(50), move || {
            let c = c.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                if c.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & 1 == 0 {
                    Ok(())
                } else {
                    Err("odd".into())
                }
            }
        })
        .await
        .unwrap();
        assert!(s.errors > 0 && !s.latencies.is_empty());
        assert_eq!(s.first_error.as_deref(), Some("odd"));
        assert!(s.latencies.windows(2).all(|w| w[0] <= w[1]));
    }
}
