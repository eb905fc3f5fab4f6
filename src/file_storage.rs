//! Where attachment files go and who scans them, from the config file and
//! `CLINICOS_S3_*` / `CLINICOS_CLAMD_ADDRESS` variables (a variable beats
//! the file). Local disk unless an S3 bucket is named; no scanner unless a
//! clamd address is. Messages name settings, never secret values.

use crate::config::FileConfig;
use clinicos_app::documents::blob_store::{BlobStore, S3Config, VirusScanner};
use clinicos_app::documents::clamd::{ClamdAddress, ClamdScanner};
use std::path::Path;
use std::sync::Arc;

fn setting(env: &str, file: &Option<String>) -> Option<String> {
    std::env::var(env)
        .ok()
        .or_else(|| file.clone())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn detail(e: clinicos_app::AppError) -> String {
    match e {
        clinicos_app::AppError::Internal(d) => d,
        other => other.to_string(),
    }
}

/// The S3 settings, if a bucket is configured.
pub fn s3_config(file: &FileConfig) -> Result<Option<S3Config>, String> {
    let Some(bucket) = setting("CLINICOS_S3_BUCKET", &file.s3_bucket) else {
        return Ok(None);
    };
    let need = |env: &str, key: &str, v: &Option<String>| {
        setting(env, v).ok_or_else(|| format!("s3_bucket is set: also set {key} (or {env})"))
    };
    Ok(Some(S3Config {
        endpoint: need("CLINICOS_S3_ENDPOINT", "s3_endpoint", &file.s3_endpoint)?,
        bucket,
        region: setting("CLINICOS_S3_REGION", &file.s3_region)
            .unwrap_or_else(|| "us-east-1".into()),
        access_key_id: need(
            "CLINICOS_S3_ACCESS_KEY_ID",
            "s3_access_key_id",
            &file.s3_access_key_id,
        )?,
        secret_access_key: need(
            "CLINICOS_S3_SECRET_ACCESS_KEY",
            "s3_secret_access_key",
            &file.s3_secret_access_key,
        )?,
    }))
}

/// The file store: the S3 bucket if configured, else `local_dir`.
pub fn blob_store(file: &FileConfig, local_dir: &Path) -> Result<BlobStore, String> {
    match s3_config(file)? {
        Some(c) => BlobStore::s3(&c).map_err(|e| {
            format!(
                "cannot use the S3 bucket {} at {}: {}",
                c.bucket,
                c.endpoint,
                detail(e)
            )
        }),
        None => BlobStore::local(local_dir).map_err(|e| {
            format!(
                "cannot open the files directory {}: {}",
                local_dir.display(),
                detail(e)
            )
        }),
    }
}

/// The clamd scanner, if an address is configured.
pub fn scanner(file: &FileConfig) -> Result<Option<Arc<dyn VirusScanner>>, String> {
    let Some(addr) = setting("CLINICOS_CLAMD_ADDRESS", &file.clamd_address) else {
        return Ok(None);
    };
    let address: ClamdAddress = addr.parse()?;
    let timeout = std::time::Duration::from_secs(file.clamd_timeout_secs.unwrap_or(30).max(1));
    Ok(Some(Arc::new(ClamdScanner::new(address, timeout))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_needs_its_settings_and_an_address_must_parse() {
        let mut f = FileConfig::default();
        assert!(s3_config(&f).unwrap().is_none());
        f.s3_bucket = Some("files".into());
        f.s3_endpoint = Some("http://127.0.0.1:9000".into());
        f.s3_access_key_id = Some("AKID".into());
        let err = s3_config(&f).unwrap_err();
        assert!(err.contains("s3_secret_access_key"), "{err}");
        f.s3_secret_access_key = Some("very-secret".into());
        let c = s3_config(&f).unwrap().unwrap();
        assert_eq!(c.region, "us-east-1");
        assert!(scanner(&f).unwrap().is_none());
        f.clamd_address = Some("nonsense".into());
        assert!(scanner(&f).is_err());
        f.clamd_address = Some("127.0.0.1:3310".into());
        assert!(scanner(&f).unwrap().is_some());
    }
}
