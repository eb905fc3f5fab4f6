//! Settings: command-line flag > environment variable > config file (TOML)
//! > default. Errors name the file and the problem.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The config file's keys (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub public_url: Option<String>,
    pub secure_cookies: Option<bool>,
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
