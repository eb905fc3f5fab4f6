//! Where attachment files live: an `object_store` backend behind one small
//! wrapper, so the local disk (the default) can be swapped for an
//! S3-compatible store by configuration. The wrapper only moves opaque
//! bytes; callers encrypt before `put` and decrypt after `get`. Errors name
//! the storage key at most (ids, never PHI).

use crate::{AppError, AppResult};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
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

/// Scans an upload before it is stored (a ClamAV clamd adapter plugs in here).
pub trait VirusScanner: Send + Sync {
    fn scan<'a>(&'a self, bytes: &'a [u8]) -> ScanFuture<'a>;
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
        store.delete("t/a/b.bin").await.unwrap();
        assert!(store.get("t/a/b.bin").await.is_err());
    }
}
