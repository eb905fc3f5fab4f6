//! Prometheus metrics: request counts and latency histograms by route,
//! database pool gauges, session counters, 429s by class, bot signals and
//! security events raised. One recorder per process.
//!
//! Invariants (memory stays bounded whoever sends what):
//! - Every label takes a bounded set of values: the route template (or
//!   `unmatched`), one of the standard methods (or `other`), the status.
//! - Histogram samples are buffered by the exporter until drained; a
//!   thread drains them every [`UPKEEP_EVERY`] into the fixed buckets, so
//!   a server nobody scrapes does not keep every latency it ever saw.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often buffered histogram samples are folded into their buckets.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Install (once) and return the recorder handle.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0,
                    ],
                )
                .ok()
                .and_then(|b| b.install_recorder().ok())
                .inspect(spawn_upkeep)
        })
        .as_ref()
}

/// `install_recorder` leaves the upkeep to its caller (the exporter's own
/// HTTP listener, which we do not use, would run it).
fn spawn_upkeep(handle: &PrometheusHandle) {
    let handle = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_EVERY);
            handle.run_upkeep();
        });
    if spawned.is_err() {
        tracing::warn!("cannot start the metrics upkeep thread");
    }
}

/// The method as a label: one of the standard methods, else `other` (a
/// client may send any token as a method).
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// Record one finished request.
pub fn record_request(method: &str, route: &str, status: u16, seconds: f64) {
    let method = method_label(method);
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    let labels = [("method", method.to_owned()), ("route", route.to_owned())];
    metrics::histogram!("http_request_duration_seconds", &labels).record(seconds);
}

/// Render the exposition text, refreshing gauges first.
pub fn render(state: &crate::WebState) -> String {
    let (size, idle) = state.app.database_pool();
    metrics::gauge!("db_pool_connections").set(f64::from(size));
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
    let started =
        clinicos_app::identity::auth::SESSIONS_STARTED.load(std::sync::atomic::Ordering::Relaxed);
    let ended =
        clinicos_app::identity::auth::SESSIONS_ENDED.load(std::sync::atomic::Ordering::Relaxed);
    metrics::counter!("sessions_started_total").absolute(started);
    metrics::counter!("sessions_ended_total").absolute(ended);
    metrics::gauge!("active_sessions_estimate").set(started.saturating_sub(ended) as f64);
    let raised = clinicos_app::governance::security_state::EVENTS_RAISED
        .load(std::sync::atomic::Ordering::Relaxed);
    metrics::counter!("security_events_raised_total").absolute(raised);
    handle().map(|h| h.render()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_a_bounded_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("FUZZ1"), "other");
        assert_eq!(method_label("get"), "other");
    }
}
