//! Settings: command-line flag > environment variable > config file (TOML)
//! > default. Errors name the file and the problem.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The config file's keys (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    /// Attachment files (default `<data-dir>-files/`).
    pub files_dir: Option<PathBuf>,
    /// Attachment files in an S3-compatible bucket instead of `files_dir`
    /// (set the bucket to switch; `CLINICOS_S3_*` variables override).
    pub s3_bucket: Option<String>,
    /// e.g. https://s3.ap-south-1.amazonaws.com or http://127.0.0.1:9000.
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    /// Prefer the CLINICOS_S3_SECRET_ACCESS_KEY variable; never logged.
    pub s3_secret_access_key: Option<String>,
    /// ClamAV clamd to scan uploads: host:port or unix:/path. When set and
    /// unreachable, uploads are refused (503), never stored unscanned.
    pub clamd_address: Option<String>,
    /// Seconds for one scan, connect to verdict (default 30).
    pub clamd_timeout_secs: Option<u64>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub public_url: Option<String>,
    pub secure_cookies: Option<bool>,
    /// Development mode's outbox: staff may read queued messages at
    /// /outbox in place of a mail server (always on for `demo`; never
    /// turn it on in production).
    pub development_outbox: Option<bool>,
    pub trust_proxy: Option<bool>,
    pub max_connections: Option<u32>,
    pub body_limit_bytes: Option<usize>,
    pub request_timeout_secs: Option<u64>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_min_version: Option<String>,
    pub lockout_threshold: Option<i64>,
    pub lockout_minutes: Option<i64>,
    pub ip_attempts_per_minute: Option<i64>,
    pub access_token_minutes: Option<i64>,
    pub log_format: Option<String>,
    /// Requests per minute: anonymous per IP (seed 003: 100).
    pub rate_limit_global: Option<i64>,
    /// Sign-in, second factor, reset, refresh per IP (5).
    pub rate_limit_auth: Option<i64>,
    /// Patient one-time codes per IP (3).
    pub rate_limit_otp: Option<i64>,
    /// Signed-in requests per session (1000; tenants may set their own).
    pub rate_limit_api: Option<i64>,
    /// Anonymous requests without a User-Agent per IP (20).
    pub rate_limit_no_user_agent: Option<i64>,
    /// Requests per second from one key that count as a burst (30).
    pub burst_per_second: Option<i64>,
    /// Header with the client's country set by a trusted proxy (e.g. CF-IPCountry).
    pub country_header: Option<String>,
    /// SIEM: append security events as JSON lines to this file ("-" = stdout).
    pub siem_json_lines: Option<String>,
    /// SIEM: RFC 5424 syslog over TCP to host:port.
    pub siem_syslog: Option<String>,
    /// Syslog facility: auth, authpriv (default) or local0..local7.
    pub siem_syslog_facility: Option<String>,
    /// Append-only file witnessing every signed audit checkpoint outside
    /// the database (default `<data-dir>-audit/checkpoints.jsonl`); put it
    /// where someone with the database cannot rewrite it.
    pub audit_witness_file: Option<PathBuf>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<FileConfig, String> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| format!("bad config file {}: {}", path.display(), e.message()))
    }
}
