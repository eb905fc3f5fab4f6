//! Prometheus metrics: request counts and latency histograms by route,
//! database pool gauges, session counters, 429s by class, bot signals and
//! security events raised. One recorder per process.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

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
        })
        .as_ref()
}

/// Record one finished request.
pub fn record_request(method: &str, route: &str, status: u16, seconds: f64) {
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
