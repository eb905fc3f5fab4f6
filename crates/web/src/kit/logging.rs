//! The log output of `clinicos serve`: one JSON object per event (fields
//! flattened), or text on request, filtered by `CLINICOS_LOG` or else
//! [`DEFAULT_FILTER`]. The CLI installs it for `serve`; `clinicos bench`
//! installs the same format into a sink, so the server it measures pays
//! for formatting its access lines exactly as in production.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// What is logged when `CLINICOS_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// [`DEFAULT_FILTER`] as a filter.
pub fn default_filter() -> EnvFilter {
    EnvFilter::new(DEFAULT_FILTER)
}

/// The filter from `CLINICOS_LOG`, else [`DEFAULT_FILTER`].
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_env("CLINICOS_LOG").unwrap_or_else(|_| default_filter())
}

/// Install the process-wide subscriber writing to `writer`: JSON lines, or
/// human-readable text when `text`. Does nothing if one is installed.
pub fn install<W>(filter: EnvFilter, text: bool, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = if text {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}
