//! The field cipher: the one place services encrypt and decrypt PHI fields,
//! compute blind indexes and erase a subject's key.
//!
//! Invariants:
//! - Every ciphertext is bound to (tenant, table, column, row id); moving it
//!   anywhere else fails to decrypt.
//! - Each subject (patient) has its own data key, wrapped by the tenant key,
//!   which is wrapped by a master key version; only wrapped keys are stored,
//!   in the key store apart from the main database.
//! - Unwrapped keys live only in this in-memory cache, as `Key32` (zeroised
//!   on drop, never printed). Errors name no value and no key.
//! - The caches are bounded ([`TENANT_KEYS_CACHED`], [`SUBJECT_KEYS_CACHED`];
//!   least recently used keys go first). A new subject's key is held apart
//!   ("pending") until it is in the key store, so eviction can never lose a
//!   key that sealed a value.
//! - Erasing a subject deletes its key rows and its cache entry; every other
//!   running instance is told to forget its copy (`kit/invalidation.rs`).

use crate::kit::bounded_cache::BoundedCache;
use crate::{AppError, AppResult};
use clinicos_crypto::blind::IndexKey;
use clinicos_crypto::hierarchy::wrapping_version;
use clinicos_crypto::{envelope, CryptoError, FieldContext, Key32};
use clinicos_domain::{PatientId, TenantId};
use clinicos_store::kit::keystore::{WrappedSubjectKey, WrappedTenantKey};
use clinicos_store::kit::sealed::{Sealed, SealedColumn};
use clinicos_store::FieldKeys;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Unwrapped tenant keys kept in memory at most.
pub const TENANT_KEYS_CACHED: usize = 4_096;
/// Unwrapped subject (patient) data keys kept in memory at most (about
/// 200 bytes each with their ids).
pub const SUBJECT_KEYS_CACHED: usize = 65_536;

/// The data key version new subject keys get (subject keys do not rotate
/// yet; the envelope records the version so they can).
const DATA_KEY_VERSION: u32 = 1;
/// The tenant key version new tenants get.
const TENANT_KEY_VERSION: u32 = 1;

struct TenantEntry {
    version: u32,
    key: Key32,
    index: IndexKey,
}

/// A subject's data key and its version.
type SubjectEntry = Arc<(u32, Key32)>;

type SubjectKey = (String, String);

struct Cache {
    tenants: BoundedCache<String, Arc<TenantEntry>>,
    subjects: BoundedCache<SubjectKey, SubjectEntry>,
    /// New subjects' keys until they are in the key store (never evicted:
    /// they exist nowhere else yet).
    pending: Mutex<HashMap<SubjectKey, SubjectEntry>>,
}

impl Cache {
    fn new(tenants: usize, subjects: usize) -> Cache {
        Cache {
            tenants: BoundedCache::new(tenants),
            subjects: BoundedCache::new(subjects),
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<SubjectKey, SubjectEntry>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn subject(&self, id: &SubjectKey) -> Option<SubjectEntry> {
        if let Some(e) = self.pending().get(id) {
            return Some(e.clone());
        }
        self.subjects.get(id)
    }
}

/// What a master key rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// The master key version everything is now wrapped with.
    pub master_version: u32,
    /// Tenant keys re-wrapped by this run.
    pub rewrapped: usize,
    /// Tenant keys that were already under the current version.
    pub current: usize,
    /// Platform secrets (signing seeds) re-wrapped by this run.
    pub secrets_rewrapped: usize,
}

/// Field encryption for services (cheap to clone).
/// Data keys of new subjects, made by [`FieldCipher::new_subject_keys`] and
/// not yet (or not durably) in the key store.
#[must_use = "store the keys before commit, or discard them when the request fails"]
pub struct NewSubjectKeys {
    tenant: String,
    keys: Vec<(String, WrappedSubjectKey)>,
    /// How many of `keys`, from the first, are in the key store.
    stored: usize,
}

#[derive(Clone)]
pub struct FieldCipher {
    keys: Option<FieldKeys>,
    cache: Arc<Cache>,
}

fn crypto(e: CryptoError) -> AppError {
    match e {
        CryptoError::Decrypt | CryptoError::Format(_) => {
            AppError::Internal("an encrypted value cannot be decrypted here (wrong key, altered, or moved from another record)".into())
        }
        other => AppError::Internal(other.to_string()),
    }
}

fn check_part(what: &str, v: &str) -> AppResult<()> {
    if v.is_empty() {
        return Err(AppError::BadRequest(format!(
            "field encryption needs a non-empty {what}"
        )));
    }
    Ok(())
}

impl FieldCipher {
    /// A cipher over the store's key store and master keys; without them
    /// every call answers "not configured".
    pub fn new(keys: Option<FieldKeys>) -> FieldCipher {
        Self::with_capacity(keys, TENANT_KEYS_CACHED, SUBJECT_KEYS_CACHED)
    }

    /// [`FieldCipher::new`] with other cache bounds (tests).
    pub fn with_capacity(keys: Option<FieldKeys>, tenants: usize, subjects: usize) -> FieldCipher {
        FieldCipher {
            keys,
            cache: Arc::new(Cache::new(tenants, subjects)),
        }
    }

    /// Forget a subject's cached key (another instance erased it).
    pub fn forget_subject(&self, tenant: &str, subject: &str) {
        self.cache
            .subjects
            .remove(&(tenant.to_owned(), subject.to_owned()));
    }

    /// Forget every cached key (messages may have been missed). Keys of
    /// new subjects not yet in the key store stay.
    pub fn forget_all(&self) {
        self.cache.subjects.clear();
        self.cache.tenants.clear();
    }

    /// Subject keys held in memory now (pending ones included).
    pub fn cached_subject_keys(&self) -> usize {
        self.cache.subjects.len() + self.cache.pending().len()
    }

    fn keys(&self) -> AppResult<&FieldKeys> {
        self.keys.as_ref().ok_or_else(|| {
            AppError::Internal(
                "field encryption is not configured (no key store or master key)".into(),
            )
        })
    }

    fn unwrap_tenant(&self, k: &FieldKeys, w: &WrappedTenantKey) -> AppResult<Key32> {
        let master = k
            .master
            .key(wrapping_version(&w.wrapped).map_err(crypto)?)
            .map_err(crypto)?;
        clinicos_crypto::unwrap_tenant_key(&master, &w.tenant_id, w.key_version, &w.wrapped)
            .map_err(crypto)
    }

    async fn tenant(&self, tenant: &str) -> AppResult<Arc<TenantEntry>> {
        if let Some(e) = self.cache.tenants.get(&tenant.to_owned()) {
            return Ok(e);
        }
        let k = self.keys()?;
        let wrapped = match k.key_store.tenant_key(tenant).await? {
            Some(w) => w,
            None => {
                let mv = k.master.current_version();
                let master = k.master.key(mv).map_err(crypto)?;
                let fresh = WrappedTenantKey {
                    tenant_id: tenant.to_owned(),
                    key_version: TENANT_KEY_VERSION,
                    master_version: mv,
                    wrapped: clinicos_crypto::wrap_tenant_key(
                        &master,
                        mv,
                        tenant,
                        TENANT_KEY_VERSION,
                        &Key32::generate(),
                    ),
                };
                k.key_store.insert_tenant_key(&fresh).await?;
                // Re-read: a racing instance may have inserted first.
                k.key_store
                    .tenant_key(tenant)
                    .await?
                    .ok_or_else(|| AppError::Internal("tenant key was not stored".into()))?
            }
        };
        let key = self.unwrap_tenant(k, &wrapped)?;
        let entry = Arc::new(TenantEntry {
            version: wrapped.key_version,
            index: IndexKey::derive(&key, tenant),
            key,
        });
        self.cache.tenants.insert(tenant.to_owned(), entry.clone());
        Ok(entry)
    }

    /// The subject's data key; created on first use when `create`.
    async fn subject(
        &self,
        tenant: &str,
        subject: &str,
        create: bool,
    ) -> AppResult<Arc<(u32, Key32)>> {
        let id = (tenant.to_owned(), subject.to_owned());
        if let Some(e) = self.cache.subject(&id) {
            return Ok(e);
        }
        let k = self.keys()?;
        let t = self.tenant(tenant).await?;
        let stored = match k.key_store.subject_key(tenant, subject).await? {
            Some(w) => w,
            None if create => {
                let fresh = WrappedSubjectKey {
                    key_version: DATA_KEY_VERSION,
                    tenant_key_version: t.version,
                    wrapped: clinicos_crypto::wrap_subject_key(
                        &t.key,
                        t.version,
                        tenant,
                        subject,
                        DATA_KEY_VERSION,
                        &Key32::generate(),
                    ),
                };
                k.key_store
                    .insert_subject_key(tenant, subject, &fresh)
                    .await?;
                k.key_store
                    .subject_key(tenant, subject)
                    .await?
                    .ok_or_else(|| AppError::Internal("data key was not stored".into()))?
            }
            None => {
                return Err(AppError::NotFound(
                    "data key (it was erased, so this record can no longer be read)",
                ))
            }
        };
        let tenant_key = if stored.tenant_key_version == t.version {
            t.key.clone()
        } else {
            let w = k
                .key_store
                .tenant_key_version(tenant, stored.tenant_key_version)
                .await?
                .ok_or_else(|| {
                    AppError::Internal("tenant key version missing from the key store".into())
                })?;
            self.unwrap_tenant(k, &w)?
        };
        let key = clinicos_crypto::unwrap_subject_key(
            &tenant_key,
            tenant,
            subject,
            stored.key_version,
            &stored.wrapped,
        )
        .map_err(crypto)?;
        let entry = Arc::new((stored.key_version, key));
        self.cache.subjects.insert(id, entry.clone());
        Ok(entry)
    }

    /// Make the data keys of new subjects (fresh ids that have no key
    /// yet) in memory: fields can be sealed under them at once, and they
    /// reach the key store only when the caller is about to commit
    /// ([`FieldCipher::store_new_keys`]). A request that fails instead calls
    /// [`FieldCipher::discard_new_keys`], so no key outlives a record that was
    /// never written.
    pub async fn new_subject_keys(
        &self,
        tenant: TenantId,
        subjects: &[String],
    ) -> AppResult<NewSubjectKeys> {
        let t = tenant.as_text();
        for s in subjects {
            check_part("subject id", s)?;
        }
        let entry = self.tenant(&t).await?;
        let mut keys = Vec::with_capacity(subjects.len());
        let mut m = self.cache.pending();
        for subject in subjects {
            let key = Key32::generate();
            let wrapped = WrappedSubjectKey {
                key_version: DATA_KEY_VERSION,
                tenant_key_version: entry.version,
                wrapped: clinicos_crypto::wrap_subject_key(
                    &entry.key,
                    entry.version,
                    &t,
                    subject,
                    DATA_KEY_VERSION,
                    &key,
                ),
            };
            m.insert(
                (t.clone(), subject.clone()),
                Arc::new((DATA_KEY_VERSION, key)),
            );
            keys.push((subject.clone(), wrapped));
        }
        Ok(NewSubjectKeys {
            tenant: t,
            keys,
            stored: 0,
        })
    }

    /// Write new subjects' keys to the key store, one statement per 1,000
    /// (the registration's last step before its commit). Fails if any
    /// subject already had a key (its key is kept).
    pub async fn store_new_keys(&self, new: &mut NewSubjectKeys) -> AppResult<()> {
        let k = self.keys()?;
        let mut at = new.stored;
        while at < new.keys.len() {
            let chunk = &new.keys[at..(at + 1000).min(new.keys.len())];
            let stored = k
                .key_store
                .insert_new_subject_keys(&new.tenant, chunk)
                .await?;
            if stored != chunk.len() as u64 {
                // Some subject had a key already: keep it (and do not count
                // this chunk as ours to remove).
                return Err(AppError::Internal(
                    "a new record already had a data key".into(),
                ));
            }
            at += chunk.len();
            new.stored = at;
        }
        // In the key store now: an ordinary (evictable) cache entry.
        let mut pending = self.cache.pending();
        for (subject, _) in &new.keys {
            let id = (new.tenant.clone(), subject.clone());
            if let Some(e) = pending.remove(&id) {
                self.cache.subjects.insert(id, e);
            }
        }
        Ok(())
    }

    /// Make and store the data keys of new subjects at once (bulk loads
    /// with no transaction to pair them with).
    pub async fn create_subject_keys(
        &self,
        tenant: TenantId,
        subjects: &[String],
    ) -> AppResult<()> {
        let mut keys = self.new_subject_keys(tenant, subjects).await?;
        match self.store_new_keys(&mut keys).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.discard_new_keys(keys).await;
                Err(e)
            }
        }
    }

    /// Forget new subjects' keys after the request that made them failed:
    /// out of the cache, and out of the key store if they were written
    /// (the commit after [`FieldCipher::store_new_keys`] failed). Best effort:
    /// a key store that cannot be reached leaves a key no record uses.
    pub async fn discard_new_keys(&self, new: NewSubjectKeys) {
        {
            let mut pending = self.cache.pending();
            for (subject, _) in &new.keys {
                let id = (new.tenant.clone(), subject.clone());
                pending.remove(&id);
                self.cache.subjects.remove(&id);
            }
        }
        if new.stored > 0 {
            if let Ok(k) = self.keys() {
                for (subject, _) in &new.keys[..new.stored] {
                    if let Err(e) = k.key_store.erase_subject(&new.tenant, subject).await {
                        tracing::warn!(
                            error = %e,
                            "a new record's data key could not be removed after its write failed"
                        );
                    }
                }
            }
        }
    }

    /// Encrypt one field value of `subject`, bound to where it is stored.
    #[allow(clippy::too_many_arguments)]
    pub async fn encrypt(
        &self,
        tenant: TenantId,
        table: &str,
        column: &str,
        row_id: &str,
        subject: &str,
        plaintext: &[u8],
    ) -> AppResult<Vec<u8>> {
        let t = tenant.as_text();
        for (what, v) in [
            ("table", table),
            ("column", column),
            ("row id", row_id),
            ("subject id", subject),
        ] {
            check_part(what, v)?;
        }
        let key = self.subject(&t, subject, true).await?;
        let ctx = FieldContext {
            tenant: &t,
            table,
            column,
            row_id,
        };
        Ok(envelope::seal(&key.1, key.0, &ctx.aad(), plaintext))
    }

    /// Seal a value of column `C` of row `row` under the patient's key
    /// (the column's type binds the ciphertext to where it is stored; every
    /// sealed column holds a patient's data). `row` is the row's id, as
    /// stored.
    pub async fn seal<C: SealedColumn>(
        &self,
        tenant: TenantId,
        row: impl std::fmt::Display,
        patient: PatientId,
        plaintext: &[u8],
    ) -> AppResult<Sealed<C>> {
        let bytes = self
            .encrypt(
                tenant,
                C::TABLE,
                C::COLUMN,
                &row.to_string(),
                &patient.as_text(),
                plaintext,
            )
            .await?;
        Ok(Sealed::from_bytes(bytes))
    }

    /// Open a sealed value of column `C` of row `row`.
    pub async fn open<C: SealedColumn>(
        &self,
        tenant: TenantId,
        row: impl std::fmt::Display,
        patient: PatientId,
        sealed: &Sealed<C>,
    ) -> AppResult<Vec<u8>> {
        self.decrypt(
            tenant,
            C::TABLE,
            C::COLUMN,
            &row.to_string(),
            &patient.as_text(),
            sealed.as_bytes(),
        )
        .await
    }

    /// Decrypt a field value; fails if it was moved, altered, or the
    /// subject's key was erased.
    pub async fn decrypt(
        &self,
        tenant: TenantId,
        table: &str,
        column: &str,
        row_id: &str,
        subject: &str,
        ciphertext: &[u8],
    ) -> AppResult<Vec<u8>> {
        let t = tenant.as_text();
        let version = envelope::key_version(ciphertext).map_err(crypto)?;
        let key = self.subject(&t, subject, false).await?;
        if key.0 != version {
            return Err(AppError::Internal(format!(
                "data key version {version} is not available"
            )));
        }
        let ctx = FieldContext {
            tenant: &t,
            table,
            column,
            row_id,
        };
        envelope::open(&key.1, &ctx.aad(), ciphertext).map_err(crypto)
    }

    /// The blind index of `value` in `column` for exact-match search.
    pub async fn blind_index(
        &self,
        tenant: TenantId,
        column: &str,
        value: &str,
    ) -> AppResult<String> {
        check_part("column", column)?;
        let t = self.tenant(&tenant.as_text()).await?;
        Ok(clinicos_crypto::blind_index(&t.index, column, value))
    }

    /// Crypto-shredding: delete the subject's data keys, here and in the
    /// key store. Returns how many key rows were removed.
    pub async fn erase_subject(&self, tenant: TenantId, subject: &str) -> AppResult<u64> {
        check_part("subject id", subject)?;
        let t = tenant.as_text();
        let n = self.keys()?.key_store.erase_subject(&t, subject).await?;
        self.forget_subject(&t, subject);
        Ok(n)
    }

    /// Erase a patient's data key for good and remember the erasure in the
    /// key store (`erased_subjects`), which outlives backups of the main
    /// database. Returns how many key rows were removed.
    pub async fn erase_patient_key(
        &self,
        tenant: TenantId,
        erased: &clinicos_store::kit::keystore::ErasedSubject,
    ) -> AppResult<u64> {
        check_part("subject id", &erased.subject_id)?;
        let t = tenant.as_text();
        let n = self
            .keys()?
            .key_store
            .erase_subject_recorded(&t, erased)
            .await?;
        self.forget_subject(&t, &erased.subject_id);
        Ok(n)
    }

    /// The tenant's erased subjects as the key store remembers them.
    pub async fn erased_subjects(
        &self,
        tenant: TenantId,
    ) -> AppResult<Vec<clinicos_store::kit::keystore::ErasedSubject>> {
        Ok(self
            .keys()?
            .key_store
            .erased_subjects(&tenant.as_text())
            .await?)
    }

    /// Make a new master key version (when `new_version`) and re-wrap every
    /// tenant key under the current one. Reads keep working throughout:
    /// each row names the master version that wraps it, and the provider
    /// keeps old versions.
    pub async fn rotate_master(&self, new_version: bool) -> AppResult<Rotation> {
        let k = self.keys()?;
        if new_version {
            k.master
                .rotate()
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
        }
        let mv = k.master.current_version();
        let master = k.master.key(mv).map_err(crypto)?;
        let mut out = Rotation {
            master_version: mv,
            rewrapped: 0,
            current: 0,
            secrets_rewrapped: 0,
        };
        for w in k.key_store.all_tenant_keys().await? {
            if w.master_version == mv {
                out.current += 1;
                continue;
            }
            let key = self.unwrap_tenant(k, &w)?;
            let next = WrappedTenantKey {
                master_version: mv,
                wrapped: clinicos_crypto::wrap_tenant_key(
                    &master,
                    mv,
                    &w.tenant_id,
                    w.key_version,
                    &key,
                ),
                ..w.clone()
            };
            if k.key_store
                .rewrap_tenant_key(&next, w.master_version)
                .await?
            {
                out.rewrapped += 1;
            } else {
                out.current += 1;
            }
        }
        Ok(out)
    }
}
