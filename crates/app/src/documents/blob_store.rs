//! Where attachment files live: an `object_store` backend behind one small
//! wrapper, so the local disk (the default) can be swapped for an
//! S3-compatible store by configuration. The wrapper only moves opaque
//! bytes; callers encrypt before `put` and decrypt after `get`. Errors name
//! the storage key at most (ids, never PHI). S3 credentials are held by the
//! `object_store` client only; neither they nor this wrapper's `Debug`
//! print them.

use crate::{AppError, AppResult};
use chrono::{DateTime, Utc};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, PutPayload};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

/// The file store (cheap to clone).
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.inner)
    }
}

fn store_err(e: object_store::Error) -> AppError {
    AppError::Internal(format!("file store: {e}"))
}

/// An S3-compatible bucket (AWS, MinIO, Ceph, ...). Path-style requests,
/// so any endpoint works without per-bucket DNS names.
#[derive(Clone)]
pub struct S3Config {
    /// e.g. `https://s3.ap-south-1.amazonaws.com` or `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        write!(f, "S3Config({} {})", self.endpoint, self.bucket)
    }
}

/// One stored object, as the orphan sweep sees it.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub key: String,
    pub last_modified: DateTime<Utc>,
}

impl BlobStore {
    /// Files under a local directory (created if missing).
    pub fn local(dir: &Path) -> AppResult<BlobStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::Internal(format!("cannot create the files directory: {e}")))?;
        let fs = LocalFileSystem::new_with_prefix(dir).map_err(store_err)?;
        Ok(BlobStore {
            inner: Arc::new(fs),
        })
    }

    /// Files in an S3-compatible bucket (which must exist).
    pub fn s3(c: &S3Config) -> AppResult<BlobStore> {
        let s3 = AmazonS3Builder::new()
            .with_endpoint(c.endpoint.trim_end_matches('/'))
            .with_bucket_name(&c.bucket)
            .with_region(&c.region)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(&c.secret_access_key)
            .with_virtual_hosted_style_request(false)
            // One options value: `with_client_options` replaces any set before.
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(c.endpoint.starts_with("http://"))
                    .with_connect_timeout(std::time::Duration::from_secs(10))
                    .with_timeout(std::time::Duration::from_secs(120)),
            )
            .build()
            .map_err(store_err)?;
        Ok(BlobStore {
            inner: Arc::new(s3),
        })
    }

    /// Files in memory only (lost on restart): for tools and tests that
    /// configure no files directory.
    pub fn memory() -> BlobStore {
        BlobStore {
            inner: Arc::new(InMemory::new()),
        }
    }

    /// Store `bytes` under `key` (replacing what was there).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> AppResult<()> {
        self.inner
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &str) -> AppResult<Vec<u8>> {
        let got = self
            .inner
            .get(&ObjectPath::from(key))
            .await
            .map_err(store_err)?;
        Ok(got.bytes().await.map_err(store_err)?.to_vec())
    }

    /// The objects under `prefix/` (two levels deep: `tenant/patient/file`
    /// keys are listed from `tenant`), for the orphan sweep.
    pub async fn list_under(&self, prefix: &str) -> AppResult<Vec<StoredObject>> {
        let mut out = Vec::new();
        let mut dirs = vec![ObjectPath::from(prefix)];
        while let Some(dir) = dirs.pop() {
            let listed = match self.inner.list_with_delimiter(Some(&dir)).await {
                Ok(l) => l,
                // Nothing stored under it yet.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(store_err(e)),
            };
            dirs.extend(listed.common_prefixes);
            out.extend(listed.objects.into_iter().map(|o| StoredObject {
                key: o.location.to_string(),
                last_modified: o.last_modified,
            }));
        }
        Ok(out)
    }

    /// Remove `key` (used to undo a put whose database write failed).
    pub async fn delete(&self, key: &str) -> AppResult<()> {
        self.inner
            .delete(&ObjectPath::from(key))
            .await
            .map_err(store_err)
    }
}

/// A virus scanner's verdict on one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanVerdict {
    Clean,
    /// Not scanned (no scanner configured).
    Skipped,
    /// Malware found: the signature name.
    Infected(String),
}

impl ScanVerdict {
    /// The value stored in `attachments.scan_status`.
    pub fn status(&self) -> &'static str {
        match self {
            ScanVerdict::Clean => "clean",
            ScanVerdict::Skipped => "not_scanned",
            ScanVerdict::Infected(_) => "infected",
        }
    }
}

/// The future a scanner returns.
pub type ScanFuture<'a> = Pin<Box<dyn Future<Output = AppResult<ScanVerdict>> + Send + 'a>>;

/// Scans an upload before it is stored (`documents/clamd.rs`, `ClamdScanner`, is
/// the ClamAV adapter). A scanner that is configured but cannot give a
/// verdict answers an error (the upload is refused), never `Skipped`.
pub trait VirusScanner: Send + Sync {
    fn scan<'a>(&'a self, bytes: &'a [u8]) -> ScanFuture<'a>;

    /// Named in the refusal message ("refused by the virus scanner (ClamAV)").
    fn name(&self) -> &'static str {
        "virus scanner"
    }
}

/// The default: no scanner, every file recorded as `not_scanned`.
pub struct NoScanner;

impl VirusScanner for NoScanner {
    fn scan<'a>(&'a self, _bytes: &'a [u8]) -> ScanFuture<'a> {
        Box::pin(async { Ok(ScanVerdict::Skipped) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::local(&dir.path().join("files")).unwrap();
        store.put("t/a/b.bin", b"hello".to_vec()).await.unwrap();
        assert_eq!(store.get("t/a/b.bin").await.unwrap(), b"hello");
        assert!(dir.path().join("files/t/a/b.bin").exists());
        store.put("t/c/d.bin", b"x".to_vec()).await.unwrap();
        store.put("u/a/e.bin", b"y".to_vec()).await.unwrap();
        let mut keys: Vec<String> = store
            .list_under("t")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        keys.sort();
        assert_eq!(keys, ["t/a/b.bin", "t/c/d.bin"]);
        store.delete("t/a/b.bin").await.unwrap();
        assert!(store.get("t/a/b.bin").await.is_err());
    }

    #[test]
    fn s3_settings_never_print_the_secret() {
        let c = S3Config {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "files".into(),
            region: "us-east-1".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI".into(),
        };
        let shown = format!("{c:?} {:?}", BlobStore::s3(&c).unwrap());
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(!shown.contains("AKIDEXAMPLE"), "{shown}");
    }
}
